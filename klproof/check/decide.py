"""The one trusted place where evidence becomes a verdict.

Strategies (the symbolic normaliser, the numeric sampler) are untrusted helpers:
they return evidence, and only this module grades it. PROVED needs a symbolic
argument; NUMERIC is agreement at sample points; REFUTED needs a certified
witness; anything else is UNKNOWN, and CI fails closed on it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from klproof.catalog import EVALUATION, RULES
from klproof.model import Bound, Step
from klproof.verdict import NumericEvidence, Reason, Status, StepInfo, Verdict


@dataclass(frozen=True)
class Options:
    timeout: float = 10.0  # seconds per step
    numeric: bool = True  # look for a witness (or numeric evidence) when the proof fails
    cross_check: bool = False  # also sample proved steps: a disagreement is an internal error
    seed: int = 20261121
    points: int = 6
    digits: int = 30
    record_forms: bool = False


def step_info(step: Step) -> StepInfo:
    return StepInfo(number=step.number, chain=step.chain, path=step.span.path, line=step.span.line,
                    col=step.span.col, text=step.text, previous_text=step.previous_text, by_text=step.by_text,
                    note=step.note, is_equation=step.is_equation, accept_numeric=step.accept_numeric,
                    relation=step.relation, chain_relation=step.chain_relation)


def describe_rules(rules: tuple[str, ...]) -> str:
    return ", ".join(RULES[r].title for r in rules) if rules else "algebra"


class InternalFailure(Exception):
    """An exception inside a rule or the sampler: a klproof bug, named by where it happened."""

    def __init__(self, where: str):
        super().__init__(where)
        self.where = where


def check_step(step: Step, options: Options) -> Verdict:
    """Everything klproof does for one step. Pure: the same step and options give the same verdict.

    An exception inside a rule or the sampler is that step's internal error, never a reason
    worded from Python's message (MemoryError and RecursionError are limits: the runner reports them)."""
    if step.error is not None:
        return unreadable_verdict(step)
    if isinstance(step.claim, Bound):
        from klproof.check.inequality import check_bound

        return check_bound(step, options)
    started = time.perf_counter()
    try:
        return _check_step(step, options, started)
    except InternalFailure as failure:
        where = f"the rule '{RULES[failure.where].title}'" if failure.where in RULES else failure.where
        return internal_verdict(step_info(step), where, failure.__cause__ or failure, time.perf_counter() - started)
    except (MemoryError, RecursionError):
        raise
    except Exception as exc:
        return internal_verdict(step_info(step), "the checker", exc, time.perf_counter() - started)


def _check_step(step: Step, options: Options, started: float) -> Verdict:
    from klproof.check.engine import prove, simplify_rung  # SymPy is imported here, in the worker, not at CLI start

    attempt = prove(step, record_forms=options.record_forms, allow_simplify=False)
    if not attempt.proved:  # declared intervals (p in (0, 1)) make sums such as 1 - p positive
        from klproof.check.inequality import prove_on_domains

        attempt = prove_on_domains(step) or attempt
    numeric = None
    if options.numeric and (not attempt.proved or options.cross_check):
        from klproof.check.numeric import sample

        try:
            numeric = sample(step, seed=options.seed, points=options.points, digits=options.digits)
        except (MemoryError, RecursionError):
            raise
        except Exception as exc:
            raise InternalFailure("the numeric sampler") from exc
    if not attempt.proved and (numeric is None or numeric.witness is None):
        # The slow last rung, only where no counterexample was found: a refuted step cannot be proved.
        attempt = simplify_rung(attempt)
    return decide(step, attempt, numeric, time.perf_counter() - started)


def decide(step: Step, attempt, numeric, seconds: float) -> Verdict:
    info = step_info(step)
    if attempt.proved and attempt.stage == EVALUATION and (numeric is None or numeric.evidence is None):
        # SymPy's own evaluation counts only where the independent numeric check agrees with it
        why = numeric.reason if numeric is not None and numeric.reason else "numeric checking is off"
        return Verdict(info, Status.UNKNOWN, "not proved", attempt.rules,
                       f"SymPy evaluates the difference to 0, but the numeric check could not confirm it ({why})",
                       seconds)
    if attempt.proved:
        if numeric is not None and numeric.witness is not None:
            # A symbolic proof contradicted by a certified witness means a rule is wrong: fail closed.
            return Verdict(info, Status.ERROR, "internal inconsistency", attempt.rules,
                           "the rewrites proved this step but a certified witness refutes it; please report this",
                           seconds, witness=numeric.witness, reason=Reason.INCONSISTENT)
        method = describe_rules(attempt.rules)
        if attempt.factor and attempt.factor not in ("1",):
            method += f" (previous equation × {attempt.factor})"
        return Verdict(info, Status.PROVED, method, attempt.rules, "", seconds,
                       beyond_stated=bool(step.by) and attempt.stage != "stated rules")
    if numeric is not None and numeric.witness is not None:
        return Verdict(info, Status.REFUTED, "counterexample", attempt.rules, numeric.diagnosis, seconds,
                       witness=numeric.witness, diagnosis=numeric.diagnosis)
    if numeric is not None and numeric.evidence is not None:
        evidence: NumericEvidence = numeric.evidence
        agree = f"the inequality holds at {evidence.points} points" if isinstance(step.claim, Bound) \
            else f"both sides agree at {evidence.points} points to {evidence.digits} digits"
        detail = f"not proved symbolically; {agree} (seed {evidence.seed})"
        detail += _blocked(attempt, step)
        if evidence.scales:
            detail += (f"; values {evidence.scales}"
                       + (f", {evidence.complex_points} complex" if evidence.complex_points else "")
                       + f"; largest relative difference {evidence.margin}")
        return Verdict(info, Status.NUMERIC, "numeric evidence", attempt.rules, detail, seconds, evidence=evidence)
    reason = "the rewrites did not close it"
    if numeric is not None and numeric.reason:
        reason += f"; numeric check: {numeric.reason}"
    reason += _blocked(attempt, step)
    if attempt.residual:
        reason += f"; remaining difference: {_clip(attempt.residual)}"
    return Verdict(info, Status.UNKNOWN, "not proved", attempt.rules, reason, seconds)


def _blocked(attempt, step: Step) -> str:
    """The side conditions that stopped a rewrite, as the catalog states them: those of the rules the step
    names, if any of them was stopped, else all."""
    blocked = getattr(attempt, "blocked", ())
    stated = [(rule, index) for rule, index in blocked if rule in step.by]
    return "".join(f"; the rule '{RULES[rule].title}' did not apply: its side condition "
                   f"'{RULES[rule].conditions[index]}' could not be shown"
                   for rule, index in stated or blocked)


def _clip(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def unreadable_verdict(step: Step) -> Verdict:
    """A step that cannot be read is that step's error, at its own line; the others are still checked."""
    error = step.error
    assert error is not None
    return Verdict(step_info(step), Status.ERROR, "unreadable", detail=error.message, reason=Reason.UNREADABLE,
                   hint=error.hint)


def timeout_verdict(info: StepInfo, seconds: float) -> Verdict:
    return Verdict(info, Status.UNKNOWN, "timeout", detail=f"stopped after {seconds:g} s; raise --timeout or split the step",
                   seconds=seconds, reason=Reason.TIMEOUT)


def crash_verdict(info: StepInfo, reason: Reason, what: str, seconds: float) -> Verdict:
    """A step the run could not finish (memory, nesting, a dead worker): unknown, never cached."""
    return Verdict(info, Status.UNKNOWN, "not checked", detail=what, seconds=seconds, reason=reason)


def internal_verdict(info: StepInfo, where: str, exc: BaseException, seconds: float) -> Verdict:
    """A klproof bug met while checking this step: an error that names where, with the traceback for `explain`."""
    import traceback

    trace = "".join(traceback.format_exception(exc))[-20_000:]
    return Verdict(info, Status.ERROR, f"internal error in {where}: please report", detail=type(exc).__name__,
                   seconds=seconds, reason=Reason.INTERNAL, traceback=trace)


__all__ = ["Options", "InternalFailure", "check_step", "decide", "timeout_verdict", "crash_verdict",
           "internal_verdict", "step_info", "unreadable_verdict"]
