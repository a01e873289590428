"""tr and det (of a diagonal matrix or of a matrix expression), diag, and the dot product u^T v.

Matrix expressions (declared k x k matrices, their products, transposes and
inverses) are those of `klproof.vocabulary.linear_algebra`.
"""

from __future__ import annotations

from sympy.core.function import Function

from klproof.vocabulary.binders import Binder
from klproof.vocabulary.linear_algebra import is_matrix, is_positive_definite


class Trace(Function):
    """tr(A) of a diagonal matrix A or of a square matrix expression."""

    nargs = 1

    @classmethod
    def eval(cls, a):
        return None

    def _eval_is_real(self):
        return True if is_matrix(self.args[0]) else None

    def _eval_is_commutative(self):
        return True  # a number, though its arguments are (noncommutative) matrices


class Det(Function):
    """det(A) of a diagonal matrix A or of a square matrix expression."""

    nargs = 1

    @classmethod
    def eval(cls, a):
        return None

    def _positive(self):
        # a symmetric positive definite matrix has det > 0, so log det is defined
        return True if is_positive_definite(self.args[0]) else None

    # every fact SymPy may ask first (asked zero first, it would otherwise conclude "not positive")
    _eval_is_positive = _eval_is_extended_positive = _eval_is_finite = _positive

    def _eval_is_zero(self):
        return False if is_positive_definite(self.args[0]) else None

    def _eval_is_real(self):
        return True if is_matrix(self.args[0]) else None

    def _eval_is_commutative(self):
        return True  # a number, though its arguments are (noncommutative) matrices


class Diag(Binder, Function):
    """diag(f_j for j = a..b). Arguments: (f, j, a, b)."""

    nargs = 4
    binds = (1, (0,))
    index_range = (2, 3)

    @classmethod
    def eval(cls, f, j, a, b):
        return None



class Dot(Binder, Function):
    """u^T v = sum_j u_j v_j. Arguments: (u_j, v_j, j, a, b)."""

    nargs = 5
    binds = (2, (0, 1))
    index_range = (3, 4)

    @classmethod
    def eval(cls, u, v, j, a, b):
        return None

