"""The step-by-step terminal report: a pure function from Report to rich renderables."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.text import Text

from klproof.model import Relation, expression_text
from klproof.errors import clean
from klproof.report.text import beyond_stated, file_error
from klproof.report.text import where as step_where
from klproof.verdict import FileReport, Report, Status, Verdict

STYLE = {
    Status.PROVED: ("✓ proved", "green"),
    Status.NUMERIC: ("≈ numeric", "yellow"),
    Status.UNKNOWN: ("? unknown", "yellow"),
    Status.REFUTED: ("✗ refuted", "bold red"),
    Status.ERROR: ("! error", "bold red"),
}
MAX_TEXT = 70


def _clip(text: str, limit: int = MAX_TEXT) -> str:
    """File text on one line, escaped (no ESC or NUL reaches the terminal) and cut to `limit`."""
    text = clean(" ".join(text.split()))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"


def render_report(report: Report, verbose: bool = False) -> RenderableType:
    parts: list[RenderableType] = []
    for file in report.files:
        parts.append(render_file(file, verbose, report))
        parts.append(Text(""))
    parts.append(render_summary(report))
    return Group(*parts)


def render_file(file: FileReport, verbose: bool = False, report: Report | None = None) -> RenderableType:
    report = report or Report((file,))
    if file.error:
        return Group(Text(clean(file.path), style="bold"), Text(f"  error: {clean(file_error(file))}", style="red"))
    lines: list[RenderableType] = [Text.assemble((clean(file.path), "bold"), "  ", (_clip(file.title, 200), "cyan"))]
    chain = None
    for verdict in file.verdicts:
        info = verdict.step
        if info.chain != chain:
            chain = info.chain
            concludes = f"  (concludes {info.chain_relation.symbol})" if info.chain_relation is not Relation.EQ else ""
            lines.append(Text(f"  {_clip(chain, 200)}{concludes}", style="italic"))
        label, style = STYLE[verdict.status]
        method = _clip(verdict.method, 55) + " (cached)" if verdict.cached else _clip(verdict.method, 64)
        lines.append(Text.assemble(f"  {info.number:>3}  line {info.line:<4} ", (f"{label:<10}", style),
                                   f" {method:<64} ", (f"{_ms(verdict.seconds):>7}", "dim")))
        # a step that starts with its own relation ('>= 0', LaTeX '&= ...') shows it; others are '= ...'
        relation = "" if info.is_equation or expression_text(info.text) != info.text else "= "
        by = f"   [by: {_clip(info.by_text, 100)}]" if info.by_text else ""
        lines.append(Text.assemble(f"       {relation}{_clip(info.text, 100)}", (by, "dim")))
        if verdict.justification_insufficient:
            strict = report.strict_justifications
            lines.append(Text(f"       {'✗' if strict else '!'} {beyond_stated(verdict)}",
                              style="bold red" if strict else "yellow"))
        if verdict.status is not Status.PROVED or verbose:
            explanation = render_explanation(verdict)
            if explanation is not None:
                lines.append(explanation)
    ok = report.file_passed(file)
    lines.append(Text.assemble("  ", ("passed" if ok else "failed", "green" if ok else "red"),
                               f": {_counts(file.verdicts)}", (f" in {file.seconds:.2f} s", "dim")))
    return Group(*lines)


def _counts(verdicts) -> str:
    """'3 steps: 2 proved, 1 refuted'."""
    pieces = [f"{n} {status.value}" for status in Status if (n := sum(1 for v in verdicts if v.status is status))]
    beyond = sum(1 for v in verdicts if v.justification_insufficient)
    if beyond:
        pieces.append(f"{beyond} needed more than the stated justification")
    return f"{len(verdicts)} step{'s' if len(verdicts) != 1 else ''}: " + (", ".join(pieces) or "nothing to check")


def render_explanation(verdict: Verdict) -> RenderableType | None:
    info = verdict.step
    lines: list[Text] = []
    where = step_where(verdict)
    label, style = STYLE[verdict.status]
    if verdict.status is Status.PROVED:
        if not verdict.detail:
            return None
        lines.append(Text(f"{where}: step {info.number}: {clean(verdict.detail)}", style="dim"))
    else:
        lines.append(Text.assemble((f"{where}: ", "bold"), (label, style), f" step {info.number}"))
        claim = (_clip(info.text, 400) if info.is_equation
                 else f"{_clip(info.previous_text, 200)}  {info.relation.symbol}  {_clip(info.expression, 200)}")
        lines.append(Text(f"  claim:     {claim}"))
    if verdict.witness:
        w = verdict.witness
        point = ", ".join(f"{k} = {v}" for k, v in w.point) or "(no free symbols)"
        lines.append(Text(f"  witness:   {point}"))
        if w.model:
            lines.append(Text(f"  model:     {_clip(w.model, 200)}", style="dim"))
        lines.append(Text(f"  left  = {w.lhs}"))
        lines.append(Text(f"  right = {w.rhs}"))
        lines.append(Text(f"  difference = {w.difference} (certified to {w.digits} digits)"))
    if verdict.diagnosis:
        lines.append(Text(f"  diagnosis: {clean(verdict.diagnosis)}", style="bold"))
    elif verdict.detail and verdict.status is not Status.PROVED:
        lines.append(Text(f"  why:       {clean(verdict.detail)}"))
        if verdict.hint:
            lines.append(Text(f"  hint:      {clean(verdict.hint)}"))
    if verdict.status is Status.NUMERIC and not info.accept_numeric:
        lines.append(Text("  numeric evidence is not proof; add numeric = true to the step to accept it", style="dim"))
    return Group(*(Text("     ") + line for line in lines))


def render_summary(report: Report) -> RenderableType:
    verdicts = report.verdicts
    errors = sum(1 for f in report.files if f.error)
    text = _counts(verdicts)
    if errors:
        text += f"{',' if verdicts else ''} {errors} unreadable file{'s' if errors != 1 else ''}"
    files = len(report.files)
    cached = sum(1 for v in verdicts if v.cached)
    sampled = any(v.witness or v.evidence for v in verdicts) and "seed" in report.settings
    text = f"{files} file{'s' if files != 1 else ''}, " + text + (f" ({cached} from the cache)" if cached else "") \
        + f" in {report.seconds:.2f} s" + (f" (numeric sampling seed {report.settings['seed']})" if sampled else "")
    ok = report.passed
    return Text.assemble(("PASSED " if ok else "FAILED ", "bold green" if ok else "bold red"), text)
