"""Inequality steps (lhs <= rhs, >=, <, >): proved by the rules for bounds, or refuted at a certified point.

A step `a >= b` is read as big = a, small = b (`a <= b` as big = b, small = a) and
handed to `bound_rules.Prover`, whose rules reduce it to identities that the
equality engine proves. Refuting samples lhs - rhs with the numeric sampler at
points inside every declared assumption and domain: a certified value of the
wrong sign is a witness. The diagnosis says, where it can, that the reverse
relation holds ("holds with <=, not >=").

Also here: `prove_on_domains`, the equality engine run once more with the sums
that declared intervals make positive (1 - p for p in (0, 1)) as positive
placeholders, so that log and sqrt rules fire on them.
"""

from __future__ import annotations

import time
from dataclasses import fields, replace

import sympy as sp

from klproof.catalog import with_prerequisites
from klproof.check.bound_rules import Prover, kl_candidates
from klproof.check.decide import Options, decide
from klproof.check.engine import ALL_RULES, Attempt, is_zero, normal_form, prove
from klproof.model import Bound, Relation, Step
from klproof.printing import show
from klproof.vocabulary import domains

ALL = ALL_RULES | {"algebra"}


def equal(a: sp.Expr, b: sp.Expr) -> bool:
    """a == b proved by the equality engine (every rule), also with the declared domains' positive sums."""
    if is_zero(normal_form(a - b, ALL, [])):
        return True
    (a2, b2), back = domains.atomize(a, b)
    return bool(back) and is_zero(normal_form(a2 - b2, ALL, []))


def normalize(e: sp.Expr) -> sp.Expr:
    """e rewritten by the equality rules, KL terms kept (they are >= 0 as they stand), with the declared
    domains' positive sums as placeholders while the rules run."""
    (atomized,), back = domains.atomize(e)
    done = normal_form(atomized, ALL - {"kl_definition", "kl_product"}, [])
    return done.xreplace(back) if back else done


def prove_on_domains(step: Step) -> Attempt | None:
    """The equality engine on the step with sums that are positive on the declared domains made positive
    placeholders; None when the step has no such sum."""
    claim = step.claim
    names = [f.name for f in fields(claim)]
    values, back = domains.atomize(*(getattr(claim, n) for n in names))
    if not back:
        return None
    attempt = prove(replace(step, claim=replace(claim, **dict(zip(names, values, strict=True)))), allow_simplify=False)
    if attempt.proved:
        return replace(attempt, rules=attempt.rules + ("intervals",))
    if attempt.residual_expr is not None:  # what is left may cancel once the sums are back: sqrt((1-p)^2) - (1-p)
        fired: list[str] = list(attempt.rules)
        if is_zero(normal_form(attempt.residual_expr.xreplace(back), ALL, fired)):
            return Attempt(True, tuple(fired) + ("intervals",), attempt.stage)
    return None


def sides(claim: Bound) -> tuple[sp.Expr, sp.Expr]:
    """(big, small): the side that is claimed larger first."""
    return (claim.lhs, claim.rhs) if claim.relation.direction > 0 else (claim.rhs, claim.lhs)


def prove_bound(step: Step) -> Attempt:
    claim = step.claim
    big, small = sides(claim)
    premise = (*sides(claim.premise), claim.premise.relation.strict) if claim.premise is not None else None
    found = Prover(equal, normalize, premise).ge(big, small, claim.relation.strict)
    if found is None:
        residual = show(sp.expand(big - small)) if not (big - small).has(sp.Integral) else show(big - small)
        return Attempt(False, (), "all rules", residual=f"{residual} (claimed {'>' if claim.relation.strict else '>='} 0)")
    order = ("jensen", "gibbs", "log_sum", "monotonicity", "nonnegative_terms")
    rules = tuple(r for r in order if r in found)
    stated = with_prerequisites(step.by) if step.by else frozenset()
    stage = "stated rules" if not step.by or set(rules) <= stated else "all rules"
    return Attempt(True, rules, stage)


def check_bound(step: Step, options: Options):
    """The verdict on an inequality step."""
    from klproof.check.numeric import NumericResult, signed_points
    from klproof.verdict import NumericEvidence

    started = time.perf_counter()
    attempt = prove_bound(step)
    numeric = None
    if options.numeric and (not attempt.proved or options.cross_check):
        claim = step.claim
        want = claim.relation.direction  # sign lhs - rhs must have (0 allowed unless strict)
        agreed, reverse, witness, zero_witness = 0, 0, None, None
        # twice the points of an identity: an inequality may fail only near an end of an interval
        premise = claim.premise
        for point in signed_points(claim.lhs, claim.rhs, options.seed, f"{step.number}:{step.text}",
                                   2 * options.points, options.digits,
                                   premise=(premise.lhs, premise.rhs) if premise is not None else None):
            if point.sign is None:
                continue
            if premise is not None and not (point.premise_sign == premise.relation.direction
                                            or point.premise_sign == 0 and not premise.relation.strict):
                continue  # the previous inequality does not hold here: this point says nothing
            if point.sign == -want:
                witness = witness or point.witness
                reverse += 1
            elif point.sign == 0 and claim.relation.strict:
                zero_witness = zero_witness or point.witness
            else:
                agreed += 1
            if witness is not None and reverse >= 3 or agreed >= 2 * options.points and witness is None:
                break
        if witness is not None or zero_witness is not None:
            numeric = NumericResult(witness=witness or zero_witness,
                                    diagnosis=diagnose(step, agreed, witness is None))
        elif agreed >= 2 * options.points:
            numeric = NumericResult(evidence=NumericEvidence(points=agreed, digits=options.digits, seed=options.seed))
        else:
            reason = f"the sides could be compared at only {agreed} of {2 * options.points} points"
            if reverse_proved(step):
                reason += f"; the reverse ({claim.relation.flipped.symbol}) is proved, so it holds only where the sides are equal"
            numeric = NumericResult(reason=reason)
    return decide(step, attempt, numeric, time.perf_counter() - started)


def reverse_proved(step: Step) -> bool:
    big, small = sides(step.claim)
    try:
        return Prover(equal, normalize).ge(small, big) is not None
    except Exception:
        return False


def _dropped_kl(step: Step) -> str:
    """'the term -KL(q, p) may be missing on the left' when, with it, the reverse relation is proved."""
    claim = step.claim
    big, small = sides(claim)
    side = "left" if claim.relation.direction > 0 else "right"  # big is the left side of a >= step
    try:
        for kl in kl_candidates(sp.Tuple(big, small))[:4]:
            if Prover(equal, normalize).ge(small, big - kl) is not None:
                return (f"a term may be missing: with -{show(kl)} added to the {side} side it holds with "
                        f"{claim.relation.flipped.symbol}")
    except Exception:
        return ""
    return ""


def diagnose(step: Step, agreed: int, only_equal: bool) -> str:
    """Say in the author's terms what holds instead, where that is known."""
    claim = step.claim
    wrote, other = claim.relation, claim.relation.flipped
    weak = {Relation.LT: Relation.LE, Relation.GT: Relation.GE}.get(wrote, wrote)
    if only_equal:
        return f"the sides are equal at this point: it holds with {weak.symbol} at best, not {wrote.symbol}"
    if reverse_proved(step):
        return f"holds with {other.symbol}, not {wrote.symbol} (the reverse is proved)"
    dropped = _dropped_kl(step)
    if dropped:
        return dropped
    if agreed == 0:
        return f"fails at every point tried; perhaps it holds with {other.symbol}, not {wrote.symbol}"
    return f"holds at some points and fails at others: neither {wrote.symbol} nor {other.symbol} holds everywhere"
