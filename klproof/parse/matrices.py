"""Reading vectors and matrices: the [matrices] declarations and shape-checked matrix arithmetic.

Both readers build matrix expressions through here, so a shape mismatch is the
same error in either notation, and a 1 x 1 product (a quadratic form) becomes a
scalar (`Scalar`) exactly where it meets scalar arithmetic. SymPy's own
MatMul does not reject k x k times 1 x k when k is a symbol: the shapes are
compared here, structurally.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import sympy as sp
from sympy.matrices.expressions import Identity, Inverse, MatAdd, MatMul, MatrixExpr, MatrixSymbol, Transpose

from klproof import vocabulary as C
from klproof.parse.build import bound_as
from klproof.vocabulary.binders import fresh
from klproof.vocabulary.linear_algebra import (DiagonalMatrix, EntryVector, PositiveDefiniteMatrix, Scalar, declared_matrix, is_invertible,
                                               is_matrix, vector_variable)

MAX_LITERAL_DIMENSION = 10

_DECLARATION = re.compile(r"^\s*(?P<rows>[A-Za-z_][A-Za-z0-9_]*|\d+)\s*(?:(?P<vector>vector)(?:\s*,\s*entries\s+(?P<ventry>\S.*))?"
                          r"|x\s*(?P<cols>[A-Za-z_][A-Za-z0-9_]*|\d+)"
                          r"\s*(?:,\s*(?P<kind>symmetric positive definite|spd|symmetric|diagonal)(?:\s+(?P<entry>\S.*))?)?)\s*$")

DECLARATION_HELP = ('declare e.g. Sigma = "k x k, symmetric positive definite", S = "k x k, symmetric", '
                    'A = "k x k", mu = "k vector", D = "k x k, diagonal sigma[j]**2" or m = "k vector, entries mu[j]", '
                    'with k a positive integer under [symbols]')


class ShapeError(ValueError):
    """A matrix operation whose shapes do not fit: the user's mistake, reported with its place."""


def declare(name: str, text, lookup: Callable[[str], sp.Basic | None],
            read_entry: Callable[[str], sp.Expr] | None = None) -> MatrixExpr:
    """The matrix or vector a [matrices] entry declares; ValueError with the reason otherwise.

    `read_entry` reads the entry of a diagonal matrix or of a vector given by its components (sigma[j]**2)."""
    if not isinstance(text, str):
        raise ValueError("a matrix declaration is a string")
    match = _DECLARATION.match(text)
    if not match:
        raise ValueError(f"cannot read the matrix declaration '{text[:60]}'")
    rows = _dimension(match.group("rows"), lookup)
    if match.group("vector"):
        if match.group("ventry"):
            return EntryVector(name, rows, sp.Integer(1), _entry(match.group("ventry"), read_entry, positive=False))
        return declared_matrix(name, rows, sp.Integer(1), "general")
    cols = _dimension(match.group("cols"), lookup)
    if rows != cols:
        raise ValueError(f"only square matrices are supported, not {rows} x {cols}")
    kind = match.group("kind") or "general"
    if kind == "diagonal" or match.group("entry"):
        if kind != "diagonal" or not match.group("entry"):
            raise ValueError("a diagonal matrix is declared with its entries: diagonal sigma[j]**2")
        return DiagonalMatrix(name, rows, cols, _entry(match.group("entry"), read_entry, positive=True))
    return declared_matrix(name, rows, cols, "spd" if kind in ("spd", "symmetric positive definite") else kind)


def _entry(text: str, read_entry, positive: bool) -> sp.Lambda:
    """The entry j -> f(j) of a diagonal matrix or a vector, written with one indexed family: sigma[j]**2."""
    if read_entry is None:
        raise ValueError("entries are not allowed here")
    value = read_entry(text)
    indices = {i for item in value.atoms(sp.Indexed) for i in item.indices if isinstance(i, sp.Symbol)}
    if len(indices) != 1:
        raise ValueError("the entry must be written with one index of a family, e.g. sigma[j]**2")
    (j,) = indices
    if positive and value.is_positive is not True:
        raise ValueError(f"the diagonal entry {value} is not provably positive (a diagonal covariance needs it)")
    index = sp.Dummy(j.name, integer=True, positive=True)
    return sp.Lambda(index, value.xreplace({j: index}))


def _dimension(word: str, lookup) -> sp.Expr:
    if word.isdigit():
        n = int(word)
        if not 1 <= n <= MAX_LITERAL_DIMENSION:
            raise ValueError(f"a literal dimension must be 1 to {MAX_LITERAL_DIMENSION}")
        return sp.Integer(n)
    symbol = lookup(word)
    if symbol is None:
        raise ValueError(f"the dimension '{word}' is not declared under [symbols]")
    if not (isinstance(symbol, sp.Symbol) and symbol.is_integer and symbol.is_positive):
        raise ValueError(f"the dimension '{word}' must be declared a positive integer")
    return symbol


def describe(m: MatrixExpr) -> str:
    rows, cols = m.shape
    if cols == 1:
        return f"a {rows} vector"
    if rows == 1:
        return f"a transposed {cols} vector (1 x {cols})"
    return f"a {rows} x {cols} matrix"


def _scalar(value):
    """A 1 x 1 matrix expression as the number it is; anything else unchanged."""
    if is_matrix(value) and value.shape == (1, 1):
        return Scalar(value)
    return value


def combine(op: str, left, right):
    """left op right, where at least one side is a matrix expression (op is + - * /)."""
    left, right = _scalar(left), _scalar(right)
    lm, rm = is_matrix(left), is_matrix(right)
    if not (lm or rm):
        return {"+": sp.Add, "-": lambda a, b: a - b, "*": sp.Mul, "/": lambda a, b: a / b}[op](left, right)
    if op in "+-":
        if not (lm and rm):
            other = right if lm else left
            matrix = left if lm else right
            raise ShapeError(f"cannot add the number {other} and {describe(matrix)}")
        if left.shape != right.shape:
            raise ShapeError(f"cannot add {describe(left)} and {describe(right)}: the shapes differ")
        return MatAdd(left, right if op == "+" else -right).doit(deep=False)
    if op == "/":
        if rm:
            raise ShapeError(f"cannot divide by {describe(right)}; write inv(A) for the inverse of a matrix")
        return MatMul(1 / right, left).doit(deep=False)
    if lm and rm and left.shape[1] != right.shape[0]:
        raise ShapeError(f"cannot multiply {describe(left)} by {describe(right)}: "
                         f"{left.shape[1]} columns against {right.shape[0]} rows")
    return _scalar(MatMul(left, right).doit(deep=False))


def finish(value):
    """What an expression reader returns: a 1 x 1 product as its number; a matrix is not a step's value."""
    value = _scalar(value)
    if is_matrix(value):
        raise ShapeError(f"the expression is {describe(value)}, not a number; a step compares numbers "
                         "(take tr(...), det(...) or a quadratic form transpose(u)*A*u)")
    return value


def transpose(m):
    if isinstance(m, Scalar):  # a 1 x 1 product is its own transpose
        return m
    m = _matrix_argument(m, "transpose")
    return _scalar(Transpose(m).doit(deep=False)) if m.shape == (1, 1) else Transpose(m)


def inverse(m):
    m = _matrix_argument(m, "inv")
    if m.shape[0] != m.shape[1]:
        raise ShapeError(f"inv() of {describe(m)}: only a square matrix has an inverse")
    if not is_invertible(m):
        raise ShapeError("inv() needs a matrix declared symmetric positive definite (then it is invertible); "
                         "nothing proves this one invertible")
    return Inverse(m)


def square(m, what: str):
    m = _matrix_argument(m, what)
    if m.shape[0] != m.shape[1]:
        raise ShapeError(f"{what}() of {describe(m)}: it needs a square matrix")
    return m


def identity(n) -> Identity:
    if not (n.is_integer and n.is_positive):
        raise ShapeError(f"eye({n}): the dimension must be a positive integer")
    return Identity(n)


def covariance(sigma, mean, variable):
    """The checks on MvNormal(z, mu, Sigma): vectors of one dimension, Sigma provably SPD."""
    for what, v in (("variable", variable), ("mean", mean)):
        if not (is_matrix(v) and v.shape[1] == 1):
            raise ShapeError(f"the {what} of MvNormal must be a vector, got {v}")
    if not is_matrix(sigma) or sigma.shape != (variable.shape[0], variable.shape[0]):
        raise ShapeError(f"the covariance of MvNormal must be a {variable.shape[0]} x {variable.shape[0]} matrix")
    if mean.shape != variable.shape:
        raise ShapeError("the mean of MvNormal has another dimension than its variable")
    if not (isinstance(sigma, (PositiveDefiniteMatrix, Identity))
            or isinstance(sigma, Inverse) and isinstance(sigma.arg, PositiveDefiniteMatrix)):
        raise ShapeError("the covariance of MvNormal must be declared symmetric positive definite "
                         '(e.g. Sigma = "k x k, symmetric positive definite")')


def misplaced(value) -> str | None:
    """Why a matrix sits where only a number means something (log(A), N(x, mu, A), Sum(A, ...)), or None."""
    for node in sp.preorder_traversal(value):
        if is_matrix(node) or isinstance(node, _MATRIX_AWARE):
            continue
        for arg in node.args:
            if is_matrix(arg) and not isinstance(arg, sp.ZeroMatrix):
                return f"{type(node).__name__.lower()} of {describe(arg)} is not defined here"
    return None


def _matrix_argument(m, what: str):
    if not is_matrix(m):
        raise ShapeError(f"{what}() takes a vector or a matrix, got {m}")
    return m


def binding(scope, name: str, like: MatrixSymbol):
    """Open a binder for the vector `name` (E over MvNormal): inside, the name is a fresh vector of like's shape,
    never the file's vector of that name."""
    return bound_as(scope, name, vector_variable(fresh(name), like))


def zero_vector_like(value, like):
    """`0` where a vector is expected (MvNormal(z, 0, Sigma)): the zero vector of like's shape."""
    if value == 0 and is_matrix(like):
        return sp.ZeroMatrix(*like.shape)
    return value


# the heads that take a matrix argument; anywhere else a matrix is a mistake
_MATRIX_AWARE = (Scalar, C.Trace, C.Det, C.MvNormal, C.Expectation, C.KL)

__all__ = ["DECLARATION_HELP", "ShapeError", "combine", "covariance", "declare", "finish", "identity", "inverse",
           "square", "transpose", "binding", "misplaced", "zero_vector_like"]
