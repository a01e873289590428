"""The field's vocabulary as SymPy objects: densities, expectations, KL, probabilities.

These objects stay unevaluated on construction; their meaning is given by the
sound rewrites in `klproof.check.rules`, so that printing can show them the way
papers do and checking can expand them only when a rule says so.
"""

from __future__ import annotations

import sympy as sp
from sympy.core.function import Function


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


class NormalDiag(Function):
    """prod_j N(z_j; mu_j, sigma_j): a diagonal Gaussian over the vector z, j = a..b.

    Arguments: (z, mu_j, sigma_j, j, a, b), where mu_j and sigma_j are expressions in j.
    """

    nargs = 6

    @classmethod
    def eval(cls, *args):
        return None

    @property
    def free_symbols(self):
        z, mu, sigma, j, a, b = self.args
        inner = (mu.free_symbols | sigma.free_symbols) - {j}
        return inner | a.free_symbols | b.free_symbols | {z}


class Prob(Function):
    """F(targets | givens): a probability (mass or density) of the family F.

    Arguments: (F, Tuple(targets), Tuple(givens)). Probabilities are taken to be
    positive, as every log in a derivation needs them to be.
    """

    nargs = 3

    @classmethod
    def eval(cls, family, targets, givens):
        return None

    def _eval_is_positive(self):
        return True

    def _eval_is_real(self):
        return True

    @property
    def family(self) -> str:
        return self.args[0].name

    @property
    def targets(self) -> tuple:
        return tuple(self.args[1])

    @property
    def givens(self) -> tuple:
        return tuple(self.args[2])


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


class Trace(Function):
    """tr(A) of a diagonal matrix A."""

    nargs = 1

    @classmethod
    def eval(cls, a):
        return None


class Det(Function):
    """det(A) of a diagonal matrix A."""

    nargs = 1

    @classmethod
    def eval(cls, a):
        return None


class Diag(Function):
    """diag(f_j for j = a..b). Arguments: (f, j, a, b)."""

    nargs = 4

    @classmethod
    def eval(cls, f, j, a, b):
        return None

    @property
    def free_symbols(self):
        f, j, a, b = self.args
        return (f.free_symbols - {j}) | a.free_symbols | b.free_symbols


class Dot(Function):
    """u^T v = sum_j u_j v_j. Arguments: (u_j, v_j, j, a, b)."""

    nargs = 5

    @classmethod
    def eval(cls, u, v, j, a, b):
        return None

    @property
    def free_symbols(self):
        u, v, j, a, b = self.args
        return ((u.free_symbols | v.free_symbols) - {j}) | a.free_symbols | b.free_symbols


def density_variable(density: sp.Expr) -> sp.Symbol | None:
    """The variable a density is over: x of N(x; ...), z of Q(z|X); None if it is not a density."""
    if isinstance(density, Normal):
        return density.args[0] if isinstance(density.args[0], (sp.Symbol, sp.Indexed)) else None
    if isinstance(density, Prob) and len(density.targets) == 1:
        return density.targets[0]
    if isinstance(density, NormalDiag):
        return density.args[0]
    return None


VOCABULARY = (Normal, NormalDiag, Prob, Expectation, KL, LatentSum, Trace, Det, Diag, Dot)


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
