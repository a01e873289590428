"""Numeric evidence and certified counterexamples, at points inside the assumptions.

Sample values are exact rationals, so each side at a point is an exact SymPy
number; SymPy's adaptive `evalf` then gives the difference to a requested
*relative* precision (it raises its working precision through cancellation, so
exp(-1000) is seen as nonzero). A difference counts as certified nonzero only
when two evaluations at different precisions agree on a nonzero value. Integrals
that have no closed form at the point are done by mpmath quadrature, whose error
estimate must be far below the difference.

Abstract probabilities (P(z|X), Q(z|X), E over Q, KL) are evaluated on a random
finite model: every declared family gets a random positive joint table over small
domains, conditionals and marginals are computed from it, so Bayes' rule and
normalisation hold exactly, as the derivation assumes.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from fractions import Fraction

import mpmath
import sympy as sp

from klproof import vocabulary as C
from klproof.check import rules as R
from klproof.vocabulary import domains
from klproof.model import Identity, Step
from klproof.printing import show
from klproof.verdict import NumericEvidence, Witness

FAR = 1000  # an integrand over an infinite range must be negligible this far out
DOMAIN_SIZE = 3  # values a variable of a probability family takes in the random model
SIMPLE = {  # tried first, in order, so that witnesses come out simple
    "positive": [1, 2, Fraction(1, 2), 3, Fraction(3, 2)],
    "negative": [-1, -2, Fraction(-1, 2), -3],
    "nonpositive": [-1, 0, -2, Fraction(-1, 2)],
    "nonnegative": [1, 0, 2, Fraction(1, 2)],
    "integer": [1, 2, -1, 3, 0],
    "positive_integer": [1, 2, 3],
    "real": [1, -1, 2, Fraction(1, 2), -2, Fraction(-3, 2), 3],
}


@dataclass(frozen=True)
class NumericResult:
    witness: Witness | None = None
    evidence: NumericEvidence | None = None
    diagnosis: str = ""
    reason: str = ""  # why no evidence could be had


class NotEvaluable(Exception):
    pass


def _kind(symbol) -> str:
    if symbol.is_integer and symbol.is_positive:
        return "positive_integer"
    if symbol.is_integer:
        return "integer"
    if symbol.is_positive:
        return "positive"
    if symbol.is_negative:
        return "negative"
    if symbol.is_nonnegative:
        return "nonnegative"
    if symbol.is_nonpositive:
        return "nonpositive"
    return "real"


def _sample(symbol, rng: random.Random, attempt: int) -> sp.Rational:
    """A value for `symbol` inside all of its assumptions: a witness outside them would refute nothing."""
    kind = _kind(symbol)
    for tries in range(50):
        value = domains.draw(symbol, rng, attempt + tries)  # a declared interval or set (issue 13)
        if value is None:
            value = _value(kind, rng, attempt + tries)
        if _admissible(symbol, value) and domains.contains(symbol, value):
            return value
    raise NotEvaluable(f"no sample value satisfies the assumptions of {symbol}")


def _admissible(symbol, value: sp.Rational) -> bool:
    checks = ((symbol.is_positive, value > 0), (symbol.is_negative, value < 0), (symbol.is_nonzero, value != 0),
              (symbol.is_nonnegative, value >= 0), (symbol.is_nonpositive, value <= 0),
              (symbol.is_integer, value.is_integer))
    return all(holds for required, holds in checks if required)


def _value(kind: str, rng: random.Random, attempt: int) -> sp.Rational:
    """The first attempts use simple values (so witnesses are simple), later ones random rationals."""
    simple = SIMPLE[kind]
    if attempt == 0:
        value = Fraction(simple[0])
    elif attempt < 2 * len(simple):
        value = Fraction(rng.choice(simple))
    elif kind == "positive_integer":
        value = Fraction(rng.randint(1, 4))
    elif kind == "integer":
        value = Fraction(rng.randint(-4, 4))
    else:
        value = Fraction(rng.randint(1, 40), rng.randint(1, 12))
        if kind == "real" and rng.random() < 0.5 or kind in ("negative", "nonpositive"):
            value = -value
    return sp.Rational(value.numerator, value.denominator)


# -- the random finite probability model ------------------------------------------------

def _model(families: dict, rng: random.Random) -> dict:
    """family -> (variables, joint table over DOMAIN_SIZE**n cells with positive rational masses)."""
    model = {}
    for family, variables in families.items():
        cells = list(itertools.product(range(DOMAIN_SIZE), repeat=len(variables)))
        weights = [rng.randint(1, 9) for _ in cells]
        total = sum(weights)
        model[family] = (variables, {cell: sp.Rational(w, total) for cell, w in zip(cells, weights)})
    return model


def _probability(model: dict, family: str, assignment: dict) -> sp.Rational:
    """The mass of the event `assignment` (variable name -> value) under the family's joint."""
    variables, table = model[family]
    return sum((mass for cell, mass in table.items()
                if all(cell[variables.index(v)] == value for v, value in assignment.items())), sp.Integer(0))


def _families(expr) -> dict:
    out = {}
    for p in expr.atoms(C.Prob):
        names = out.setdefault(p.family, set())
        names.update(s.name for s in (*p.targets, *p.givens))
    # Sorted, so that the random model does not depend on set order (PYTHONHASHSEED).
    return {f: tuple(sorted(out[f])) for f in sorted(out)}


# -- evaluation at a point ----------------------------------------------------------------

def _vocabulary(expr: sp.Expr) -> sp.Expr:
    """Definitions, KL and E replaced by what they mean: sums, integrals, densities.

    Gaussian integrals are put in closed form here, once per step rather than once
    per sample point (the closed form is a theorem, valid for every point).
    """
    for rewrite in (R.expand_definitions, R.diagonal, R.kl_product, R.kl_definition, R.expectation, R.normal_density):
        expr = rewrite(expr)
    if expr.has(sp.Integral):
        expr = R.gaussian_moments(R.log_rules(expr))
    return expr


def _instantiate(expr: sp.Expr, point: dict, model: dict, values: dict[str, int], used: set | None = None) -> sp.Expr:
    """expr at the point: symbols replaced, finite sums expanded, probabilities looked up."""

    def prob(p: C.Prob):
        names = [s.name for s in (*p.targets, *p.givens)]
        if any(n not in values for n in names):
            raise NotEvaluable(f"{p.family} depends on an unbound variable")
        joint = _probability(model, p.family, {n: values[n] for n in names})
        if not p.givens:
            return joint
        return joint / _probability(model, p.family, {s.name: values[s.name] for s in p.givens})

    def latent(n: C.LatentSum):
        f, var = n.args
        total = sp.Integer(0)
        for v in range(DOMAIN_SIZE):
            # the summed variable takes the value v everywhere: in probabilities and in arithmetic
            total += _instantiate(f, {**point, var: sp.Integer(v)}, model, {**values, var.name: v}, used)
        return total

    expr = expr.replace(lambda n: isinstance(n, C.LatentSum), latent)
    expr = expr.replace(lambda n: isinstance(n, C.Prob), prob)
    expr = expr.xreplace(point)
    if expr.has(sp.Sum):
        expr = expr.replace(lambda n: isinstance(n, sp.Sum), _finite_sum(point))
    if expr.has(sp.Product):
        expr = expr.replace(lambda n: isinstance(n, sp.Product), _finite_product)
    if used is not None:
        used.update(k for k in expr.atoms(sp.Indexed) if k in point)
    return expr.xreplace(point)  # indexed values that the sums exposed


def _finite_product(n: sp.Product) -> sp.Expr:
    """An empty range multiplies to 1, as sums over it add to 0 (not SymPy's Karr convention)."""
    (j, lo, hi), = n.limits
    if not (lo.is_Integer and hi.is_Integer) or hi - lo > 50:
        raise NotEvaluable("a product without a small concrete range")
    return sp.Mul(*[n.function.xreplace({j: k}) for k in range(int(lo), int(hi) + 1)])


def _finite_sum(point: dict):
    def expand(n: sp.Sum):
        (j, lo, hi), = n.limits
        if not (lo.is_Integer and hi.is_Integer) or hi - lo > 50:
            raise NotEvaluable("a sum without a small concrete range")
        return sp.Add(*[n.function.xreplace({j: k}) for k in range(int(lo), int(hi) + 1)])
    return expand


def _evaluate(expr: sp.Expr, digits: int):
    """(value as mpf/mpc, error bound) of a closed expression; integrals by closed form or quadrature."""
    error = mpmath.mpf(0)
    if expr.has(sp.Integral):
        def integral(n: sp.Integral):
            nonlocal error
            closed = R.gaussian_moments(R.log_rules(n))
            if not closed.has(sp.Integral):  # log_rules alone may change the integrand without closing it
                return closed
            (x, lo, hi), = n.limits
            if n.function.free_symbols - {x}:
                raise NotEvaluable("integrand depends on an unbound variable")
            f = sp.lambdify(x, n.function, modules="mpmath")
            with mpmath.workdps(digits + 15):
                for end, infinite in ((-FAR, lo == -sp.oo), (FAR, hi == sp.oo)):
                    # An integrand that has not died out far away has no integral over an infinite
                    # range: quadrature would return a number for a divergent integral.
                    if infinite and not abs(f(mpmath.mpf(end))) < mpmath.mpf(10) ** (-digits):
                        raise NotEvaluable("the integral may not converge (the integrand does not decay)")
                value, err = mpmath.quad(f, [lo if lo != -sp.oo else -mpmath.inf, 0, hi if hi != sp.oo else mpmath.inf],
                                         error=True)
            error += abs(err)
            return sp.Float(mpmath.nstr(value, digits + 10), digits + 10)
        expr = expr.replace(lambda n: isinstance(n, sp.Integral), integral)
    if expr.free_symbols:
        raise NotEvaluable("unbound symbols remain: " + ", ".join(sorted(map(str, expr.free_symbols))))
    return expr, error


def _difference(lhs: sp.Expr, rhs: sp.Expr, digits: int):
    """('zero' | 'nonzero' | 'unsure', the difference as a Float, lhs value, rhs value)."""
    left, err_l = _evaluate(lhs, digits)
    right, err_r = _evaluate(rhs, digits)
    diff = left - right
    if diff == 0:
        return "zero", sp.Integer(0), left, right
    low = diff.evalf(digits, maxn=digits * 12)
    high = diff.evalf(2 * digits, maxn=digits * 24)
    if not (low.is_number and high.is_number) or low.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
        raise NotEvaluable("a side is undefined here")
    # A complex value against a real one is a real disagreement (e.g. 2 log(s) at s = -1),
    # so the difference is certified by its modulus, not skipped.
    low, high = abs(low), abs(high)
    error = err_l + err_r
    if error:  # quadrature was used: its error estimate alone is not a certificate
        magnitude = abs(mpmath.mpf(high))
        if magnitude < mpmath.mpf(10) ** (-digits // 2):
            return "zero", high, left, right
        if magnitude > 1000 * error:
            # Again at twice the working precision (other nodes): the two must agree on the difference.
            again_l, _ = _evaluate(lhs, 2 * digits)
            again_r, _ = _evaluate(rhs, 2 * digits)
            again = abs(mpmath.mpf((again_l - again_r).evalf(2 * digits)))
            if abs(again - magnitude) <= magnitude * mpmath.mpf(10) ** (-(digits // 3)):
                return "nonzero", high, left, right
        return "unsure", high, left, right
    if high == 0 or (getattr(high, "_prec", 999) < 10):
        return "zero", high, left, right  # cancelled to below the working precision
    if low != 0 and abs(low - high) <= high * sp.Float(10) ** (-(digits - 2)):
        return "nonzero", high, left, right
    return "unsure", high, left, right


# -- sampling -------------------------------------------------------------------------------

def _sides(step: Step):
    claim = step.claim
    if isinstance(claim, Identity):
        return claim.lhs, claim.rhs, None
    return claim.lhs, claim.rhs, (claim.premise_lhs, claim.premise_rhs)


def _free(expr) -> tuple[list, list]:
    """(plain symbols, indexed families) that need values."""
    families = sorted({i.base for i in expr.atoms(sp.Indexed)}, key=lambda b: str(b))
    labels = {b.label for b in families} | {p.args[0] for p in expr.atoms(C.Prob)}
    symbols = sorted((s for s in expr.free_symbols if isinstance(s, sp.Symbol) and s not in labels),
                     key=lambda s: s.name)
    return symbols, families


def sample(step: Step, seed: int, points: int = 6, digits: int = 30) -> NumericResult:
    lhs, rhs, premise = _sides(step)
    lhs, rhs = _vocabulary(lhs), _vocabulary(rhs)
    if premise is not None:
        premise = (_vocabulary(premise[0]), _vocabulary(premise[1]))
    whole = sp.Tuple(lhs, rhs, *(premise or ()))
    families = _families(whole)
    distribution_vars = {v for vs in families.values() for v in vs}
    symbols, indexed = _free(whole)
    rng = random.Random(f"{seed}:{step.number}:{step.text}")
    agreed, failures, largest = 0, [], sp.Integer(0)
    for round_ in range(points * 3):
        if agreed >= points:
            break
        model = _model(families, rng)
        point, values = {}, {}
        try:
            for s in symbols:
                if s.name in distribution_vars:
                    values[s.name] = rng.randrange(DOMAIN_SIZE)
                else:
                    point[s] = _sample(s, rng, round_)
            for base in indexed:
                for k in range(-1, 8):
                    point[base[k]] = _sample(base[k], rng, round_ + k + 2)
        except NotEvaluable as exc:
            return NumericResult(reason=str(exc))
        if not all(domains.contains(s, v, point) for s, v in point.items()):
            continue  # an interval end that is another symbol (1 <= k <= K) excludes this point
        used: set = set(symbols)
        try:
            left = _instantiate(lhs, point, model, values, used)
            right = _instantiate(rhs, point, model, values, used)
            status, diff, lv, rv = _difference(left, right, digits)
            if premise is not None and status == "nonzero":
                p_status, *_ = _difference(_instantiate(premise[0], point, model, values),
                                           _instantiate(premise[1], point, model, values), digits)
                if p_status != "zero":
                    continue  # the previous equation does not hold here: this point says nothing
        except (NotEvaluable, ZeroDivisionError, TypeError, ValueError, ArithmeticError) as exc:
            failures.append(str(exc) or type(exc).__name__)
            continue
        if status == "nonzero":
            witness = _witness({k: v for k, v in point.items() if k in used}, values, model, lv, rv, diff, digits)
            return NumericResult(witness=witness, diagnosis=diagnose(step))
        if status == "zero":
            agreed += 1
            if abs(diff) > abs(largest):
                largest = diff
    if agreed >= points:
        evidence = NumericEvidence(points=agreed, digits=digits, seed=seed,
                                   max_difference=sp.sstr(sp.Float(largest, 3)) if largest else "0")
        return NumericResult(evidence=evidence)
    reason = failures[0] if failures else "the sides could not be told apart or equal at enough points"
    return NumericResult(reason=f"{reason} ({agreed} of {points} points agreed)")


def _witness(point, values, model, lv, rv, diff, digits) -> Witness:
    shown = tuple((str(k), str(v)) for k, v in sorted(point.items(), key=lambda kv: str(kv[0])))
    shown += tuple((name, str(v)) for name, v in sorted(values.items()))
    model_text = "; ".join(f"{family}({', '.join(vs)}) on {{0..{DOMAIN_SIZE - 1}}}^{len(vs)}: "
                           + ", ".join(str(m) for m in table.values())
                           for family, (vs, table) in sorted(model.items()))
    fmt = lambda v: sp.sstr(sp.N(v, 12))  # noqa: E731
    return Witness(point=shown, lhs=fmt(lv), rhs=fmt(rv), difference=fmt(diff), digits=digits,
                   model=model_text)


# -- diagnosis ----------------------------------------------------------------------------

def diagnose(step: Step) -> str:
    """What kind of mistake a refuted step looks like, when the normal forms can tell."""
    from klproof.check.engine import ALL_RULES, normal_form

    lhs, rhs, _ = _sides(step)

    def nf(e):
        return normal_form(e, ALL_RULES | {"algebra"}, [])

    try:
        if nf(lhs + rhs) == 0:
            return "the sides differ by sign: one is the negative of the other"
        for side_name, side, other in (("right", rhs, lhs), ("left", lhs, rhs)):
            terms = sp.Add.make_args(side)
            if len(terms) > 1:
                for term in terms:
                    if nf(other - (side - 2 * term)) == 0:
                        return f"the sign of the term {show(term)} on the {side_name} side is wrong"
                    if nf(other - (side - term)) == 0:
                        return f"the term {show(term)} on the {side_name} side should not be there"
        nl, nr = nf(lhs), nf(rhs)
        if nr != 0:
            ratio = sp.cancel(sp.together(nl / nr))
            if ratio.is_number and ratio != 1 and ratio != 0:
                return f"the sides differ by a constant factor: left = {show(ratio)} × right"
            if not ratio.has(sp.Integral, sp.Sum, C.LatentSum) and sp.count_ops(ratio) <= 4 and ratio != 1:
                return f"the sides differ by a factor {show(ratio)} (left = {show(ratio)} × right)"
        difference = sp.expand(nl - nr)
        if difference.is_number:
            return f"the sides differ by the constant {show(difference)}"
        missing = _missing_assumption(step, lhs, rhs)
        if missing:
            return missing
        if sp.count_ops(difference) <= 6:
            return f"the sides differ by {show(difference)}"
    except Exception:  # diagnosis is a courtesy; the witness stands without it
        return ""
    return ""


def _missing_assumption(step: Step, lhs, rhs) -> str:
    """A real symbol that, declared positive, makes the step provable."""
    from klproof.check.engine import ALL_RULES, is_zero, normal_form

    for symbol in sorted((lhs - rhs).free_symbols, key=lambda s: getattr(s, "name", "")):
        if not isinstance(symbol, sp.Symbol) or symbol.is_positive or not symbol.is_real:
            continue
        stronger = sp.Symbol(symbol.name, positive=True)
        diff = (lhs - rhs).xreplace({symbol: stronger})
        if is_zero(normal_form(diff, ALL_RULES | {"algebra"}, [])):
            return f"holds only if {symbol.name} > 0, which is not declared (declare {symbol.name} = \"positive\")"
    return ""


# -- for inequality steps (issue 13, klproof.check.inequality): one isolated entry point ------------

@dataclass(frozen=True)
class SignedPoint:
    """lhs - rhs at one sampled point: its sign, certified or not, and what a witness needs."""

    sign: int | None  # +1, -1, 0 (exactly zero), None (too close to call)
    witness: Witness | None  # the point, as a witness would show it (built only where the sign is certified)
    premise_sign: int | None = None  # the same for the premise's two sides, when there is a premise


def signed_points(lhs: sp.Expr, rhs: sp.Expr, seed: int, key: str, points: int = 6, digits: int = 30,
                  premise: tuple[sp.Expr, sp.Expr] | None = None):
    """Yield the certified sign of lhs - rhs at points inside the assumptions (and declared domains).

    The same sampler, models and evaluation as `sample`; a sign counts only when two evaluations at
    different precisions agree on a nonzero real value (for quadrature, one far above its error)."""
    lhs, rhs = _vocabulary(lhs), _vocabulary(rhs)
    if premise is not None:
        premise = (_vocabulary(premise[0]), _vocabulary(premise[1]))
    whole = sp.Tuple(lhs, rhs, *(premise or ()))
    families = _families(whole)
    distribution_vars = {v for vs in families.values() for v in vs}
    symbols, indexed = _free(whole)
    rng = random.Random(f"{seed}:{key}")
    for round_ in range(points * 3):
        model = _model(families, rng)
        point, values = {}, {}
        try:
            for s in symbols:
                if s.name in distribution_vars:
                    values[s.name] = rng.randrange(DOMAIN_SIZE)
                else:
                    point[s] = _sample(s, rng, round_)
            for base in indexed:
                for k in range(-1, 8):
                    point[base[k]] = _sample(base[k], rng, round_ + k + 2)
        except NotEvaluable:
            return
        if not all(domains.contains(s, v, point) for s, v in point.items()):
            continue
        used: set = set(symbols)
        try:
            premise_sign = None
            if premise is not None:
                premise_sign = _certified_sign(_instantiate(premise[0], point, model, values),
                                               _instantiate(premise[1], point, model, values), digits)
            left = _instantiate(lhs, point, model, values, used)
            right = _instantiate(rhs, point, model, values, used)
            if sp.expand(left - right) == 0 and not (left - right).has(sp.Integral):
                sign = 0
                diff = sp.Integer(0)
            else:
                lv, err_l = _evaluate(left, digits)
                rv, err_r = _evaluate(right, digits)
                low = (lv - rv).evalf(digits, maxn=digits * 12)
                high = (lv - rv).evalf(2 * digits, maxn=digits * 24)
                sign, diff = None, high
                if low.is_real and high.is_real and low.is_number and high.is_number and low != 0 and high != 0 \
                        and (low > 0) == (high > 0) and abs(low - high) <= abs(high) * sp.Float(10) ** (-(digits // 3)) \
                        and abs(high) > 1000 * (err_l + err_r) and getattr(high, "_prec", 999) >= 10:
                    sign = 1 if high > 0 else -1
                if sign is not None and err_l + err_r:  # quadrature: again at twice the precision, must agree
                    again = (_evaluate(left, 2 * digits)[0] - _evaluate(right, 2 * digits)[0]).evalf(2 * digits)
                    if not again.is_real or abs(again - high) > abs(high) * sp.Float(10) ** (-(digits // 3)):
                        sign = None
                left, right = lv, rv
        except (NotEvaluable, ZeroDivisionError, TypeError, ValueError, ArithmeticError):
            continue
        witness = None
        if sign is not None:
            witness = _witness({k: v for k, v in point.items() if k in used}, values, model, left, right, diff, digits)
        yield SignedPoint(sign, witness, premise_sign)


def _certified_sign(left: sp.Expr, right: sp.Expr, digits: int) -> int | None:
    """The sign of left - right when exactly zero or certified at two precisions; else None."""
    if sp.expand(left - right) == 0 and not (left - right).has(sp.Integral):
        return 0
    lv, err_l = _evaluate(left, digits)
    rv, err_r = _evaluate(right, digits)
    low, high = (lv - rv).evalf(digits), (lv - rv).evalf(2 * digits)
    if low.is_real and high.is_real and low != 0 and (low > 0) == (high > 0) and abs(high) > 1000 * (err_l + err_r):
        return 1 if high > 0 else -1
    return None
