"""Laying out a chain as an amsmath align: rows, justifications, widths, font sizes. Pure functions."""

from __future__ import annotations

import re
from dataclasses import dataclass

from klproof.report.texnames import comment_text, escape_text
from klproof.verdict import Status, Verdict


@dataclass(frozen=True)
class ExportLine:
    """One line of a chain in an export."""

    relation: str  # "" for the first line, else the relation as LaTeX: "=", "\\le", "\\ge", "<", ">"
    lhs: str | None
    tex: str
    where: str  # path:line
    by: str
    note: str
    verdict: Verdict | None
    implication: bool = False


@dataclass(frozen=True)
class ExportChain:
    title: str
    lines: tuple[ExportLine, ...]
    relation: str = "="  # what the chain concludes, as LaTeX


def is_verified(verdict: Verdict | None) -> bool:
    """Whether the step holds as `klproof check` grades it: proved, or numeric evidence the step accepts."""
    return verdict is not None and verdict.passed


def is_accepted_numeric(verdict: Verdict | None) -> bool:
    return verdict is not None and verdict.passed and verdict.status is Status.NUMERIC


def verdict_word(verdict: Verdict | None) -> str:
    if verdict is None:
        return "not checked"
    if verdict.status is Status.NUMERIC:
        return "numeric evidence only" if not verdict.step.accept_numeric else "numeric evidence, accepted"
    return verdict.status.value


def _annotation(line: ExportLine, marks: bool) -> str:
    """The justification and the verdict's marks as text-mode LaTeX (empty if there is nothing to say)."""
    parts = []
    if line.implication:
        parts.append("from the previous equation")
    if line.by:
        parts.append(line.by)
    text = "; ".join(parts)
    pieces = []
    if text:
        pieces.append(f"({escape_text(text)})")
    if is_accepted_numeric(line.verdict):
        evidence = line.verdict.evidence if line.verdict else None
        detail = f": {evidence.points} points, {evidence.digits} digits" if evidence else ""
        pieces.append(f"\\textit{{[numeric evidence{detail}, accepted]}}")
    elif line.verdict is not None and not is_verified(line.verdict):
        pieces.append(f"\\textbf{{[{escape_text(verdict_word(line.verdict).upper())}]}}")
    elif marks and line.verdict is not None:
        pieces.append("$\\checkmark$")
    return "\\quad ".join(pieces)


NUMERIC_RELATION = "\\overset{\\text{num.}}{=}"  # equal on numeric evidence the step accepts, not proved


def relation(verdict: Verdict | None, shown: str = "=") -> str:
    """The relation a line shows (`shown`: =, \\le, \\ge, <, >), marked when the step is not proved."""
    if is_accepted_numeric(verdict):
        return NUMERIC_RELATION.replace("{=}", "{" + shown + "}")
    if verdict is not None and not is_verified(verdict):
        return "\\overset{?}{" + shown + "}"
    return shown


def status_counts(verdicts: list[Verdict | None]) -> tuple[int, int, int]:
    """(proved, accepted on numeric evidence, total)."""
    proved = sum(1 for v in verdicts if v is not None and v.status is Status.PROVED)
    return proved, sum(1 for v in verdicts if is_accepted_numeric(v)), len(verdicts)


ROW_WIDTH = 480.0  # points: the line of an A4 page with 1.8 cm margins is 512 pt; the rest is for error
QUAD, QQUAD, TAG_ROOM = 11.0, 22.0, 30.0
QUAD_TEX = "\\quad "
SIZES = (("", 1.0), ("\\small", 1.1), ("\\footnotesize", 1.25), ("\\scriptsize", 1.45))


# Widths in points at 11 pt (Computer Modern, display style), measured with pdflatex on the exports of
# proofs/ and examples/; a little generous, so that an estimate that fits is a row that fits.
_CHAR = {"+": 13.0, "-": 13.0, "=": 15.0, "(": 4.5, ")": 4.5, "[": 3.2, "]": 3.2, ",": 4.8, ";": 4.8, "|": 3.2,
         "/": 5.8, "<": 15.0, ">": 15.0, "'": 3.0, ".": 3.2, ":": 6.0, "!": 3.2}
_COMMAND = {"log": 17.0, "exp": 18.0, "det": 17.0, "ln": 12.0, "mid": 9.0, "|": 5.8, ",": 1.9, ";": 3.1, ":": 2.5,
            "!": -1.7, " ": 3.7, "quad": 11.0, "qquad": 22.0, "sum": 16.0, "prod": 16.0, "int": 11.5, "infty": 11.5,
            "cdot": 8.5, "sim": 15.0, "to": 15.0, "langle": 4.5, "rangle": 4.5, "checkmark": 9.0, "pi": 6.6,
            "epsilon": 5.0, "mu": 6.6, "sigma": 6.6, "partial": 6.3}
_SKIP = ("left", "right", "mathcal", "mathbb", "mathrm", "mathbf", "boldsymbol", "operatorname", "text", "textit",
         "textbf", "notag", "displaystyle", "limits")
FRACTION_PAD, SCRIPT = 2.5, 0.72


def visible_width(tex: str) -> float:
    """The width in points (11 pt, display style) a LaTeX formula takes, estimated from its characters:
    a fraction is as wide as its wider part plus a little, sub- and superscripts are smaller, spacing
    and operators have their measured widths, \\left and \\right and font switches take none."""
    width, i = 0.0, 0
    while i < len(tex):
        c = tex[i]
        if tex.startswith("\\frac", i) or tex.startswith("\\dfrac", i):
            num, i = _group(tex, i + (5 if tex[i + 1] == "f" else 6))
            den, i = _group(tex, i)
            width += max(visible_width(num), visible_width(den)) + FRACTION_PAD
            continue
        if c in "^_":
            inner, i = _group(tex, i + 1)
            width += SCRIPT * visible_width(inner)
            continue
        if c == "\\":
            j = i + 1
            while j < len(tex) and tex[j].isalpha():
                j += 1
            word = tex[i + 1:j] if j > i + 1 else tex[i + 1:i + 2]
            i = max(j, i + 2) if j == i + 1 else j
            if word in ("left", "right"):
                width += 1.5  # a delimiter that grows around a fraction is wider
            if word in _SKIP:
                continue
            width += _COMMAND.get(word, 7.0)
            continue
        if c not in "{} ":
            width += _CHAR.get(c, 5.5 if c.isdigit() else 8.2 if c.isupper() else 6.3)
        i += 1
    return width


def _group(tex: str, i: int) -> tuple[str, int]:
    """The brace group (or single character) starting at tex[i], and the index after it."""
    while i < len(tex) and tex[i] == " ":
        i += 1
    if i >= len(tex):
        return "", i
    if tex[i] != "{":
        if tex[i] == "\\":
            j = i + 1
            while j < len(tex) and tex[j].isalpha():
                j += 1
            return tex[i:max(j, i + 2)], max(j, i + 2)
        return tex[i], i + 1
    depth, j = 0, i
    while j < len(tex):
        if tex[j] == "{" and (j == 0 or tex[j - 1] != "\\"):
            depth += 1
        elif tex[j] == "}" and tex[j - 1] != "\\":
            depth -= 1
            if depth == 0:
                return tex[i + 1:j], j + 1
        j += 1
    return tex[i + 1:], len(tex)


@dataclass(frozen=True)
class _Row:
    left: str  # the left column: a chain's first expression or an equation's left side
    right: str  # from the alignment point: "= expr" (or the expression alone)
    note: str
    tag: str
    comments: tuple[str, ...]


def _rows(chain: ExportChain, tags: bool, marks: bool) -> list[_Row]:
    rows: list[_Row] = []
    lines = list(chain.lines)
    pending, pending_comments = "", ()  # type: tuple[str, tuple[str, ...]]
    for k, line in enumerate(lines):
        comment = f"% {comment_text(line.where)}" + (f"  note: {comment_text(line.note)}" if line.note else "")
        if line.relation == "" and line.lhs is None and line.verdict is None:
            if k + 1 < len(lines) and lines[k + 1].lhs is None:
                pending, pending_comments = line.tex, (comment,)
                continue
            rows.append(_Row("", line.tex, "", "", (comment,)))
            continue
        rel = relation(line.verdict, line.relation or "=")
        tag = f"\\tag{{{line.verdict.step.number}}}" if tags and line.verdict is not None else ""
        if line.lhs is not None:
            left, right = line.lhs, f"{rel} {line.tex}"
        elif line.relation == "":
            left, right = "", line.tex
        else:
            left, right = pending, f"{rel} {line.tex}"
        rows.append(_Row(left, right, _annotation(line, marks), tag, (*pending_comments, comment)))
        pending, pending_comments = "", ()
    return rows


def _command_end(tex: str, i: int) -> int:
    """The index after the command starting at tex[i] == '\\' (a word, or one symbol such as \\| or \\{)."""
    j = i + 1
    while j < len(tex) and tex[j].isalpha():
        j += 1
    return max(j, i + 2)


def top_level_cuts(tex: str) -> list[int]:
    """Positions of the binary + and - outside every group and bracket: where a long formula may break.
    None in an author's formula with a TeX fraction primitive (a \\over b), whose extent a row break would cut."""
    if re.search(r"\\(over|atop|choose|above)(?![A-Za-z])", tex):
        return []
    cuts, depth, i = [], 0, 0
    while i < len(tex):
        c = tex[i]
        if c == "\\":
            j = _command_end(tex, i)
            if tex[i + 1:j] in ("left", "right"):
                depth += 1 if tex[i + 1:j] == "left" else -1
                while j < len(tex) and tex[j] == " ":
                    j += 1
                if j < len(tex):  # the delimiter belongs to \left / \right: never counted again
                    j = _command_end(tex, j) if tex[j] == "\\" else j + 1
            i = j
            continue
        if c in "{([":
            depth += 1
        elif c in "})]":
            depth -= 1
        elif c in "+-" and depth == 0 and 0 < i < len(tex) - 1 and tex[i - 1] == " " and tex[i + 1] == " ":
            cuts.append(i)
        i += 1
    return cuts


def break_formula(tex: str, limit: float) -> list[str]:
    """`tex` cut at top-level + and - into pieces that fit `limit` where the operators allow it;
    every piece after the first starts with its operator."""
    pieces: list[str] = []
    start, last = 0, None
    for cut in top_level_cuts(tex):
        if last is not None and visible_width(tex[start:cut]) + (QUAD if pieces else 0) > limit:
            pieces.append(tex[start:last].strip())
            start = last
        last = cut
    if last is not None and visible_width(tex[start:]) + (QUAD if pieces else 0) > limit and last > start:
        pieces.append(tex[start:last].strip())
        start = last
    pieces.append(tex[start:].strip())
    return [p for p in pieces if p]


MIN_NOTE_SHARE = 0.3  # a justification paragraph narrower than this share of the line reads badly


def _render(chain: ExportChain, tags: bool, marks: bool, full: float, stack: bool = False) -> tuple[str, float]:
    """The align rows for a page `full` points wide, and the width of the widest formula row. The left
    sides get rows of their own when they and the widest right side do not fit side by side (or `stack`)."""
    rows = _rows(chain, tags, marks)
    limit = full - (TAG_ROOM if tags else 0)  # an equation number takes room on the right
    left_width = max((visible_width(r.left) for r in rows), default=0)
    stacked = stack or left_width + max((visible_width(r.right) for r in rows), default=0) > limit
    offset = 0 if stacked else left_width
    notag = " \\notag" if tags else ""
    out: list[str] = []
    widest = 0.0
    for row in rows:
        out.extend(row.comments)
        left = row.left
        if stacked and left:
            rows_before = [n for n, line in enumerate(out) if not line.startswith("%")]
            if rows_before and out[rows_before[-1]].endswith(" \\\\"):  # a new equation: a little space above
                out[rows_before[-1]] += "[1ex]"
            for k, piece in enumerate(break_formula(left, limit)):
                out.append(f"  &{QUAD_TEX if k else ''}{piece}{notag} \\\\")
                widest = max(widest, visible_width(piece) + (QUAD if k else 0))
            left = ""
        pieces = break_formula(row.right, limit - offset)
        widths = [offset + visible_width(p) + (QUAD if k else 0) for k, p in enumerate(pieces)]
        widest = max(widest, *widths)
        note_width = visible_width(row.note)
        same_row = bool(row.note) and widths[-1] + QQUAD + note_width <= limit
        for k, piece in enumerate(pieces):
            lead = f"  {left} &".replace("   &", "  &") if k == 0 else "  &\\quad "
            tail = f" \\qquad \\text{{{row.note}}}" if same_row and k == len(pieces) - 1 else ""
            tag = (f" {row.tag}" if row.tag else "") if k == 0 else notag
            out.append(f"{lead}{piece}{tail}{tag} \\\\")
        if row.note and not same_row:
            room = limit - offset - QQUAD
            if note_width <= room:
                out.append(f"  &\\qquad \\text{{{row.note}}}{notag} \\\\")
            else:  # a long justification wraps in a paragraph as wide as the room left
                share = 0.95 * room / full
                if share < MIN_NOTE_SHARE and not stacked:  # a wide left column leaves too little room
                    return _render(chain, tags, marks, full, stack=True)
                share = max(MIN_NOTE_SHARE, share)
                out.append(f"  &\\qquad \\parbox[t]{{{share:.2f}\\linewidth}}{{\\raggedright {row.note}}}{notag} \\\\")
    if out and out[-1].endswith(" \\\\"):
        out[-1] = out[-1][: -len(" \\\\")]
    env = "align" if tags else "align*"
    return "\n".join([f"\\begin{{{env}}}", *out, f"\\end{{{env}}}"]), widest


def render_align(chain: ExportChain, tags: bool, marks: bool) -> str:
    """One align* (align with tags) at the normal size: `first &= step` rows, each with its justification
    after a \\qquad. When the left column plus the widest right side would not fit the page, every left side
    gets a row of its own; a formula wider than the page breaks at its top-level + and - onto rows of its
    own; a justification that does not fit goes on the row below, wrapped in a paragraph if it is long."""
    return _render(chain, tags, marks, ROW_WIDTH)[0]


def layout_chain(chain: ExportChain, tags: bool, marks: bool) -> tuple[str, str]:
    """(size command, align) for a standalone document: the largest size at which every row fits."""
    text = ""
    for size, factor in SIZES:
        text, widest = _render(chain, tags, marks, ROW_WIDTH * factor)
        if widest <= ROW_WIDTH * factor - (TAG_ROOM if tags else 0):
            return size, text
    return SIZES[-1][0], text
