"""The Bernoulli distribution: Bernoulli(x, p) = p^x (1 - p)^(1 - x) on x in {0, 1}.

Everything klproof knows about the notion is here: the SymPy class, its support
(so that E and KL over it are exact finite sums, in the rules and in the
numeric semantics alike), how it prints (text and LaTeX, through SymPy's
printer hooks) and how each reader spells it:

- expression syntax: ``Bernoulli(x, p)``, e.g. ``E(x, Bernoulli(x, p))``;
- LaTeX: ``\\mathrm{Bern}(x; p)`` (also ``\\operatorname{Bern}``, ``\\mathrm{Bernoulli}``), and
  ``x \\sim \\mathrm{Bern}(p)`` in the subscript of an expectation.
"""

from __future__ import annotations

import sympy as sp
from sympy.core.function import Function


class Bernoulli(Function):
    """The Bernoulli mass function in x with success probability p. Arguments: (x, p)."""

    nargs = 2
    syntax = "Bernoulli"  # the expression reader's name
    latex_names = ("Bern", "Bernoulli")  # \mathrm{Bern}(x; p)
    domain = {"integer": True, "nonnegative": True}  # of its variable, when a binder takes it over
    support = (0, 1)

    @classmethod
    def eval(cls, x, p):
        if x == 0:  # the mass at a point of the support
            return 1 - p
        if x == 1:
            return p
        return None

    def formula(self) -> sp.Expr:
        x, p = self.args
        return p**x * (1 - p) ** (1 - x)

    def _sympystr(self, printer) -> str:
        return f"Bernoulli({printer._print(self.args[0])}, {printer._print(self.args[1])})"

    def _latex(self, printer) -> str:
        return rf"\mathrm{{Bern}}\left({printer._print(self.args[0])}; {printer._print(self.args[1])}\right)"
