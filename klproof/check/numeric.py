"""Numeric evidence and certified counterexamples, at points inside the assumptions.

The meaning of every notion comes from `klproof.check.semantics`, which never
calls the rules: a wrong rule is caught here instead of shared. This module
chooses the points and grades what the two sides do there.

Points. Every symbol is sampled through ONE function, `domain`: values inside all
of its declared assumptions, simple first (so witnesses read well), then across
scales from 1e-9 to 1e9, negative where allowed, near the boundary of the domain;
complex points for complex symbols; integers up to a few hundred (a sum's bound
defeats low-degree polynomial traps). Abstract distributions get a random joint
model per point, over supports of 1 to 5 values drawn from each variable's own
domain.

Grading. A difference is certified nonzero when it stands far above the rounding
noise of the working precision (raised for every digit that cancelled or that a
small term sat below the others), far above the quadrature error bound (two
rules' disagreement plus their estimates), and is the same again at a higher
precision. Agreement is counted only when the sides agree to the requested digits
(exact arithmetic) or to half of them (quadrature), after the same adaptation;
anything in between is "unsure" and counts for neither.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from fractions import Fraction
from collections.abc import Callable

import mpmath
import sympy as sp

from klproof import vocabulary as C
from klproof.check.semantics import Evaluator, Model, NotEvaluable, Trace, Undefined, World, real
from klproof.vocabulary import domains
from klproof.model import Identity, Step
from klproof.printing import show
from klproof.verdict import NumericEvidence, Witness

MAX_DPS = 1500  # beyond this many digits a point that needs more is "unsure"
MAX_CELLS = 250  # of a family's joint table
ROUNDS_PER_POINT = 4
UNDEFINED_ALLOWANCE = 64  # extra rounds for points outside a side's domain (log of a negative argument ...)


@dataclass(frozen=True)
class NumericResult:
    witness: Witness | None = None
    evidence: NumericEvidence | None = None
    diagnosis: str = ""
    reason: str = ""  # why no evidence could be had


# -- domains: the one place that knows what a symbol's values may be --------------------

@dataclass(frozen=True)
class Domain:
    """A symbol's values: `generate(rng, attempt)` an exact value, `contains(mp value)` membership."""

    kind: str
    generate: Callable[[random.Random, int], sp.Expr]
    contains: Callable[[object], bool]


SIMPLE = {  # tried first, so that witnesses come out simple
    "positive": [1, 2, Fraction(1, 2), 3, Fraction(3, 2)],
    "negative": [-1, -2, Fraction(-1, 2), -3],
    "nonpositive": [-1, 0, -2, Fraction(-1, 2)],
    "nonnegative": [1, 0, 2, Fraction(1, 2)],
    "integer": [1, 2, -1, 3, 0, 5, -4],
    "real": [1, -1, 2, Fraction(1, 2), -2, Fraction(-3, 2), 3],
    "complex": [1, -1, 2, Fraction(1, 2)],
}


def domain(symbol, integer_cap: int | None = None) -> Domain:
    """The domain of a Symbol, Dummy or Indexed from its assumptions (integers of size at most
    `integer_cap` if given: a step with integrals would do one per term of a long sum).

    A declared interval or set (p = "in (0, 1)", x = "in {0, 1}") is drawn from and checked by
    klproof.vocabulary.domains; its ends that are other symbols (k <= K) are checked on the whole point."""
    if domains.domain_of(symbol) is not None:
        def contains_declared(value) -> bool:
            if not mpmath.isfinite(value) or (isinstance(value, mpmath.mpc) and value.imag != 0):
                return False
            mantissa, exponent = mpmath.mpf(real(value)).man_exp  # the binary value, exactly
            exact = sp.Rational(mantissa * 2**exponent) if exponent >= 0 else sp.Rational(mantissa, 2**-exponent)
            return domains.contains(symbol, exact)

        def draw(rng: random.Random, attempt: int) -> sp.Expr:
            for tries in range(60):
                value = domains.draw(symbol, rng, attempt + tries)
                if value is not None and domains.contains(symbol, value):
                    return value
            raise NotEvaluable(f"no sample value lies in the declared domain of {symbol}")

        return Domain("declared", draw, contains_declared)
    if symbol.is_integer:
        kind = "integer"
    elif symbol.is_real is not True:
        kind = "complex"
    else:
        kind = next((k for k in ("positive", "negative", "nonnegative", "nonpositive")
                     if getattr(symbol, f"is_{k}")), "real")

    def contains(value) -> bool:
        if not mpmath.isfinite(value):
            return False
        if kind == "complex":
            return symbol.is_zero is not False or value != 0
        if not (not isinstance(value, mpmath.mpc) or value.imag == 0):
            return False
        v = real(value)
        checks = ((symbol.is_positive, v > 0), (symbol.is_negative, v < 0), (symbol.is_nonzero, v != 0),
                  (symbol.is_nonnegative, v >= 0), (symbol.is_nonpositive, v <= 0),
                  (symbol.is_integer, v == mpmath.floor(v)))
        return all(holds for required, holds in checks if required)

    def generate(rng: random.Random, attempt: int) -> sp.Expr:
        for tries in range(60):
            value = _value(kind, symbol, rng, attempt + tries, integer_cap)
            if contains(_mp(value)):
                return value
        raise NotEvaluable(f"no sample value satisfies the assumptions of {symbol}")

    return Domain(kind, generate, contains)


def _mp(value: sp.Expr):
    with mpmath.workdps(30):
        from klproof.check.semantics import to_mp
        return to_mp(value)


SWEEP = (0, 2, -2, 1, 6, -6, 3, 9, -9, -1, 4, -4)  # powers of ten, visited in turn from the 4th round on


def _magnitude(rng: random.Random, attempt: int) -> Fraction:
    """A positive rational at the attempt's scale (tiny to huge), with a random mantissa in [1, 10)."""
    mantissa = Fraction(rng.randint(1000, 9999), 1000)
    # Half the time the sweep's own turn (every scale is visited, each twice: once per sign, see
    # _value), half a random one (so that two symbols also meet at different scales).
    turn = attempt // 2 if rng.random() < 0.5 else rng.randrange(len(SWEEP))
    return mantissa * Fraction(10) ** SWEEP[turn % len(SWEEP)]


def _integer(rng: random.Random, cap: int | None) -> int:
    if cap is not None:
        return rng.randint(0, cap)
    return rng.choice([rng.randint(0, 6), rng.randint(5, 40), rng.randint(40, 300), rng.randint(300, 10**6)])


def _value(kind: str, symbol, rng: random.Random, attempt: int, cap: int | None) -> sp.Expr:
    """Simple values first (attempt 0 the simplest), then random ones across scales."""
    simple = SIMPLE[kind]
    if attempt < 3:
        value = Fraction(simple[0] if attempt == 0 else rng.choice(simple))
        if kind == "integer" and symbol.is_positive:
            value = abs(value) or Fraction(1)
        if kind == "integer" and cap is not None:
            value = Fraction(min(abs(value), cap)) * (1 if value >= 0 else -1)
        if kind == "complex" and attempt > 0:
            return sp.Rational(value) + sp.I * sp.Rational(rng.choice(simple))
        return sp.Rational(value.numerator, value.denominator)
    if kind == "integer":
        value = Fraction(_integer(rng, cap))
    else:
        value = _magnitude(rng, attempt)
    sign = {"positive": 1, "nonnegative": 1, "negative": -1, "nonpositive": -1}.get(kind, 1 if attempt % 2 else -1)
    if kind == "integer" and (symbol.is_positive or symbol.is_nonnegative):
        sign = 1
    if kind == "integer" and (symbol.is_negative or symbol.is_nonpositive):
        sign = -1
    result = sp.Rational(sign * value.numerator, value.denominator)
    if rng.random() < 0.1 and kind in ("nonnegative", "nonpositive", "integer"):
        result = sp.Integer(0)  # the boundary of the domain
    if kind == "complex":
        im = _magnitude(rng, attempt + 1) * rng.choice([1, -1])
        result += sp.I * sp.Rational(im.numerator, im.denominator)
    return result


# -- the random finite probability model ------------------------------------------------

def _slots(expr) -> tuple[dict[str, set[str]], dict[str, sp.Symbol]]:
    """family -> its slot names in the step; slot name -> a symbol whose domain the slot's values come from."""
    families: dict[str, set[str]] = {}
    owners: dict[str, sp.Symbol] = {}
    for p in expr.atoms(C.Prob):
        for v in (*p.targets, *p.givens):
            families.setdefault(p.family, set()).add(v.name)
            if isinstance(v, sp.Symbol):
                # a file's symbol wins over a bound Dummy of the same name: it carries the declaration
                if v.name not in owners or isinstance(owners[v.name], sp.Dummy) and not isinstance(v, sp.Dummy):
                    owners[v.name] = v
    return families, owners


def _model(families: dict[str, set[str]], owners: dict, rng: random.Random, round_: int) -> Model:
    supports: dict[str, tuple] = {}
    for name in sorted(owners):
        size = 3 if round_ == 0 else rng.randint(1, 5)
        values: list = []
        source = domain(owners[name])
        for attempt in range(40):
            if len(values) == size:
                break
            v = source.generate(rng, attempt if round_ else attempt % 4)
            if v not in values:
                values.append(v)
        supports[name] = tuple(values)
    tables = {}
    for family in sorted(families):
        slots = tuple(sorted(families[family]))
        cells = list(itertools.product(*(supports[s] for s in slots)))
        if len(cells) > MAX_CELLS:
            raise NotEvaluable(f"the joint model of {family} is too large")
        weights = [rng.randint(1, 9) for _ in cells]
        total = sum(weights)
        tables[family] = (slots, {cell: sp.Rational(w, total) for cell, w in zip(cells, weights, strict=True)})
    return Model(supports, tables)


# -- grading the two sides at one point ----------------------------------------------------

@dataclass(frozen=True)
class Comparison:
    status: str  # "zero", "nonzero", "unsure"
    lhs: object
    rhs: object
    difference: object
    relative: mpmath.mpf  # |lhs - rhs| / max(|lhs|, |rhs|), 0 when both are 0
    digits: int  # to how many digits the sides agree ("zero") or the difference is certified ("nonzero")
    quadrature: bool
    differenced: bool = False  # a derivative of a quadrature: its error bound is pessimistic (rarely "zero")


QUAD_DPS = 20  # quadrature's working digits; agreement through quadrature is graded to digits // 2


def _evaluate(lhs, rhs, world: World, dps: int, again: bool = False):
    trace = Trace()
    with mpmath.workdps(dps):
        # Looking again: more digits and other quadrature nodes (Gauss-Legendre orders 6 and 12 instead
        # of 24 and 48: none shared, and cheap; the difference need only come out the same to 3 digits),
        # at other working digits, so that no rounding pattern is shared either.
        evaluator = Evaluator(world, trace, lambda s, v: domain(s).contains(v), QUAD_DPS + 8 * again,
                              2 if again else 4)
        left, right = evaluator.value(lhs), evaluator.value(rhs)
        if not (mpmath.isfinite(left) and mpmath.isfinite(right)):
            raise Undefined("a side is infinite here")
        return left, right, left - right, trace


def compare(lhs, rhs, world: World, digits: int) -> Comparison:
    """Whether lhs and rhs differ at this world, with the precision raised until the answer is clear."""
    dps, looked_again = digits + 10, False
    while True:
        left, right, diff, trace = _evaluate(lhs, rhs, world, dps)
        if trace.zero_sums and not looked_again:
            # A sum that came out exactly 0 may hide a tiny value: once more at twice the digits.
            # Still exactly 0 there, it is taken to be 0 (a tiny term is caught as absorbed instead).
            dps, looked_again = 2 * dps, True
            continue
        # Digits the evaluation needs beyond `digits`: what cancelled inside, and how far a term sat
        # below the others (x + log(1 + e^-2000) must see the e^-2000).
        need = digits + 15 + max(trace.cancelled, trace.absorbed)
        if need > dps and dps < MAX_DPS:
            dps = min(MAX_DPS, int(need) + 5)
            continue
        break
    scale = max(abs(left), abs(right))
    relative = abs(diff) / scale if scale else mpmath.mpf(0)
    quad_error = trace.quadrature_error / scale if scale else trace.quadrature_error
    # What the arithmetic cannot resolve: rounding after the lost digits, and the quadrature's bound
    # (a hundredfold for a refutation: the bound is an estimate, the witness must stand far above it).
    lost = min(dps, trace.cancelled)
    rounding = mpmath.mpf(10) ** (-(dps - lost - 5))
    noise = max(rounding, 100 * quad_error)
    wanted = digits // 2 if trace.quadrature else digits

    def result(status, digits_):
        if trace.unlocated:
            status = "unsure"  # quadrature may have missed the integrand's mass: no claim either way
        return Comparison(status, left, right, diff, relative, digits_, trace.quadrature, trace.differenced)

    if relative and relative > noise:
        # Nonzero, if a higher precision (other quadrature nodes) sees the same difference.
        again_left, again_right, again, _ = _evaluate(lhs, rhs, world, min(MAX_DPS + 40, dps + 20), again=True)
        if abs(again - diff) <= abs(diff) * mpmath.mpf(10) ** (-3):
            certified = int(min(digits, float(-mpmath.log10(noise / relative))))
            return result("nonzero", max(certified, 1))
        return result("unsure", 0)
    agreed = float(-mpmath.log10(max(relative, rounding, quad_error)))
    if agreed >= wanted and need <= dps:
        return result("zero", int(min(agreed, dps)))
    return result("unsure", int(max(agreed, 0)))


# -- sampling -------------------------------------------------------------------------------

def _sides(step: Step):
    claim = step.claim
    if isinstance(claim, Identity):
        return claim.lhs, claim.rhs, None
    return claim.lhs, claim.rhs, (claim.premise_lhs, claim.premise_rhs)


def _free_symbols(expr, slot_names: set[str]) -> list:
    """The plain symbols that need values (not a family's name, not an indexed family's label)."""
    labels = {b.label for b in expr.atoms(sp.IndexedBase)} | {p.args[0] for p in expr.atoms(C.Prob)}
    symbols = [s for s in expr.free_symbols if isinstance(s, sp.Symbol) and s not in labels]
    return sorted(symbols, key=sp.default_sort_key)


def _integer_cap(expr) -> int | None:
    """How large integers may be: small where a sum would multiply quadratures, or set a dimension."""
    if expr.has(C.NormalDiag):
        return 2
    if _costly(expr):
        return 3
    return 20 if _sum_depth(expr) >= 2 else None  # J**depth terms: 20 still defeats degree-19 traps


def _sum_depth(expr) -> int:
    """How many finite ranges are nested at the deepest point of expr."""
    if isinstance(expr, (sp.Sum, sp.Product)):
        return len(expr.limits) + _sum_depth(expr.function)
    return max((_sum_depth(a) for a in expr.args), default=0)


def _costly(expr) -> bool:
    """Whether evaluating needs quadrature."""
    if expr.has(sp.Integral) or any(isinstance(e.args[1], C.Normal) for e in expr.atoms(C.Expectation)):
        return True
    if any(isinstance(e.args[0], C.Normal) for e in expr.atoms(C.KL)):
        return True
    return any(not any(x in (*p.targets, *p.givens) for p in f.atoms(C.Prob))
               for f, x in (n.args for n in expr.atoms(C.LatentSum)))


def _world(symbols: list, families, owners, rng: random.Random, round_: int, cap: int | None) -> World:
    model = _model(families, owners, rng, round_)
    values = {}
    for s in symbols:
        if s.name in model.supports:  # a variable of the model takes one of its values
            values[s] = rng.choice(model.supports[s.name]) if round_ else model.supports[s.name][0]
        else:
            values[s] = domain(s, cap).generate(rng, round_)
    if not all(domains.contains(s, v, values) for s, v in values.items()):
        raise Undefined("an interval end that is another symbol (1 <= k <= K) excludes this point")

    def indexed_value(item: sp.Indexed) -> sp.Expr:
        return domain(item, cap).generate(rng, round_ + 2)
    return World(values, model, indexed_value)


def sample(step: Step, seed: int, points: int = 6, digits: int = 30) -> NumericResult:
    lhs, rhs, premise = _sides(step)
    whole = sp.Tuple(lhs, rhs, *(premise or ()))
    families, owners = _slots(whole)
    symbols = _free_symbols(whole, set(owners))
    rng = random.Random(f"{seed}:{step.number}:{step.text}")
    cap = _integer_cap(whole)
    agreed: list[Comparison] = []
    failures: list[str] = []
    used_values: list = []
    needed = 4 * points  # cheap steps: the simple points and the sweep across scales and signs
    tried = 0  # rounds that said something or failed; points where a side is undefined are cheap extras
    unsure_differences = 0
    for round_ in range(2 * points * ROUNDS_PER_POINT + UNDEFINED_ALLOWANCE):
        if len(agreed) >= needed or tried >= 2 * points * ROUNDS_PER_POINT:
            break
        tried += 1
        try:
            world = _world(symbols, families, owners, rng, round_, cap)
            outcome = compare(lhs, rhs, world, digits)
            if outcome.status == "nonzero" and premise is not None:
                if compare(premise[0], premise[1], world, digits).status != "zero":
                    continue  # the previous equation does not hold here: this point says nothing
        except Undefined:
            tried -= 1
            continue  # a side is undefined at this point: it neither agrees nor refutes
        except (NotEvaluable, ZeroDivisionError, TypeError, ValueError, ArithmeticError, RecursionError) as exc:
            failures.append(str(exc) or type(exc).__name__)
            continue
        if outcome.status == "nonzero":
            return NumericResult(witness=_witness(world, outcome), diagnosis=diagnose(step))
        if outcome.status == "unsure" and outcome.differenced:
            unsure_differences += 1
            if unsure_differences >= points:  # each such point costs seconds and rarely says more
                break
        if outcome.status == "zero":
            agreed.append(outcome)
            if outcome.quadrature:
                needed = points  # quadrature is costly: the requested number of points
            used_values.extend(v for v in (*world.values.values(), *world.indexed.values()))
    if len(agreed) >= needed:
        return NumericResult(evidence=_evidence(agreed, used_values, seed))
    reason = failures[0] if failures else "the sides could not be told apart or equal at enough points"
    return NumericResult(reason=f"{reason} ({len(agreed)} of {needed} points agreed)")


def _evidence(agreed: list[Comparison], values: list, seed: int) -> NumericEvidence:
    worst = max(agreed, key=lambda c: c.relative)
    sizes = [abs(complex(v)) for v in values if v != 0]
    scales = f"{min(sizes):.0e}..{max(sizes):.0e}" if sizes else "0"
    return NumericEvidence(points=len(agreed), digits=min(c.digits for c in agreed), seed=seed,
                           max_difference=sp.sstr(sp.Float(str(mpmath.nstr(abs(worst.difference), 3)), 3))
                           if worst.difference else "0",
                           scales=scales, complex_points=sum(1 for v in values if not v.is_real),
                           margin=mpmath.nstr(worst.relative, 2), quadrature=any(c.quadrature for c in agreed))


def _witness(world: World, outcome: Comparison) -> Witness:
    shown = tuple((str(k), str(v)) for k, v in sorted(world.values.items(), key=lambda kv: str(kv[0])))
    shown += tuple((str(k), str(v)) for k, v in sorted(world.indexed.items(), key=lambda kv: str(kv[0])))
    model_text = "; ".join(
        f"{family}({', '.join(slots)}) on " + " × ".join("{" + ", ".join(map(str, world.model.supports[s])) + "}"
                                                         for s in slots)
        + ": " + ", ".join(str(m) for m in table.values())
        for family, (slots, table) in sorted(world.model.tables.items()))

    def fmt(v) -> str:
        return mpmath.nstr(v, 12)
    return Witness(point=shown, lhs=fmt(outcome.lhs), rhs=fmt(outcome.rhs), difference=fmt(outcome.difference),
                   digits=outcome.digits, model=model_text)


# -- diagnosis ----------------------------------------------------------------------------

DIAGNOSIS_SECONDS = 2.0  # the diagnosis normalises the sides again and again: a courtesy, not worth a timeout


def diagnose(step: Step) -> str:
    """What kind of mistake a refuted step looks like, within DIAGNOSIS_SECONDS (large Gaussian closed forms
    take seconds per normal form; a refuted step must not become a timeout for its diagnosis)."""
    from klproof.check.engine import _budget, _OverBudget

    try:
        with _budget(DIAGNOSIS_SECONDS):
            return _diagnose(step)
    except _OverBudget:
        return ""


def _diagnose(step: Step) -> str:
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


# -- for inequality steps (issue 13, klproof.check.inequality): the certified sign at sampled points ------

@dataclass(frozen=True)
class SignedPoint:
    """lhs - rhs at one sampled point: its certified sign (None when too close to call), and the witness."""

    sign: int | None
    witness: Witness | None
    premise_sign: int | None = None


def _sign(outcome: Comparison) -> int | None:
    """+1 or -1 for a certified real difference; None otherwise (agreement to many digits is not an exact 0)."""
    if outcome.status != "nonzero" or (isinstance(outcome.difference, mpmath.mpc) and outcome.difference.imag != 0):
        return None
    return 1 if real(outcome.difference) > 0 else -1


def signed_points(lhs: sp.Expr, rhs: sp.Expr, seed: int, key: str, points: int = 6, digits: int = 30,
                  premise: tuple[sp.Expr, sp.Expr] | None = None):
    """Yield the certified sign of lhs - rhs at points inside the assumptions and declared domains: the same
    worlds (values, random models) and the same independent evaluation as `sample`."""
    whole = sp.Tuple(lhs, rhs, *(premise or ()))
    families, owners = _slots(whole)
    symbols = _free_symbols(whole, set(owners))
    rng = random.Random(f"{seed}:{key}")
    cap = _integer_cap(whole)
    for round_ in range(points * 3):
        try:
            world = _world(symbols, families, owners, rng, round_, cap)
            premise_sign = _sign(compare(premise[0], premise[1], world, digits)) if premise is not None else None
            outcome = compare(lhs, rhs, world, digits)
        except (Undefined, NotEvaluable, ZeroDivisionError, TypeError, ValueError, ArithmeticError, RecursionError):
            continue
        sign = _sign(outcome) if outcome.status != "zero" else _exact_zero(lhs - rhs, world)
        yield SignedPoint(sign, _witness(world, outcome) if sign is not None else None, premise_sign)


def _exact_zero(difference: sp.Expr, world: World) -> int | None:
    """0 where the difference is exactly zero at the point, so that a strict inequality fails there; None
    when that cannot be decided exactly. Called only where the independent evaluation already found the
    sides equal to every digit: finite-support notions (E and KL over a Bernoulli) are written out by the
    rules here, and the two semantics must agree."""
    from klproof.check import rules as R

    for rewrite in (R.expand_definitions, R.kl_definition, R.expectation):
        difference = rewrite(difference)
    if difference.has(sp.Integral, sp.Sum, sp.Product, sp.Indexed, C.Defined, *C.VOCABULARY):
        return None
    exact = sp.expand(difference.xreplace(world.values))
    return 0 if exact.is_number and exact == 0 else None
