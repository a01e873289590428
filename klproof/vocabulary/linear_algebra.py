"""Vectors and matrices of a symbolic dimension k, and the multivariate normal density.

Built on SymPy's matrix expressions (MatrixSymbol, MatMul, Transpose, Inverse): a
declared matrix is a MatrixSymbol whose class carries what the file declared about
it (symmetric, symmetric positive definite); a vector is a k x 1 MatrixSymbol. A
scalar made of matrices (a quadratic form u^T A v, a 1 x 1 product) enters the
scalar algebra wrapped in `Scalar`, so that the rest of klproof only ever sees
scalar expressions. tr and det are the ones of `klproof.vocabulary.matrices`,
which take a diag(...) or a matrix expression.

A vector bound by E over MvNormal is a MatrixSymbol named by a Dummy (see
`klproof.vocabulary.binders`): it belongs to its binder, never to the file.
"""

from __future__ import annotations

import sympy as sp
from sympy.core.basic import Basic
from sympy.core.function import Function
from sympy.core.symbol import Str
from sympy.matrices.expressions import Identity, Inverse, MatrixExpr, MatrixSymbol, Transpose
from sympy.matrices.expressions.matpow import MatPow


class SymmetricMatrix(MatrixSymbol):
    """A declared symmetric k x k matrix: A^T = A (nothing more: not invertible, not definite)."""


class PositiveDefiniteMatrix(SymmetricMatrix):
    """A declared symmetric positive definite k x k matrix: invertible, det > 0, its inverse SPD too."""


class DiagonalMatrix(PositiveDefiniteMatrix):
    """A declared diagonal matrix diag(d_1, ..., d_k) with positive entries d_j = entry(j), e.g. sigma[j]**2.

    Arguments: (name, k, k, Lambda(j, entry)); the entry's index is the Lambda's own variable."""

    def __new__(cls, name, n, m, entry: sp.Lambda):
        return Basic.__new__(cls, Str(name) if isinstance(name, str) else name, sp.sympify(n), sp.sympify(m), entry)

    def doit(self, **hints):
        return self  # SymPy's MatrixSymbol.doit would rebuild it from three arguments

    @property
    def entry(self) -> sp.Lambda:
        return self.args[3]


class EntryVector(MatrixSymbol):
    """A declared k-vector whose components are entry(j), e.g. mu[j]. Arguments: (name, k, 1, Lambda(j, entry))."""

    def __new__(cls, name, n, m, entry: sp.Lambda):
        return Basic.__new__(cls, Str(name) if isinstance(name, str) else name, sp.sympify(n), sp.sympify(m), entry)

    def doit(self, **hints):
        return self

    @property
    def entry(self) -> sp.Lambda:
        return self.args[3]


def with_entries(m: MatrixSymbol) -> bool:
    return isinstance(m, (DiagonalMatrix, EntryVector))


def is_matrix(e) -> bool:
    return isinstance(e, MatrixExpr)


def is_symmetric(m) -> bool:
    """Provably symmetric: a declared symmetric matrix, its inverse, the identity."""
    if isinstance(m, (SymmetricMatrix, Identity)):
        return True
    if isinstance(m, Inverse):
        return is_symmetric(m.arg)
    return False


def is_positive_definite(m) -> bool:
    """Provably symmetric positive definite: a declared SPD matrix, its inverse, the identity."""
    if isinstance(m, (PositiveDefiniteMatrix, Identity)):
        return True
    if isinstance(m, (Inverse, Transpose)):
        return is_positive_definite(m.arg)
    return False


def is_invertible(m) -> bool:
    return is_positive_definite(m)


def is_vector(m) -> bool:
    return is_matrix(m) and m.shape[1] == 1 and m.shape[0] != 1


def dimension(m) -> sp.Expr:
    return m.shape[0]


def matrix_atoms(e: sp.Basic) -> set:
    """The matrix symbols (declared or bound) inside e."""
    return {a for a in sp.preorder_traversal(e) if isinstance(a, MatrixSymbol)}


def declared_matrix(name: str, rows: sp.Expr, cols: sp.Expr, kind: str) -> MatrixSymbol:
    cls = {"spd": PositiveDefiniteMatrix, "symmetric": SymmetricMatrix}.get(kind, MatrixSymbol)
    return cls(name, rows, cols)


def vector_variable(var: sp.Symbol, like: MatrixSymbol) -> MatrixSymbol:
    """A bound vector of the shape of `like`, named by the bound variable `var` (a Dummy)."""
    return MatrixSymbol(var, *like.shape)


class Scalar(Function):
    """The scalar a 1 x 1 matrix expression stands for: u^T A v as a number."""

    nargs = 1

    @classmethod
    def eval(cls, m):
        return None

    def _eval_is_real(self):
        return True  # every declared matrix and vector is real

    def _eval_is_extended_real(self):
        return True

    def _eval_is_commutative(self):
        return True  # a number, though its arguments are (noncommutative) matrices


class MvNormal(Function):
    """N(z; mu, Sigma): the density of the multivariate normal in the k-vector z, Sigma SPD."""

    nargs = 3

    @classmethod
    def eval(cls, z, mu, sigma):
        return None

    def _eval_is_positive(self):
        return True if is_positive_definite(self.args[2]) else None

    def _eval_is_real(self):
        return self._eval_is_positive()

    def _eval_is_commutative(self):
        return True  # a number, though its arguments are (noncommutative) matrices

    def log_formula(self) -> sp.Expr:
        """log N(z; mu, Sigma) = -(k/2) log(2 pi) - (1/2) log det Sigma - (1/2) (z - mu)^T Sigma^-1 (z - mu)."""
        from klproof.vocabulary.matrices import Det

        z, mu, sigma = self.args
        k = dimension(sigma)
        return (-k * sp.log(2 * sp.pi) / 2 - sp.log(Det(sigma)) / 2
                - Scalar(Transpose(z - mu) * Inverse(sigma) * (z - mu)) / 2)


def power_word(m: MatPow) -> tuple[MatrixExpr, int] | None:
    """(base, n) of an integer matrix power, None otherwise."""
    exponent = m.exp
    if not exponent.is_Integer:
        return None
    return m.base, int(exponent)
