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

from functools import lru_cache
from typing import Any

import sympy as sp

from klproof import vocabulary as C
from klproof.vocabulary import domains
from klproof.vocabulary.binders import subst

MAX_TERMS = 40  # distinct non-positive parts (rests) of the terms grouped; the terms beyond are left alone
MAX_COMPARISONS = 400  # pairs of logs compared in one sum: beyond this, the remaining terms are left alone
MAX_CANCELLED = 60  # terms of a difference of logs that is cancelled to find a constant ratio
MAX_FACTORED = 10**12  # integers up to this are split into primes (log 6 = log 2 + log 3)
_BINDERS = (sp.Integral, sp.Sum, sp.Product, C.Expectation, C.KL, C.LatentSum, C.NormalDiag)
_UNEVALUATED = (*_BINDERS, C.Normal, C.Prob)


def exponential_part(e: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    """(q, r) with e = exp(q) r: the exponentials of a product combined into one exponent, the rest apart."""
    exponent, rest = sp.Integer(0), sp.Integer(1)
    for factor in sp.Mul.make_args(sp.powsimp(e, combine="exp")):
        if isinstance(factor, sp.exp):
            exponent += factor.args[0]
        else:
            rest *= factor
    return exponent, rest


@lru_cache(maxsize=4096)
def positive(e: sp.Expr) -> bool:
    """e > 0 by SymPy's assumptions or on the declared intervals (1 - a for a in (0, 1))."""
    if e.is_Number:
        return bool(e.is_positive)
    if isinstance(e, sp.exp):
        return is_real(e.args[0])
    if isinstance(e, sp.Pow) and e.exp.is_real and positive(e.base):
        return True
    if isinstance(e, sp.Mul):
        return all(positive(f) for f in e.args) or domains.sign(e) == 1
    return domains.sign(e) == 1


class _NotPositive(Exception):
    """A factor whose log the rules cannot split: the term keeps its written form."""


def _log_of_number(n: sp.Rational) -> sp.Expr:
    if n.is_Integer:
        if n > MAX_FACTORED:
            return sp.log(n)
        return sp.Add(*[k * sp.log(p) for p, k in sp.factorint(n).items()])
    return _log_of_number(sp.Integer(n.p)) - _log_of_number(sp.Integer(n.q))


@lru_cache(maxsize=4096)
def _log_atom(base: sp.Expr) -> sp.Expr:
    """log of a positive sum: its factors' logs, each factor's sign proved and made positive
    (-2 s^2 (b - 1) A = 2 s^2 (1 - b) A for b in (0, 1)), so that 2A + 2B and 2(A + B) meet."""
    factored = sp.factor(base)
    if factored != base and isinstance(factored, sp.Mul):
        signs = [domains.sign(f) for f in factored.args]
        if None not in signs and sp.prod(signs) == 1:
            return sp.Add(*[log_form(sp.expand(f * s)) for f, s in zip(factored.args, signs, strict=True)])
    return sp.log(sp.expand(base))


@lru_cache(maxsize=4096)
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
        if not is_real(exponent):
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


def _ratio(a: sp.Expr, b: sp.Expr) -> sp.Expr | None:
    """exp(a - b) when a - b is a constant made of logs of integers (log 2 - log 3: 2/3), else None."""
    if not _maybe_constant(a - b):
        return None
    difference = sp.together(sp.expand(a - b))
    numerator = sp.expand(sp.numer(difference))
    if numerator == 0:
        return sp.Integer(1)
    if not numerator.has(sp.log) or len(sp.Add.make_args(numerator)) > MAX_CANCELLED:
        return None  # no constant log factor to find, or a cancellation too costly for what it could find
    difference = sp.cancel(difference)  # log 2 (1 - b)/(1 - b): a constant once the common factors cancel
    if difference.free_symbols:
        return None
    ratio = sp.Integer(1)
    for atom, k in sp.expand(difference).as_coefficients_dict().items():
        if not (isinstance(atom, sp.log) and atom.args[0].is_Integer and atom.args[0] > 0 and k.is_Rational):
            return None
        ratio *= atom.args[0] ** k
    return ratio


_PROBES = ({"num": 3, "den": 7}, {"num": 5, "den": 11})  # two points where a constant takes one value


def _maybe_constant(d: sp.Expr) -> bool:
    """False when d takes two clearly different values at two points, so that it cannot be a constant: a cheap
    filter before the exact (and costly) cancellation. Only ever skips a merge, never makes one."""
    symbols = sorted(d.free_symbols, key=sp.default_sort_key)
    if not symbols:
        return True
    values = []
    for probe in _PROBES:
        point = {x: sp.Rational(probe["num"] + k, probe["den"] + 2 * k) for k, x in enumerate(symbols)}
        try:
            value = sp.N(d.xreplace(point), 20)
        except (ArithmeticError, ValueError, TypeError):
            return True
        if not value.is_number or value.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
            return True
        values.append(complex(value))
    return abs(values[0] - values[1]) <= 1e-9 * (1 + abs(values[0]))


def _fraction(term: sp.Expr) -> sp.Expr:
    """expand writes exp(-u)/(a + b) as 1/(a exp(u) + b exp(u)): the denominator's common factors taken out."""
    numerator, denominator = sp.fraction(term)
    if not isinstance(denominator, sp.Add) or not denominator.has(sp.exp):
        return term
    # the exponentials every term of the denominator has (cheaper than factor_terms on large sums)
    rows = [sp.Mul.make_args(t) for t in denominator.args]
    common = [f for f in rows[0] if isinstance(f, sp.exp) and all(f in row for row in rows[1:])]
    if not common:
        return term
    rest = sp.Add(*[sp.Mul(*[f for f in row if f not in common]) for row in rows])
    return numerator / rest * sp.Mul(*[f**-1 for f in common])


def _split(term: sp.Expr) -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    """term = coefficient * rest * positive: `positive` the product of its provably positive factors."""
    coeff, body = term.as_coeff_Mul()
    pos: list[sp.Expr] = []
    rest: list[sp.Expr] = []
    for f in sp.Mul.make_args(body):
        base, k = f.as_base_exp()
        if positive(f):
            pos.append(f)
        elif isinstance(base, sp.Add) and k.is_Integer and domains.sign(base) == -1:
            pos.append(sp.expand(-base) ** k)  # a negative sum's sign goes to the coefficient
            coeff = -coeff if k.is_odd else coeff
        else:
            rest.append(f)
    return coeff, sp.Mul(*rest), sp.Mul(*pos)


def _transcendental(e: sp.Expr) -> bool:
    return e.has(sp.exp) or any(not p.exp.is_Integer for p in e.atoms(sp.Pow))


def split_roots(e: sp.Expr) -> sp.Expr:
    """(a b)^k = a^k b^k for a, b > 0 (on the declared intervals too), so sqrt(a b) meets sqrt(a) sqrt(b)."""
    def split(n: sp.Pow) -> sp.Expr:
        factors = sp.Mul.make_args(n.base)
        if len(factors) > 1 and n.exp.is_real and all(positive(f) for f in factors):
            return sp.Mul(*[f**n.exp for f in factors])
        return n
    return e.replace(lambda n: isinstance(n, sp.Pow) and isinstance(n.base, sp.Mul) and not n.exp.is_Integer, split)


def closed_forms(e: sp.Expr) -> sp.Expr:
    """Terms c1 R P1 + c2 R P2 with P1 = P2 proved through their logs, merged into (c1 + c2) R P1."""
    if not isinstance(e, sp.Add) or not _transcendental(e):
        return e
    kept: list[sp.Expr] = []
    groups: dict[sp.Expr, list[list]] = {}  # rest -> [positive part, its log, total coefficient]
    comparisons = 0
    for term in e.args:
        if term.has(*_UNEVALUATED) or len(groups) > MAX_TERMS or comparisons > MAX_COMPARISONS:
            kept.append(term)
            continue
        coeff, rest, part = _split(_fraction(split_roots(term)))
        try:
            logged = log_form(part)
        except _NotPositive:
            kept.append(term)
            continue
        for entry in groups.setdefault(rest, []):
            comparisons += 1
            ratio = sp.Integer(1) if entry[1] == logged else _ratio(logged, entry[1])
            if ratio is not None:  # this term's part is `ratio` times the entry's
                entry[2] += coeff * ratio
                break
        else:
            groups[rest].append([part, logged, coeff])
    entries = [(rest, part, c) for rest, found in groups.items() for part, _, c in found]
    if len(entries) + len(kept) == len(e.args):
        return e
    return sp.Add(*kept, *[c * rest * part for rest, part, c in entries])


def _tidy(e: sp.Expr) -> sp.Expr:
    """One written form per rational function of the same atoms (roots of positive products split first)."""
    return sp.cancel(sp.together(sp.expand(split_roots(e))))


def log_normal(e: sp.Expr) -> sp.Expr:
    """log N(x; m, s) = -(x - m)^2/(2 s^2) - log s - log(2 pi)/2 for real x, m and positive s (declared intervals
    included: SymPy alone cannot split the log when m holds sqrt(1 - a) for a in (0, 1))."""
    def expand(n: sp.log) -> sp.Expr:
        x, m, s = n.args[0].args
        if not (_real(x, m) and positive(s)):
            return n
        try:
            log_s = log_form(s)
        except _NotPositive:
            log_s = sp.log(s)
        return -(x - m) ** 2 / (2 * s**2) - log_s - (sp.log(2) + sp.log(sp.pi)) / 2
    return e.replace(lambda n: isinstance(n, sp.log) and isinstance(n.args[0], C.Normal), expand)


def normal_arguments(e: sp.Expr) -> sp.Expr:
    """N(x; m, s) with m in one canonical form and s as sqrt of its square's canonical form (s provably positive),
    so that densities written differently but equal in their arguments are the same object."""
    def tidy(n: C.Normal) -> sp.Expr:
        x, m, s = n.args
        if n.has(*_BINDERS) or not positive(s):
            return n
        return C.Normal(x if x.is_Symbol else _tidy(x), _tidy(m), sp.sqrt(_tidy(s**2)))
    return e.replace(lambda n: isinstance(n, C.Normal), tidy)


# -- products and convolutions of normal densities ---------------------------------------------

def _scale_ok(*scales: sp.Expr) -> bool:
    return all(positive(s) for s in scales)


@lru_cache(maxsize=4096)
def is_real(e: sp.Expr, depth: int = 0) -> bool:
    """Provably real: by SymPy's assumptions, or built by +, * and powers from real parts and bases positive on
    the declared intervals ((x - b sqrt(1 - a))/sqrt(a) for real x, b and a in (0, 1))."""
    if e.is_real:
        return True
    if depth > 20 or e.is_Atom:
        return False
    if isinstance(e, (sp.Add, sp.Mul)):
        return all(is_real(a, depth + 1) for a in e.args)
    if isinstance(e, sp.Pow):
        base, k = e.args
        if k.is_real and positive(base):
            return True
        return bool(k.is_Integer and is_real(base, depth + 1) and (k >= 0 or domains.sign(base) is not None))
    if isinstance(e, sp.exp):
        return is_real(e.args[0], depth + 1)
    if isinstance(e, sp.log):
        return positive(e.args[0])
    return False


def _real(*values: sp.Expr) -> bool:
    return all(is_real(v) for v in values)


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




# -- multiple integrals ------------------------------------------------------------------------

def _constant_limits(n: sp.Integral) -> bool:
    """Every limit's bounds are free of every integration variable: the region is a box."""
    variables = {limit[0] for limit in n.limits}
    return all(len(limit) == 3 and not ({*limit[1].free_symbols, *limit[2].free_symbols} & variables)
               for limit in n.limits)


def _nonnegative(f: sp.Expr) -> bool:
    """f >= 0: a product of normal densities, exponentials, even powers of real terms and positive factors."""
    for factor in sp.Mul.make_args(f):
        base, k = factor.as_base_exp()
        if isinstance(factor, C.Normal):
            if not (_real(*factor.args[:2]) and positive(factor.args[2])):
                return False
        elif not (positive(factor) or (k.is_Integer and k.is_even and is_real(base))):
            return False
    return True


def gaussian_dominated(f: sp.Expr, variables: list) -> bool:
    """|f| <= polynomial * exp(-q) with q a positive definite quadratic form in `variables` (the normal
    densities written out): f is absolutely integrable over R^n, so Fubini's theorem applies."""
    if f.has(*_BINDERS):
        return False
    written = f.replace(lambda n: isinstance(n, C.Normal), lambda n: n.formula())
    if isinstance(written, sp.Add):
        return False
    exponent, rest = exponential_part(written)
    if exponent == 0 or not all(rest.is_polynomial(v) for v in variables) or not is_real(exponent):
        return False
    try:
        poly = sp.Poly(sp.expand(exponent), *variables)
    except sp.PolynomialError:
        return False
    if poly.total_degree() != 2:
        return False
    hessian = sp.hessian(poly.as_expr(), variables)
    # -hessian positive definite: every leading principal minor of it positive (Sylvester's criterion)
    return all(positive(sp.factor((-hessian[:k, :k]).det())) for k in range(1, len(variables) + 1))


def fubini(e: sp.Expr) -> sp.Expr:
    """The order of a multiple integral over a box, put in one canonical order (by the variables' names),
    where the integrand is nonnegative (Tonelli) or Gaussian-dominated (Fubini); otherwise left as written."""
    def reorder(n: sp.Integral) -> sp.Expr:
        limits = sorted(n.limits, key=lambda limit: (limit[0].name, sp.default_sort_key(limit[1:])))
        if list(limits) == list(n.limits) or not _constant_limits(n):
            return n
        variables = [limit[0] for limit in n.limits]
        if not (_nonnegative(n.function) or gaussian_dominated(n.function, variables)):
            return n
        return sp.Integral(n.function, *limits)
    return e.replace(lambda n: isinstance(n, sp.Integral) and len(n.limits) > 1, reorder)


def nested_integrals(e: sp.Expr) -> sp.Expr:
    """A factor free of the inner variables moves into the inner integral: c(u) * (integral over v of f) under
    the integral over u is the double integral of c(u) f; an iterated integral is then written one way."""
    def merge(n: sp.Integral) -> sp.Expr:
        factors = sp.Mul.make_args(n.function)
        inner = [f for f in factors if isinstance(f, sp.Integral)]
        if len(inner) != 1:
            return n
        (integral,) = inner
        outside = sp.Mul(*[f for f in factors if f is not integral])
        inner_variables = {limit[0] for limit in integral.limits}
        if outside.has(*_BINDERS) or outside.free_symbols & inner_variables:
            return n
        return sp.Integral(outside * integral.function, *integral.limits, *n.limits)
    return e.replace(lambda n: isinstance(n, sp.Integral) and isinstance(n.function, sp.Mul), merge)


# -- induction over steps: the last factor of a product ------------------------------------------

def last_factor(e: sp.Expr) -> sp.Expr:
    """f(b + 1) prod_{j=a}^{b} f(j) = prod_{j=a}^{b+1} f(j) where b >= a - 1 is provable (likewise f(b + 1) plus a
    sum): the step from t - 1 to t of an induction, alpha_t alpha-bar_{t-1} = alpha-bar_t."""
    from klproof.check.product_rules import _count  # the products' own count of a range, b - a + 1 >= 0

    def absorb(n: sp.Expr, kind: Any, combine: Any) -> sp.Expr:  # (Product, Mul) or (Sum, Add)
        parts = list(combine.make_args(n))
        for k, part in enumerate(parts):
            # in a sum, c * Sum(...) absorbs c * f(b + 1); in a product, the factor itself
            coeff, body = part.as_coeff_Mul() if combine is sp.Add else (sp.Integer(1), part)
            if not isinstance(body, kind) or len(body.limits) != 1 or len(body.limits[0]) != 3:
                continue
            j, a, b = body.limits[0]
            if _count(a, b) is None:
                continue
            following = coeff * subst(body.function, {j: b + 1})
            others = parts[:k] + parts[k + 1:]
            if following in others:
                others.remove(following)
                return combine(*others, coeff * kind(body.function, (j, a, b + 1)))
        return n

    e = e.replace(lambda n: isinstance(n, sp.Mul) and n.has(sp.Product), lambda n: absorb(n, sp.Product, sp.Mul))
    return e.replace(lambda n: isinstance(n, sp.Add) and n.has(sp.Sum), lambda n: absorb(n, sp.Sum, sp.Add))
