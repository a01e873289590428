"""Diagonal matrices: diag, tr, det and the dot product u^T v."""

from __future__ import annotations

import sympy as sp
from sympy.core.function import Function

from klproof.vocabulary.binders import Binder


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

