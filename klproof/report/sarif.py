"""SARIF 2.1.0 for GitHub code scanning: a pure function of a Report.

One result per step that does not hold (and per unreadable file), located at the
step's file and line, with a ruleId for the kind of failure (a step's verdict, not
one of the rewrite rules): klproof/refuted, klproof/unknown, klproof/numeric,
klproof/error, klproof/justification, klproof/unreadable. GitHub requires
`version`, `$schema`, runs[].tool.driver.name, and per result `ruleId`,
`message.text` and a physicalLocation with artifactLocation.uri and region.startLine.
"""

from __future__ import annotations

import json
import os
from urllib.parse import quote

from klproof import __version__
from klproof.errors import clean
from klproof.report.text import error_location, file_error, explanation_lines, headline, summary_line
from klproof.verdict import Reason, Report, Status, Verdict

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"

# id -> (short description, level)
KINDS: dict[str, tuple[str, str]] = {
    "refuted": ("A step is refuted by a certified counterexample", "error"),
    "unknown": ("A step could not be proved or refuted", "error"),
    "numeric": ("A step has numeric evidence only, which the step does not accept", "warning"),
    "error": ("The checker failed on a step (please report it)", "error"),
    "justification": ("A step needed more than its stated justification (--strict-justifications)", "error"),
    "unreadable": ("A derivation file, or a line of it, cannot be read", "error"),
}


def _uri(path: str) -> str:
    """The file as a URI reference: relative paths stay relative (code scanning resolves them against the
    repository root), absolute ones become file:// URIs; the name is escaped, then percent-encoded."""
    text = clean(path.replace(os.sep, "/") if os.sep != "/" else path)
    if text.startswith("/"):
        return "file://" + quote(text, safe="/")
    return quote(text.removeprefix("./"), safe="/")


def _kind(verdict: Verdict) -> str:
    if verdict.status is Status.PROVED:
        return "justification"
    if verdict.reason is Reason.UNREADABLE:
        return "unreadable"
    return verdict.status.value


def _location(path: str, line: int, col: int | None) -> dict:
    region = {"startLine": max(1, line)}
    if col:
        region["startColumn"] = col
    return {"physicalLocation": {"artifactLocation": {"uri": _uri(path)}, "region": region}}


def _result(kind: str, message: str, path: str, line: int, col: int | None) -> dict:
    return {"ruleId": f"klproof/{kind}", "ruleIndex": list(KINDS).index(kind), "level": KINDS[kind][1],
            "message": {"text": clean(message)}, "locations": [_location(path, line, col)]}


def sarif_dict(report: Report) -> dict:
    results = []
    for file in report.files:
        if file.error:
            line, col = error_location(file)
            results.append(_result("unreadable", file_error(file), file.path, line, col))
        for verdict in file.verdicts:
            if report.holds(verdict):
                continue
            info = verdict.step
            message = "\n".join([headline(verdict), *explanation_lines(verdict)[1:]])
            results.append(_result(_kind(verdict), message, info.path, info.line, info.col))
    rules = [{"id": f"klproof/{kind}", "name": kind, "shortDescription": {"text": text},
              "defaultConfiguration": {"level": level}}
             for kind, (text, level) in KINDS.items()]
    return {
        "version": "2.1.0",
        "$schema": SCHEMA,
        "runs": [{
            "tool": {"driver": {"name": "klproof", "version": __version__, "rules": rules}},
            "results": results,
            "properties": {"summary": clean(summary_line(report))},
        }],
    }


def render_sarif(report: Report) -> str:
    return json.dumps(sarif_dict(report), indent=2, ensure_ascii=False) + "\n"
