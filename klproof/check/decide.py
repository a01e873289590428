"""The one trusted place where evidence becomes a verdict.

Strategies (the symbolic normaliser, the numeric sampler) are untrusted helpers:
they return evidence, and only this module grades it. PROVED needs a symbolic
argument; NUMERIC is agreement at sample points; REFUTED needs a certified
witness; anything else is UNKNOWN, and CI fails closed on it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from klproof.catalog import RULES
from klproof.model import Step
from klproof.verdict import NumericEvidence, Status, StepInfo, Verdict


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
                    note=step.note, is_equation=step.is_equation, accept_numeric=step.accept_numeric)


def describe_rules(rules: tuple[str, ...]) -> str:
    return ", ".join(RULES[r].title for r in rules) if rules else "algebra"


def check_step(step: Step, options: Options) -> Verdict:
    """Everything klproof does for one step. Pure: the same step and options give the same verdict."""
    from klproof.check.engine import prove, simplify_rung  # SymPy is imported here, in the worker, not at CLI start

    started = time.perf_counter()
    attempt = prove(step, record_forms=options.record_forms, allow_simplify=False)
    numeric = None
    if options.numeric and (not attempt.proved or options.cross_check):
        from klproof.check.numeric import sample

        numeric = sample(step, seed=options.seed, points=options.points, digits=options.digits)
    if not attempt.proved and (numeric is None or numeric.witness is None):
        # The slow last rung, only where no counterexample was found: a refuted step cannot be proved.
        attempt = simplify_rung(attempt)
    return decide(step, attempt, numeric, time.perf_counter() - started)


def decide(step: Step, attempt, numeric, seconds: float) -> Verdict:
    info = step_info(step)
    if attempt.proved:
        if numeric is not None and numeric.witness is not None:
            # A symbolic proof contradicted by a certified witness means a rule is wrong: fail closed.
            return Verdict(info, Status.ERROR, "internal inconsistency", attempt.rules,
                           "the rewrites proved this step but a certified witness refutes it; please report this",
                           seconds, witness=numeric.witness)
        method = describe_rules(attempt.rules)
        if attempt.factor and attempt.factor not in ("1",):
            method += f" (previous equation × {attempt.factor})"
        detail = _beyond_stated(step, attempt)
        return Verdict(info, Status.PROVED, method, attempt.rules, detail, seconds)
    if numeric is not None and numeric.witness is not None:
        return Verdict(info, Status.REFUTED, "counterexample", attempt.rules, numeric.diagnosis, seconds,
                       witness=numeric.witness, diagnosis=numeric.diagnosis)
    if numeric is not None and numeric.evidence is not None:
        evidence: NumericEvidence = numeric.evidence
        detail = (f"not proved symbolically; both sides agree at {evidence.points} points to "
                  f"{evidence.digits} digits (seed {evidence.seed})")
        if evidence.scales:
            detail += (f"; values {evidence.scales}"
                       + (f", {evidence.complex_points} complex" if evidence.complex_points else "")
                       + f"; largest relative difference {evidence.margin}")
        return Verdict(info, Status.NUMERIC, "numeric evidence", attempt.rules, detail, seconds, evidence=evidence)
    reason = "the rewrites did not close it"
    if numeric is not None and numeric.reason:
        reason += f"; numeric check: {numeric.reason}"
    if attempt.residual:
        reason += f"; remaining difference: {_clip(attempt.residual)}"
    return Verdict(info, Status.UNKNOWN, "not proved", attempt.rules, reason, seconds)


def _beyond_stated(step: Step, attempt) -> str:
    if step.by and attempt.stage != "stated rules":
        return f"needed more than the stated justification ({step.by_text})"
    return ""


def _clip(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def timeout_verdict(step: Step, seconds: float) -> Verdict:
    return Verdict(step_info(step), Status.UNKNOWN, "timeout",
                   detail=f"stopped after {seconds:g} s; raise --timeout or split the step", seconds=seconds)


def crash_verdict(step: Step, what: str, seconds: float) -> Verdict:
    return Verdict(step_info(step), Status.UNKNOWN, "not checked", detail=what, seconds=seconds)


__all__ = ["Options", "check_step", "decide", "timeout_verdict", "crash_verdict", "step_info"]
