"""Abstract probabilities F(targets | givens) of a declared family, and the variable a density is over."""

from __future__ import annotations

import sympy as sp
from sympy.core.function import Function

from klproof.vocabulary.linear_algebra import MvNormal
from klproof.vocabulary.normal import Normal, NormalDiag


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


def density_variable(density: sp.Expr) -> sp.Symbol | None:
    """The variable a density is over: x of N(x; ...), z of Q(z|X); None if it is not a density."""
    if isinstance(density, Normal):
        return density.args[0] if isinstance(density.args[0], (sp.Symbol, sp.Indexed)) else None
    if isinstance(density, Prob) and len(density.targets) == 1:
        return density.targets[0]
    if any(getattr(density, name, None) is not None for name in ("support", "interval", "average")):
        # a named density: a finite support (Bernoulli), an interval (Laplace), outcomes a..b (Categorical)
        return density.args[0] if isinstance(density.args[0], sp.Symbol) else None
    if isinstance(density, (NormalDiag, MvNormal)):
        return density.args[0]
    return None
