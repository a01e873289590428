"""The sampler's own meaning of vectors, matrices and the multivariate normal (mpmath matrices).

Independent of check/matrix_rules.py: a matrix expression is computed entry by
entry at a concrete dimension (k = 1, 2 or 3), tr and det are mpmath's, the
density N(z; mu, Sigma) is its formula (2 pi)^(-k/2) det(Sigma)^(-1/2)
exp(-(z - mu)^T Sigma^-1 (z - mu) / 2), and E over it is a Gauss-Hermite product
rule over R^k, after z = mu + sqrt(2) L u (Sigma = L L^T), applied to f times
the density's formula times the Jacobian over the rule's weight: a wrong density
would show. Two rules of different orders give the error bound. Sample values
are exact rational matrices: random symmetric positive definite ones for an SPD
declaration (B B^T + I), symmetric ones, general ones, vectors.
"""

from __future__ import annotations

import itertools
import random
from functools import lru_cache

import mpmath
import sympy as sp
from sympy.matrices.expressions import (Identity, Inverse, MatAdd, MatMul, MatrixSymbol, Transpose, ZeroMatrix)
from sympy.matrices.expressions.matpow import MatPow

from klproof import vocabulary as C
from klproof.check.quadrature import NotEvaluable, Undefined
from klproof.vocabulary.linear_algebra import (DiagonalMatrix, EntryVector, PositiveDefiniteMatrix, SymmetricMatrix,
                                               with_entries)

MAX_DIMENSION = 3  # k is drawn from 1..3: enough to see non-commutativity, cheap to integrate over
MAX_QUADRATURE_DIMENSION = 2  # E over MvNormal by a product rule: nodes**k evaluations
MAX_EXACT_DEGREE = 12  # E of a polynomial in z of a higher degree (or of anything else) is not graded


def is_matrix_value(value) -> bool:
    return isinstance(value, mpmath.matrix)


def to_mp_matrix(value: sp.MatrixBase) -> mpmath.matrix:
    from klproof.check.semantics import to_mp
    return mpmath.matrix([[to_mp(value[i, j]) for j in range(value.cols)] for i in range(value.rows)])


# -- sample values ------------------------------------------------------------------------

def free_matrices(expr: sp.Basic) -> list[MatrixSymbol]:
    """The declared matrices and vectors a step mentions (bound vectors are not free)."""
    return sorted((s for s in expr.free_symbols if isinstance(s, MatrixSymbol)), key=sp.default_sort_key)


def dimension_symbols(matrices: list[MatrixSymbol]) -> set:
    return {s for m in matrices for d in m.shape for s in d.free_symbols}


def sample_matrices(matrices: list[MatrixSymbol], values: dict, rng: random.Random, round_: int) -> dict:
    """Exact random values, of the dimensions `values` gives: small integers first (readable witnesses)."""
    out = {}
    spread = 2 if round_ < 4 else 5
    for m in matrices:
        if with_entries(m):
            continue  # built from its family's values at evaluation time
        rows, cols = (int(sp.sympify(d).xreplace(values)) if not sp.sympify(d).is_Integer else int(d) for d in m.shape)
        if not (1 <= rows <= MAX_DIMENSION and 1 <= cols <= MAX_DIMENSION):
            raise NotEvaluable(f"the dimension of {m.name} is not 1 to {MAX_DIMENSION} here")

        def entry() -> sp.Rational:
            value = sp.Integer(rng.randint(-spread, spread))
            return value if round_ < 6 else value / rng.choice([1, 2, 3])

        if isinstance(m, PositiveDefiniteMatrix):
            b = sp.Matrix(rows, rows, lambda i, j: entry())
            value = b * b.T + sp.eye(rows) * sp.Rational(rng.choice([1, 1, 2]), rng.choice([1, 2]))
        elif isinstance(m, SymmetricMatrix):
            b = sp.Matrix(rows, rows, lambda i, j: entry())
            value = b + b.T
        else:
            value = sp.Matrix(rows, cols, lambda i, j: entry())
        out[m] = sp.ImmutableMatrix(value)
    return out


# -- evaluation ---------------------------------------------------------------------------

def _lookup(ev, e):
    def value(env):
        try:
            return env[e]
        except KeyError:
            raise NotEvaluable(f"the matrix {e.name} has no value here") from None
    return value


def _size(ev, d):
    fn = ev.compile(sp.sympify(d))

    def size(env):
        from klproof.check.semantics import as_integer
        n = as_integer(fn(env))
        if not 1 <= n <= MAX_DIMENSION:
            raise NotEvaluable(f"a dimension {n} outside 1..{MAX_DIMENSION}")
        return n
    return size


def _from_entries(ev, e):
    """diag(d_1, ..., d_k) or (u_1, ..., u_k) from its declared entry, the family values of this point."""
    (j,), body = e.entry.variables, ev.compile(e.entry.expr)
    size = _size(ev, e.shape[0])
    diagonal = isinstance(e, DiagonalMatrix)

    def value(env):
        n = size(env)
        entries = [body({**env, j: mpmath.mpf(i)}) for i in range(1, n + 1)]
        if not diagonal:
            return mpmath.matrix(entries)
        out = mpmath.zeros(n, n)
        for i, d in enumerate(entries):
            out[i, i] = d
        return out
    return value


def _identity(ev, e: Identity):
    n = _size(ev, e.shape[0])
    return lambda env: mpmath.eye(n(env))


def _zero(ev, e: ZeroMatrix):
    rows, cols = _size(ev, e.shape[0]), _size(ev, e.shape[1])
    return lambda env: mpmath.zeros(rows(env), cols(env))


def _add(ev, e: MatAdd):
    parts = [ev.compile(a) for a in e.args]

    def add(env):
        values = [p(env) for p in parts]
        total = values[0]
        for v in values[1:]:
            if v.rows != total.rows or v.cols != total.cols:
                raise Undefined("matrices of different shapes added")
            total = total + v
        return total
    return add


def _mul(ev, e: MatMul):
    parts = [ev.compile(a) for a in e.args]

    def mul(env):
        scalar, product = mpmath.mpf(1), None
        for p in parts:
            v = p(env)
            if is_matrix_value(v):
                if product is not None and product.cols != v.rows:
                    raise Undefined("matrices of mismatched shapes multiplied")
                product = v if product is None else product * v
            else:
                scalar *= v
        if product is None:
            return scalar
        return product * scalar
    return mul


def _transpose(ev, e: Transpose):
    arg = ev.compile(e.arg)
    return lambda env: arg(env).T


def _inverse(ev, e: Inverse):
    arg = ev.compile(e.arg)

    def inverse(env):
        m = arg(env)
        if mpmath.det(m) == 0:
            raise Undefined("the inverse of a singular matrix")
        return mpmath.inverse(m)
    return inverse


def scalar(ev, e: C.Scalar):
    arg = ev.compile(e.args[0])

    def scalar(env):
        m = arg(env)
        if not is_matrix_value(m):
            return m
        if (m.rows, m.cols) != (1, 1):
            raise Undefined("a 1 x 1 product that is not 1 x 1")
        return m[0, 0]
    return scalar


def trace(ev, e: C.Trace):
    arg = ev.compile(e.args[0])

    def tr(env):
        m = arg(env)
        return mpmath.fsum(m[i, i] for i in range(m.rows))
    return tr


def det(ev, e: C.Det):
    arg = ev.compile(e.args[0])
    return lambda env: mpmath.det(arg(env))


def _covariance(sigma, cache: dict):
    """(Sigma^-1, the normaliser sqrt((2 pi)^k det Sigma)), checked symmetric positive definite; computed once
    per covariance and precision (a quadrature evaluates the density at every node)."""
    key = (mpmath.mp.prec, tuple(sigma[i, j] for i in range(sigma.rows) for j in range(sigma.cols)))
    if key not in cache:
        if sigma != sigma.T:
            raise Undefined("a covariance that is not symmetric")
        try:
            mpmath.cholesky(sigma)
        except ValueError:
            raise Undefined("a covariance that is not positive definite") from None
        cache[key] = (mpmath.inverse(sigma), mpmath.sqrt((2 * mpmath.pi) ** sigma.rows * mpmath.det(sigma)))
    return cache[key]


def density(z, mu, sigma, cache: dict | None = None):
    """N(z; mu, Sigma) from its formula; Sigma must be symmetric positive definite."""
    inverse, normaliser = _covariance(sigma, {} if cache is None else cache)
    d = z - mu
    quadratic = (d.T * inverse * d)[0, 0]
    return mpmath.exp(-quadratic / 2) / normaliser


def mv_normal(ev, e: C.MvNormal):
    z, mu, sigma = (ev.compile(a) for a in e.args)
    cache: dict = {}
    return lambda env: density(z(env), mu(env), sigma(env), cache)


@lru_cache(maxsize=16)
def _hermite(n: int, dps: int) -> tuple[tuple, tuple]:
    """Gauss-Hermite nodes and weights (weight exp(-t^2)) by Golub-Welsch, at dps digits."""
    with mpmath.workdps(dps + 10):
        jacobi = mpmath.zeros(n, n)
        for i in range(1, n):
            jacobi[i, i - 1] = jacobi[i - 1, i] = mpmath.sqrt(mpmath.mpf(i) / 2)
        nodes, vectors = mpmath.eigsy(jacobi)
        weights = [mpmath.sqrt(mpmath.pi) * vectors[0, i] ** 2 for i in range(n)]
        return tuple(nodes[i] for i in range(n)), tuple(weights)


def _matrix_degree(m, z) -> int | None:
    """The degree in the vector z of a matrix expression (None: not a polynomial in z)."""
    if not m.has(z):
        return 0
    if m == z:
        return 1
    if isinstance(m, MatAdd):
        degrees = [_matrix_degree(a, z) for a in m.args]
        return None if None in degrees else max(d for d in degrees if d is not None)
    if isinstance(m, MatMul):
        degrees = [_matrix_degree(a, z) if a.is_Matrix or isinstance(a, sp.MatrixExpr) else degree(a, z)
                   for a in m.args]
        return None if None in degrees else sum(d for d in degrees if d is not None)
    if isinstance(m, Transpose):
        return _matrix_degree(m.arg, z)
    return None


def degree(f: sp.Expr, z) -> int | None:
    """The degree of f as a polynomial in the vector z, None when f is not one (exp(u^T z), log of a form ...).

    Gauss-Hermite with n nodes per dimension is exact for a polynomial of degree <= 2n - 1 times the
    Gaussian: only then do two rules' agreement bound the error (otherwise both can miss the mass)."""
    if not f.has(z):
        return 0
    if isinstance(f, C.Scalar):
        return _matrix_degree(f.args[0], z)
    if isinstance(f, sp.log) and isinstance(f.args[0], C.MvNormal):
        x, mu, sigma = f.args[0].args
        inner = _matrix_degree(x, z)
        return None if inner is None or mu.has(z) or sigma.has(z) else 2 * inner
    if isinstance(f, (sp.Add, sp.Mul)):
        degrees = [degree(a, z) for a in f.args]
        if None in degrees:
            return None
        values = [d for d in degrees if d is not None]
        return max(values) if isinstance(f, sp.Add) else sum(values)
    if isinstance(f, sp.Pow) and f.exp.is_Integer and 0 <= f.exp <= 16:
        base = degree(f.base, z)
        return None if base is None else base * int(f.exp)
    return None


def average(ev, density_expr: C.MvNormal, var: MatrixSymbol, f: sp.Expr):
    """E_{z ~ N(mu, Sigma)}[f] as the integral over R^k of f times the density's formula."""
    integrand = ev.compile(density_expr * f)
    exact_to = degree(f, var)
    mu_fn, sigma_fn = ev.compile(density_expr.args[1]), ev.compile(density_expr.args[2])
    trace_ = ev.trace

    def rule(env, n: int, mu, lower, k: int):
        nodes, weights = _hermite(n, ev.quad_dps)
        scale = mpmath.sqrt(2) ** k * mpmath.det(lower)  # dz = 2^(k/2) det L du
        total = []
        for index in itertools.product(range(n), repeat=k):
            u = mpmath.matrix([nodes[i] for i in index])
            weight = mpmath.fprod(weights[i] for i in index)
            z = mu + mpmath.sqrt(2) * (lower * u)
            # the rule's weight exp(-|u|^2) is divided out: the density's own formula carries the decay
            total.append(weight * mpmath.exp((u.T * u)[0, 0]) * scale * integrand({**env, var: z}))
        trace_.spend(len(total))
        return mpmath.fsum(total)

    def expectation(env):
        mu, sigma = mu_fn(env), sigma_fn(env)
        k = sigma.rows
        if k > MAX_QUADRATURE_DIMENSION:
            raise NotEvaluable(f"quadrature over a {k}-dimensional normal")
        try:
            lower = mpmath.cholesky(sigma)
        except ValueError:
            raise Undefined("a covariance that is not positive definite") from None
        # n nodes are exact for degree <= 2n - 1: two orders that are both exact for f's degree (a log density is
        # quadratic), other orders when looking again; they differ only by rounding
        low = (exact_to // 2 if exact_to is not None else 1) + (2 if ev.quad_level >= 4 else 3)
        high = low + 1
        trace_.quadrature, trace_.inside_quadrature = True, trace_.inside_quadrature + 1
        try:
            with mpmath.workdps(ev.quad_dps):
                coarse, fine = rule(env, low, mu, lower, k), rule(env, high, mu, lower, k)
        finally:
            trace_.inside_quadrature -= 1
        trace_.quadrature_error += abs(fine - coarse) + abs(fine) * mpmath.mpf(10) ** (4 - ev.quad_dps)
        if exact_to is None or exact_to > MAX_EXACT_DEGREE:
            trace_.unlocated = True  # not a low-degree polynomial in z: no claim either way ("unsure")
        return fine
    return expectation


def _power(ev, e: MatPow):
    """A^n = A A ... A, A^-n = (A^-1)^n, for an integer n (SymPy writes A*A as A**2)."""
    if not e.exp.is_Integer or not 0 < abs(int(e.exp)) <= 64:
        raise NotEvaluable("a matrix power that is not a small integer")
    base = _inverse(ev, Inverse(e.base)) if e.exp < 0 else ev.compile(e.base)
    n = abs(int(e.exp))

    def power(env):
        b = base(env)
        out = b
        for _ in range(n - 1):
            out = out * b
        return out
    return power


# Inverse before MatPow: SymPy's Inverse is a MatPow
_MATRIX_HANDLERS = ((DiagonalMatrix, _from_entries), (EntryVector, _from_entries),
                    (MatrixSymbol, _lookup), (Identity, _identity), (ZeroMatrix, _zero), (MatAdd, _add),
                    (MatMul, _mul), (Transpose, _transpose), (Inverse, _inverse), (MatPow, _power))


def compile_matrix(ev, e):
    """The value of a matrix expression: an mpmath matrix."""
    for cls, handler in _MATRIX_HANDLERS:
        if isinstance(e, cls):
            return handler(ev, e)
    raise NotEvaluable(f"no numeric meaning for the matrix expression {type(e).__name__}")
