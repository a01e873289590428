"""The formulas of a document, split into the lines and sides of its chains, each character with its place.

Shared by the Markdown and LaTeX readers. A `Piece` is a run of LaTeX with the
document offset of every one of its characters, so that whatever is removed or
replaced (an `align*` wrapper, `&`, a `% by:` comment, `\\overset{...}{=}`)
never moves an error's line and column. Rows are split at `\\\\` and sides at
each `=` outside brackets, braces and `\\boxed{...}`.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

# environments that only arrange a derivation's lines; their \begin and \end are layout
LAYOUT_ENVIRONMENTS = {"align", "align*", "aligned", "gather", "gather*", "gathered", "equation", "equation*",
                       "split", "alignat", "alignat*", "alignedat", "flalign", "flalign*", "multline", "multline*"}
_ENV = re.compile(r"\\(begin|end)\s*\{([A-Za-z*]+)\}(\{\d+\})?")
_OVERSET = re.compile(r"\\(?:overset|stackrel)\s*\{\s*(?:\\(?:text|mathrm|textrm)\s*\{([^{}]*)\}|([^{}]*))\s*\}"
                      r"\s*\{\s*=\s*\}")
_LEAD = re.compile(r"^(\s*)(\\therefore|\\because|\\Rightarrow|\\implies)")
_BOXED = re.compile(r"\\boxed\s*\{")
_BY = re.compile(r"^\s*by\s*:\s*(.*?)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Source:
    """A document's text with the offsets of its line starts."""

    path: str
    text: str

    @property
    def starts(self) -> list[int]:
        cached = self.__dict__.get("_starts")
        if cached is None:
            cached = [0] + [m.end() for m in re.finditer("\n", self.text)]
            object.__setattr__(self, "_starts", cached)
        return cached

    def line_col(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.starts, offset)
        return line, offset - self.starts[line - 1] + 1

    def line_start(self, line: int) -> int:
        """Offset of 1-based `line` (the end of the text past the last line)."""
        return self.starts[line - 1] if line <= len(self.starts) else len(self.text)

    def match(self, content: str, first: int, last: int, after: int = 0) -> tuple[int, ...]:
        """Offsets of `content`'s characters in lines [first, last) (0-based), matched in order.

        A parser may have dropped line prefixes (`> `, list indentation), so the content is
        matched as a subsequence of the source; a character not found keeps the last place."""
        lo, hi = max(self.line_start(first + 1), after), self.line_start(last + 1)
        start = self.text.find(content, lo, hi)
        if start >= 0:
            return tuple(range(start, start + len(content)))
        offsets: list[int] = []
        at = lo
        for c in content:
            found = self.text.find(c, at, hi)
            if found < 0:
                offsets.append(max(at - 1, lo))
            else:
                offsets.append(found)
                at = found + 1
        return tuple(offsets)


@dataclass(frozen=True)
class Formula:
    """One display formula: its LaTeX body, the offset of each body character, and its context."""

    body: str
    offsets: tuple[int, ...]
    prose_before: str  # the text between the previous formula (or chain break) and this one
    breaks_chain: bool  # a heading, code block or other non-prose block came since the previous formula
    prose_after: str = ""  # for a formula that is its paragraph's statement: the clause after it
    heading: str = ""  # the title of the section it is in


@dataclass(frozen=True)
class Piece:
    text: str
    offsets: tuple[int, ...]

    def strip(self) -> Piece:
        body = self.text.strip()
        if not body:
            return Piece("", ())
        lo = len(self.text) - len(self.text.lstrip())
        return Piece(body, self.offsets[lo:lo + len(body)])

    def blank(self, lo: int, hi: int, keep: str = "") -> Piece:
        """The same piece with text[lo:hi] replaced by `keep` padded with spaces (offsets unchanged)."""
        filler = keep.center(hi - lo) if keep else " " * (hi - lo)
        return Piece(self.text[:lo] + filler + self.text[hi:], self.offsets)


@dataclass(frozen=True)
class Side:
    """One side of a relation: a chain's start or a step, with the justification written beside it."""

    piece: Piece
    continues: bool  # written after a relation ('= ...'), so it is claimed equal to what precedes it
    by: str = ""  # from '% by: ...' or \overset{\text{...}}{=}
    by_offset: int | None = None  # where that justification is written


def formula_rows(formula: Formula) -> list[tuple[Piece, str, int | None]]:
    """(row, '% by:' justification, its offset) for each row of the formula: environments and comments removed."""
    piece = Piece(formula.body, formula.offsets)
    opened: list[re.Match] = []
    for m in list(_ENV.finditer(piece.text)):
        if m.group(2) in LAYOUT_ENVIRONMENTS:
            if m.group(1) == "begin":
                opened.append(m)
            elif not opened or opened[-1].group(2) != m.group(2):
                raise Unbalanced(formula.offsets[m.start()], f"\\end{{{m.group(2)}}} closes an environment this "
                                 "formula did not open", "match every \\begin{...} with its \\end{...}")
            else:
                opened.pop()
            piece = piece.blank(m.start(), m.end())
    if opened:
        m = opened[-1]
        raise Unbalanced(formula.offsets[m.start()], f"\\begin{{{m.group(2)}}} is not closed in this formula",
                         f"end it with \\end{{{m.group(2)}}} before the formula ends")
    comments: list[tuple[int, str, int]] = []  # (position in the text, justification, its offset)
    chars = list(piece.text)
    i = 0
    while i < len(chars):
        if chars[i] == "\\":
            i += 2
            continue
        if chars[i] == "%":
            end = piece.text.find("\n", i)
            end = len(chars) if end < 0 else end
            by = _BY.match(piece.text[i + 1:end])
            if by:
                comments.append((i, by.group(1), piece.offsets[i]))
            chars[i:end] = " " * (end - i)
            i = end
            continue
        if chars[i] == "&":  # alignment: layout only
            chars[i] = " "
        i += 1
    piece = Piece("".join(chars), piece.offsets)
    text = piece.text
    _check_braces(piece)
    rows: list[tuple[Piece, str, int | None]] = []
    start = 0
    for cut in _row_breaks(text) + [len(text)]:
        row = _without_full_stop(Piece(text[start:cut], piece.offsets[start:cut]))
        # a '% by:' belongs to the row whose text its line ends, or to the next row if it stands alone
        mine = [c for c in comments if start <= c[0] < cut + 2 or (c[0] >= cut and _alone_after(text, cut, c[0]))]
        said: tuple[str, int | None] = (mine[0][1], mine[0][2]) if mine else ("", None)
        comments = [c for c in comments if c not in mine[:1]]
        if row.strip().text:
            rows.append((row, *said))
        elif mine:  # a comment on an empty row goes to the next row
            comments.insert(0, mine[0])
        start = cut + 2
    return rows


class Unbalanced(Exception):
    """A formula whose braces or environments do not match: where, what, what to do."""

    def __init__(self, offset: int, message: str, hint: str):
        super().__init__(message)
        self.offset, self.message, self.hint = offset, message, hint


def _check_braces(piece: Piece) -> None:
    stack: list[int] = []
    text, i = piece.text, 0
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == "{":
            stack.append(i)
        elif text[i] == "}":
            if not stack:
                raise Unbalanced(piece.offsets[i], "a '}' closes a brace that was never opened",
                                 "remove it or add the '{' it closes")
            stack.pop()
        i += 1
    if stack:
        raise Unbalanced(piece.offsets[stack[-1]], "a '{' opened here is not closed in this formula",
                         "close it with '}' before the formula ends")


def _without_full_stop(row: Piece) -> Piece:
    """A row without the sentence's punctuation that papers put at the end of a display ('... = 0.')."""
    body = row.text.rstrip()
    if body and body[-1] in ".,;" and not body.endswith("\\" + body[-1]):
        return row.blank(len(body) - 1, len(body))
    return row


def _alone_after(text: str, cut: int, at: int) -> bool:
    """Whether the comment at `at` is on the same physical line as the row break at `cut`."""
    return "\n" not in text[cut:at]


def _row_breaks(text: str) -> list[int]:
    """Offsets of the row breaks '\\\\' outside braces."""
    breaks, depth, i = [], 0, 0
    while i < len(text):
        c = text[i]
        if c == "\\":
            if text.startswith("\\\\", i) and depth == 0:
                breaks.append(i)
            i += 2
            continue
        depth += c == "{"
        depth -= c == "}"
        i += 1
    return breaks


def row_sides(row: Piece, by: str = "", by_offset: int | None = None) -> list[Side]:
    """The row's sides: 'a = b = c' gives a, then b and c each claimed equal to the one before.

    A row that ends with '=' ends with an empty side: the next row continues it."""
    annotated: dict[int, tuple[str, int]] = {}  # position of '=' -> justification written over it
    for m in reversed(list(_OVERSET.finditer(row.text))):
        label = (m.group(1) if m.group(1) is not None else m.group(2)).strip()
        row = row.blank(m.start(), m.end(), "=")
        annotated[row.text.index("=", m.start())] = (label, row.offsets[m.start()])
    lead = _LEAD.match(row.text)
    if lead:
        row = row.blank(lead.start(2), lead.end(2))
    text = row.text
    cuts: list[int] = []
    layout: list[tuple[int, int]] = []  # \boxed{ and its closing brace: removed, their content kept
    depth, boxed, i = 0, [], 0  # boxed: the depths at which a \boxed{ opened
    while i < len(text):
        c = text[i]
        if c == "\\":
            name = _BOXED.match(text, i)
            if name:  # \boxed{a = b} is layout: its '=' is the row's
                boxed.append(depth)
                layout.append((i, name.end()))
                depth += 1
                i = name.end()
                continue
            i += 2
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if c == "}" and boxed and depth == boxed[-1]:
                boxed.pop()
                layout.append((i, i + 1))
        elif c == "=" and depth == len(boxed):
            cuts.append(i)
        i += 1
    for lo, hi in layout:
        row = row.blank(lo, hi)
    text = row.text
    sides: list[Side] = []
    start = 0
    for k, cut in enumerate(cuts + [len(text)]):
        part = Piece(text[start:cut], row.offsets[start:cut]).strip()
        label, at = annotated.get(cuts[k - 1], ("", None)) if k > 0 else ("", None)
        if part.text:
            continues = k > 0
            sides.append(Side(part, continues, label or (by if continues else ""),
                              at if label else (by_offset if continues else None)))
        elif k == len(cuts) and k > 0:
            sides.append(Side(Piece("", (row.offsets[cut - 1],)), True, label or by, at if label else by_offset))
        start = cut + 1
    return sides
