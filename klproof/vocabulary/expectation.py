"""Expectation, KL divergence, and the sum (integral) over all values of an abstract variable."""

from __future__ import annotations

import sympy as sp
from sympy.core.function import Function


class Expectation(Function):
    """E_{var ~ density}[f]. Arguments: (f, density, var)."""

    nargs = 3

    @classmethod
    def eval(cls, f, density, var):
        return None

    @property
    def free_symbols(self):
        f, density, var = self.args
        return (f.free_symbols | density.free_symbols) - {var}

    def _eval_is_real(self):
        return self.args[0].is_real


class KL(Function):
    """D_KL(q || p) over var. Arguments: (q, p, var)."""

    nargs = 3

    @classmethod
    def eval(cls, q, p, var):
        return None

    @property
    def free_symbols(self):
        q, p, var = self.args
        return (q.free_symbols | p.free_symbols) - {var}

    def _eval_is_real(self):
        return True


class LatentSum(Function):
    """Sum (or integral) of f over all values of an abstract variable. Arguments: (f, var).

    For a discrete latent variable this is the sum over its values, for a
    continuous one the integral; every rule used on it (linearity, a density sums
    to one, marginalisation) holds for both.
    """

    nargs = 2

    @classmethod
    def eval(cls, f, var):
        return None

    @property
    def free_symbols(self):
        f, var = self.args
        return f.free_symbols - {var}

    def _eval_is_real(self):
        return self.args[0].is_real
