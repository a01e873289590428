"""Applications of a derivation file's own definitions."""

from __future__ import annotations

import sympy as sp
from sympy.core.function import Function


class Defined(Function):
    """An application of a definition from the derivation file: (name, Lambda, Tuple(args)).

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

    def expand_definition(self) -> sp.Expr:
        return self.args[1](*self.args[2])

    def _eval_is_real(self):
        return self.expand_definition().is_real

    def _eval_is_positive(self):
        return self.expand_definition().is_positive
