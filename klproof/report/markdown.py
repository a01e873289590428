"""Markdown export of a checked derivation: `$$ ... $$` display math (GitHub, Jekyll, GitBook, MathJax).

A pure function of the Derivation and its Report, sharing the LaTeX export's
renderings: every formula is the one klproof checked, re-read to make sure.
"""

from __future__ import annotations

from klproof.model import Derivation, Relation
from klproof.report.latex import ExportChain, _assumption_lines, export_chains, is_verified, verdict_word
from klproof.verdict import Report

def _md(text: str) -> str:
    """Plain text for Markdown: characters that would start markup escaped."""
    out = []
    for ch in " ".join(text.split()):
        out.append("\\" + ch if ch in "\\`*_[]<>|$#" else ch)
    return "".join(out)


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
        rel = line.relation if is_verified(line.verdict) else "\\overset{?}{" + line.relation + "}"
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


def render_markdown(derivation: Derivation, report: Report) -> str:
    """Title, source, assumptions, then per chain one display-math block and the steps' justifications."""
    out = [f"# {_md(derivation.title)}", ""]
    if derivation.source:
        out += [f"Source: `{derivation.source}`  ", f"File: `{derivation.path}`", ""]
    else:
        out += [f"File: `{derivation.path}`", ""]
    steps = derivation.steps
    proved = sum(1 for s in steps if is_verified(_verdict(report, derivation, s.number)))
    if proved == len(steps):
        out += [f"All {len(steps)} steps were proved by klproof under these assumptions:", ""]
    else:
        out += [f"**Not verified: only {proved} of {len(steps)} steps were proved.** "
                "The others are marked with their verdict.", "", "Assumptions:", ""]
    for text in _assumption_lines(derivation):
        out.append(f"- {text}".replace("\\_", "_"))
    for chain in export_chains(derivation, report):
        out += ["", f"## {_md(chain.title)}", ""]
        out += _chain_block(chain)
        out.append("")
        if chain.relation is not Relation.EQ:
            out += [f"The chain concludes: first expression {chain.relation.symbol} last expression.", ""]
        for line in chain.lines:
            if line.verdict is None:
                continue
            word = verdict_word(line.verdict)
            mark = "✓ proved" if is_verified(line.verdict) else f"**✗ {word.upper()}**"
            by = f" by {_md(line.by)}" if line.by else ""
            note = f" — {_md(line.note)}" if line.note else ""
            out.append(f"- step {line.verdict.step.number}: {mark}{by} (`{line.where}`){note}")
    return "\n".join(out) + "\n"


def _verdict(report: Report, derivation: Derivation, number: int):
    for file in report.files:
        if file.path == derivation.path:
            for v in file.verdicts:
                if v.step.number == number:
                    return v
    return None

