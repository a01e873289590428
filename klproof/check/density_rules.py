"""Rewrites for the named continuous densities and the integrals they lead to.

- `continuous_densities`: Laplace(x; m, b) and Exponential(x; lam) by their formulas (the exponential's only
  where x >= 0 is provable: below 0 the density is 0, not lam exp(-lam x)), and Bernoulli(x; p) at an x
  declared in {0, 1}, Categorical(x; softmax(theta)) at an x provably among its outcomes;
- `absolute_value`: an integral of f(x) |a x + b| over [lo, hi] is split at the kink x = -b/a where the kink
  provably lies in the range, and |.| is resolved on each piece where the sign is provable at both ends
  (an affine function keeps its sign between two points where it has it);
- `exponential_moments`: integrals of x^n exp(s x + c) over an interval, a half line (s provably of the sign
  that makes it converge) or a finite range (s provably nonzero), by the antiderivative
  exp(s x) sum_k (-1)^k n!/(n-k)! x^(n-k) / s^(k+1); x^p exp(-lam x) over [0, oo) for any p > -1 (the
  gamma integral Gamma(p+1)/lam^(p+1)); and the half-line Gaussian moments
  int_0^oo x^n exp(-a x^2) dx = Gamma((n+1)/2) / (2 a^((n+1)/2)) for a provably positive.

Each leaves the expression alone where a side condition is not provable; none guesses.
"""

from __future__ import annotations

import sympy as sp

from klproof import vocabulary as C
from klproof.check.gaussian_rules import exponential_part
from klproof.vocabulary import domains

MAX_DEGREE = 40  # x^n with n above this is left alone (n! and the antiderivative's n terms stay small)


def continuous_densities(e: sp.Expr) -> sp.Expr:
    def expand(n):
        body = n.formula()
        return n if body is None else body

    e = e.replace(lambda n: isinstance(n, sp.log) and _binary_bernoulli(n.args[0]) and _probability(n.args[0].args[1]),
                  lambda n: _log_bernoulli(*n.args[0].args))
    return e.replace(lambda n: isinstance(n, (*C.CONTINUOUS_DENSITIES, C.Categorical)) or _binary_bernoulli(n), expand)


def _probability(p) -> bool:
    """p in (0, 1), provably (from the declared intervals: SymPy's assumptions cannot say p < 1)."""
    return domains.sign(p) == 1 and domains.sign(1 - p) == 1


def _log_bernoulli(x, p) -> sp.Expr:
    """log(p^x (1 - p)^(1 - x)) = x log p + (1 - x) log(1 - p), for p in (0, 1): the binary cross-entropy's form."""
    return x * sp.log(p) + (1 - x) * sp.log(1 - p)


def _binary_bernoulli(n) -> bool:
    """Bernoulli(x, p) at an x declared in {0, 1} (a binary pixel): its formula p^x (1 - p)^(1 - x) holds there;
    at any other x the mass is 0 and the formula is wrong."""
    if not isinstance(n, C.Bernoulli):
        return False
    declared = domains.domain_of(n.args[0])
    return isinstance(declared, domains.FiniteSet) and set(declared.values) <= {0, 1}


# -- |a x + b| under an integral ----------------------------------------------------------------------

def _affine(u: sp.Expr, x) -> tuple[sp.Expr, sp.Expr] | None:
    """(a, b) with u = a x + b, a and b free of x and provably real; None otherwise."""
    a = sp.diff(u, x)
    if a.has(x):
        return None
    b = sp.expand(u - a * x)
    if b.has(x) or a.is_real is not True or b.is_real is not True:
        return None
    return a, b


def _sign_at(a, b, end) -> set[int]:
    """The signs a x + b provably has at an end of the range (1: >= 0, -1: <= 0; both at a zero; none unknown)."""
    if end in (sp.oo, -sp.oo):
        toward = a if end == sp.oo else -a  # the value's sign far out is the slope's sign in that direction
        return {1} if toward.is_positive else {-1} if toward.is_negative else set()
    value = sp.expand(a * end + b)
    return {sign for sign, holds in ((1, value.is_nonnegative), (-1, value.is_nonpositive)) if holds}


def _inside(c, lo, hi) -> bool:
    return (lo == -sp.oo or sp.expand(c - lo).is_nonnegative is True) \
        and (hi == sp.oo or sp.expand(hi - c).is_nonnegative is True)


def _resolve(f: sp.Expr, x, lo, hi, free: set, depth: int = 0) -> sp.Expr | None:
    """The integral of f over [lo, hi] with every |affine in x| resolved, split at kinks; None if one is not."""
    kinks = sorted((n for n in f.atoms(sp.Abs) if n.has(x) and n.free_symbols - {x} <= free),
                   key=sp.default_sort_key)
    if not kinks:
        return sp.Integral(f, (x, lo, hi)) if depth else None
    if depth > 2 * len(kinks) + 4:
        return None
    for n in kinks:
        coeffs = _affine(n.args[0], x)
        if coeffs is None:
            continue
        a, b = coeffs
        both = _sign_at(a, b, lo) & _sign_at(a, b, hi)
        if both:  # one sign over the whole range: an affine function keeps it between the ends
            return _resolve(f.xreplace({n: max(both) * n.args[0]}), x, lo, hi, free, depth + 1)
        if a.is_nonzero:
            c = sp.cancel(-b / a)
            if _inside(c, lo, hi):
                left, right = _resolve(f, x, lo, c, free, depth + 1), _resolve(f, x, c, hi, free, depth + 1)
                if left is not None and right is not None:
                    return left + right
    return None


def absolute_value(e: sp.Expr) -> sp.Expr:
    def split(n: sp.Integral) -> sp.Expr:
        var, lo, hi = n.limits[0]
        free = sp.Integral(n.function, n.limits[0]).free_symbols
        inner = _resolve(n.function, var, lo, hi, free)
        if inner is None:
            return n
        return sp.Integral(inner, *n.limits[1:]) if len(n.limits) > 1 else inner

    return e.replace(lambda n: isinstance(n, sp.Integral) and len(n.limits[0]) == 3
                     and any(a.has(n.limits[0][0]) for a in n.function.atoms(sp.Abs)), split)


# -- x^n exp(linear) and x^n exp(-a x^2) ------------------------------------------------------------------

def _power_integral(n: int, s, lo, hi):
    """The integral of x^n exp(s x) over [lo, hi], or None where it is not provably convergent and defined."""
    if s == 0:
        if lo.is_infinite or hi.is_infinite:
            return None
        return (hi ** (n + 1) - lo ** (n + 1)) / (n + 1)
    ends = {lo, hi}
    if ends == {-sp.oo, sp.oo}:
        return None
    # at an infinite end (either limit: a range may be written backwards) exp(s x) must vanish
    if (sp.oo in ends and s.is_negative is not True) or (-sp.oo in ends and s.is_positive is not True) \
            or s.is_nonzero is not True:
        return None

    def antiderivative(t):  # exp(s t) sum_k (-1)^k n!/(n-k)! t^(n-k) / s^(k+1); 0 at an infinite end
        if t.is_infinite:
            return sp.Integer(0)
        return sp.exp(s * t) * sp.Add(*[(-1) ** k * sp.ff(n, k) * t ** (n - k) / s ** (k + 1) for k in range(n + 1)])

    return antiderivative(hi) - antiderivative(lo)


def _closed(f: sp.Expr, x, lo, hi) -> sp.Expr | None:
    total = sp.Integer(0)
    for term in sp.Add.make_args(sp.expand(f)):
        coeff, dep = term.as_independent(x, as_Add=False)
        exponent, rest = exponential_part(dep)
        try:
            power = sp.Poly(sp.expand(exponent), x)
        except sp.PolynomialError:
            return None
        general = _general_power(rest, x)
        if general is not None:  # c x^p, p not a nonnegative integer: the gamma integral over [0, oo)
            c, p = general
            value = _gamma_integral(p, power, lo, hi)
            if value is None:
                return None
            total += coeff * c * value
            continue
        try:
            polynomial = sp.Poly(rest, x)
        except sp.PolynomialError:
            return None
        if power.degree() > 2 or polynomial.degree() > MAX_DEGREE:
            return None
        coeffs = power.all_coeffs()
        constant = sp.exp(coeffs[-1])
        for (k,), c in polynomial.terms():
            if power.degree() == 2:
                value = _half_line_gaussian(k, -coeffs[0], coeffs[1], lo, hi)
            else:
                value = _power_integral(k, coeffs[0] if power.degree() == 1 else sp.Integer(0), lo, hi)
            if value is None:
                return None
            total += coeff * c * constant * value
    return total


def _general_power(rest: sp.Expr, x) -> tuple[sp.Expr, sp.Expr] | None:
    """(c, p) with rest = c x^p, c free of x and p free of x but not a nonnegative integer; None otherwise."""
    c, part = sp.powsimp(rest, combine="exp").as_independent(x, as_Add=False)
    if not (isinstance(part, sp.Pow) and part.base == x) or part.exp.has(x):
        return None
    p = part.exp
    return None if p.is_Integer and p >= 0 else (c, p)


def _gamma_integral(p, power: sp.Poly, lo, hi):
    """int_0^oo x^p exp(s x + c) dx = e^c Gamma(p + 1) / (-s)^(p + 1), for s provably negative and p > -1 provably."""
    if (lo, hi) != (0, sp.oo) or power.degree() != 1:
        return None
    s, c = power.all_coeffs()
    if s.is_negative is not True or (p + 1).is_positive is not True:
        return None
    return sp.exp(c) * sp.expand_func(sp.gamma(p + 1)) / (-s) ** (p + 1)


def _half_line_gaussian(n: int, a, linear, lo, hi):
    """int_v^oo x^n exp(-a x^2 + b x) dx for the vertex v = b/(2a) as the finite end (a > 0): with x = v + t it is
    exp(a v^2) sum_k C(n, k) v^(n-k) int_0^oo t^k exp(-a t^2) dt, and int_0^oo t^k exp(-a t^2) dt =
    Gamma((k+1)/2) / (2 a^((k+1)/2)); over (-oo, v] the odd moments change sign."""
    if a.is_positive is not True:
        return None
    vertex = sp.cancel(linear / (2 * a))
    if hi == sp.oo and not lo.is_infinite and sp.expand(lo - vertex) == 0:
        sign = 1
    elif lo == -sp.oo and not hi.is_infinite and sp.expand(hi - vertex) == 0:
        sign = -1
    else:
        return None  # an end away from the vertex: the closed form needs erf
    return sp.exp(a * vertex**2) * sp.Add(*[sp.binomial(n, k) * vertex ** (n - k) * sign**k
                                            * sp.gamma(sp.Rational(k + 1, 2)) / (2 * a ** sp.Rational(k + 1, 2))
                                            for k in range(n + 1)])


def exponential_moments(e: sp.Expr) -> sp.Expr:
    def applies(n) -> bool:
        if not (isinstance(n, sp.Integral) and len(n.limits[0]) == 3):
            return False
        _, lo, hi = n.limits[0]
        return not (lo == -sp.oo and hi == sp.oo)  # the whole line is the Gaussian rule's

    def evaluate(n: sp.Integral) -> sp.Expr:
        var, lo, hi = n.limits[0]
        closed = _closed(n.function, var, lo, hi)
        if closed is None:
            return n
        return sp.Integral(closed, *n.limits[1:]) if len(n.limits) > 1 else closed

    return e.replace(applies, evaluate)
