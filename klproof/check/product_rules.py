"""Rewrites of finite products (∏) and closed forms of finite sums (Σ), each with its side conditions.

klproof's meaning of a range j = a..b with b < a is the empty range (a sum of 0, a product of 1),
not SymPy's Karr convention; so a rewrite that counts the terms (c^(b-a+1), a closed form in b)
fires only where b >= a - 1 is provable. A closed form of a sum is never taken on SymPy's word:
`summation` proposes G, and G is accepted only with a certificate that holds for every integer n,
G(a - 1) = 0 and G(n) - G(n - 1) = f(n) (so G(b) = Σ_{j=a}^{b} f(j) for b >= a - 1 by induction),
with every denominator of G provably nonzero. Of a Piecewise answer (a geometric sum with r = 1
as its own case) only a branch whose condition is provable is kept.
"""

from __future__ import annotations

from functools import lru_cache

import sympy as sp

from klproof.parse.build import power_problem
from klproof.vocabulary.binders import subst
from klproof.vocabulary.domains import sign

MAX_WRITTEN_OUT = 32  # factors of a product with concrete bounds that are written out (as sums are)
MAX_DEGREE = 8  # of a polynomial summand given a closed form
MAX_GEOMETRIC_BOUND = 1_000  # a concrete bound of a geometric sum (as MAX_EXPONENT bounds a power)
MAX_CLOSED_FORM_NODES = 400  # a closed form bigger than this is not worth it (and costs time later)


def _count(a, b) -> sp.Expr | None:
    """b - a + 1, the number of terms of j = a..b, where it is provably nonnegative; else None."""
    if a.is_integer is not True or b.is_integer is not True:
        return None
    count = sp.expand(b - a + 1)
    return count if count.is_nonnegative or sign(count + 1) == 1 else None  # an integer > -1 is >= 0


def _positive(f: sp.Expr) -> bool:
    """f > 0, provably; a product of provably positive factors is positive (SymPy does not know it)."""
    if isinstance(f, sp.Product):
        return _positive(f.function)
    if isinstance(f, sp.Mul):
        return all(_positive(x) for x in f.args)
    return f.is_positive is True or sign(f) == 1


# -- log ∏ = Σ log --------------------------------------------------------------------------

def log_product(e: sp.Expr) -> sp.Expr:
    """log ∏_j f_j = Σ_j log f_j for provably positive f_j; log(c ∏_j f_j) = log c + Σ_j log f_j, c > 0."""

    def split(n: sp.log) -> sp.Expr:
        arg = n.args[0]
        factors = sp.Mul.make_args(arg)
        if not any(isinstance(x, sp.Product) for x in factors) or not all(_positive(x) for x in factors):
            return n
        return sp.Add(*[sp.Sum(sp.log(x.function), *x.limits) if isinstance(x, sp.Product) else sp.log(x)
                        for x in factors])

    return e.replace(lambda n: isinstance(n, sp.log) and n.args[0].has(sp.Product), split)


# -- the algebra of ∏ --------------------------------------------------------------------------

def product_algebra(e: sp.Expr) -> sp.Expr:
    """∏ (a b) = ∏ a ∏ b; ∏ exp(g) = exp(Σ g); ∏ c = c^(b-a+1); ∏ c^g = c^(Σ g) for c > 0;
    a product with small concrete bounds written out factor by factor."""
    return e.replace(lambda n: isinstance(n, sp.Product) and len(n.limits) == 1 and len(n.limits[0]) == 3,
                     _rewrite_product)


def _rewrite_product(n: sp.Product) -> sp.Expr:
    j, a, b = n.limits[0]
    if a.is_Integer and b.is_Integer and 0 <= b - a + 1 <= MAX_WRITTEN_OUT:
        return sp.Mul(*[subst(n.function, {j: value}) for value in range(int(a), int(b) + 1)])
    out = sp.Integer(1)
    rest = sp.Integer(1)
    for factor in sp.Mul.make_args(n.function):
        done = _one_factor(factor, j, a, b)
        if done is None:
            rest *= factor
        else:
            out *= done
    if out == 1:
        return n
    return out * (sp.Product(rest, (j, a, b)) if rest != 1 else 1)


def _one_factor(f: sp.Expr, j, a, b) -> sp.Expr | None:
    """The product over j = a..b of one factor f, where a rule gives it; else None."""
    if isinstance(f, sp.exp):  # exp(g) for any g: a finite product of exponentials
        return sp.exp(sp.Sum(f.args[0], (j, a, b)))
    if not f.has(j):
        count = _count(a, b)
        if count is None or power_problem(f, count):
            return None
        return f ** count
    if isinstance(f, sp.Pow) and not f.base.has(j) and f.base.is_positive and f.exp.is_real:
        return f.base ** sp.Sum(f.exp, (j, a, b))
    return None


# -- closed forms of Σ --------------------------------------------------------------------------

def finite_sums(e: sp.Expr) -> sp.Expr:
    """Σ_{j=a}^{b} of a polynomial in j (degree <= MAX_DEGREE), of r^(p j + q) or exp(p j + q) times
    a polynomial, in closed form, certified (see the module's docstring); other terms stay summed."""
    return e.replace(lambda n: isinstance(n, sp.Sum) and len(n.limits) == 1 and len(n.limits[0]) == 3,
                     _closed_sum)


def _closed_sum(n: sp.Sum) -> sp.Expr:
    j, a, b = n.limits[0]
    if _count(a, b) is None:
        return n
    total, changed = sp.Integer(0), False
    for term in sp.Add.make_args(sp.expand(n.function)):
        coeff, dep = term.as_independent(j, as_Add=False)
        closed = _closed_form(dep, j, a, b) if _summable(dep, j) else None
        if closed is None:
            total += sp.Sum(term, (j, a, b))
        else:
            total += coeff * closed
            changed = True
    return total if changed else n


def _summable(f: sp.Expr, j) -> bool:
    """A product of j^k (k <= MAX_DEGREE) and at most one r^(linear in j) or exp(linear in j)."""
    degree, ratios = 0, 0
    for factor in sp.Mul.make_args(f):
        if factor == 1:
            continue
        if factor == j:
            degree += 1
        elif isinstance(factor, sp.Pow) and factor.base == j and factor.exp.is_Integer and factor.exp > 0:
            degree += int(factor.exp)
        elif isinstance(factor, (sp.Pow, sp.exp)) and _linear_exponent(factor, j):
            ratios += 1
        else:
            return False
    return degree <= MAX_DEGREE and ratios <= 1 and (degree <= 3 or ratios == 0)


def _linear_exponent(f: sp.Expr, j) -> bool:
    base, exponent = (sp.E, f.args[0]) if isinstance(f, sp.exp) else f.as_base_exp()
    if base.has(j) or not (base.is_positive or _nonzero(base) and sp.Poly(exponent, j).coeffs()[0].is_integer):
        return False  # r^n / r = r^(n - 1), used by the certificate, needs r != 0 (and r > 0 for a real power)
    slope = sp.diff(exponent, j)
    return slope != 0 and not slope.has(j) and slope.is_real is True and base.is_real is True


def _closed_form(f: sp.Expr, j, a, b) -> sp.Expr | None:
    """G(b) with G certified: G(a - 1) = 0, G(n) - G(n - 1) = f(n) for every integer n."""
    if f.has(sp.exp) or any(p.exp.has(j) for p in f.atoms(sp.Pow)):
        if any(bound.is_Number and abs(bound) > MAX_GEOMETRIC_BOUND for bound in (a, b)):
            return None  # r^(10^9): a number too large to write, if r is one
    n = _N
    proposed = _propose(f, j, a)
    if proposed is None:
        return None
    closed = _provable_branch(proposed)
    if closed is None or closed.has(sp.Sum, sp.Product, sp.Integral) or sp.count_ops(closed) > MAX_CLOSED_FORM_NODES:
        return None
    if not _certified(closed, f, j, a, n):
        return None
    return closed.xreplace({n: b})


_N = sp.Dummy("n", integer=True)  # the upper bound of a proposal; one variable, so that proposals can be cached


@lru_cache(maxsize=512)
def _propose(f: sp.Expr, j, a) -> sp.Expr | None:
    """SymPy's closed form of the sum of f over j = a.._N: a proposal only, checked by the caller every time
    (cached because the engine normalises a claim several rounds and stages)."""
    try:
        return sp.summation(f, (j, a, _N))
    except (NotImplementedError, ValueError, TypeError, ArithmeticError, RecursionError):
        return None


def _provable_branch(e: sp.Expr) -> sp.Expr | None:
    """e, or of a Piecewise the first branch whose condition is provable, all before it provably false."""
    if not e.has(sp.Piecewise):
        return e
    if not isinstance(e, sp.Piecewise):
        return None  # a Piecewise inside a larger expression: not taken apart here
    for value, condition in e.args:
        truth = _decide(condition)
        if truth is True:
            return _provable_branch(value)
        if truth is not False:
            return None
    return None


def _decide(condition) -> bool | None:
    if condition is sp.true or condition is sp.false:
        return bool(condition)
    if isinstance(condition, (sp.Eq, sp.Ne)):
        zero = _nonzero(condition.lhs - condition.rhs)
        if zero is None:
            return None
        return not zero if isinstance(condition, sp.Eq) else zero
    return None


def _certified(closed: sp.Expr, f: sp.Expr, j, a, n) -> bool:
    for denominator in _denominators(closed):
        if _nonzero(denominator) is not True:
            return False
    start = sp.expand(closed.xreplace({n: a - 1}))
    if start != 0 and sp.simplify(start) != 0:
        return False
    step = closed - closed.xreplace({n: n - 1}) - f.xreplace({j: n})
    return sp.expand(sp.cancel(sp.together(sp.expand(step, power_exp=True)))) == 0


def _nonzero(e: sp.Expr) -> bool | None:
    """True if e is provably nonzero (SymPy's assumptions or the declared intervals), False if provably zero."""
    e = sp.factor(e)
    if e.is_zero:
        return False
    return True if e.is_nonzero or sign(e) in (1, -1) else None


def _denominators(e: sp.Expr) -> list[sp.Expr]:
    found = [sp.denom(sp.together(e))]
    found += [p.base for p in e.atoms(sp.Pow) if p.exp.is_negative]
    return [d for d in found if d != 1]
