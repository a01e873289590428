"""The rewrites of matrix algebra and of the multivariate normal, one function each.

A matrix expression is read as a sum of scalar coefficients times *words*:
products of atoms, each a declared matrix or vector, possibly transposed or
inverted. Every fact used is a theorem under what the file declared:

- (AB)^T = B^T A^T, (A^-1)^T = (A^T)^-1, A^T = A for a declared symmetric A,
  and A A^-1 = I only for a matrix the reader allowed inv() of (declared SPD);
- tr is linear and cyclic, tr(W) = tr(W^T), tr(I_k) = k, and a trace of a word
  holding a vector is the number u^T ... v it rotates to;
- u^T W v = v^T W^T u (a 1 x 1 matrix is its own transpose);
- det(c W) = c^k det W, det(AB) = det A det B (square factors), det(A^T) = det A,
  det(A^-1) = 1 / det A; the log of these splits only where each det is
  provably positive (klproof's log rules, which need positivity);
- E over N(mu, Sigma) of a polynomial of degree at most 2 in the vector z:
  E[c] = c, E[a^T z] = a^T mu, E[z^T W z] = tr(W Sigma) + mu^T W mu.

Anything outside this fragment is left alone: a rule never guesses.
"""

from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions import (Identity, Inverse, MatAdd, MatMul, MatrixSymbol, Transpose, ZeroMatrix)
from sympy.matrices.expressions.matpow import MatPow

from klproof import vocabulary as C
from klproof.vocabulary.linear_algebra import DiagonalMatrix, EntryVector, SymmetricMatrix, is_invertible, is_matrix

MAX_TERMS = 64  # terms of an expanded matrix product: (a + b)^T ... (c + d) grows as a product
MAX_WORD = 16

Atom = tuple  # (MatrixSymbol, transposed, inverted)
Word = tuple  # of atoms


class Outside(Exception):
    """The expression is outside the fragment the rules know: it is left as it is."""


# -- words -------------------------------------------------------------------------------

def _atom(symbol: MatrixSymbol, transposed: bool = False, inverted: bool = False) -> Atom:
    if isinstance(symbol, SymmetricMatrix) or symbol.shape == (1, 1):
        transposed = False  # A^T = A for a declared symmetric A
    return (symbol, transposed, inverted)


def _flip(word: Word) -> Word:
    """The word of the transpose: (AB)^T = B^T A^T."""
    return tuple(_atom(s, not t, i) for s, t, i in reversed(word))


def _cancel(word: Word) -> Word:
    """A A^-1 = A^-1 A = I for an invertible A (the reader only builds inv() of one)."""
    out: list = []
    for atom in word:
        if out and out[-1][0] == atom[0] and out[-1][1] == atom[1] and out[-1][2] != atom[2] \
                and is_invertible(atom[0]):
            out.pop()
        else:
            out.append(atom)
    return tuple(out)


def terms(m) -> list[tuple[sp.Expr, Word]]:
    """m as a sum of coefficient * word; Outside if m leaves the fragment."""
    if isinstance(m, MatrixSymbol):
        return [(sp.Integer(1), (_atom(m),))]
    if isinstance(m, Identity):
        return [(sp.Integer(1), ())]
    if isinstance(m, ZeroMatrix):
        return []
    if isinstance(m, MatAdd):
        return _bounded([t for a in m.args for t in terms(a)])
    if isinstance(m, MatMul):
        out: list = [(sp.Integer(1), ())]
        for factor in m.args:
            if not is_matrix(factor):
                out = [(c * factor, w) for c, w in out]
                continue
            out = _bounded([(c * d, _cancel(w + v)) for c, w in out for d, v in terms(factor)])
        return out
    if isinstance(m, Transpose):
        return [(c, _flip(w)) for c, w in terms(m.arg)]
    if isinstance(m, Inverse):
        inner = terms(m.arg)
        if len(inner) != 1 or inner[0][0] == 0:
            raise Outside("the inverse of a sum")
        c, w = inner[0]
        if not all(is_invertible(s) for s, _, _ in w):
            raise Outside("the inverse of a matrix not known to be invertible")
        return [(1 / c, tuple(_atom(s, t, not i) for s, t, i in reversed(w)))]
    if isinstance(m, MatPow) and m.exp.is_Integer and 0 < abs(int(m.exp)) <= MAX_WORD:
        base = m.base if m.exp > 0 else Inverse(m.base)
        return terms(MatMul(*[base] * abs(int(m.exp))))
    raise Outside(f"a matrix expression {type(m).__name__}")


def _bounded(ts: list) -> list:
    if len(ts) > MAX_TERMS or any(len(w) > MAX_WORD for _, w in ts):
        raise Outside("too many terms")
    return ts


def _matrix(word: Word):
    parts = []
    for s, t, i in word:
        a = Inverse(s) if i else s
        parts.append(Transpose(a) if t else a)
    return parts[0] if len(parts) == 1 else MatMul(*parts)


def _key(word: Word) -> tuple:
    return tuple((sp.default_sort_key(s), t, i) for s, t, i in word)


def _is_row(atom: Atom) -> bool:
    return atom[0].shape[1] == 1 and atom[1] and not atom[0].shape == (1, 1)


def _is_column(atom: Atom) -> bool:
    return atom[0].shape[1] == 1 and not atom[1] and not atom[0].shape == (1, 1)


def scalar_of(word: Word) -> sp.Expr:
    """The number a 1 x 1 word stands for, split where a column vector meets a row vector,
    each factor u^T W v written the one way its transpose v^T W^T u sorts first."""
    if not word:
        return sp.Integer(1)
    if not (_is_row(word[0]) and _is_column(word[-1])):
        raise Outside("a 1 x 1 word that does not run from a row vector to a column vector")
    cuts = [i + 1 for i in range(len(word) - 1) if _is_column(word[i]) and _is_row(word[i + 1])]
    product = sp.Integer(1)
    for a, b in zip([0, *cuts], [*cuts, len(word)], strict=True):
        piece = word[a:b]
        product *= C.Scalar(_matrix(min(piece, _flip(piece), key=_key)))
    return product


def trace_of(word: Word, k: sp.Expr) -> sp.Expr:
    """tr of a square word: k for I, the number it rotates to when it holds a vector, else the
    rotation of it or of its transpose that sorts first (tr is cyclic, tr W = tr W^T)."""
    if not word:
        return k
    rows = [i for i, atom in enumerate(word) if _is_row(atom)]
    if rows:
        i = rows[0]
        return scalar_of(word[i:] + word[:i])
    if any(_is_column(atom) for atom in word):
        raise Outside("a trace of an ill-shaped word")
    rotations = [w[i:] + w[:i] for w in (word, _flip(word)) for i in range(len(w))]
    return C.Trace(_matrix(min(rotations, key=_key)))


# -- the rewrites ---------------------------------------------------------------------------

def _expand_scalar(n: C.Scalar):
    try:
        return sp.Add(*[c * scalar_of(w) for c, w in terms(n.args[0])])
    except Outside:
        return n


def _expand_trace(n: C.Trace):
    m = n.args[0]
    if not is_matrix(m):
        return n  # tr of diag(...): the diagonal rule's
    try:
        return sp.Add(*[c * trace_of(w, m.shape[0]) for c, w in terms(m)])
    except Outside:
        return n


def matrix_algebra(e: sp.Expr) -> sp.Expr:
    """Quadratic forms and traces in canonical form: expanded, transposes pushed onto the symbols, A A^-1
    cancelled, tr rotated, u^T W v oriented, tr(I_k) = k, tr(u v^T) = v^T u."""
    e = e.replace(lambda n: isinstance(n, C.Scalar), _expand_scalar)
    return e.replace(lambda n: isinstance(n, C.Trace), _expand_trace)


def _expand_det(n: C.Det):
    m = n.args[0]
    if not is_matrix(m):
        return n
    try:
        ts = terms(m)
    except Outside:
        return n
    if len(ts) != 1:
        return n  # the determinant of a sum has no rule
    c, word = ts[0]
    if any(s.shape[1] == 1 for s, _, _ in word):
        return n  # an outer product: its determinant depends on k
    value = c ** m.shape[0]
    for s, _, inverted in word:
        value *= 1 / C.Det(s) if inverted else C.Det(s)
    return value


def log_det(e: sp.Expr) -> sp.Expr:
    """det(cW) = c^k det W, det(AB) = det A det B, det(A^T) = det A, det(A^-1) = 1/det A, det(I) = 1."""
    return e.replace(lambda n: isinstance(n, C.Det), _expand_det)


def mv_normal_density(e: sp.Expr) -> sp.Expr:
    """log N(z; mu, Sigma) = -(k/2) log(2 pi) - (1/2) log det Sigma - (1/2) (z - mu)^T Sigma^-1 (z - mu)."""
    return e.replace(lambda n: isinstance(n, sp.log) and isinstance(n.args[0], C.MvNormal),
                     lambda n: n.args[0].log_formula())


def _moment(term: sp.Expr, z: MatrixSymbol, mu, sigma) -> sp.Expr:
    """E[term] for z ~ N(mu, Sigma), term = coefficient free of z times at most one quadratic or linear form."""
    free: list[sp.Expr] = []
    dependent: list[sp.Expr] = []
    for factor in sp.Mul.make_args(term):
        (dependent if factor.has(z) else free).append(factor)
    if not dependent:
        return term  # the density integrates to 1
    if len(dependent) != 1 or not isinstance(dependent[0], C.Scalar):
        raise Outside("not a linear or quadratic form in the variable")
    word = terms(dependent[0].args[0])
    if len(word) != 1:
        raise Outside("an unexpanded form")
    c, w = word[0]
    at = [i for i, atom in enumerate(w) if atom[0] == z]
    coefficient = sp.Mul(*free) * c
    if len(at) == 1:  # linear: E[z] = mu
        return coefficient * dependent[0].xreplace({z: mu})
    if len(at) == 2 and at == [0, len(w) - 1] and w[0][1] and not w[-1][1]:
        inner = w[1:-1]
        middle = _matrix(inner) if inner else Identity(z.shape[0])
        return coefficient * (C.Trace(MatMul(middle, sigma)) + C.Scalar(MatMul(Transpose(mu), middle, mu)))
    raise Outside("a form of degree above 2 in the variable")


def mv_moments(e: sp.Expr) -> sp.Expr:
    """E over N(mu, Sigma) of a polynomial of degree <= 2 in z: E[c] = c, E[z] = mu,
    E[z^T W z] = tr(W Sigma) + mu^T W mu. Anything else: the expectation is left as it is."""

    def expand(n: C.Expectation):
        f, density, z = n.args
        if not isinstance(density, C.MvNormal) or density.args[0] != z:
            return n
        _, mu, sigma = density.args
        if mu.has(z) or sigma.has(z):
            return n  # N(z; z, Sigma) is not a density over z
        f = sp.expand(matrix_algebra(f))
        try:
            return sp.Add(*[_moment(t, z, mu, sigma) for t in sp.Add.make_args(f)])
        except Outside:
            return n

    return e.replace(lambda n: isinstance(n, C.Expectation), expand)


def mv_linearity(e: sp.Expr) -> sp.Expr:
    """E over N(mu, Sigma) is linear: constants out, one expectation per term, E[c] = c (the density
    integrates to 1)."""

    def split(n: C.Expectation):
        f, density, z = n.args
        if not isinstance(density, C.MvNormal) or density.args[0] != z:
            return n
        out = sp.Integer(0)
        # the forms in canonical form first, so that a constant inside one (u^T (3 z)) comes out too
        for term in sp.Add.make_args(sp.expand(matrix_algebra(f))):
            coefficient, dependent = term.as_independent(z, as_Add=False)
            out += coefficient if dependent == 1 else coefficient * C.Expectation(dependent, density, z)
        return out

    return e.replace(lambda n: isinstance(n, C.Expectation), split)


# -- declared diagonal matrices and vectors given by their components --------------------------

def _diagonal_product(word: Word, j) -> sp.Expr | None:
    """prod of the entries at j of a word of diagonal matrices (D^-1 contributes 1/d_j), None otherwise."""
    product = sp.Integer(1)
    for s, _, inverted in word:
        if not isinstance(s, DiagonalMatrix):
            return None
        entry = s.entry(j)
        product *= 1 / entry if inverted else entry
    return product


def _componentwise(n: sp.Expr) -> sp.Expr:
    m = n.args[0]
    if not is_matrix(m):
        return n
    try:
        ts = terms(m)
    except Outside:
        return n
    j = sp.Dummy("j", integer=True, positive=True)
    k = m.shape[0] if isinstance(n, C.Trace) else None
    total = sp.Integer(0)
    for c, word in ts:
        if isinstance(n, C.Trace):
            body = _diagonal_product(word, j)
            if body is None:
                return n
            total += c * sp.Sum(body, (j, 1, k))
            continue
        if len(word) < 2 or not (isinstance(word[0][0], EntryVector) and isinstance(word[-1][0], EntryVector)):
            return n
        body = _diagonal_product(word[1:-1], j)
        if body is None or not (word[0][1] and not word[-1][1]):
            return n
        total += c * sp.Sum(word[0][0].entry(j) * body * word[-1][0].entry(j), (j, 1, word[0][0].shape[0]))
    return total


def _determinant(n: C.Det) -> sp.Expr:
    m = n.args[0]
    if not isinstance(m, DiagonalMatrix):
        return n
    j = sp.Dummy("j", integer=True, positive=True)
    return sp.Product(m.entry(j), (j, 1, m.shape[0]))


def diagonal_entries(e: sp.Expr) -> sp.Expr:
    """For declared diagonal matrices D = diag(d_j) and vectors u = (u_j): tr(D1^-1 D2) = sum_j d2_j / d1_j,
    det D = prod_j d_j, u^T D^-1 v = sum_j u_j v_j / d_j (the diagonal vocabulary's sums and products)."""
    e = e.replace(lambda n: isinstance(n, (C.Trace, C.Scalar)), _componentwise)
    return e.replace(lambda n: isinstance(n, C.Det), _determinant)
