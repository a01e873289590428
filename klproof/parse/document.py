"""Read a Markdown or LaTeX document's derivation where it is written: `klproof check notes.md`.

Pipeline: the document's bytes -> its header (declarations, TOML) and its
display formulas (parse/markdown.py, parse/texdoc.py) -> rows and sides
(parse/formulas.py) -> chains: a side written after a relation ('= ...',
'&= ...') continues the expression before it, within a formula and across
formulas separated only by prose -> the TOML-shaped dict that parse/file.py
builds into a Derivation, with every value placed at its line and column in
the document.

Justifications: a '% by: ...' comment on the line, '\\overset{\\text{Bayes}}{=}',
or, failing those, a rule named in the sentence just before the step or in the
clause right after a stated line ("using Bayes Theorem", "by linearity"),
reported as taken from the text.

A line that cannot be read is that line's error, as in a derivation file (the
builder's per-step errors); so are braces or environments that do not close.
The rest of the document is still checked.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, replace

from klproof.catalog import resolve
from klproof.errors import ParseError, Span, show
from klproof.model import Chain, Derivation, Step, StepError
from klproof.parse.file import TOP_KEYS, _Positions, _scan, build_derivation
from klproof.parse.formulas import Formula, Piece, Side, Source, Unbalanced, formula_rows, row_sides
from klproof.parse.source import MAX_FILE_BYTES

LATEX = (".tex",)
HEADER_KEYS = (TOP_KEYS - {"chain"}) | {"expectation", "claim"}
MAX_HEADER_CHARS = 100_000
_TRIGGER = re.compile(r"\b(?:using|by|from|via|applying|apply|with|use)\s+(?:the\s+|a\s+|an\s+)?", re.IGNORECASE)
# single words that name a rule in a sentence; others ('log', 'sum', 'trace') are too common to be one
_ONE_WORD_RULES = {"linearity", "bayes", "normalisation", "normalization", "marginalisation", "marginalization",
                   "substitution", "reparameterisation", "reparameterization", "reparametrization", "algebra",
                   "arithmetic", "independence"}
_BARE_E = re.compile(r"(?<![\\A-Za-z])(?:\\mathbb\s*\{\s*E\s*\}|\\mathrm\s*\{?\s*E\s*\}?|\\operatorname\s*\{\s*E\s*\}|E)"
                     r"(?=\s*(?:\\left|\\big|\\Big|\\bigg|\\Bigg)?\s*\[)")
# 'z = \mu + \sigma\epsilon': a definition (a name given to an expression), not an identity to check
_BARE_NAME = re.compile(r"^(?:\\?[A-Za-z]+|\\(?:mathrm|mathbf|bm|bold|boldsymbol)\s*\{?\s*\\?[A-Za-z]+\s*\}?)"
                        r"(?:_(?:\{[^{}]*\}|\\?[A-Za-z0-9]))?\s*$")
_DEFINES = re.compile(r":=|\\coloneqq|\\triangleq|\\(?:overset|stackrel)\s*\{\s*(?:\\text\s*\{)?\s*def")
_HTML_HEADER = re.compile(r"^<!--[ \t]*klproof[ \t]*$", re.MULTILINE)
_TEX_HEADER = re.compile(r"^%[ \t]*klproof[ \t]*$", re.MULTILINE)


@dataclass
class _Header:
    """The declarations: TOML text found in the document, and where its lines are."""

    values: dict
    pos: _Positions
    first_line: int  # the document line of the TOML text's first line
    shift: int  # characters removed before each line ('% ')
    lines: int = 0  # how many lines of the document the header's TOML takes

    def place(self, line: int, col: int | None) -> tuple[int, int | None]:
        return self.first_line + line - 1, (col + self.shift if col else col)


def read_document(path: str, data: bytes) -> Derivation:
    """The derivation stated by a Markdown or LaTeX document; a line that cannot be read is that step's error.
    Raises ParseError when the document as a whole cannot be read (its header, its structure, a limit)."""
    if len(data) > MAX_FILE_BYTES:
        raise ParseError(f"file is {len(data):,} bytes or more; the limit is {MAX_FILE_BYTES:,}", Span(path, 1),
                         "split the document")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ParseError(f"file is not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})",
                         Span(path, line), "save the file as UTF-8") from None
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    source = Source(path, text)
    if path.lower().endswith(LATEX):
        from klproof.parse.texdoc import latex_formulas

        header = _tex_header(source)
        formulas = latex_formulas(source)
    else:
        from klproof.parse.markdown import markdown_formulas

        header, skip = _markdown_header(source)
        formulas = markdown_formulas(source, skip)
    return _Assembly(source, header, formulas).derivation()


# -- the header ---------------------------------------------------------------
def _markdown_header(source: Source) -> tuple[_Header | None, int]:
    """TOML front matter between '+++' lines, or an HTML comment '<!-- klproof ... -->'; and the lines it covers."""
    lines = source.text.split("\n")
    if lines and lines[0].strip() == "+++":
        end = next((i for i in range(1, len(lines)) if lines[i].strip() == "+++"), None)
        if end is None:
            raise ParseError("the front matter opened by '+++' on line 1 is never closed", Span(source.path, 1, 1),
                             "end the declarations with a line '+++'")
        return _header(source, "\n".join(lines[1:end]), 2, 0), end + 1
    match = _HTML_HEADER.search(source.text)
    if match:
        first = source.line_col(match.start())[0]
        end = next((i for i in range(first, len(lines)) if lines[i].strip() == "-->"), None)
        if end is None:
            raise ParseError("the klproof header opened here is not closed by a line '-->'",
                             Span(source.path, first, 1), "end the declarations with a line '-->'")
        return _header(source, "\n".join(lines[first:end]), first + 1, 0), 0
    return None, 0


def _tex_header(source: Source) -> _Header | None:
    """A block of '%' lines starting with '% klproof': TOML after the '%'."""
    match = _TEX_HEADER.search(source.text)
    if not match:
        return None
    lines = source.text.split("\n")
    first = source.line_col(match.start())[0]  # the '% klproof' line; TOML starts below it
    body: list[str] = []
    for line in lines[first:]:
        stripped = line.lstrip()
        if not stripped.startswith("%"):
            break
        body.append(stripped[2:] if stripped.startswith("% ") else stripped[1:])
    shift = 2  # '% ' (a line written '%x' is shifted by one; its columns are then one off)
    return _header(source, "\n".join(body), first + 1, shift)


def _header(source: Source, toml_text: str, first_line: int, shift: int) -> _Header:
    if len(toml_text) > MAX_HEADER_CHARS:
        raise ParseError(f"the header is longer than {MAX_HEADER_CHARS:,} characters", Span(source.path, first_line))
    try:
        values = tomllib.loads(toml_text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        line, col = (int(match.group(1)), int(match.group(2))) if match else (1, None)
        message = re.sub(r"\s*\(at line.*\)", "", str(exc))
        raise ParseError(f"the header is not valid TOML: {show(message, 200)}",
                         Span(source.path, first_line + line - 1, col + shift if col else None),
                         "the header holds TOML declarations: [symbols], [distributions], ... (see the README)") from None
    except (RecursionError, MemoryError):
        raise ParseError("the header is nested too deeply to read", Span(source.path, first_line)) from None
    header = _Header(values, _scan(toml_text), first_line, shift, toml_text.count("\n") + 1)
    for key in values:
        if key not in HEADER_KEYS:
            at = header.pos.key((), key) if key != "chain" or not header.pos.chains else (header.pos.chains[0], None)
            line, col = header.place(*at)
            hint = ("a document's chains are its own display math; the header only declares"
                    if key == "chain" else "allowed: " + ", ".join(sorted(HEADER_KEYS)))
            raise ParseError(f"unknown key '{show(key)}' in the header", Span(source.path, line, col), hint)
    return header


# -- chains -------------------------------------------------------------------
@dataclass
class _Step:
    side: Side
    by: str = ""
    by_at: int | None = None  # offset of the justification
    quote: str = ""  # the words of the text the justification was taken from


@dataclass
class _Chain:
    title: str
    start: Side
    steps: list[_Step]


_PROBE = _Chain("", Side(Piece("0", (0,)), False), [_Step(Side(Piece("0", (0,)), True))])  # reads the header


class _DocumentPositions:
    """Where each value of the synthesized derivation is: the header's TOML, or the document's formulas."""

    def __init__(self, source: Source, header: _Header | None, chains: list[_Chain]):
        self.source, self.header, self.doc_chains = source, header, chains
        self.chains = [self._line(c.start.piece) for c in chains]
        self.steps = [[self._line(s.side.piece) for s in c.steps] for c in chains]

    def _line(self, piece: Piece) -> int:
        return self.source.line_col(piece.offsets[0])[0] if piece.offsets else 1

    def _piece(self, table: tuple, key: str) -> tuple[Piece | None, int | None]:
        if not table or table[0] != "chain":
            return None, None
        chain = self.doc_chains[table[1]]
        if len(table) == 2:
            return (chain.start.piece if key == "latex" else None), None
        step = chain.steps[table[3]]
        return step.side.piece, (step.by_at if key == "by" else None)

    def key(self, table: tuple, key: str, default: int = 1) -> tuple[int, int | None]:
        if table and table[0] == "chain":
            piece, at = self._piece(table, key)
            if at is not None:
                return self.source.line_col(at)
            if piece is not None and piece.offsets:
                return self.source.line_col(piece.offsets[0])
            return default, None
        if self.header is None:
            return default, None
        line, col = self.header.pos.key(table, key, 0)
        return self.header.place(line, col) if line else (default, None)

    def locator(self, table: tuple, key: str, decoded: str):
        if table and table[0] == "chain":
            piece, _ = self._piece(table, key)
            if piece is None or key != "latex" or not piece.offsets:
                return None
            offsets = piece.offsets
            return lambda i: self.source.line_col(offsets[min(max(i, 0), len(offsets) - 1)])
        if self.header is None:
            return None
        inner = self.header.pos.locator(table, key, decoded)
        return (lambda i: self.header.place(*inner(i))) if inner else None


def _document_hints(derivation: Derivation) -> Derivation:
    """Hints in a document's terms: a step after an unreadable side is the next side of the same relation."""
    def fix(step: Step) -> Step:
        if step.error is None or "continues from a line that cannot be read" not in step.error.message:
            return step
        hint = "fix the expression before this '=' (the error just above); the sides after it are checked again"
        return replace(step, error=replace(step.error, hint=hint))
    return replace(derivation, chains=tuple(replace(c, steps=tuple(fix(s) for s in c.steps))
                                            for c in derivation.chains))


def _join(first: Piece, then: Piece) -> Piece:
    return Piece(first.text + " " + then.text, first.offsets + (then.offsets[0],) + then.offsets)


def prose_rule(text: str) -> tuple[str, str] | None:
    """(rule name as written, the words it came from) for the last rule a sentence names after 'using', 'by', ..."""
    sentence = re.split(r"(?<=[.!?])\s+", text.strip())[-1] if text.strip() else ""
    found = None
    for m in _TRIGGER.finditer(sentence):
        words = re.findall(r"[A-Za-z][A-Za-z'’-]*", sentence[m.end():])[:6]
        for n in range(len(words), 0, -1):
            name = " ".join(words[:n])
            if n == 1 and name.lower() not in _ONE_WORD_RULES:  # 'with the log of ...' names no rule
                continue
            try:
                resolve(name)
            except ValueError:
                continue
            found = (name, sentence[m.start():m.end()] + name)
            break
    return found


class _Assembly:
    def __init__(self, source: Source, header: _Header | None, formulas: list[Formula]):
        self.source, self.header, self.formulas = source, header, formulas
        values = header.values if header else {}
        self.expectation = values.get("expectation")
        self._cached: list[tuple[Formula, list[Side]]] | None = None
        self.broken: list[ParseError] = []  # formulas that do not balance

    def _sides(self) -> list[tuple[Formula, list[Side]]]:
        """Each formula's sides; a formula whose braces or environments do not match is an error and a break."""
        if self._cached is None:
            self._cached, self.broken = [], []
            for formula in self.formulas:
                sides: list[Side] = []
                try:
                    for row, by, at in formula_rows(formula):
                        if _DEFINES.search(row.text):  # 'f(x) := ...' defines; it claims nothing
                            sides.append(Side(Piece("", (row.offsets[0],)), False))
                            continue
                        these = row_sides(row, by, at)
                        if sides and sides[-1].piece.text and len(these) == 1 and not these[0].continues:
                            # a row without a relation goes on with the expression of the row above it:
                            # '&= a + b \\ &\quad + c' is a + b + c
                            sides[-1] = replace(sides[-1], piece=_join(sides[-1].piece, these[0].piece),
                                                by=sides[-1].by or by, by_offset=sides[-1].by_offset or at)
                            continue
                        sides.extend(these)
                except Unbalanced as exc:
                    self.broken.append(ParseError(exc.message, Span(self.source.path, *self.source.line_col(exc.offset)),
                                                  exc.hint))
                    formula = replace(formula, breaks_chain=True)
                    sides = []
                self._cached.append((formula, sides))
        return self._cached

    def chains(self) -> list[_Chain]:
        """The document's chains: a side written after a relation continues the one before it."""
        chains: list[_Chain] = []
        current: _Chain | None = None
        for formula, sides in self._sides():
            if formula.breaks_chain:
                current = None
            rule = prose_rule(formula.prose_before) or prose_rule(formula.prose_after)
            first_step = True
            pending = False  # the previous row ended with '='
            for side in sides:
                if not side.piece.text:  # a row that ends with '=' (continued below), or a definition (a break)
                    pending = side.continues
                    current = current if side.continues else None
                    continue
                side = self._with_expectation(side)
                if (side.continues or pending) and current is not None:
                    step = _Step(side, side.by, side.by_offset)
                    if not step.by and rule and first_step:
                        step.by, step.quote = rule
                    current.steps.append(step)
                    first_step = False
                else:
                    current = _Chain(self._title(formula), side, [])
                    chains.append(current)
                pending = False
        return [c for c in chains if c.steps and not self._definition(c)]

    def _definition(self, chain: _Chain) -> bool:
        """'z = \\mu + \\sigma\\epsilon' on one line gives a name to an expression: not an identity to check."""
        if not _BARE_NAME.match(chain.start.piece.text):
            return False
        line = self.source.line_col(chain.start.piece.offsets[-1])[0]
        return self.source.line_col(chain.steps[0].side.piece.offsets[0])[0] == line

    def _title(self, formula: Formula) -> str:
        """The section's title and the line where the chain starts: 'KLD 계산하기 (line 80)'."""
        line = self.source.line_col(formula.offsets[0])[0] if formula.offsets else 1
        return f"{show(formula.heading, 120)} (line {line})" if formula.heading else f"line {line}"  # text, escaped

    def _with_expectation(self, side: Side) -> Side:
        """An unadorned E[...] is over the density the header names (`expectation = 'Q(z \\mid X)'`)."""
        if not isinstance(self.expectation, str) or not self.expectation.strip():
            return side
        piece = side.piece
        matches = list(_BARE_E.finditer(piece.text))
        if not matches:
            return side
        text: list[str] = []
        offsets: list[int] = []
        last = 0
        for m in matches:
            text.append(piece.text[last:m.end()])
            offsets.extend(piece.offsets[last:m.end()])
            insert = "_{" + self.expectation + "}"
            text.append(insert)
            offsets.extend([piece.offsets[m.start()]] * len(insert))
            last = m.end()
        text.append(piece.text[last:])
        offsets.extend(piece.offsets[last:])
        return replace(side, piece=Piece("".join(text), tuple(offsets)))

    def _claims(self) -> list[_Chain]:
        """Relations the prose states between two formulas, declared in the header's [[claim]] tables."""
        raw = self.header.values.get("claim", []) if self.header else []
        if not isinstance(raw, list):
            raise self._header_error(("claim",), "claim", "[[claim]] must be an array of tables")
        out = []
        for k, claim in enumerate(raw):
            if not isinstance(claim, dict) or not isinstance(claim.get("start"), str) \
                    or not isinstance(claim.get("step"), str):
                raise self._header_error((), "claim", "each [[claim]] needs start = \"words\" and step = \"words\"",
                                         'e.g. start = "Our objective is", step = "our loss function is"', claim=k)
            first = self._formula_after(claim["start"], k)
            second = self._formula_after(claim["step"], k)
            times = claim.get("times", "")
            if not isinstance(times, str):
                raise self._header_error((), "claim", "times must be LaTeX in quotes, e.g. times = '-1'", claim=k)
            start = Piece(first.body, first.offsets).strip()
            if times.strip():
                wrap_l, wrap_r = times.strip() + r"\left(", r"\right)"
                at = start.offsets[0]
                start = Piece(wrap_l + start.text + wrap_r,
                              (at,) * len(wrap_l) + start.offsets + (start.offsets[-1],) * len(wrap_r))
            step_piece = Piece(second.body, second.offsets).strip()
            by = claim.get("by", "")
            if not isinstance(by, str):
                raise self._header_error((), "claim", f"claim {k + 1}: by must be a rule name in quotes", claim=k)
            out.append(_Chain(self._title(first),
                              self._with_expectation(Side(start, False)),
                              [_Step(self._with_expectation(Side(step_piece, True)), by, None, "")]))
        return out

    def _formula_after(self, words: str, k: int) -> Formula:
        at = self.source.text.find(words) if words.strip() else -1
        if at >= 0 and self.header and self.header.first_line <= self.source.line_col(at)[0] \
                < self.header.first_line + self.header.lines:  # the header quotes the words: look after it
            at = self.source.text.find(words, self.source.line_start(self.header.first_line + self.header.lines))
        if at < 0:
            raise self._header_error((), "claim", f"claim {k + 1}: the words '{show(words)}' are not in the document",
                                     "quote the words just before the formula, as they are written", claim=k)
        end = at + len(words)
        display = {f.offsets[0]: f for f in self.formulas if f.offsets}  # these know their section
        for formula in self._all_formulas():
            if formula.offsets and formula.offsets[0] >= end:
                return display.get(formula.offsets[0], formula)
        raise self._header_error((), "claim", f"claim {k + 1}: no formula follows '{show(words)}'", claim=k)

    def _all_formulas(self) -> list[Formula]:
        """Every formula, inline ones included (a [[claim]] may name a formula inside a sentence)."""
        if self.source.path.lower().endswith(LATEX):
            return self.formulas
        from klproof.parse.markdown import inline_formulas

        return inline_formulas(self.source)

    def _header_error(self, table: tuple, key: str, message: str, hint: str | None = None,
                      claim: int | None = None) -> ParseError:
        """An error at a header key, or at the `claim`-th [[claim]] table's header line."""
        if self.header is None:
            return ParseError(message, Span(self.source.path, 1), hint)
        heads = [m for m in re.finditer(r"^[ \t]*\[\[[ \t]*claim[ \t]*\]\]", self.header.pos.text, re.MULTILINE)]
        if claim is not None and claim < len(heads):
            line, col = self.header.place(self.header.pos.line_col(heads[claim].start())[0], None)
        else:
            line, col = self.header.place(*self.header.pos.key(table, key, 1))
        return ParseError(message, Span(self.source.path, line, col), hint)

    def _dict(self, chains: list[_Chain]) -> dict:
        values = {k: v for k, v in (self.header.values if self.header else {}).items() if k in TOP_KEYS}
        values.setdefault("title", self._document_title())
        values["chain"] = [{"title": c.title, "latex": c.start.piece.text,
                            "step": [{"latex": s.side.piece.text, "by": s.by} for s in c.steps]} for c in chains]
        return values

    def _document_title(self) -> str:
        for line in self.source.text.split("\n")[:200]:
            m = re.match(r"^\s*#{1,6}\s+(.+?)\s*#*\s*$", line) or re.match(r"^\s*\\title\{([^{}]+)\}", line)
            if m:
                return m.group(1)[:200]
        return self.source.path.rsplit("/", 1)[-1]

    def derivation(self) -> Derivation:
        if self.expectation is not None and not isinstance(self.expectation, str):
            raise self._header_error((), "expectation", "expectation must be a density in LaTeX, in quotes",
                                     "e.g. expectation = 'Q(z \\mid X)'")
        chains = sorted(self.chains() + self._claims(), key=lambda c: c.start.piece.offsets[0])
        if not chains and not self.broken:
            self._build([_PROBE])  # the header is still checked: its errors come first
            raise ParseError("the document states no chain of equalities klproof can check",
                             Span(self.source.path, 1),
                             "klproof reads display math: a line '= ...' continues the expression before it, "
                             "and 'a = b' is checked as it stands (see 'Documents' in the README)")
        derivation = self._build(chains or [_PROBE])
        derivation = self._mark_prose(derivation, chains) if chains else replace(derivation, chains=())
        return self._with_broken(_document_hints(derivation))

    def _build(self, chains: list[_Chain]) -> Derivation:
        return build_derivation(self.source.path, self._dict(chains), _DocumentPositions(self.source, self.header, chains))

    def _with_broken(self, derivation: Derivation) -> Derivation:
        """The formulas whose braces or environments do not close, as errors at their lines among the chains;
        the steps numbered again in the order of the document."""
        if not self.broken:
            return derivation
        made = [Chain(title=f"line {e.span.line}", start_text="", start=None, span=e.span,
                      steps=(Step(number=0, chain=f"line {e.span.line}", text="", previous_text="", claim=None,
                                  span=e.span, error=StepError(e.span, e.message, e.hint or "")),))
                for e in self.broken if e.span is not None]
        chains = sorted([*derivation.chains, *made], key=lambda c: (c.span.line, c.span.col or 0))
        number = iter(range(1, 1 + sum(len(c.steps) for c in chains)))
        chains = [replace(c, steps=tuple(replace(s, number=next(number)) for s in c.steps)) for c in chains]
        return replace(derivation, chains=tuple(chains))

    def _mark_prose(self, derivation: Derivation, chains: list[_Chain]) -> Derivation:
        """Steps whose justification came from the text say so."""
        quotes = {self.source.line_col(s.side.piece.offsets[0]): s.quote for c in chains for s in c.steps if s.quote}
        if not quotes:
            return derivation
        marked = []
        for chain in derivation.chains:
            steps = []
            for step in chain.steps:
                quote = quotes.get((step.span.line, step.span.col or 0)) if step.error is None else None
                steps.append(replace(step, by_text=f'{step.by_text} (from the text: "{quote}")') if quote else step)
            marked.append(replace(chain, steps=tuple(steps)))
        return replace(derivation, chains=tuple(marked))
