"""Find the display math of a LaTeX document with pylatexenc's LatexWalker.

`equation`, `align`, `gather` (starred or not), `multline`, `\\[ ... \\]` and
`$$ ... $$` are formulas; the text between them is prose; a sectioning command
or a verbatim-like environment ends a chain. Unbalanced environments and
braces are reported where the walker finds them, with the place where the
unclosed block opened.
"""

from __future__ import annotations

import re

from pylatexenc.latexwalker import (LatexCharsNode, LatexEnvironmentNode, LatexGroupNode, LatexMacroNode,
                                    LatexMathNode, LatexWalker, LatexWalkerParseError)

from klproof.errors import ParseError, Span
from klproof.parse.formulas import LAYOUT_ENVIRONMENTS, Formula, Source

DISPLAY = {"equation", "equation*", "align", "align*", "gather", "gather*", "multline", "multline*",
           "flalign", "flalign*", "alignat", "alignat*", "displaymath"}
SECTIONS = {"part", "chapter", "section", "subsection", "subsubsection", "paragraph", "subparagraph"}
VERBATIM = {"verbatim", "verbatim*", "lstlisting", "minted", "comment", "Verbatim"}
_BEGIN = re.compile(r"\\begin\s*\{[^{}]*\}(\s*\{\d+\})?")
_END = re.compile(r"\\end\s*\{[^{}]*\}\s*$")


def latex_formulas(source: Source) -> list[Formula]:
    """The display formulas of a LaTeX document, in order."""
    try:
        nodes, _, _ = LatexWalker(source.text, tolerant_parsing=False).get_latex_nodes()
    except LatexWalkerParseError as exc:
        raise _walker_error(source, exc) from None
    except RecursionError:
        raise ParseError("the document is nested too deeply to read", Span(source.path, 1)) from None
    out: list[Formula] = []
    state = {"prose": [], "broken": False}
    _walk(source, nodes, out, state)
    return out


def _walker_error(source: Source, exc: LatexWalkerParseError) -> ParseError:
    message = " ".join(str(exc.msg).split())[:200]
    opened = getattr(exc, "open_contexts", None) or []
    if opened:  # the innermost block still open is what the author has to close
        what, pos, _, _ = opened[-1]
        line, col = source.line_col(pos)
        return ParseError(f"the LaTeX structure does not close: {message}; the {what} opened here is not closed "
                          "where it should be", Span(source.path, line, col),
                          "close every \\begin{...} with its \\end{...} and every { with }")
    pos = exc.pos if isinstance(exc.pos, int) else 0
    line, col = source.line_col(min(pos, len(source.text)))
    return ParseError(f"the LaTeX structure does not close: {message}", Span(source.path, line, col),
                      "every \\end{...} needs its \\begin{...}, every } its {")


def _walk(source: Source, nodes, out: list[Formula], state: dict) -> None:
    for node in nodes or []:
        if node is None:
            continue
        if isinstance(node, LatexCharsNode):
            state["prose"].append(node.chars)
        elif isinstance(node, LatexMathNode) and node.displaytype == "display":
            raw = source.text[node.pos:node.pos + node.len]
            opening = len(node.delimiters[0]) if node.delimiters else 2
            closing = len(node.delimiters[1]) if node.delimiters else 2
            _formula(source, node.pos + opening, node.pos + len(raw) - closing, out, state)
        elif isinstance(node, LatexEnvironmentNode):
            name = node.environmentname
            if name in DISPLAY or name in LAYOUT_ENVIRONMENTS:
                raw = source.text[node.pos:node.pos + node.len]
                begin, end = _BEGIN.match(raw), _END.search(raw)
                lo = node.pos + (begin.end() if begin else 0)
                hi = node.pos + (end.start() if end else len(raw))
                _formula(source, lo, hi, out, state)
            elif name in VERBATIM:
                state["prose"], state["broken"] = [], True
            else:
                _walk(source, node.nodelist, out, state)
        elif isinstance(node, LatexMacroNode) and node.macroname in SECTIONS:
            state["prose"], state["broken"] = [], True
            title = node.nodeargd.argnlist[-1] if node.nodeargd and node.nodeargd.argnlist else None
            if title is not None:
                state["heading"] = " ".join(source.text[title.pos + 1:title.pos + title.len - 1].split())[:200]
        elif isinstance(node, LatexGroupNode):
            _walk(source, node.nodelist, out, state)


def _formula(source: Source, lo: int, hi: int, out: list[Formula], state: dict) -> None:
    out.append(Formula(source.text[lo:hi], tuple(range(lo, hi)), " ".join(state["prose"]).strip(), state["broken"],
                       "", state.get("heading", "")))
    state["prose"], state["broken"] = [], False
