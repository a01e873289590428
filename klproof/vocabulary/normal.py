"""The normal density: N(x; mu, sigma) and the diagonal Gaussian over a vector."""

from __future__ import annotations

import sympy as sp
from sympy.core.function import Function

from klproof.vocabulary.binders import Binder


class Normal(Function):
    """N(x; mu, sigma): the normal density in x with mean mu and standard deviation sigma."""

    nargs = 3

    @classmethod
    def eval(cls, x, mu, sigma):
        return None

    def _eval_is_positive(self):
        x, mu, sigma = self.args
        if sigma.is_positive and x.is_real and mu.is_real:
            return True
        return None

    def _eval_is_real(self):
        return self._eval_is_positive()

    def formula(self) -> sp.Expr:
        x, mu, sigma = self.args
        return sp.exp(-((x - mu) ** 2) / (2 * sigma**2)) / (sp.sqrt(2 * sp.pi) * sigma)


class NormalDiag(Binder, Function):
    """prod_j N(z_j; mu_j, sigma_j): a diagonal Gaussian over the vector z, j = a..b.

    Arguments: (z, mu_j, sigma_j, j, a, b), where mu_j and sigma_j are expressions in j.
    """

    nargs = 6
    binds = (3, (1, 2))  # the index j, bound in mu_j and sigma_j
    index_range = (4, 5)

    @classmethod
    def eval(cls, *args):
        return None

