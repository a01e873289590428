"""Find the math of a Markdown document: markdown-it-py with mdit-py-plugins' dollarmath and amsmath.

The parser decides what is math, so `$$` inside a code block or an HTML
comment is never read as math. Each formula comes back with the offset in the
document of every character of its body (block quotes and list items strip
prefixes from the lines, so the body is matched back against the source), the
prose just before it, and whether a heading, code block or other non-prose
block came in between (that ends a chain of equalities).
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt
from mdit_py_plugins.amsmath import amsmath_plugin
from mdit_py_plugins.dollarmath import dollarmath_plugin

from klproof.errors import ParseError, Span
from klproof.parse.formulas import Formula, Source

_BREAKS = {"heading_open", "fence", "code_block", "hr", "table_open"}
_CLAUSE = re.compile(r"^\s*(?:[,;:.]|$)")  # what may follow a formula that is its paragraph's statement


def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark").use(dollarmath_plugin, double_inline=True).use(amsmath_plugin)


def _lines(token) -> tuple[int, int]:
    """The token's lines [first, last) (0-based); block tokens always have them."""
    return (token.map[0], token.map[1]) if token.map else (0, 0)


def _block_parser() -> MarkdownIt:
    """Blocks only: most of markdown-it's time goes to inline markup, which only a paragraph that starts
    with math needs (its statement may be that math); prose is read as written."""
    return _parser().disable("inline")


def markdown_formulas(source: Source, skip_lines: int = 0) -> list[Formula]:
    """The display formulas of the Markdown text, in order (lines before `skip_lines` are a header)."""
    text = source.text
    if skip_lines:  # the header's lines become blank, so that line numbers stay those of the file
        cut = source.line_start(skip_lines + 1)
        text = "\n" * skip_lines + text[cut:]
    tokens = _block_parser().parse(text)
    inline = _parser()
    formulas: list[Formula] = []
    prose: list[str] = []
    broken = False
    heading, in_heading = "", False
    for token in tokens:
        if token.type in _BREAKS:
            broken, prose = True, []
            in_heading = token.type == "heading_open"
        elif token.type == "inline" and in_heading:
            heading, in_heading = " ".join(token.content.split())[:200].rstrip(":"), False
        elif token.type == "html_block" and token.content.lstrip().startswith("<!--"):
            if "-->" not in token.content:
                line = _lines(token)[0] + 1
                raise ParseError("an HTML comment opened here is never closed: it hides the rest of the document",
                                 Span(source.path, line, source.text.split("\n")[line - 1].find("<!--") + 1),
                                 "close it with -->")
        elif token.type in ("math_block", "math_block_label", "amsmath"):
            offsets = source.match(token.content, *_lines(token))
            formulas.append(Formula(token.content, offsets, " ".join(prose).strip(), broken, "", heading))
            prose, broken = [], False
        elif token.type == "inline":
            if not token.content.lstrip().startswith("$"):
                prose.append(token.content)
                continue
            children = inline.parseInline(token.content)[0].children or []
            math = [i for i, c in enumerate(children) if c.type in ("math_inline", "math_inline_double")]
            first_text = next((i for i, c in enumerate(children) if c.type != "softbreak"
                               and not (c.type == "text" and not c.content.strip())), None)
            if math and math[0] == first_text:
                rest = "".join(c.content if c.type == "text" else " " for c in children[math[0] + 1:])
                if _CLAUSE.match(rest):  # "$= ...$" or "$= ...$, using Bayes' theorem": a stated line
                    c = children[math[0]]
                    offsets = source.match("$" + c.content, *_lines(token))[1:]
                    formulas.append(Formula(c.content, offsets, " ".join(prose).strip(), broken,
                                            rest.strip(" ,;:."), heading))
                    prose, broken = [], False
                    continue
            prose.append("".join(c.content if c.type == "text" else "" for c in children))
    return formulas


def inline_formulas(source: Source, skip_lines: int = 0) -> list[Formula]:
    """Every formula of the document, inline ones included, in order (for claims the header states)."""
    text = source.text
    if skip_lines:
        text = "\n" * skip_lines + text[source.line_start(skip_lines + 1):]
    out: list[Formula] = []
    for token in _parser().parse(text):
        if token.type in ("math_block", "math_block_label", "amsmath"):
            out.append(Formula(token.content, source.match(token.content, *_lines(token)), "", False))
        elif token.type == "inline":
            cursor = 0
            for c in token.children or []:
                if c.type in ("math_inline", "math_inline_double"):
                    offsets = source.match("$" + c.content, *_lines(token), after=cursor)[1:]
                    cursor = offsets[-1] + 1 if offsets else cursor
                    out.append(Formula(c.content, offsets, "", False))
    return out
