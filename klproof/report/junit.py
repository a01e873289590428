"""The JUnit XML report (what GitLab, Jenkins and most CI dashboards read): a pure function of a Report.

One <testsuite> per derivation file, one <testcase> per step, named with the
step number and its line; a step that does not hold is a <failure> whose text is
klproof's explanation (claim, witness, diagnosis); an internal inconsistency is
an <error>; a file that cannot be read is one <testcase> with an <error>.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import PurePath

from klproof import __version__
from klproof.errors import clean
from klproof.report.text import claim_text, error_location, file_error, explanation_lines, headline
from klproof.verdict import FileReport, Report, Status, Verdict

def _clean(text: str) -> str:
    """Text for XML 1.0: control characters, lone surrogates (a non-UTF-8 file name) and bidi overrides
    escaped as \\uXXXX, so the writer never fails and no reader sees them raw."""
    return clean(text)


def classname(path: str) -> str:
    """proofs/000_kl.toml -> proofs.000_kl: how JUnit consumers group test cases by file."""
    parts = [p for p in PurePath(path).with_suffix("").parts if p not in ("/", ".", "..")]
    return ".".join(parts) or path


def _seconds(value: float) -> str:
    return f"{value:.3f}"


def _testcase(parent: ET.Element, verdict: Verdict, file: FileReport, report: Report) -> str:
    """Adds the step's <testcase>; returns its outcome: 'passed', 'failure' or 'error'."""
    info = verdict.step
    case = ET.SubElement(parent, "testcase", {
        "name": _clean(f"step {info.number} (line {info.line}): {claim_text(verdict)}"[:300]),
        "classname": _clean(classname(file.path)),
        "file": _clean(info.path),
        "line": str(info.line),
        "time": _seconds(verdict.seconds),
    })
    text = _clean("\n".join(explanation_lines(verdict)))
    if report.holds(verdict):
        if verdict.status is not Status.PROVED or verdict.cached or verdict.justification_insufficient:
            ET.SubElement(case, "system-out").text = text
        return "passed"
    kind = "error" if verdict.status is Status.ERROR else "failure"
    element = ET.SubElement(case, kind, {"message": _clean(headline(verdict)), "type": verdict.status.value})
    element.text = text
    return kind


def render_junit(report: Report) -> str:
    root = ET.Element("testsuites", {"name": "klproof", "time": _seconds(report.seconds)})
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for file in report.files:
        suite = ET.SubElement(root, "testsuite", {"name": _clean(file.path), "time": _seconds(file.seconds)})
        properties = ET.SubElement(suite, "properties")
        ET.SubElement(properties, "property", {"name": "klproof_version", "value": __version__})
        for key, value in sorted(report.settings.items()):
            ET.SubElement(properties, "property", {"name": str(key), "value": _clean(str(value))})
        if file.title:
            ET.SubElement(properties, "property", {"name": "title", "value": _clean(file.title)})
        counts = {"tests": 0, "failures": 0, "errors": 0}
        if file.error:
            line, _ = error_location(file)
            case = ET.SubElement(suite, "testcase", {"name": _clean(f"read {PurePath(file.path).name} (line {line})"),
                                                     "classname": _clean(classname(file.path)),
                                                     "file": _clean(file.path), "line": str(line), "time": "0.000"})
            rendered = file_error(file)
            first = rendered.splitlines()[0] if rendered else "cannot read the file"
            ET.SubElement(case, "error", {"message": _clean(first), "type": "unreadable"}).text = _clean(rendered)
            counts["tests"], counts["errors"] = 1, 1
        for verdict in file.verdicts:
            outcome = _testcase(suite, verdict, file, report)
            counts["tests"] += 1
            if outcome == "failure":
                counts["failures"] += 1
            elif outcome == "error":
                counts["errors"] += 1
        suite.set("tests", str(counts["tests"]))
        suite.set("failures", str(counts["failures"]))
        suite.set("errors", str(counts["errors"]))
        suite.set("skipped", "0")
        for key in totals:
            totals[key] += counts[key]
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
