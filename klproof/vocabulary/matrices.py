"""Diagonal matrices: diag, tr, det and the dot product u^T v."""

from __future__ import annotations

import sympy as sp
from sympy.core.function import Function


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
