"""Applications of a derivation file's own definitions.

A definition's parameters are bound variables (Dummies) that carry the
assumptions the file declares for them. Its body may have been simplified
under those assumptions when it was read (sqrt(s**2) is s for a positive s),
so they are preconditions: the body replaces an application only where every
argument provably satisfies its parameter's assumptions.
"""

from __future__ import annotations

import sympy as sp
from sympy.core.function import Function

from klproof.vocabulary.binders import domain_of, subst


class DefinitionBody(sp.Basic):
    """A definition's parameters and body: (Tuple(params), body). Closed apart from its parameters.

    Not SymPy's Lambda, which turns a body equal to its parameter (sqrt(w**2) for a positive w)
    into an argument-less IdentityFunction.
    """

    def __new__(cls, params, body):
        return sp.Basic.__new__(cls, sp.Tuple(*params), body)

    @property
    def variables(self) -> tuple:
        return tuple(self.args[0])

    @property
    def expr(self) -> sp.Expr:
        return self.args[1]

    @property
    def free_symbols(self):
        return self.expr.free_symbols - set(self.variables)


class Defined(Function):
    """An application of a definition from the derivation file: (Str(name), DefinitionBody, Tuple(args)).

    The body travels with the application, so a claim is self-contained: the
    checker needs no other context, and a cache key covers the definition too.
    """

    nargs = 3

    @classmethod
    def eval(cls, name, body, args):
        return None

    @property
    def name(self) -> str:
        return self.args[0].name

    def _eval_simplify(self, **kwargs):
        return self  # the body replaces it only through the definition rule, where its preconditions hold

    def unmet_precondition(self) -> str | None:
        """Why the body may not replace this application (an argument not provably in its domain), or None."""
        for param, arg in zip(self.args[1].variables, self.args[2]):
            for key, value in domain_of(param).items():
                if value and getattr(arg, f"is_{key}", None) is not True:
                    return f"{self.name}: the argument {arg} is not provably {key} (parameter {param.name} is declared {key})"
        return None

    def expand_definition(self) -> sp.Expr | None:
        """The body with the arguments in place (capture-avoiding); None where a precondition is unproved."""
        if self.unmet_precondition() is not None:
            return None
        body = self.args[1]
        return subst(body.expr, dict(zip(body.variables, self.args[2])))

    def _eval_evalf(self, prec):
        body = self.expand_definition()
        return body._eval_evalf(prec) if body is not None and hasattr(body, "_eval_evalf") else None

    def _eval_is_real(self):
        body = self.expand_definition()
        return body.is_real if body is not None else None

    def _eval_is_positive(self):
        body = self.expand_definition()
        return body.is_positive if body is not None else None
