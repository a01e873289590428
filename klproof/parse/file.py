"""Read a derivation file (TOML) into a frozen `Derivation`, every step with its line.

`tomllib` gives the values but no positions, so a small line scanner records
where each table and key starts; the k-th `[[chain.step]]` header in the text is
the k-th step of its chain in the parsed value.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field

import sympy as sp

from klproof.check.catalog import resolve_all
from klproof.errors import ParseError, Span, did_you_mean
from klproof.model import Chain, Derivation, Identity, Implication, Step
from klproof.parse.expr import BUILTINS, CONSTANTS, Scope, parse_expression

MAX_FILE_BYTES = 1_000_000
MAX_STEPS = 2_000

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
TOP_KEYS = {"title", "source", "symbols", "families", "distributions", "definitions", "chain"}
CHAIN_KEYS = {"title", "start", "latex", "step", "note"}
STEP_KEYS = {"expr", "latex", "by", "note", "substitute", "numeric"}
NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


@dataclass
class _Positions:
    """Line numbers of tables and keys, found by scanning the text."""

    keys: dict[tuple, tuple[int, int]] = field(default_factory=dict)  # (table path, key) -> (line, col of value)
    chains: list[int] = field(default_factory=list)  # header line of each [[chain]]
    steps: list[list[int]] = field(default_factory=list)  # header lines of each chain's [[chain.step]]

    def key(self, table: tuple, key: str, default: int = 1) -> tuple[int, int | None]:
        return self.keys.get((table, key), (default, None))


_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"""^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_\-]+)\s*=\s*""")


def _scan(text: str) -> _Positions:
    pos = _Positions()
    table: tuple = ()
    in_multiline: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if in_multiline:
            if in_multiline in line:
                in_multiline = None
            continue
        header = _HEADER.match(line)
        if header:
            name = header.group(2).replace(" ", "")
            if header.group(1) == "[[" and name == "chain":
                pos.chains.append(number)
                pos.steps.append([])
                table = ("chain", len(pos.chains) - 1)
            elif header.group(1) == "[[" and name == "chain.step" and pos.chains:
                pos.steps[-1].append(number)
                table = ("chain", len(pos.chains) - 1, "step", len(pos.steps[-1]) - 1)
            else:
                table = (name,)
            continue
        key = _KEY.match(line)
        if key:
            name = key.group(1).strip("\"'")
            pos.keys.setdefault((table, name), (number, key.end() + 1))
            rest = line[key.end():]
            for quote in ('"""', "'''"):
                if rest.startswith(quote) and rest.count(quote) == 1:
                    in_multiline = quote
    return pos


def read_derivation(path: str, data: bytes) -> Derivation:
    """Parse the bytes of a derivation file. Raises ParseError with file:line on bad input."""
    top = Span(path, 1)
    if len(data) > MAX_FILE_BYTES:
        raise ParseError(f"file is {len(data):,} bytes; the limit is {MAX_FILE_BYTES:,}", top,
                         "split the derivation into several files")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ParseError(f"file is not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})",
                         Span(path, line), "save the file as UTF-8") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        span = Span(path, int(match.group(1)), int(match.group(2))) if match else top
        message = re.sub(r"\s*\(at line.*\)", "", str(exc))
        raise ParseError(f"not valid TOML: {message}", span,
                         "derivation files are TOML; see the README for the format") from None
    return _Builder(path, doc, _scan(text)).build()


class _Builder:
    def __init__(self, path: str, doc: dict, pos: _Positions):
        self.path, self.doc, self.pos = path, doc, pos
        self.scope = Scope()
        self.assumptions: dict[str, str] = {}
        self.definition_texts: dict[str, str] = {}

    def span(self, table: tuple, key: str, fallback: int = 1) -> Span:
        line, col = self.pos.key(table, key, fallback)
        return Span(self.path, line, col)

    def build(self) -> Derivation:
        unknown = set(self.doc) - TOP_KEYS
        if unknown:
            key = sorted(unknown)[0]
            raise ParseError(f"unknown top-level key '{key}'", self.span((), key),
                             did_you_mean(key, sorted(TOP_KEYS), "allowed keys"))
        title = self.doc.get("title", "")
        if not isinstance(title, str) or not title.strip():
            raise ParseError("the derivation needs a title", self.span((), "title"),
                             'add a line such as: title = "KL divergence of two Gaussians"')
        source = self.doc.get("source", "")
        if not isinstance(source, str):
            raise ParseError("source must be a string", self.span((), "source"))
        self._symbols()
        self._families()
        self._distributions()
        self._definitions()
        chains = self._chains()
        symbols = {**self.scope.symbols, **self.scope.families}
        return Derivation(
            path=self.path, title=title.strip(), source=source, symbols=symbols,
            assumptions=dict(self.assumptions), distributions=dict(self.scope.distributions),
            definitions={name: (tuple(lam.variables), lam.expr, self.definition_texts[name])
                         for name, lam in self.scope.definitions.items()},
            chains=chains,
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
        if not NAME.match(name):
            raise ParseError(f"'{name}' is not a valid name", span, "names are letters, digits and _, starting with a letter")
        if name in BUILTINS or name in CONSTANTS:
            raise ParseError(f"'{name}' is a built-in name and cannot be declared", span, "choose another name")
        taken = {**self.scope.symbols, **self.scope.families, **self.scope.distributions, **self.scope.definitions}
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
                raise ParseError(f"unknown assumption '{word}'", span, did_you_mean(word, list(ASSUMPTION_WORDS), "assumptions"))
            kwargs.update(ASSUMPTION_WORDS[word])
        try:
            sp.Symbol("_probe", **kwargs).is_real  # noqa: B018 - sympy rejects contradictions here
        except Exception:
            raise ParseError(f"contradictory assumptions '{text}'", span) from None
        return kwargs

    def _symbols(self) -> None:
        for name, text in self._table("symbols").items():
            span = self._new_name("symbols", name)
            self.scope.symbols[name] = sp.Symbol(name, **self._assumptions(text, span))
            self.assumptions[name] = text

    def _families(self) -> None:
        for name, text in self._table("families").items():
            span = self._new_name("families", name)
            self.scope.families[name] = sp.IndexedBase(name, **self._assumptions(text, span))
            self.assumptions[name + "[j]"] = text

    def _distributions(self) -> None:
        for name, variables in self._table("distributions").items():
            span = self._new_name("distributions", name)
            if not isinstance(variables, list) or not variables or not all(isinstance(v, str) for v in variables):
                raise ParseError(f"distribution {name} needs a list of its variables", span, f'e.g. {name} = ["z", "X"]')
            for v in variables:
                if v not in self.scope.symbols:
                    raise ParseError(f"variable '{v}' of distribution {name} is not declared", span,
                                     "declare it under [symbols]; " + did_you_mean(v, list(self.scope.symbols)))
            self.scope.distributions[name] = tuple(variables)

    def _definitions(self) -> None:
        signature = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_]*)\s*\(([^)]*)\)\s*$")
        for head, body in self._table("definitions").items():
            span = self.span(("definitions",), head, self.pos.key((), "definitions")[0])
            match = signature.match(head)
            if not match:
                raise ParseError(f"definition '{head}' needs a signature like f(x, y)", span, '"f(x, y)" = "x**2 + y"')
            name, params_text = match.group(1), match.group(2)
            if name in {**self.scope.symbols, **self.scope.families, **self.scope.distributions, **self.scope.definitions} \
                    or name in BUILTINS or name in CONSTANTS:
                raise ParseError(f"'{name}' is declared twice or is a built-in name", span, "choose another name")
            params = [p.strip() for p in params_text.split(",") if p.strip()]
            if not params:
                raise ParseError(f"definition {name} has no parameters", span, "a constant is a symbol; declare it under [symbols]")
            for p in params:
                if p not in self.scope.symbols:
                    raise ParseError(f"parameter '{p}' of {name} is not a declared symbol", span,
                                     "declare parameters under [symbols] so their assumptions are known; "
                                     + did_you_mean(p, list(self.scope.symbols)))
            if len(set(params)) != len(params):
                raise ParseError(f"definition {name} repeats a parameter", span)
            expr = parse_expression(body, self.scope, span, allow_equation=False)
            variables = tuple(self.scope.symbols[p] for p in params)
            self.scope.definitions[name] = sp.Lambda(variables, expr)
            self.definition_texts[name] = body

    # -- chains ------------------------------------------------------------
    def _chains(self) -> tuple[Chain, ...]:
        raw = self.doc.get("chain", [])
        if not isinstance(raw, list) or not raw:
            raise ParseError("the derivation has no chains", Span(self.path, 1),
                             'add a [[chain]] with a start = "..." and [[chain.step]] tables')
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
                raise ParseError(f"unknown key '{key}' in a chain", self.span(table, key, header.line),
                                 did_you_mean(key, sorted(CHAIN_KEYS), "allowed keys"))
            title = chain.get("title", f"chain {c + 1}")
            start_key = "latex" if "latex" in chain else "start"
            if start_key not in chain:
                raise ParseError("the chain has no start", header, 'add start = "..." with the first expression')
            start_span = self.span(table, start_key, header.line)
            start = self._expression(chain[start_key], start_span, latex=start_key == "latex")
            steps_raw = chain.get("step", [])
            if not isinstance(steps_raw, list) or (not steps_raw and not isinstance(start, tuple)):
                raise ParseError("the chain has no steps", header,
                                 'add [[chain.step]] tables, each with expr = "..." (and by = "...")')
            if len(self.pos.steps[c]) != len(steps_raw):
                raise ParseError("write each step as a [[chain.step]] table on its own line", header)
            steps: list[Step] = []
            start_text = str(chain[start_key])
            previous_eq = None  # (lhs, rhs, text) of the last equation in the chain
            if isinstance(start, tuple):  # a chain may open with an equation: check it as an identity
                number += 1
                steps.append(Step(number=number, chain=title, text=start_text, previous_text="",
                                  claim=Identity(*start), span=start_span, is_equation=True,
                                  latex_source=start_key == "latex"))
                previous_eq, current, current_text = (*start, start_text), start[1], start_text
            else:
                current, current_text = start, start_text
            for s, step in enumerate(steps_raw):
                number += 1
                if number > MAX_STEPS:
                    raise ParseError(f"more than {MAX_STEPS} steps in one file", header, "split the file")
                made = self._step(step, ("chain", c, "step", s), self.pos.steps[c][s], number, title,
                                  current, current_text, previous_eq)
                steps.append(made)
                if made.is_equation:
                    previous_eq = (made.claim.lhs, made.claim.rhs, made.text)
                current, current_text = made.claim.rhs, made.text
            chains.append(Chain(title=title, start_text=start_text,
                                start=start[1] if isinstance(start, tuple) else start,
                                span=start_span, steps=tuple(steps), start_is_equation=isinstance(start, tuple)))
        return tuple(chains)

    def _step(self, step, table: tuple, header_line: int, number: int, chain_title: str,
              current, current_text: str, previous_eq) -> Step:
        header = Span(self.path, header_line)
        if not isinstance(step, dict):
            raise ParseError("a step must be a table", header)
        unknown = set(step) - STEP_KEYS
        if unknown:
            key = sorted(unknown)[0]
            raise ParseError(f"unknown key '{key}' in a step", self.span(table, key, header_line),
                             did_you_mean(key, sorted(STEP_KEYS), "allowed keys"))
        if ("expr" in step) == ("latex" in step):
            raise ParseError("a step needs exactly one of expr = \"...\" or latex = '...'", header)
        key = "latex" if "latex" in step else "expr"
        span = self.span(table, key, header_line)
        value = self._expression(step[key], span, latex=key == "latex")
        by_text = step.get("by", "")
        by_span = self.span(table, "by", header_line)
        try:
            by = resolve_all(by_text) if by_text else ()
        except ValueError as exc:
            raise ParseError(f"unknown justification '{by_text}'", by_span, str(exc)) from None
        note = step.get("note", "")
        if not isinstance(note, str):
            raise ParseError("note must be a string", self.span(table, "note", header_line))
        accept_numeric = step.get("numeric", False)
        if not isinstance(accept_numeric, bool):
            raise ParseError("numeric must be true or false", self.span(table, "numeric", header_line))
        substitution = None
        if "substitute" in step:
            substitution = self._substitution(step["substitute"], self.span(table, "substitute", header_line))
        common = dict(number=number, chain=chain_title, text=str(step[key]), span=span, by=by,
                      by_text=by_text if isinstance(by_text, str) else ", ".join(by_text), note=note,
                      substitution=substitution, accept_numeric=accept_numeric, latex_source=key == "latex")
        if isinstance(value, tuple):
            if "equation" in by and previous_eq is not None:
                claim = Implication(previous_eq[0], previous_eq[1], value[0], value[1])
                return Step(previous_text=previous_eq[2], claim=claim, is_equation=True, **common)
            if "equation" in by:
                raise ParseError("'both sides' needs a previous equation to start from", by_span,
                                 "write the equation this one follows from as the previous step")
            return Step(previous_text="", claim=Identity(*value), is_equation=True, **common)
        if "equation" in by:
            raise ParseError("'both sides' applies to equations", by_span, "write this step as an equation lhs == rhs")
        return Step(previous_text=current_text, claim=Identity(current, value), **common)

    def _substitution(self, text, span: Span):
        if not isinstance(text, str) or text.count("=") != 1 or "==" in text:
            raise ParseError("substitute must read 'old = expression'", span, 'e.g. substitute = "eps = (z - mu)/sigma"')
        name, expr_text = (part.strip() for part in text.split("="))
        if name not in self.scope.symbols:
            raise ParseError(f"unknown variable '{name}' in substitute", span, did_you_mean(name, list(self.scope.symbols)))
        return self.scope.symbols[name], parse_expression(expr_text, self.scope, span, allow_equation=False)

    def _expression(self, text, span: Span, latex: bool):
        if latex:
            from klproof.parse.latex import parse_latex  # imported only when a file uses LaTeX

            return parse_latex(text, self.scope, span)
        return parse_expression(text, self.scope, span)
