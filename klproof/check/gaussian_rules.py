"""Gaussian algebra: closed forms compared through their logs, products and convolutions of normal densities.

Every rewrite here maps an expression to an equal one under side conditions it
proves first (scales provably positive, means and coefficients provably real);
where a condition is not proved the expression is left alone.

`closed_forms` is the comparison the Gaussian rules rely on: two terms whose
positive parts differ only in how exponentials, roots and logs are written
(exp(a) exp(b) against exp(a + b), sqrt(1/A) against 1/sqrt(A)) are merged.
A positive part P is mapped to log P, split with the log rules that hold for
positive factors (log(ab) = log a + log b, log(b^k) = k log b, log(exp(a)) = a
for real a), and two such logs are compared as rational functions of their log
atoms. log is injective on the positive reals, so equal logs mean equal parts.
"""

from __future__ import annotations

import sympy as sp

from klproof import vocabulary as C
from klproof.vocabulary import domains

MAX_TERMS = 40  # terms with a transcendental part compared pairwise: beyond this, left alone
MAX_FACTORED = 10**12  # integers up to this are split into primes (log 6 = log 2 + log 3)
_UNEVALUATED = (sp.Integral, sp.Sum, sp.Product, C.Expectation, C.KL, C.LatentSum, C.Normal, C.NormalDiag, C.Prob)


def positive(e: sp.Expr) -> bool:
    """e > 0 by SymPy's assumptions or on the declared intervals (1 - a for a in (0, 1))."""
    return domains.sign(e) == 1


class _NotPositive(Exception):
    """A factor whose log the rules cannot split: the term keeps its written form."""


def _log_of_number(n: sp.Rational) -> sp.Expr:
    if n.is_Integer:
        if n > MAX_FACTORED:
            return sp.log(n)
        return sp.Add(*[k * sp.log(p) for p, k in sp.factorint(n).items()])
    return _log_of_number(sp.Integer(n.p)) - _log_of_number(sp.Integer(n.q))


def _log_atom(base: sp.Expr) -> sp.Expr:
    """log of a positive sum, as an atom; the sum factored so that 2A + 2B and 2(A + B) meet."""
    factored = sp.factor(base)
    if factored != base and isinstance(factored, sp.Mul) and all(positive(f) for f in factored.args):
        return sp.Add(*[log_form(f) for f in factored.args])
    return sp.log(sp.expand(base))


def log_form(p: sp.Expr) -> sp.Expr:
    """log p for p provably positive, split into log atoms and exponents; _NotPositive where it cannot."""
    if p.is_Rational:
        if p > 0:
            return _log_of_number(p)
        raise _NotPositive
    if p is sp.E:
        return sp.Integer(1)
    if not positive(p):
        raise _NotPositive
    if isinstance(p, sp.Mul):
        if all(positive(f) for f in p.args):
            return sp.Add(*[log_form(f) for f in p.args])
        cancelled = sp.cancel(p)  # sqrt(-1/(-A)): the signs cancel once written as one fraction
        if cancelled != p:
            return log_form(cancelled)
        raise _NotPositive
    if isinstance(p, sp.exp):
        exponent = p.args[0]
        if not exponent.is_real:
            raise _NotPositive
        return _exponent(exponent)
    if isinstance(p, sp.Pow):
        base, k = p.args
        if not k.is_real:
            raise _NotPositive
        if positive(base):
            return k * log_form(base)
        cancelled = sp.cancel(base)
        if cancelled != base and positive(cancelled):
            return k * log_form(cancelled)
        raise _NotPositive
    if isinstance(p, sp.Add):
        together = sp.together(p)
        if isinstance(together, sp.Mul) and all(positive(f) for f in together.args):
            return log_form(together)
        return _log_atom(p)
    return sp.log(p)  # a positive symbol, pi, a positive function value: an atom


def _exponent(a: sp.Expr) -> sp.Expr:
    """A real exponent, with the logs inside it split where their arguments are positive."""
    def split(n: sp.log) -> sp.Expr:
        try:
            return log_form(n.args[0])
        except _NotPositive:
            return n
    return a.replace(lambda n: isinstance(n, sp.log), split)


def _same(a: sp.Expr, b: sp.Expr) -> bool:
    difference = sp.together(sp.expand(a - b))
    return difference == 0 or sp.expand(sp.numer(difference)) == 0


def _split(term: sp.Expr) -> tuple[sp.Expr, sp.Expr, sp.Expr | None]:
    """term = coefficient * rest * positive, `positive` the product of its transcendental positive factors."""
    coeff, body = term.as_coeff_Mul()
    pos: list[sp.Expr] = []
    rest: list[sp.Expr] = []
    for f in sp.Mul.make_args(body):
        transcendental = isinstance(f, sp.exp) or (isinstance(f, sp.Pow) and not f.exp.is_Integer) \
            or f.is_Symbol or f is sp.pi
        (pos if transcendental and positive(f) else rest).append(f)
    if not any(isinstance(f, (sp.exp, sp.Pow)) for f in pos):
        return coeff, body, None
    return coeff, sp.Mul(*rest), sp.Mul(*pos)


def closed_forms(e: sp.Expr) -> sp.Expr:
    """Terms c1 R P1 + c2 R P2 with P1 = P2 proved through their logs, merged into (c1 + c2) R P1."""
    if not isinstance(e, sp.Add):
        return e
    kept: list[sp.Expr] = []
    groups: list[tuple[sp.Expr, sp.Expr, sp.Expr, sp.Expr]] = []  # (rest, positive, its log, total coefficient)
    candidates = 0
    for term in e.args:
        if term.has(*_UNEVALUATED):
            kept.append(term)
            continue
        coeff, rest, part = _split(term)
        if part is None:
            kept.append(term)
            continue
        candidates += 1
        if candidates > MAX_TERMS:
            return e
        try:
            logged = log_form(part)
        except _NotPositive:
            kept.append(term)
            continue
        for k, (r, p, lg, c) in enumerate(groups):
            if _same(r, rest) and _same(lg, logged):
                groups[k] = (r, p, lg, c + coeff)
                break
        else:
            groups.append((rest, part, logged, coeff))
    merged = sp.Add(*kept, *[c * r * p for r, p, _, c in groups])
    return merged if len(groups) + len(kept) < len(e.args) else e


# -- products and convolutions of normal densities ---------------------------------------------

def _scale_ok(*scales: sp.Expr) -> bool:
    return all(positive(s) for s in scales)


def _real(*values: sp.Expr) -> bool:
    return all(v.is_real for v in values)


def normal_product(e: sp.Expr) -> sp.Expr:
    """N(x; a, s) N(x; b, t) = N(a; b, sqrt(s^2 + t^2)) N(x; m, v), m = (a t^2 + b s^2)/(s^2 + t^2),
    v = s t / sqrt(s^2 + t^2): completing the square in x (s, t > 0; x, a, b real)."""

    def rewrite(n: sp.Mul) -> sp.Expr:
        normals = [f for f in n.args if isinstance(f, C.Normal)]
        for i, first in enumerate(normals):
            for second in normals[i + 1:]:
                x, a, s = first.args
                y, b, t = second.args
                if x != y or not _scale_ok(s, t) or not _real(x, a, b):
                    continue
                total = s**2 + t**2
                m = (a * t**2 + b * s**2) / total
                v = s * t / sp.sqrt(total)
                rest = n / (first * second)
                return rest * C.Normal(a, b, sp.sqrt(total)) * C.Normal(x, m, v)
        return n

    return e.replace(lambda n: isinstance(n, sp.Mul) and sum(isinstance(f, C.Normal) for f in n.args) >= 2, rewrite)


def _affine(mean: sp.Expr, x: sp.Symbol) -> tuple[sp.Expr, sp.Expr] | None:
    """(c, d) with mean = c x + d, c and d free of x and real; None otherwise."""
    c = sp.diff(mean, x)
    if c.has(x):
        return None
    d = sp.expand(mean - c * x)
    if d.has(x) or not _real(c, d):
        return None
    return c, d


def linear_gaussian(x: sp.Symbol, prior: C.Normal, likelihood: C.Normal):
    """For N(x; m, s) N(y; c x + d, t): (y, c, d, m, s, t) when the side conditions are proved."""
    px, m, s = prior.args
    y, mean, t = likelihood.args
    if px != x or m.has(x) or s.has(x) or y.has(x) or t.has(x) or not _scale_ok(s, t) or not _real(y, m):
        return None
    cd = _affine(mean, x)
    if cd is None:
        return None
    return (y, *cd, m, s, t)


def _pairs(factors):
    normals = [f for f in factors if isinstance(f, C.Normal)]
    for first in normals:
        for second in normals:
            if first is not second:
                yield first, second


def gaussian_convolution(e: sp.Expr) -> sp.Expr:
    """The integral over x in R of N(x; m, s) N(y; c x + d, t) is N(y; c m + d, sqrt(c^2 s^2 + t^2))
    (s, t > 0; c, d, m, y real and free of x); factors free of x come out of the integral first."""

    def rewrite(n: sp.Integral) -> sp.Expr:
        x, lo, hi = n.limits[0]
        if (lo, hi) != (-sp.oo, sp.oo):
            return n
        outside, inside = n.function.as_independent(x, as_Add=False)
        for prior, likelihood in _pairs(sp.Mul.make_args(inside)):
            if prior * likelihood != inside:
                continue
            found = linear_gaussian(x, prior, likelihood)
            if found is None:
                continue
            y, c, d, m, s, t = found
            closed = outside * C.Normal(y, c * m + d, sp.sqrt(c**2 * s**2 + t**2))
            return sp.Integral(closed, *n.limits[1:]) if len(n.limits) > 1 else closed
        return n

    return e.replace(lambda n: isinstance(n, sp.Integral) and len(n.limits[0]) == 3, rewrite)


def gaussian_conditioning(e: sp.Expr) -> sp.Expr:
    """The posterior of a linear-Gaussian pair (Bayes' rule for two normals):
    N(x; m, s) N(y; c x + d, t) / N(y; c m + d, r) = N(x; m + c s^2 (y - c m - d)/r^2, s t/r), r = sqrt(c^2 s^2 + t^2)
    (s, t > 0; c, d, m, x, y real; c, d, m, s, t and y free of x). The joint is rewritten as marginal times
    posterior where a normal density in y divides it; the two marginals then cancel when written alike."""

    def rewrite(n: sp.Mul) -> sp.Expr:
        divisors = {f.base.args[0] for f in n.args
                    if isinstance(f, sp.Pow) and f.exp == -1 and isinstance(f.base, C.Normal)}
        for prior, likelihood in _pairs(n.args):
            x = prior.args[0]
            if likelihood.args[0] not in divisors or not isinstance(x, sp.Symbol) or not x.is_real:
                continue
            found = linear_gaussian(x, prior, likelihood)
            if found is None:
                continue
            y, c, d, m, s, t = found
            r2 = c**2 * s**2 + t**2
            posterior = C.Normal(x, m + c * s**2 * (y - c * m - d) / r2, s * t / sp.sqrt(r2))
            return n / (prior * likelihood) * C.Normal(y, c * m + d, sp.sqrt(r2)) * posterior
        return n

    return e.replace(lambda n: isinstance(n, sp.Mul) and sum(isinstance(f, C.Normal) for f in n.args) >= 2, rewrite)


