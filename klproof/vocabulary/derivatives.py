"""Derivatives: d^n/dt^n f evaluated at a point, as a binder.

In d/dmu f(mu) the mu outside is the point of evaluation (free), the mu inside
is a variable that ranges over a neighbourhood of it. klproof keeps the two
apart, as SymPy's `Subs(Derivative(f(t), t), t, mu)` does: the derivative binds
a variable t in f and carries the point separately,

    DerivativeAt(f, t, point, n)  =  d^n/dt^n f(t) at t = point.

So a capture-avoiding substitution mu -> a gives d/dt f(t) at t = a (never the
meaningless "derivative with respect to a"), `free_symbols` holds the point's
symbols and not t, and `canonical` names t by its depth like any binder. The
variable t gets the point's domain made open (real, positive, negative,
nonzero), the neighbourhood a derivative needs: a file's `sigma = "positive"`
lets the body use log(sigma), while `x = "nonnegative"` gives only real.

Readers: ``Derivative(f, mu)``, ``diff(f, mu)``, ``grad(f, mu)``, with
``(mu, 2)`` or a third argument for the order; LaTeX ``\\frac{d}{d\\mu} f``,
``\\frac{\\partial}{\\partial \\mu} f``, ``\\frac{\\partial f}{\\partial \\mu}``,
``\\nabla_\\mu f``. Partial and total derivatives are the same notion here: every
other symbol is an independent variable.
"""

from __future__ import annotations

import sympy as sp
from sympy.core.function import Function

from klproof.vocabulary.binders import Binder

MAX_ORDER = 6  # higher derivatives grow the expression (and the numeric stencil) fast
MAX_TOTAL_ORDER = 12  # nested derivatives add up: the 72nd derivative of exp(x^2) would not end


def implicit_dependence(body: sp.Expr, var: sp.Symbol) -> str | None:
    """Why d body/d var reads as an implicit function (d epsilon/dz with epsilon = (z - mu)/sigma in the text),
    or None. klproof's symbols are independent variables, so that derivative would be 0: a reader refuses it
    rather than refute what the author means."""
    if isinstance(body, sp.Symbol) and body != var:
        return (f"'{body.name}' is an independent symbol, so its derivative with respect to '{var.name}' would be 0; "
                f"if '{body.name}' stands for an expression in '{var.name}', differentiate that expression")
    return None


def total_order(expr: sp.Basic) -> int:
    """The largest sum of orders along a chain of nested derivatives in expr."""
    inner = max((total_order(a) for a in expr.args), default=0)
    return inner + int(expr.args[3]) if isinstance(expr, DerivativeAt) else inner

# The assumptions that describe an open set: a derivative's variable keeps these of its point.
_OPEN = ("real", "positive", "negative", "nonzero")


def variable_domain(point: sp.Expr) -> dict | None:
    """The domain of a derivative's variable at `point`: an open set around it; None if the point is not real."""
    if point.is_real is not True or point.is_integer:
        return None
    return {key: True for key in _OPEN if getattr(point, f"is_{key}") is True}


class DerivativeAt(Binder, Function):
    """d^n/dt^n f at t = point. Arguments: (f, t, point, n), t bound in f."""

    nargs = 4
    binds = (1, (0,))

    @classmethod
    def eval(cls, f, var, point, order):
        return None

    @property
    def body(self) -> sp.Expr:
        return self.args[0]

    @property
    def variable(self) -> sp.Symbol:
        return self.args[1]

    @property
    def point(self) -> sp.Expr:
        return self.args[2]

    @property
    def order(self) -> int:
        return int(self.args[3])

    def _at_own_name(self) -> bool:
        """d/dmu f(mu) at mu: the point is the symbol the author differentiated by."""
        point = self.point
        return isinstance(point, sp.Symbol) and point.name == self.variable.name

    def _sympystr(self, printer) -> str:
        f, t = printer._print(self.body), printer._print(self.variable)
        wrt = t if self.order == 1 else f"({t}, {self.order})"
        text = f"Derivative({f}, {wrt})"
        if self._at_own_name():
            return text
        return f"{text}({t} = {printer._print(self.point)})"

    def _latex(self, printer, exp=None) -> str:  # exp: SymPy passes the power of (d/dmu f)^2 here
        t = printer._print(self.variable)
        n = self.order
        if n == 1:
            operator = rf"\frac{{\partial}}{{\partial {t}}}"
        else:
            operator = rf"\frac{{\partial^{{{n}}}}}{{\partial {t}^{{{n}}}}}"
        text = rf"{operator} \left({printer._print(self.body)}\right)"
        if not self._at_own_name():
            text = rf"\left. {text} \right|_{{{t} = {printer._print(self.point)}}}"
        return rf"\left({text}\right)^{{{exp}}}" if exp else text
