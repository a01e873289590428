"""Continuous densities with named parameters: Laplace(x, m, b) and Exponential(x, lam).

Each follows the Bernoulli template (syntax, latex_names, domain, arity, formula, printing hooks), with
`interval` instead of a finite `support`: E over the density is the integral over that interval, so
E over an exponential is an integral over the half line [0, oo) and its variable is nonnegative there,
whatever the file declares for the same name.

- expression syntax: ``Laplace(x, m, b)``, ``Exponential(x, lam)``, e.g. ``E(x, Exponential(x, lam))``;
- LaTeX: ``\\mathrm{Laplace}(x; m, b)``, ``\\operatorname{Exp}(x; \\lambda)`` (also ``\\mathrm{Exponential}``),
  and ``x \\sim \\mathrm{Exp}(\\lambda)`` in the subscript of an expectation.
"""

from __future__ import annotations

from typing import ClassVar

import sympy as sp
from sympy.core.function import Function


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
