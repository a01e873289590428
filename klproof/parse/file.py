"""Read a derivation file (TOML) into a frozen `Derivation`, every step with its line.

`tomllib` gives the values but no positions, so a small scanner records where
each table, key and value starts; the k-th `[[chain.step]]` header in the text
is the k-th step of its chain in the parsed value. The scanner is linear and
skips strings, arrays and comments the way TOML does, so text inside a value
never looks like a header; for a string value it also maps each character of
the decoded string back to its line and column, so that an error inside an
expression points at the offending sub-expression in the file.

The file is data: nothing in it is executed, and every size is bounded.
"""

from __future__ import annotations

import bisect
import dataclasses
import keyword
import re
import tomllib
from dataclasses import dataclass, field

import sympy as sp

from klproof.catalog import resolve_all
from klproof.errors import FileLimitError, ParseError, Span, control_character, did_you_mean, show
from klproof.model import (Bound, Chain, Derivation, Identity, Implication, Related, Relation, Step, StepError,
                           compose, expression_text)
from klproof.parse.source import MAX_FILE_BYTES, read_source  # noqa: F401 - read_source is part of this module's API
from klproof.parse import matrices
from klproof.parse.build import MAX_EXPANDED_NODES, Scope
from klproof.parse.expr import BUILTINS, CONSTANTS, expanded_size, parse_expression
from klproof import vocabulary as C
from klproof.vocabulary.binders import domain_of
from klproof.vocabulary.domains import Bounded, DomainError, bounded_symbol, declares_domain

MAX_STEPS = 2_000  # checked claims in one file (steps, and chains that start with an equation)
MAX_CHAINS = 500
MAX_NAMES = 1_000  # declared symbols, families, distributions and definitions together
MAX_TOML_DEPTH = 16  # arrays and inline tables nested in one another
MAX_TEXT_CHARS = 10_000  # a title, source, note or justification
MAX_STEP_ERRORS = 50  # unreadable steps reported one by one; past this the file is unreadable

ASSUMPTION_WORDS = {
    "real": {"real": True},
    "positive": {"positive": True},
    "negative": {"negative": True},
    "nonnegative": {"nonnegative": True},
    "nonpositive": {"nonpositive": True},
    "nonzero": {"nonzero": True},
    "integer": {"integer": True},
    "complex": {},
}
TOP_KEYS = {"title", "source", "symbols", "matrices", "families", "distributions", "definitions", "chain"}
CHAIN_KEYS = {"title", "start", "latex", "step", "note"}
STEP_KEYS = {"expr", "latex", "by", "note", "substitute", "numeric"}
NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_BARE_KEY = re.compile(r"[A-Za-z0-9_\-]+")
_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "\\": "\\"}
_TRIPLE = ('"' * 3, "'" * 3)


@dataclass
class _Value:
    """Where a key's value starts; for a string, where its content starts and ends."""

    line: int
    col: int
    body: int | None = None  # offset of the string's first content character
    end: int | None = None  # offset just after its last content character
    kind: str | None = None  # the opening quote(s)


@dataclass
class _Positions:
    """Positions of tables, keys and values, found by scanning the text."""

    text: str = ""
    newlines: list[int] = field(default_factory=list)  # offsets of every "\n"
    keys: dict[tuple, _Value] = field(default_factory=dict)  # (table path, key) -> its value
    chains: list[int] = field(default_factory=list)  # header line of each [[chain]]
    steps: list[list[int]] = field(default_factory=list)  # header lines of each chain's [[chain.step]]
    deepest: tuple[int, int] = (0, 0)  # (nesting depth of arrays and inline tables, offset where reached)

    def line_col(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_left(self.newlines, offset)  # newlines before offset
        start = self.newlines[line - 1] + 1 if line else 0
        return line + 1, offset - start + 1

    def key(self, table: tuple, key: str, default: int = 1) -> tuple[int, int | None]:
        value = self.keys.get((table, key))
        return (value.line, value.col) if value else (default, None)

    def locator(self, table: tuple, key: str, decoded: str):
        """A function from a character of the decoded string value to its (line, col), or None."""
        value = self.keys.get((table, key))
        if value is None or value.body is None:
            return None
        found = _string_offsets(self.text, value.body, value.end, value.kind)
        if found is None or found[0] != decoded:
            return None
        mapping = found[1] + [value.end]

        def locate(i: int) -> tuple[int, int]:
            return self.line_col(mapping[min(max(i, 0), len(mapping) - 1)])
        return locate


def _string_offsets(text: str, body: int, end: int, kind: str) -> tuple[str, list[int]] | None:
    """The decoded content of a TOML string and the offset in `text` of each of its characters."""
    chars: list[str] = []
    offsets: list[int] = []
    i = body
    multiline = len(kind) == 3
    if multiline:  # a newline right after the opening quotes is not part of the string
        if text.startswith("\r\n", i):
            i += 2
        elif text.startswith("\n", i):
            i += 1
    while i < end:
        c = text[i]
        if c == "\\" and kind[0] == '"':
            nxt = text[i + 1] if i + 1 < end else ""
            if nxt and nxt in _ESCAPES:
                chars.append(_ESCAPES[nxt])
                offsets.append(i)
                i += 2
            elif nxt and nxt in "uU":
                width = 4 if nxt == "u" else 8
                try:
                    chars.append(chr(int(text[i + 2:i + 2 + width], 16)))
                except ValueError:
                    return None
                offsets.append(i)
                i += 2 + width
            elif multiline and nxt and nxt in " \t\r\n":  # a line-ending backslash trims what follows
                i += 1
                while i < end and text[i] in " \t\r\n":
                    i += 1
            else:
                return None
        elif c == "\r" and multiline and text.startswith("\r\n", i):
            chars.append("\n")
            offsets.append(i)
            i += 2
        else:
            chars.append(c)
            offsets.append(i)
            i += 1
    return "".join(chars), offsets


def _skip_string(text: str, i: int) -> tuple[int, int, int, str]:
    """(content start, content end, offset after the closing quotes, quotes) of the string opening at i."""
    n = len(text)
    for kind in _TRIPLE:
        if text.startswith(kind, i):
            j = i + 3
            while j < n:
                if kind[0] == '"' and text[j] == "\\":
                    j += 2
                    continue
                if text.startswith(kind, j):
                    extra = 0  # up to two more quotes end the content, as in TOML
                    while extra < 2 and text.startswith(kind[0], j + 3 + extra):
                        extra += 1
                    return i + 3, j + extra, j + extra + 3, kind
                j += 1
            return i + 3, n, n, kind
    kind = text[i]
    j = i + 1
    while j < n and text[j] != "\n":
        if kind == '"' and text[j] == "\\":
            j += 2
            continue
        if text[j] == kind:
            return i + 1, j, j + 1, kind
        j += 1
    return i + 1, j, j, kind


def _key_path(text: str, i: int) -> tuple[list[str], int]:
    """A dotted key at i (bare or quoted segments): its segments and the offset after it."""
    parts: list[str] = []
    n = len(text)
    while i < n:
        if text[i] in "\"'":
            body, end, after, kind = _skip_string(text, i)
            decoded = _string_offsets(text, body, end, kind)
            parts.append(decoded[0] if decoded else text[body:end])
            i = after
        else:
            match = _BARE_KEY.match(text, i)
            if not match:
                break
            parts.append(match.group(0))
            i = match.end()
        i = _skip_blank(text, i)
        if i < n and text[i] == ".":
            i = _skip_blank(text, i + 1)
            continue
        break
    return parts, i


def _skip_blank(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t":
        i += 1
    return i


def _skip_line(text: str, i: int) -> int:
    end = text.find("\n", i)
    return len(text) if end < 0 else end + 1


def _scan(text: str) -> _Positions:
    """Positions of headers, keys and values. Linear in the text; tolerant of text that is not TOML."""
    pos = _Positions(text=text, newlines=[m.start() for m in re.finditer("\n", text)])
    table: tuple = ()
    i, n = 0, len(text)
    while i < n:
        i = _skip_blank(text, i)
        if i >= n:
            break
        c = text[i]
        if c in "\r\n#":
            i = _skip_line(text, i)
            continue
        if c == "[":
            array = text.startswith("[[", i)
            parts, j = _key_path(text, _skip_blank(text, i + (2 if array else 1)))
            name = ".".join(parts)
            line = pos.line_col(i)[0]
            if array and name == "chain":
                pos.chains.append(line)
                pos.steps.append([])
                table = ("chain", len(pos.chains) - 1)
            elif array and name == "chain.step" and pos.chains:
                pos.steps[-1].append(line)
                table = ("chain", len(pos.chains) - 1, "step", len(pos.steps[-1]) - 1)
            else:
                table = (name,)
            i = _skip_line(text, j)
            continue
        parts, j = _key_path(text, i)
        if not parts or j >= n or text[j] != "=":
            i = _skip_line(text, max(j, i))
            continue
        j = _skip_blank(text, j + 1)
        line, col = pos.line_col(j)
        value = _Value(line, col)
        pos.keys.setdefault((table, ".".join(parts)), value)
        i = _skip_value(text, j, pos, value)
    return pos


def _skip_value(text: str, i: int, pos: _Positions, value: _Value) -> int:
    """The offset after the value starting at i (and the rest of its line)."""
    n = len(text)
    depth = 0
    while i < n:
        c = text[i]
        if c in "\"'":
            body, end, after, kind = _skip_string(text, i)
            if depth == 0 and value.body is None:
                value.body, value.end, value.kind = body, end, kind
            i = after
            if depth == 0:
                break
        elif c in "[{":
            depth += 1
            if depth > pos.deepest[0]:
                pos.deepest = (depth, i)
            i += 1
        elif c in "]}":
            depth -= 1
            i += 1
            if depth <= 0:
                break
        elif c == "#":
            if depth == 0:
                break
            i = _skip_line(text, i)
        elif c == "\n":
            if depth == 0:
                break
            i += 1
        else:
            i += 1
    return _skip_line(text, i)


def read_derivation(path: str, data: bytes) -> Derivation:
    """Parse the bytes of a derivation file. Raises ParseError with file:line on bad input."""
    top = Span(path, 1)
    if len(data) > MAX_FILE_BYTES:
        raise ParseError(f"file is {len(data):,} bytes or more; the limit is {MAX_FILE_BYTES:,}", top,
                         "split the derivation into several files")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        line = data[: exc.start].count(b"\n") + 1
        col = len(data[line_start:exc.start].decode("utf-8", "replace")) + 1
        raise ParseError(f"file is not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})",
                         Span(path, line, col), "save the file as UTF-8") from None
    if text.startswith("\ufeff"):  # a UTF-8 byte order mark, as some editors write
        text = text[1:]
    _check_key_parts(path, text)
    pos = _scan(text)
    if pos.deepest[0] > MAX_TOML_DEPTH:
        line, col = pos.line_col(pos.deepest[1])
        raise ParseError(f"arrays or tables are nested more than {MAX_TOML_DEPTH} levels deep",
                         Span(path, line, col), "derivation files need at most two levels")
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        span = Span(path, int(match.group(1)), int(match.group(2))) if match else top
        message = re.sub(r"\s*\(at line.*\)", "", str(exc))
        hint = "derivation files are TOML; see the README for the format"
        if "overwrite" in message or "declare" in message.lower():
            hint = "a key or table appears twice; write each once"
        raise ParseError(f"not valid TOML: {show(message, 200)}", span, hint) from None
    except (RecursionError, MemoryError):
        raise ParseError("not valid TOML: the file is nested too deeply to read", top,
                         "derivation files need at most two levels") from None
    return build_derivation(path, doc, pos)


def build_derivation(path: str, doc: dict, positions) -> Derivation:
    """A Derivation from a TOML-shaped dict. `positions` answers where each value is in the source:
    `key(table, key, default) -> (line, col)`, `locator(table, key, text) -> (i -> (line, col)) | None`,
    and `chains` / `steps` (the line of each chain and step). Documents (parse/document.py) pass their own."""
    try:
        return _Builder(path, doc, positions).build()
    except RecursionError:
        raise ParseError("an expression is nested too deeply to read", Span(path, 1),
                         "split the step into smaller steps") from None


MAX_KEY_PARTS = 32  # dotted parts of one TOML key or table name (tomllib is quadratic in them)
_KEY_PART = re.compile(r"""\s*(?:[A-Za-z0-9_\-]+|"(?:[^"\\\n]|\\.)*"|'[^'\n]*')\s*""")


def _check_key_parts(path: str, text: str) -> None:
    """Refuse a key of thousands of dotted parts before tomllib spends minutes and gigabytes on it.

    Linear: each line's key (before `=`, or inside a `[table]` header) is read part by part, and
    lines inside a multi-line string are skipped."""
    in_string: str | None = None
    for number, line in enumerate(text.split("\n"), 1):
        if in_string is None:
            start = len(line) - len(line.lstrip(" \t["))
            at, parts = start, 0
            while True:
                match = _KEY_PART.match(line, at)
                if not match or match.end() == at:
                    break
                parts, at = parts + 1, match.end()
                if parts > MAX_KEY_PARTS:
                    raise ParseError(f"a key or table name of more than {MAX_KEY_PARTS} dotted parts",
                                     Span(path, number, start + 1), "derivation files need at most two levels")
                if not line.startswith(".", at):
                    break
                at += 1
        for quote in _TRIPLE:  # an odd number of triple quotes opens (or closes) a multi-line string
            if (in_string in (None, quote)) and line.count(quote) % 2:
                in_string = quote if in_string is None else None
                break


class _Builder:
    def __init__(self, path: str, doc: dict, pos: _Positions):
        self.path, self.doc, self.pos = path, doc, pos
        self.scope = Scope()
        self.assumptions: dict[str, str] = {}
        self.unreadable = 0  # steps that could not be read so far
        self.carried = None  # the expression of the last step that was read but is an error (e.g. its `by`)
        self.definition_texts: dict[str, str] = {}

    def span(self, table: tuple, key: str, fallback: int = 1) -> Span:
        line, col = self.pos.key(table, key, fallback)
        return Span(self.path, line, col)

    def text_value(self, value, table: tuple, key: str, fallback: int = 1, what: str | None = None) -> str:
        """A free-text value (title, source, note): a string, bounded, with no control characters."""
        what = what or key
        span = self.span(table, key, fallback)
        if not isinstance(value, str):
            raise ParseError(f"{what} must be a string", span, f'e.g. {key} = "..."')
        if len(value) > MAX_TEXT_CHARS:
            raise ParseError(f"{what} is {len(value):,} characters long; the limit is {MAX_TEXT_CHARS:,}", span)
        bad = control_character(value, allow="\t\n\r")
        if bad is not None:
            raise ParseError(f"{what} contains the control character U+{ord(value[bad]):04X}", span,
                             "remove it; it could rewrite the terminal or hide text in a report")
        return value

    def build(self) -> Derivation:
        unknown = set(self.doc) - TOP_KEYS
        if unknown:
            key = sorted(unknown)[0]
            raise ParseError(f"unknown top-level key '{show(key)}'", self.span((), key),
                             did_you_mean(key, sorted(TOP_KEYS), "allowed keys"))
        title = self.doc.get("title", "")
        if not isinstance(title, str) or not title.strip():
            raise ParseError("the derivation needs a title", self.span((), "title"),
                             'add a line such as: title = "KL divergence of two Gaussians"')
        self.text_value(title, (), "title")
        source = self.text_value(self.doc.get("source", ""), (), "source")
        names = sum(len(self._table(t)) for t in ("symbols", "matrices", "families", "distributions", "definitions"))
        if names > MAX_NAMES:
            raise ParseError(f"the file declares {names:,} names; the limit is {MAX_NAMES:,}", Span(self.path, 1),
                             "split the derivation into several files")
        self._symbols()
        self._families()
        self._matrices()
        self._distributions()
        self._definitions()
        chains = self._chains()
        symbols = {**self.scope.symbols, **self.scope.families, **self.scope.matrices}
        return Derivation(
            path=self.path, title=title.strip(), source=source, symbols=symbols,
            assumptions=dict(self.assumptions), distributions=dict(self.scope.distributions),
            definitions={name: (tuple(lam.variables), lam.expr, self.definition_texts[name])
                         for name, lam in self.scope.definitions.items()},
            chains=chains, warnings=tuple(self.scope.warnings),
        )

    # -- declarations ------------------------------------------------------
    def _table(self, name: str) -> dict:
        value = self.doc.get(name, {})
        if not isinstance(value, dict):
            raise ParseError(f"[{name}] must be a table", self.span((), name),
                             f'write it as a section: [{name}] followed by lines name = "..."')
        return value

    def _new_name(self, table: str, name: str) -> Span:
        span = self.span((table,), name, self.pos.key((), table)[0])
        if not NAME.match(name) or len(name) > 64:
            raise ParseError(f"'{show(name)}' is not a valid name", span,
                             "names are letters, digits and _, starting with a letter, at most 64 characters")
        if name in BUILTINS or name in CONSTANTS:
            raise ParseError(f"'{name}' is a built-in name and cannot be declared", span, "choose another name")
        if keyword.iskeyword(name):
            raise ParseError(f"'{name}' is a keyword of the expression syntax and could never be used", span,
                             f"choose another name, e.g. {name}_")
        taken = {**self.scope.symbols, **self.scope.families, **self.scope.distributions, **self.scope.definitions,
                 **self.scope.matrices}
        if name in taken:
            raise ParseError(f"'{name}' is declared twice", span, "each name may be declared once, in one section")
        return span

    def _assumptions(self, text, span: Span) -> dict:
        if not isinstance(text, str):
            raise ParseError("assumptions must be a string such as \"positive\"", span)
        kwargs: dict = {}
        for word in re.split(r"[\s,]+", text.strip()):
            if not word:
                continue
            if word not in ASSUMPTION_WORDS:
                raise ParseError(f"unknown assumption '{show(word)}'", span, did_you_mean(word, list(ASSUMPTION_WORDS), "assumptions"))
            kwargs.update(ASSUMPTION_WORDS[word])
        try:
            sp.Symbol("_probe", **kwargs).is_real  # noqa: B018 - sympy rejects contradictions here
        except Exception:
            raise ParseError(f"contradictory assumptions '{show(text)}'", span,
                             "drop one of the words; e.g. a symbol cannot be both positive and negative") from None
        return kwargs

    def _symbols(self) -> None:
        for name, text in self._table("symbols").items():
            span = self._new_name("symbols", name)
            self.scope.symbols[name] = self._symbol(name, text, span)
            self.assumptions[name] = text

    def _symbol(self, name: str, text, span: Span) -> sp.Symbol:
        """A declared symbol; with an interval or set ("in (0, 1)", "0 < p < 1", "in {0, 1}"), a Bounded one."""
        if not isinstance(text, str) or not declares_domain(text):
            return sp.Symbol(name, **self._assumptions(text, span))
        try:
            return bounded_symbol(name, text, self.scope.symbols.get, lambda words: self._assumptions(words, span))
        except DomainError as exc:
            raise ParseError(str(exc), span, exc.hint) from None

    def _matrices(self) -> None:
        for name, text in self._table("matrices").items():
            span = self._new_name("matrices", name)
            try:
                self.scope.matrices[name] = matrices.declare(
                    name, text, self.scope.symbols.get,
                    lambda entry, at=span: parse_expression(entry, self.scope, at, allow_equation=False))
            except ValueError as exc:
                raise ParseError(f"matrix {name}: {show(str(exc))}", span, matrices.DECLARATION_HELP) from None
            self.assumptions[name] = text

    def _families(self) -> None:
        for name, text in self._table("families").items():
            span = self._new_name("families", name)
            if isinstance(text, str) and declares_domain(text):
                raise ParseError(f"an interval or set for the family {name} is not supported", span,
                                 "declare its sign (positive, nonnegative, ...), or use plain symbols with intervals")
            self.scope.families[name] = sp.IndexedBase(name, **self._assumptions(text, span))
            self.assumptions[name + "[j]"] = text

    def _distributions(self) -> None:
        for name, variables in self._table("distributions").items():
            span = self._new_name("distributions", name)
            if not isinstance(variables, list) or not variables or not all(isinstance(v, str) for v in variables) \
                    or len(variables) > 16:
                raise ParseError(f"distribution {name} needs a list of its variables", span, f'e.g. {name} = ["z", "X"]')
            for v in variables:
                if v not in self.scope.symbols:
                    raise ParseError(f"variable '{show(v)}' of distribution {name} is not declared", span,
                                     "declare it under [symbols]; " + did_you_mean(v, list(self.scope.symbols)))
            bounded = [v for v in variables if isinstance(self.scope.symbols[v], Bounded)]
            if bounded:  # the random finite models give a distribution's variables values 0, 1, 2
                raise ParseError(f"the variable {bounded[0]} of distribution {name} has an interval or set, which a "
                                 "distribution's variable cannot have yet", span,
                                 f"declare {bounded[0]} as \"real\" (its values are the distribution's support)")
            if len(set(variables)) != len(variables):
                raise ParseError(f"distribution {name} lists a variable twice", span, f'e.g. {name} = ["z", "X"]')
            self.scope.distributions[name] = tuple(variables)

    def _definitions(self) -> None:
        signature = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_]*)\s*\(([^)]*)\)\s*$")
        table = self._table("definitions")
        heads = list(table)
        names = [m.group(1) if (m := signature.match(h)) else "" for h in heads]
        for index, (head, body) in enumerate(table.items()):
            span = self.span(("definitions",), head, self.pos.key((), "definitions")[0])
            match = signature.match(head)
            if not match:
                raise ParseError(f"definition '{show(head)}' needs a signature like f(x, y)", span,
                                 '"f(x, y)" = "x**2 + y"')
            name, params_text = match.group(1), match.group(2)
            if name in {**self.scope.symbols, **self.scope.families, **self.scope.distributions, **self.scope.definitions} \
                    or name in BUILTINS or name in CONSTANTS:
                raise ParseError(f"'{name}' is declared twice or is a built-in name", span, "choose another name")
            params = [p.strip() for p in params_text.split(",") if p.strip()]
            if not params:
                raise ParseError(f"definition {name} has no parameters", span, "a constant is a symbol; declare it under [symbols]")
            for p in params:
                if p not in self.scope.symbols:
                    raise ParseError(f"parameter '{show(p)}' of {name} is not a declared symbol", span,
                                     "declare parameters under [symbols] so their assumptions are known; "
                                     + did_you_mean(p, list(self.scope.symbols)))
            if len(set(params)) != len(params):
                raise ParseError(f"definition {name} repeats a parameter", span)
            # The parameters are the definition's own variables, with the declared assumptions as
            # preconditions on the arguments (klproof.vocabulary.definitions).
            variables = tuple(sp.Dummy(p, **domain_of(self.scope.symbols[p])) for p in params)
            self.scope.defining, self.scope.later_definitions = name, tuple(n for n in names[index + 1:] if n)
            self.scope.bound = dict(zip(params, variables, strict=True))
            try:
                expr = parse_expression(body, self.scope, span, allow_equation=False,
                                        locate=self._locate(("definitions",), head, body))
            finally:
                self.scope.defining, self.scope.later_definitions, self.scope.bound = None, (), {}
            size, occurs = expanded_size(expr, self.scope)
            if size > MAX_EXPANDED_NODES:
                raise ParseError(f"definition {name} expands to more than {MAX_EXPANDED_NODES:,} parts "
                                 "once the definitions it uses are replaced by their bodies", span,
                                 "nested definitions grow exponentially; define it with fewer nested calls")
            self.scope.definitions[name] = C.DefinitionBody(variables, expr)
            self.scope.expanded[name] = (size, occurs)
            self.definition_texts[name] = body

    def _locate(self, table: tuple, key: str, text):
        return self.pos.locator(table, key, text) if isinstance(text, str) else None

    # -- chains ------------------------------------------------------------
    def _chains(self) -> tuple[Chain, ...]:
        raw = self.doc.get("chain", [])
        if not isinstance(raw, list) or not raw:
            raise ParseError("the derivation has no chains", Span(self.path, 1),
                             'add a [[chain]] with a start = "..." and [[chain.step]] tables')
        if len(raw) > MAX_CHAINS:
            raise ParseError(f"the file has {len(raw):,} chains; the limit is {MAX_CHAINS:,}",
                             Span(self.path, self.pos.chains[MAX_CHAINS] if len(self.pos.chains) > MAX_CHAINS else 1),
                             "split the derivation into several files")
        claims = sum(len(c.get("step", [])) if isinstance(c, dict) and isinstance(c.get("step", []), list) else 0
                     for c in raw)
        if claims > MAX_STEPS:  # counted before any expression is read (a chain's start equation counts later)
            raise ParseError(f"the file has about {claims:,} steps; the limit is {MAX_STEPS:,}", Span(self.path, 1),
                             "split the derivation into several files")
        if len(self.pos.chains) != len(raw):
            raise ParseError("write each chain as a [[chain]] table on its own line", Span(self.path, 1))
        chains: list[Chain] = []
        number = 0
        for c, chain in enumerate(raw):
            table = ("chain", c)
            header = Span(self.path, self.pos.chains[c])
            if not isinstance(chain, dict):
                raise ParseError("a chain must be a table", header)
            unknown = set(chain) - CHAIN_KEYS
            if unknown:
                key = sorted(unknown)[0]
                raise ParseError(f"unknown key '{show(key)}' in a chain", self.span(table, key, header.line),
                                 did_you_mean(key, sorted(CHAIN_KEYS), "allowed keys"))
            title = self.text_value(chain.get("title", f"chain {c + 1}"), table, "title", header.line, "a chain's title")
            if "note" in chain:
                self.text_value(chain["note"], table, "note", header.line, "a chain's note")
            start_key = "latex" if "latex" in chain else "start"
            if start_key not in chain:
                raise ParseError("the chain has no start", header, 'add start = "..." with the first expression')
            start_span = self.span(table, start_key, header.line)
            start_text = str(chain[start_key])
            try:
                start = self._expression(chain[start_key], start_span, latex=start_key == "latex",
                                         locate=self._locate(table, start_key, chain[start_key]))
            except FileLimitError:
                raise
            except ParseError as exc:  # the chain's first line is that line's error; its steps still count
                number += 1
                steps_raw = chain.get("step", [])
                unread = self._unreadable(exc, number, title, start_text, start_span)
                chains.append(Chain(title=title, start_text=start_text, start=None, span=start_span,
                                    steps=(unread, *self._after_unreadable(steps_raw, c, title, number, unread))))
                number += len(chains[-1].steps) - 1
                continue
            if isinstance(start, Related):
                if start.lhs is None:
                    raise ParseError("a chain's start cannot begin with a relation: there is nothing before it",
                                     start_span, "write the first expression, then steps such as expr = \">= ...\"")
                start = (start.lhs, start.rhs, start.relation)
            steps_raw = chain.get("step", [])
            if not isinstance(steps_raw, list) or (not steps_raw and not isinstance(start, tuple)):
                raise ParseError("the chain has no steps", header,
                                 'add [[chain.step]] tables, each with expr = "..." (and by = "...")')
            if len(self.pos.steps[c]) != len(steps_raw):
                raise ParseError("write each step as a [[chain.step]] table on its own line", header)
            steps: list[Step] = []
            previous_eq = None  # (lhs, rhs, text) of the last equation in the chain
            relation = Relation.EQ  # what the chain concludes so far
            if isinstance(start, tuple):  # a chain may open with an equation: check it as an identity
                number += 1
                opening = Relation.EQ if len(start) == 2 else start[2]
                claim = Identity(*start) if opening is Relation.EQ else Bound(start[0], start[1], opening)
                steps.append(Step(number=number, chain=title, text=start_text, previous_text="",
                                  claim=claim, span=start_span, is_equation=True,
                                  latex_source=start_key == "latex", relation=opening))
                relation = opening
                start = start[:2]
                previous_eq = (*start, start_text) if opening is Relation.EQ else (*start, start_text, opening)
                current, current_text = start[1], start_text
            else:
                current, current_text = start, start_text
            for s, step in enumerate(steps_raw):
                number += 1
                if number > MAX_STEPS:
                    raise ParseError(f"more than {MAX_STEPS} steps in one file", header, "split the file")
                self.carried = None
                made = self._step_or_error(step, c, s, number, title, current, current_text, previous_eq)
                steps.append(made)
                if made.claim is None:  # the next step continues from this line's expression, if it was read
                    current, previous_eq = _continued(self.carried), None
                    current_text = made.text
                    continue
                if made.is_equation:  # an equation or inequality 'lhs R rhs' starts the composition afresh
                    previous_eq = (made.claim.lhs, made.claim.rhs, made.text) + \
                        ((made.claim.relation,) if isinstance(made.claim, Bound) else ())
                    relation = made.relation
                elif compose(relation, made.relation) is None:  # this step's error; the chain goes on from it
                    steps[-1] = self._reversal(made, relation, steps)
                else:
                    relation = compose(relation, made.relation)
                current, current_text = made.claim.rhs, made.text
                if made.relation is not Relation.EQ:
                    current_text = expression_text(made.text)
            steps = [dataclasses.replace(s, chain_relation=relation) for s in steps]
            chains.append(Chain(title=title, start_text=start_text,
                                start=start[1] if isinstance(start, tuple) else start,
                                span=start_span, steps=tuple(steps), start_is_equation=isinstance(start, tuple),
                                relation=relation))
        return tuple(chains)

    def _step_or_error(self, step, c: int, s: int, number: int, title: str, current, current_text: str,
                       previous_eq) -> Step:
        """The s-th step of chain c, or, when it cannot be read, a step that carries its error."""
        try:
            return self._step(step, ("chain", c, "step", s), self.pos.steps[c][s], number, title,
                              current, current_text, previous_eq)
        except FileLimitError:
            raise
        except ParseError as exc:
            self.carried = getattr(exc, "value", None)  # the step's own expression, when it was readable
            key = next((k for k in ("expr", "latex") if isinstance(step, dict) and k in step), None)
            text = str(step.get(key, "")) if key else ""
            span = self.span(("chain", c, "step", s), key, self.pos.steps[c][s]) if key \
                else Span(self.path, self.pos.steps[c][s])
            return self._unreadable(exc, number, title, text, span)

    def _unreadable(self, exc: ParseError, number: int, title: str, text: str, span: Span) -> Step:
        self.unreadable += 1
        if self.unreadable > MAX_STEP_ERRORS:
            raise ParseError(f"more than {MAX_STEP_ERRORS} steps cannot be read", exc.span or span,
                             "fix the first errors and check again") from None
        error = StepError(exc.span or span, exc.message, exc.hint or "")
        return Step(number=number, chain=title, text=text, previous_text="", claim=None, span=exc.span or span,
                    error=error)

    def _after_unreadable(self, steps_raw, c: int, title: str, number: int, first: Step) -> list[Step]:
        """The steps of a chain whose start cannot be read: each still read (and its own error reported)."""
        if not isinstance(steps_raw, list):
            return []
        out: list[Step] = []
        current, current_text, previous_eq = None, first.text, None
        for s, step in enumerate(steps_raw[:len(self.pos.steps[c])]):
            number += 1
            self.carried = None
            made = self._step_or_error(step, c, s, number, title, current, current_text, previous_eq)
            out.append(made)
            if made.claim is not None:
                if made.is_equation:
                    previous_eq = (made.claim.lhs, made.claim.rhs, made.text) + \
                        ((made.claim.relation,) if isinstance(made.claim, Bound) else ())
                current, current_text = made.claim.rhs, made.text
                if made.relation is not Relation.EQ:
                    current_text = expression_text(made.text)
            else:
                current, current_text, previous_eq = _continued(self.carried), made.text, None
        return out

    def _step(self, step, table: tuple, header_line: int, number: int, chain_title: str,
              current, current_text: str, previous_eq) -> Step:
        header = Span(self.path, header_line)
        if not isinstance(step, dict):
            raise ParseError("a step must be a table", header)
        unknown = set(step) - STEP_KEYS
        if unknown:
            key = sorted(unknown)[0]
            raise ParseError(f"unknown key '{show(key)}' in a step", self.span(table, key, header_line),
                             did_you_mean(key, sorted(STEP_KEYS), "allowed keys"))
        if ("expr" in step) == ("latex" in step):
            raise ParseError("a step needs exactly one of expr = \"...\" or latex = '...'", header)
        key = "latex" if "latex" in step else "expr"
        span = self.span(table, key, header_line)
        value = self._expression(step[key], span, latex=key == "latex", locate=self._locate(table, key, step[key]))
        try:
            return self._claim(step, table, header_line, number, chain_title, current, current_text, previous_eq,
                               key, span, value)
        except ParseError as exc:
            exc.value = value  # type: ignore[attr-defined]  # the next step may still continue from it
            raise

    def _claim(self, step, table: tuple, header_line: int, number: int, chain_title: str, current,
               current_text: str, previous_eq, key: str, span: Span, value) -> Step:
        by_text = step.get("by", "")
        by_span = self.span(table, "by", header_line)
        if isinstance(by_text, list):
            if len(by_text) > 32 or not all(isinstance(b, str) for b in by_text):
                raise ParseError("by must be a rule name or a short array of rule names", by_span,
                                 'e.g. by = "log rules, linearity"')
            for b in by_text:
                self.text_value(b, table, "by", header_line, "the justification")
        else:
            self.text_value(by_text, table, "by", header_line, "the justification")
        try:
            by = resolve_all(by_text) if by_text else ()
        except ValueError as exc:
            shown = by_text if isinstance(by_text, str) else ", ".join(by_text)
            raise ParseError(f"unknown justification '{show(shown)}'", by_span, str(exc)) from None
        note = self.text_value(step.get("note", ""), table, "note", header_line)
        accept_numeric = step.get("numeric", False)
        if not isinstance(accept_numeric, bool):
            raise ParseError("numeric must be true or false", self.span(table, "numeric", header_line))
        substitution = None
        if "substitute" in step:
            substitution = self._substitution(step["substitute"], self.span(table, "substitute", header_line),
                                              self._locate(table, "substitute", step["substitute"]))
        common = dict(number=number, chain=chain_title, text=str(step[key]), span=span, by=by,
                      by_text=by_text if isinstance(by_text, str) else ", ".join(by_text), note=note,
                      substitution=substitution, accept_numeric=accept_numeric, latex_source=key == "latex")
        if isinstance(value, Related):
            follows = ("equation" in by or "monotonicity" in by) and value.lhs is not None \
                and previous_eq is not None and len(previous_eq) == 4
            if follows:  # 'log a >= log b' from the previous inequality 'a >= b'
                premise = Bound(previous_eq[0], previous_eq[1], previous_eq[3])
                return Step(previous_text=previous_eq[2], claim=Bound(value.lhs, value.rhs, value.relation, premise),
                            is_equation=True, relation=value.relation, **common)
            if "equation" in by:
                raise ParseError("'both sides' on an inequality needs a previous inequality 'a >= b' to start from",
                                 by_span, "write the inequality it follows from as the previous step, or justify "
                                 "it with a rule for bounds, e.g. by = \"Jensen\"")
            if value.lhs is None:
                if current is None:
                    raise ParseError("this step continues from a line that cannot be read, so it cannot be checked",
                                     span, "fix the error on the line before; an inequality lhs >= rhs would be "
                                     "checked on its own")
                return Step(previous_text=current_text, claim=Bound(current, value.rhs, value.relation),
                            relation=value.relation, **common)
            return Step(previous_text="", claim=Bound(value.lhs, value.rhs, value.relation), is_equation=True,
                        relation=value.relation, **common)
        if isinstance(value, tuple):
            if "equation" in by and previous_eq is not None and len(previous_eq) == 3:
                claim = Implication(previous_eq[0], previous_eq[1], value[0], value[1])
                return Step(previous_text=previous_eq[2], claim=claim, is_equation=True, **common)
            if "equation" in by:
                raise ParseError("'both sides' needs a previous equation to start from", by_span,
                                 "write the equation this one follows from as the previous step")
            return Step(previous_text="", claim=Identity(*value), is_equation=True, **common)
        if "equation" in by:
            raise ParseError("'both sides' applies to equations", by_span, "write this step as an equation lhs == rhs")
        if current is None:
            raise ParseError("this step continues from a line that cannot be read, so it cannot be checked", span,
                             "fix the error on the line before; an equation (lhs == rhs) would be checked on its own")
        return Step(previous_text=current_text, claim=Identity(current, value), **common)

    def _reversal(self, made: Step, relation: Relation, steps: list[Step]) -> Step:
        """`made` as that step's error: it says <= after a >= (or the reverse), so the chain concludes nothing."""
        earlier = next((s for s in reversed(steps[:-1]) if s.relation.direction == relation.direction), made)
        exc = ParseError(f"this step says {made.relation.symbol} after a {relation.symbol} step (line "
                         f"{earlier.span.line}): the chain would conclude nothing about its first and last "
                         "expressions", made.span, "start a new [[chain]] for the bound in the other direction")
        return dataclasses.replace(self._unreadable(exc, made.number, made.chain, made.text, made.span),
                                   relation=made.relation)

    def _substitution(self, text, span: Span, locate=None):
        if not isinstance(text, str) or text.count("=") != 1 or "==" in text:
            raise ParseError("substitute must read 'old = expression'", span, 'e.g. substitute = "eps = (z - mu)/sigma"')
        name_text, expr_text = text.split("=")
        name = name_text.strip()
        if name not in self.scope.symbols:
            raise ParseError(f"unknown variable '{show(name)}' in substitute", span,
                             did_you_mean(name, list(self.scope.symbols)))
        shift = len(name_text) + 1  # where the expression starts inside the string
        shifted = (lambda i: locate(i + shift)) if locate else None
        return self.scope.symbols[name], parse_expression(expr_text, self.scope, span, allow_equation=False,
                                                          locate=shifted)

    def _expression(self, text, span: Span, latex: bool, locate=None):
        if latex:
            from klproof.parse.latex import parse_latex  # imported only when a file uses LaTeX

            return parse_latex(text, self.scope, span, locate=locate)
        return parse_expression(text, self.scope, span, locate=locate)


def _continued(value):
    """What the next step continues from, given a line's expression (an equation continues from its right side)."""
    if isinstance(value, tuple):
        return value[1]
    if isinstance(value, Related):
        return value.rhs
    return value
