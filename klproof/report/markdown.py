"""Markdown export of a checked derivation: `$$ ... $$` display math (GitHub, Jekyll, GitBook, MathJax).

A pure function of the Derivation and its Report, sharing the LaTeX export's
renderings: every formula is the one klproof checked, re-read to make sure.
"""

from __future__ import annotations

import re

from klproof.errors import clean
from klproof.model import Derivation
from klproof.report.latex import ExportChain, ReadBack, assumption_lines, export_chains, verdict_word
from klproof.report.texnames import title_pieces
from klproof.report.layout import NUMERIC_RELATION, is_accepted_numeric, is_verified, relation, status_counts
from klproof.verdict import Report

_MARKUP = set("\\`*_{}[]<>#|$&~")  # what could open a code span, emphasis, a link, raw HTML, an entity or math


def _md(text: str) -> str:
    """File text for Markdown, on one line: every character that could start markup (code spans, links,
    raw HTML, entities, math) backslash-escaped, and unprintable characters as \\uXXXX."""
    return "".join("\\" + ch if ch in _MARKUP else ch for ch in clean(" ".join(text.split())))


def _title(text: str) -> str:
    """A title for Markdown: its formulas as $...$ math (KaTeX, MathJax, GitHub), the rest escaped."""
    out = []
    for math, piece in title_pieces(" ".join(text.split())):  # math pieces are ASCII klproof wrote
        if math:
            out.append(f"${piece}$")
        else:
            out.append(_md_keep_spaces(piece))
    return "".join(out).strip()


def _md_keep_spaces(text: str) -> str:
    return "".join("\\" + ch if ch in _MARKUP else ch for ch in clean(text))


def _code(text: str) -> str:
    """File text as a code span whose fence is longer than any run of backticks inside it (CommonMark),
    so nothing in it can close the span or become markup or raw HTML."""
    flat = clean(" ".join(text.split()))
    longest = max((len(run) for run in re.findall("`+", flat)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{fence}{pad}{flat}{pad}{fence}"


def _chain_block(chain: ExportChain) -> list[str]:
    rows: list[str] = []
    lines = list(chain.lines)
    pending = ""
    for k, line in enumerate(lines):
        if line.relation == "" and line.lhs is None and line.verdict is None:
            if k + 1 < len(lines) and lines[k + 1].lhs is None:
                pending = line.tex
                continue
            rows.append(f"&{line.tex}")
            continue
        rel = relation(line.verdict, line.relation or "=")
        if line.lhs is not None:
            rows.append(f"{line.lhs} &{rel} {line.tex}")
        elif line.relation == "":
            rows.append(f"&{line.tex}")
        else:
            if pending:
                rows.append(f"&{pending}")
            rows.append(f"&{rel} {line.tex}")
        pending = ""
    return ["$$", "\\begin{aligned}", *[r + (" \\\\" if i + 1 < len(rows) else "") for i, r in enumerate(rows)],
            "\\end{aligned}", "$$"]


def render_markdown(derivation: Derivation, report: Report, reader: ReadBack) -> str:
    """Title, source, assumptions, then per chain one display-math block and the steps' justifications."""
    out = [f"# {_title(derivation.title)}", ""]
    if derivation.source:
        out += [f"Source: {_code(derivation.source)}  ", f"File: {_code(derivation.path)}", ""]
    else:
        out += [f"File: {_code(derivation.path)}", ""]
    proved, numeric, total = status_counts([_verdict(report, derivation, s.number) for s in derivation.steps])
    if proved == total:
        out += [f"All {total} steps were proved by klproof under these assumptions:", ""]
    elif proved + numeric == total:
        out += [f"All {total} steps hold as klproof checks them: {proved} proved, and {numeric} accepted on numeric "
                f"evidence (both sides agree at sample points, which is not a proof), marked ${NUMERIC_RELATION}$. "
                "Assumptions:", ""]
    else:
        out += [f"**Not verified: only {proved + numeric} of {total} steps hold.** "
                "The others are marked with their verdict.", "", "Assumptions:", ""]
    for text in assumption_lines(derivation, reader):
        out.append(f"- {text}".replace("\\_", "_"))
    for chain in export_chains(derivation, report, reader):
        out += ["", f"## {_title(chain.title)}", ""]
        out += _chain_block(chain)
        out.append("")
        if chain.relation != "=":
            shown = {"\\le": "≤", "\\ge": "≥"}.get(chain.relation, chain.relation)
            out += [f"The chain concludes: first expression {shown} last expression.", ""]
        for line in chain.lines:
            if line.verdict is None:
                continue
            word = verdict_word(line.verdict)
            if is_accepted_numeric(line.verdict):
                evidence = line.verdict.evidence
                mark = "≈ numeric evidence, accepted" + (
                    f" ({evidence.points} points agree to {evidence.digits} digits, seed {evidence.seed}; not a proof)"
                    if evidence else " (not a proof)")
            elif is_verified(line.verdict):
                mark = "✓ proved"
            else:
                mark = f"**✗ {word.upper()}**"
            by = f" by {_md(line.by)}" if line.by else ""
            note = f" — {_md(line.note)}" if line.note else ""
            out.append(f"- step {line.verdict.step.number}: {mark}{by} ({_code(line.where)}){note}")
    return "\n".join(out) + "\n"


def _verdict(report: Report, derivation: Derivation, number: int):
    for file in report.files:
        if file.path == derivation.path:
            for v in file.verdicts:
                if v.step.number == number:
                    return v
    return None

