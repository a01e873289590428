"""`klproof explain`: how one step was checked, stage by stage. A pure function of the evidence."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.text import Text

from klproof.catalog import RULES
from klproof.errors import clean
from klproof.model import Step
from klproof.printing import show
from klproof.report.terminal import STYLE
from klproof.report.text import explanation_lines
from klproof.verdict import Status, Verdict

MAX_FORM = 2000


def _rule_title(rule: str) -> str:
    return RULES[rule].title if rule in RULES else rule


def _clip(text: str) -> str:
    return text if len(text) <= MAX_FORM else text[: MAX_FORM - 1] + "…"


def stages(forms: tuple[tuple[str, str], ...]) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """The recorded forms grouped by ladder stage: (stage, starting form, [(rule, form after it)])."""
    grouped: list[tuple[str, str, list[tuple[str, str]]]] = []
    for rule, form in forms:
        if rule.startswith("[") and rule.endswith("]"):
            grouped.append((rule[1:-1], form, []))
        elif rule == "simplify":
            grouped.append(("simplify", "", [("simplify", form)]))
        elif grouped:
            grouped[-1][2].append((rule, form))
        else:
            grouped.append(("rewrites", "", [(rule, form)]))
    return grouped


def render_explanation(step: Step, attempt, verdict: Verdict) -> RenderableType:
    """The step, the stages the engine tried (cheapest first) with every rewrite's result, and the verdict."""
    info = verdict.step
    label, style = STYLE[verdict.status]
    lines: list[RenderableType] = [
        Text.assemble((f"{clean(info.path)}:{info.line}", "bold"), f"  step {info.number}", "  ",
                      (clean(info.chain), "italic")),
        Text(clean(f"  claim:  {info.text if info.is_equation else info.previous_text + '  =  ' + info.text}")),
    ]
    if info.by_text:
        lines.append(Text(f"  by:     {clean(info.by_text)}"))
    lines.append(Text(""))
    lines.append(Text("Rewrites tried, cheapest stage first (each form is left side minus right side):", style="bold"))
    if step.substitution is not None and "substitution" in attempt.rules:
        old, new = step.substitution
        lines.append(Text(f"  first: substitution {show(old)} = {show(new)} in the integrals over {show(old)} "
                          "(Jacobian and limits included)"))
    grouped = stages(attempt.forms)
    closing = attempt.stage if attempt.proved else None
    for number, (stage, start, rewrites) in enumerate(grouped, start=1):
        closed = stage == closing
        mark = ("  ← closed it", "bold green") if closed else ("", "")
        lines.append(Text.assemble(f"  stage {number}: ", (stage, "bold"), mark))
        if start:
            lines.append(Text(f"      start:  {_clip(start)}", style="dim"))
        if not rewrites:
            lines.append(Text("      (no rule changed it; algebra alone: expand, cancel)", style="dim"))
        for rule, form in rewrites:
            lines.append(Text.assemble("      ", (f"{_rule_title(rule)}", "cyan"), " →  ", _clip(form)))
        if closed:
            lines.append(Text("      result: 0, so the two sides are equal", style="green"))
    if not grouped:
        lines.append(Text("  (nothing recorded)", style="dim"))
    if attempt.proved:
        rules = ", ".join(_rule_title(r) for r in attempt.rules) or "algebra"
        lines.append(Text(f"\nClosed at stage '{attempt.stage}' using: {rules}"
                          + (f" (the previous equation times {attempt.factor})" if attempt.factor else "")))
    elif attempt.residual:
        lines.append(Text(f"\nNot closed; what remains of left minus right: {_clip(attempt.residual)}"))
    lines.append(Text(""))
    lines.append(Text.assemble("Verdict: ", (label, style), f"  {verdict.method}"))
    if verdict.status is not Status.PROVED or verdict.detail or verdict.justification_insufficient:
        lines.extend(Text(line) for line in explanation_lines(verdict)[2:] if not line.startswith("  by:"))
    return Group(*lines)
