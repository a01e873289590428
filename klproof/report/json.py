"""The JSON report. Field names are a contract with CI tools: add fields, never rename them."""

from __future__ import annotations

import json
from dataclasses import asdict

from klproof import __version__
from klproof.errors import clean
from klproof.report.text import file_error
from klproof.verdict import Report, Status, Verdict

SCHEMA_VERSION = 1


def verdict_dict(verdict: Verdict, report: Report) -> dict:
    info = verdict.step
    return {
        "number": info.number,
        "line": info.line,
        "col": info.col,
        "chain": clean(info.chain),
        "text": clean(info.text),
        "previous": clean(info.previous_text),
        "by": clean(info.by_text),
        "relation": info.relation.value,
        "chain_relation": info.chain_relation.value,
        "note": clean(info.note),
        "status": verdict.status.value,
        "passed": report.holds(verdict),
        "method": verdict.method,
        "rules": list(verdict.rules),
        "detail": clean(verdict.detail),
        "diagnosis": clean(verdict.diagnosis),
        "seconds": round(verdict.seconds, 6),
        "cached": verdict.cached,
        "beyond_stated": verdict.justification_insufficient,
        "witness": asdict(verdict.witness) if verdict.witness else None,
        "evidence": asdict(verdict.evidence) if verdict.evidence else None,
    }


def report_dict(report: Report) -> dict:
    verdicts = report.verdicts
    return {
        "schema_version": SCHEMA_VERSION,
        "klproof_version": __version__,
        "settings": report.settings,
        "strict_justifications": report.strict_justifications,
        "files": [
            {"path": clean(f.path), "title": clean(f.title), "source": clean(f.source),
             "error": clean(file_error(f)) or None, "passed": report.file_passed(f), "seconds": round(f.seconds, 6),
             "steps": [verdict_dict(v, report) for v in f.verdicts]}
            for f in report.files
        ],
        "summary": {
            "files": len(report.files),
            "steps": len(verdicts),
            **{status.value: sum(1 for v in verdicts if v.status is status) for status in Status},
            "unreadable_files": sum(1 for f in report.files if f.error),
            "cached": sum(1 for v in verdicts if v.cached),
            "beyond_stated": report.beyond_stated,
            "passed": report.passed,
            "seconds": round(report.seconds, 6),
        },
    }


def render_json(report: Report) -> str:
    return json.dumps(report_dict(report), indent=2, ensure_ascii=False) + "\n"
