"""Plain-text pieces shared by the machine formats (JUnit, GitHub) and the pytest plugin: pure functions."""

from __future__ import annotations


from klproof.errors import clean, show
from klproof.verdict import FileReport, Reason, Report, Status, Verdict

WORD = {
    Status.PROVED: "proved",
    Status.NUMERIC: "numeric evidence only",
    Status.UNKNOWN: "not proved",
    Status.REFUTED: "refuted",
    Status.ERROR: "internal error",
}


def _one_line(text: str, limit: int = 400) -> str:
    """File text on one line, escaped (ESC, NUL, bidi overrides as \\uXXXX) and cut to `limit`."""
    text = clean(" ".join(text.split()))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def beyond_stated(verdict: Verdict) -> str:
    """'needed more than the stated justification; also used: log rules, ...' for a step proved only
    with rules its `by` does not name (empty otherwise)."""
    if not verdict.justification_insufficient:
        return ""
    from klproof.catalog import RULES, resolve_all, with_prerequisites

    try:
        stated = with_prerequisites(resolve_all(verdict.step.by_text))
    except ValueError:  # a cached step whose `by` no longer resolves: name every rule used
        stated = frozenset()
    extra = [RULES[r].title for r in verdict.rules if r in RULES and r not in stated]
    return "needed more than the stated justification" + (f"; also used: {', '.join(extra)}" if extra else "")


def claim_text(verdict: Verdict) -> str:
    info = verdict.step
    return _one_line(info.text) if info.is_equation else \
        f"{_one_line(info.previous_text)}  {info.relation.symbol}  {_one_line(info.expression)}"


def where(verdict: Verdict) -> str:
    """path:line of a step (the path escaped), and the column where a step could not be read."""
    info = verdict.step
    col = f":{info.col}" if verdict.reason is Reason.UNREADABLE and info.col else ""
    return f"{clean(info.path)}:{info.line}{col}"


def headline(verdict: Verdict) -> str:
    """One line: what happened to the step, e.g. 'step 15 refuted: the sign of ... is wrong'."""
    info = verdict.step
    text = f"step {info.number} {verdict.status.value}"
    if verdict.reason is Reason.TIMEOUT:
        text += " (timeout)"
    if verdict.diagnosis:
        text += f": {_one_line(verdict.diagnosis)}"
    elif verdict.status is Status.NUMERIC and not info.accept_numeric:
        text += ": numeric evidence is not proof; add numeric = true to the step to accept it"
    elif verdict.status is Status.PROVED:
        text += f" by {verdict.method}"
        if verdict.justification_insufficient:
            text += f" ({beyond_stated(verdict)})"
    elif verdict.detail:
        text += f": {_one_line(verdict.detail, 200)}"
    return text


def explanation_lines(verdict: Verdict) -> list[str]:
    """klproof's own explanation of a verdict: the claim, the witness, the diagnosis, why."""
    info = verdict.step
    lines = [f"{where(verdict)}: step {info.number} ({_one_line(info.chain or 'chain', 200)}): "
             f"{verdict.status.value}"
             + (f" [{verdict.method}]" if verdict.method else "") + (" (cached)" if verdict.cached else ""),
             f"  claim:     {claim_text(verdict)}"]
    if info.by_text:
        lines.append(f"  by:        {_one_line(info.by_text)}")
    if verdict.justification_insufficient:
        lines.append(f"  {beyond_stated(verdict)}")
    if verdict.witness:
        w = verdict.witness
        point = ", ".join(f"{k} = {v}" for k, v in w.point) or "(no free symbols)"
        lines.append(f"  witness:   {point}")
        if w.model:
            lines.append(f"  model:     {_one_line(w.model)}")
        lines += [f"  left  = {w.lhs}", f"  right = {w.rhs}",
                  f"  difference = {w.difference} (certified to {w.digits} digits)"]
    if verdict.diagnosis:
        lines.append(f"  diagnosis: {_one_line(verdict.diagnosis)}")
    if verdict.detail and verdict.detail != verdict.diagnosis:
        lines.append(f"  why:       {_one_line(verdict.detail, 2000)}")
        if verdict.hint:
            lines.append(f"  hint:      {_one_line(verdict.hint)}")
    if verdict.evidence:
        e = verdict.evidence
        lines.append(f"  evidence:  {e.points} points agree to {e.digits} digits (seed {e.seed})")
    if verdict.status is Status.NUMERIC and not info.accept_numeric:
        lines.append("  numeric evidence is not proof; add numeric = true to the step to accept it")
    return lines


def summary_line(report: Report) -> str:
    verdicts = report.verdicts
    pieces = [f"{n} {status.value}" for status in Status
              if (n := sum(1 for v in verdicts if v.status is status))]
    if report.beyond_stated:
        pieces.append(f"{report.beyond_stated} needed more than the stated justification")
    errors = sum(1 for f in report.files if f.error)
    if errors:
        pieces.append(f"{errors} unreadable file{'s' if errors != 1 else ''}")
    cached = sum(1 for v in verdicts if v.cached)
    files, steps = len(report.files), len(verdicts)
    text = (f"{'PASSED' if report.passed else 'FAILED'} {files} file{'s' if files != 1 else ''}, "
            f"{steps} step{'s' if steps != 1 else ''}: {', '.join(pieces) or 'nothing to check'}")
    if cached:
        text += f" ({cached} from the cache)"
    return text + f" in {report.seconds:.2f} s"


def file_error(file: FileReport) -> str:
    """An unreadable file's error as 'path:line[:col]: message' and its hint ("" when the file was read)."""
    error = file.error
    if error is None:
        return ""
    where = f"{show(file.path, 200)}:{error.line}" + (f":{error.col}" if error.col else "")
    return f"{where}: {error.message}" + (f"\n  hint: {error.hint}" if error.hint else "")


def error_location(file: FileReport) -> tuple[int, int | None]:
    """(line, column) of an unreadable file's error."""
    return (file.error.line, file.error.col) if file.error else (1, None)
