"""Densities with named parameters: Laplace(x, m, b), Exponential(x, lam), GammaDist(x, alpha, beta),
Categorical(x, theta_k, (k, 1, K)).

Each follows the Bernoulli template (syntax, latex_names, domain, arity, formula, printing hooks), with
`interval` instead of a finite `support`: E over the density is the integral over that interval, so
E over an exponential is an integral over the half line [0, oo) and its variable is nonnegative there,
whatever the file declares for the same name.

- expression syntax: ``Laplace(x, m, b)``, ``Exponential(x, lam)``, e.g. ``E(x, Exponential(x, lam))``;
  ``Categorical(x, theta[k], (k, 1, K))``, the softmax of the logits theta_1..theta_K (E over it is a sum);
- LaTeX: ``\\mathrm{Laplace}(x; m, b)``, ``\\operatorname{Exp}(x; \\lambda)`` (also ``\\mathrm{Exponential}``),
  and ``x \\sim \\mathrm{Exp}(\\lambda)`` in the subscript of an expectation.
"""

from __future__ import annotations

from typing import ClassVar

import sympy as sp
from sympy.core.function import Function

from klproof.vocabulary.binders import Binder, subst


class Laplace(Function):
    """The Laplace density in x with location m and scale b: exp(-|x - m|/b) / (2b). Arguments: (x, m, b)."""

    nargs = 3
    arity = 3
    syntax = "Laplace"
    latex_names = ("Laplace",)
    domain: ClassVar[dict] = {"real": True}
    interval = (-sp.oo, sp.oo)

    @classmethod
    def eval(cls, x, m, b):
        return None

    def _eval_is_positive(self):
        x, m, b = self.args
        if b.is_positive and x.is_real and m.is_real:
            return True
        return None

    def _eval_is_real(self):
        return self._eval_is_positive()

    def formula(self) -> sp.Expr | None:
        x, m, b = self.args
        return sp.exp(-sp.Abs(x - m) / b) / (2 * b)

    def _sympystr(self, printer) -> str:
        return f"Laplace({', '.join(printer._print(a) for a in self.args)})"

    def _latex(self, printer) -> str:
        x, m, b = (printer._print(a) for a in self.args)
        return rf"\mathrm{{Laplace}}\left({x}; {m}, {b}\right)"


class Exponential(Function):
    """The exponential density in x with rate lam: lam exp(-lam x) for x >= 0, 0 below. Arguments: (x, lam)."""

    nargs = 2
    arity = 2
    syntax = "Exponential"
    latex_names = ("Exp", "Exponential")
    domain: ClassVar[dict] = {"real": True, "nonnegative": True}
    interval = (sp.Integer(0), sp.oo)

    @classmethod
    def eval(cls, x, lam):
        if x.is_negative and lam.is_positive:  # below its support the density is 0
            return sp.Integer(0)
        return None

    def _eval_is_positive(self):
        x, lam = self.args
        if lam.is_positive and x.is_nonnegative:
            return True
        return None

    def _eval_is_real(self):
        x, lam = self.args
        return True if lam.is_positive and x.is_real else None

    def formula(self) -> sp.Expr | None:
        """The formula where it holds: for x provably >= 0 (below 0 the density is 0, not lam exp(-lam x))."""
        x, lam = self.args
        if x.is_nonnegative is not True:
            return None
        return lam * sp.exp(-lam * x)

    def _sympystr(self, printer) -> str:
        return f"Exponential({', '.join(printer._print(a) for a in self.args)})"

    def _latex(self, printer) -> str:
        x, lam = (printer._print(a) for a in self.args)
        return rf"\mathrm{{Exp}}\left({x}; {lam}\right)"


class Gamma(Function):
    """The gamma density in x with shape alpha and rate beta: beta^alpha x^(alpha - 1) exp(-beta x) / Gamma(alpha)
    for x >= 0, 0 below. Arguments: (x, alpha, beta)."""

    nargs = 3
    arity = 3
    syntax = "GammaDist"
    latex_names = ("Gamma",)
    domain: ClassVar[dict] = {"real": True, "nonnegative": True}
    interval = (sp.Integer(0), sp.oo)

    @classmethod
    def eval(cls, x, alpha, beta):
        if x.is_negative and alpha.is_positive and beta.is_positive:  # below its support the density is 0
            return sp.Integer(0)
        return None

    def _eval_is_positive(self):
        x, alpha, beta = self.args
        return True if x.is_positive and alpha.is_positive and beta.is_positive else None

    def _eval_is_real(self):
        x, alpha, beta = self.args
        return True if x.is_positive and alpha.is_positive and beta.is_positive else None

    def formula(self) -> sp.Expr | None:
        """The formula where it holds: for x provably >= 0 (below 0 the density is 0)."""
        x, alpha, beta = self.args
        if x.is_nonnegative is not True:
            return None
        return beta**alpha * x ** (alpha - 1) * sp.exp(-beta * x) / sp.gamma(alpha)

    def _sympystr(self, printer) -> str:
        return f"GammaDist({', '.join(printer._print(a) for a in self.args)})"

    def _latex(self, printer) -> str:
        x, alpha, beta = (printer._print(a) for a in self.args)
        return rf"\mathrm{{Gamma}}\left({x}; {alpha}, {beta}\right)"


class Categorical(Binder, Function):
    """The categorical mass over the outcomes a..b with softmax parameters (logits) theta_k:
    P(x) = exp(theta_x) / sum_{j=a}^{b} exp(theta_j). Arguments: (x, theta_k, k, a, b), theta_k an expression in k.

    Softmax parameters make every real theta a distribution (positive masses summing to 1), so no rule
    has to check that a probability vector is normalised.
    """

    nargs = 5
    binds = (2, (1,))  # the index k, bound in theta_k
    index_range = (3, 4)
    syntax = "Categorical"
    latex_names = ("Cat",)
    domain: ClassVar[dict] = {"integer": True}  # of its variable, when a binder takes it over

    @classmethod
    def eval(cls, *args):
        return None

    def logit(self, at) -> sp.Expr:
        _, theta, k, _, _ = self.args
        return subst(theta, {k: at})

    def normaliser(self) -> sp.Expr:
        _, theta, k, a, b = self.args
        j = sp.Dummy(k.name, integer=True)  # named like the index: the sums of `average` then cancel against it
        return sp.Sum(sp.exp(subst(theta, {k: j})), (j, a, b))

    def formula(self) -> sp.Expr | None:
        """exp(theta_x) / sum_j exp(theta_j), where x is provably an outcome (an integer in [a, b])."""
        x, _, _, a, b = self.args
        if x.is_integer is not True or sp.expand(x - a).is_nonnegative is not True \
                or sp.expand(b - x).is_nonnegative is not True:
            return None
        return sp.exp(self.logit(x)) / self.normaliser()

    def average(self, f: sp.Expr, var) -> sp.Expr | None:
        """E over the outcomes: sum_{x=a}^{b} P(x) f(x), the masses written out; None without an outcome
        provably (b >= a): an empty categorical is no distribution."""
        _, _, k, a, b = self.args
        if sp.expand(b - a).is_nonnegative is not True:
            return None
        outcome = sp.Dummy(k.name, integer=True)
        return sp.Sum(subst(sp.exp(self.logit(var)) * f, {var: outcome}) / self.normaliser(), (outcome, a, b))

    def _eval_is_positive(self):
        x, theta, _, a, b = self.args
        return True if self.formula() is not None and theta.is_real else None

    def _sympystr(self, printer) -> str:
        x, theta, k, a, b = (printer._print(v) for v in self.args)
        return f"Categorical({x}, {theta}, ({k}, {a}, {b}))"

    def _latex(self, printer) -> str:
        x, theta, k, a, b = (printer._print(v) for v in self.args)
        return rf"\mathrm{{Cat}}\left({x}; \operatorname{{softmax}}\left({theta}\right)_{{{k}={a}}}^{{{b}}}\right)"
