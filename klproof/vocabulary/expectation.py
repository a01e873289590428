"""Expectation, KL divergence, and the sum (integral) over all values of an abstract variable.

Each binds its variable (the last argument): E_{z ~ q}[f] binds z in f and q.
"""

from __future__ import annotations

from sympy.core.function import Function

from klproof.vocabulary.binders import Binder


class Expectation(Binder, Function):
    """E_{var ~ density}[f]. Arguments: (f, density, var)."""

    nargs = 3
    binds = (2, (0, 1))

    @classmethod
    def eval(cls, f, density, var):
        return None

    def _eval_is_real(self):
        return self.args[0].is_real

    def _eval_is_commutative(self):
        return True  # a number, also when its variable is a vector


class KL(Binder, Function):
    """D_KL(q || p) over var. Arguments: (q, p, var)."""

    nargs = 3
    binds = (2, (0, 1))

    @classmethod
    def eval(cls, q, p, var):
        return None

    def _eval_is_real(self):
        return True

    def _eval_is_commutative(self):
        return True


class LatentSum(Binder, Function):
    """Sum (or integral) of f over all values of an abstract variable. Arguments: (f, var).

    For a discrete latent variable this is the sum over its values, for a
    continuous one the integral; every rule used on it (linearity, a density sums
    to one, marginalisation) holds for both.
    """

    nargs = 2
    binds = (1, (0,))

    @classmethod
    def eval(cls, f, var):
        return None

    def _eval_is_real(self):
        return self.args[0].is_real
