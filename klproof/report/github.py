"""GitHub Actions workflow commands, so that a step that does not hold shows inline on a pull request.

`::error` for refuted, unknown and error steps and for unreadable files,
`::warning` for numeric evidence the step does not accept, `::notice` for a
step that needed more than its stated justification (an `::error` with
--strict-justifications), one `::notice` with the summary. Escaping follows GitHub's rules for workflow commands: in the
message `%`, CR and LF; in properties also `:` and `,`.
"""

from __future__ import annotations

from klproof.errors import clean
from klproof.report.text import beyond_stated, error_location, file_error, explanation_lines, headline, summary_line
from klproof.verdict import Reason, Report, Status, Verdict


def escape_data(text: str) -> str:
    """GitHub's escaping, after klproof's own: no ESC, NUL or bidi override reaches the log."""
    return clean(text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(kind: str, message: str, **properties) -> str:
    props = ",".join(f"{k}={escape_property(str(v))}" for k, v in properties.items() if v is not None)
    return f"::{kind}{' ' + props if props else ''}::{escape_data(message)}"


def _annotation(verdict: Verdict, report: Report) -> str | None:
    if report.holds(verdict):
        if verdict.justification_insufficient:  # holds, but the pull request should say the `by` is short
            info = verdict.step
            return command("notice", beyond_stated(verdict), file=info.path, line=info.line, col=info.col,
                           title=f"klproof: step {info.number} needed more than its stated justification")
        return None
    info = verdict.step
    kind = "warning" if verdict.status is Status.NUMERIC else "error"
    return command(kind, "\n".join([headline(verdict), *explanation_lines(verdict)[1:]]),
                   file=info.path, line=info.line, col=info.col,
                   title=f"klproof: step {info.number} {verdict.status.value}"
                         + (" (timeout)" if verdict.reason is Reason.TIMEOUT else "")
                         + (" beyond its stated justification" if verdict.justification_insufficient else ""))


def render_github(report: Report) -> str:
    lines: list[str] = []
    for file in report.files:
        if file.error:
            line, col = error_location(file)
            lines.append(command("error", file_error(file), file=file.path, line=line, col=col,
                                 title="klproof: cannot read the derivation"))
        for verdict in file.verdicts:
            annotation = _annotation(verdict, report)
            if annotation:
                lines.append(annotation)
    lines.append(command("notice", summary_line(report), title="klproof"))
    return "\n".join(lines) + "\n"
