"""klproof's own LaTeX reader: one line of a derivation, in the field's notation, to SymPy.

A hand-written tokenizer and recursive-descent parser. It either reads a line
exactly or raises a ParseError naming the column and the piece of LaTeX it
does not understand: unknown commands are errors, never symbols, and every
notation that has two readings (``\\log a b``, ``\\mu(X)``, a bare ``E[x]``)
is rejected with a hint instead of being guessed. Nothing is evaluated:
the text only ever becomes tokens, then SymPy objects built by hand.

Notation (see the README, "LaTeX input"):

- ``\\frac``, ``\\dfrac``, ``\\tfrac``, ``\\cfrac``, ``{a \\over b}``, ``\\sqrt``,
  ``\\left( \\right)``, ``\\cdot``, ``\\times``, implicit multiplication;
- ``\\log`` = ``\\ln`` (natural), ``\\exp``, ``e^{x}`` = exp(x), ``\\pi``, ``\\infty``;
- names: declared symbols (``\\mu_1`` is ``mu_1``; ``\\epsilon`` is ``epsilon``,
  ``eps`` or ``varepsilon``, whichever is declared), families (``\\sigma_j`` is
  ``sigma[j]``), ``\\mathrm{name}`` for longer names, ``\\bold``/``\\mathbf``/
  ``\\bm``/``\\boldsymbol`` ignored (``\\bold z`` is ``z``);
- ``\\sum_{j=1}^{J}``, ``\\sum_{z}`` (over all values of z), ``\\int_a^b ... dx``,
  ``\\int ... dx`` without limits: over the real line (over all values for an
  abstract density), ``\\prod_{j=1}^{J} \\mathcal{N}(z_j; \\mu_j, \\sigma_j^2)``;
- normal densities: ``\\mathcal{N}(x; \\mu, v)`` with v the **variance**,
  ``\\mathrm N_{\\mu,\\sigma}(x)`` with sigma the **standard deviation**,
  ``\\mathcal{N}(x \\mid \\mu, s)`` with s the standard deviation unless written
  as a square (``\\sigma^2``: the variance); ``\\mathcal{N}(\\mu, v)`` only after
  ``x \\sim``; the variable slot may read ``z = \\mu + \\sigma\\epsilon``;
- ``\\mathbb{E}_{z \\sim Q(z|X)}[f]``, ``\\mathbb{E}_{Q(z|X)}[f]``,
  ``D_{KL}(q \\| p)``, ``D_{\\mathrm{KL}}[q \\parallel p]``, ``P(z \\mid X)``;
- ignored: ``\\,`` and other spacing, ``&``, a trailing ``\\\\``, a leading ``=``,
  ``\\qquad\\cdots(2)`` equation tags, ``\\tag{..}``, ``\\color{..}``,
  ``\\displaystyle``, ``\\boxed{..}`` (its content kept).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sympy as sp
from sympy.core.symbol import Str

from klproof import vocabulary as C
from klproof.errors import FileLimitError, ParseError, Span, did_you_mean
from klproof.model import Related, Relation
from klproof.parse import build as B
from klproof.parse import latex_derivatives as LD
from klproof.parse.build import MAX_DEPTH, MAX_EXPRESSION_CHARS, MAX_FILE_NODES, MAX_INTEGER_DIGITS, MAX_NODES, Scope
from klproof.parse.expr import finish_related

GREEK = {
    "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "lambda",
    "mu", "nu", "xi", "omicron", "rho", "sigma", "tau", "upsilon", "phi", "chi", "psi", "omega",
    "Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma", "Upsilon", "Phi", "Psi", "Omega",
    "varepsilon", "vartheta", "varphi", "varrho", "varsigma", "varpi",
}
# the names a Greek command may stand for, in order of preference
GREEK_ALIASES = {
    "epsilon": ("epsilon", "eps", "varepsilon"),
    "varepsilon": ("varepsilon", "epsilon", "eps"),
    "phi": ("phi", "varphi"), "varphi": ("varphi", "phi"),
    "theta": ("theta", "vartheta"), "vartheta": ("vartheta", "theta"),
    "rho": ("rho", "varrho"), "varrho": ("varrho", "rho"),
    "sigma": ("sigma", "varsigma"), "varsigma": ("varsigma", "sigma"),
}
SPACING = {",", ";", ":", "!", " ", "quad", "qquad", "space", "displaystyle", "textstyle", "nonumber",
           "notag", "limits", "nolimits", "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr",
           "biggl", "biggr", "Biggl", "Biggr", "bigm", "Bigm"}
STYLE = {"bold", "mathbf", "bm", "boldsymbol", "mathit", "vec", "mathbfit"}  # vector/style marks: ignored
FRACTIONS = {"frac", "dfrac", "tfrac", "cfrac"}
FUNCTIONS = {"log", "ln", "exp", "sin", "cos"}
BAR = {"mid", "vert"}
PARALLEL = {"|", "parallel", "Vert"}
_TAG = re.compile(r"((\\q?quad|\\[,;:! ]|\s)*\\cdots\s*\(\s*[0-9A-Za-z.]{1,8}\s*\)|\\tag\*?\s*\{[^{}]{0,20}\})\s*(\\\\)?\s*$")
_RELATION_TOKENS = {("char", "="): Relation.EQ, ("char", "<"): Relation.LT, ("char", ">"): Relation.GT,
                    ("cmd", "le"): Relation.LE, ("cmd", "leq"): Relation.LE, ("cmd", "leqslant"): Relation.LE,
                    ("cmd", "ge"): Relation.GE, ("cmd", "geq"): Relation.GE, ("cmd", "geqslant"): Relation.GE}
FINITE_DENSITIES = {name: cls for cls in C.FINITE_DENSITIES for name in cls.latex_names}
_NAMEWORDS = {"log", "ln", "exp", "tr", "det", "diag", "sin", "cos", "tan", "max", "min", "lim", "sqrt", "KL"}


@dataclass(frozen=True)
class Tok:
    kind: str  # "cmd", "letter", "num", "char", "end"
    text: str  # the command name without '\', the letter, the digits, the character
    pos: int  # 0-based offset in the text


def _tokenize(text: str) -> list[Tok]:
    tokens: list[Tok] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace() or c == "&" or c == "~":
            i += 1
        elif c == "\\":
            if i + 1 < n and text[i + 1].isalpha():
                j = i + 1
                while j < n and text[j].isalpha():
                    j += 1
                tokens.append(Tok("cmd", text[i + 1:j], i))
                i = j
            elif i + 1 < n:
                tokens.append(Tok("cmd", text[i + 1], i))
                i += 2
            else:
                raise _error(text, i, "a lone backslash at the end")
        elif c.isascii() and c.isalpha():
            tokens.append(Tok("letter", c, i))
            i += 1
        elif _digit(c) or (c == "." and i + 1 < n and _digit(text[i + 1])):
            j = i
            while j < n and (_digit(text[j]) or (text[j] == "." and j + 1 < n and _digit(text[j + 1])
                                                     and "." not in text[i:j])):
                j += 1
            tokens.append(Tok("num", text[i:j], i))
            i = j
        elif c in "+-*/=()[]{}^_|,;'!<>:":
            tokens.append(Tok("char", c, i))
            i += 1
        else:
            raise _error(text, i, f"character {c!r} is not understood",
                         "write the LaTeX command instead of the Unicode symbol" if not c.isascii() else None)
        if len(tokens) > MAX_NODES:
            raise _error(text, i, f"more than {MAX_NODES} tokens", "split the step into smaller steps")
    tokens.append(Tok("end", "", n))
    return _drop_decorations(text, tokens)


def _digit(c: str) -> bool:
    """An ASCII digit: other scripts' digits (١, १) are refused, not folded into these."""
    return "0" <= c <= "9"


def _drop_decorations(text: str, tokens: list[Tok]) -> list[Tok]:
    """Remove what carries no meaning: spacing, \\color{..}, \\left/\\right, \\\\, \\boxed."""
    out: list[Tok] = []
    i = 0
    while i < len(tokens):
        t = tokens[i]
        if t.kind == "cmd" and t.text in SPACING:
            i += 1
            continue
        if t.kind == "cmd" and t.text == "\\":
            if any(u.kind != "end" for u in tokens[i + 1:]):
                raise _error(text, t.pos, "a line break '\\\\' inside the expression", "write one expression per step")
            i += 1
            continue
        if t.kind == "cmd" and t.text in ("color", "textcolor", "label"):
            if tokens[i + 1].text != "{":
                raise _error(text, t.pos, f"\\{t.text} needs a {{name}}")
            j = i + 2
            while tokens[j].kind != "end" and tokens[j].text != "}":
                j += 1
            if tokens[j].kind == "end":
                raise _error(text, t.pos, f"unclosed \\{t.text}{{")
            i = j + 1
            continue
        if t.kind == "cmd" and t.text in ("left", "right"):
            d = tokens[i + 1]
            if d.kind == "char" and d.text in "()[]|":
                out.append(Tok(d.kind, d.text, d.pos) if d.text != "|" else Tok("cmd", f"{t.text}|", d.pos))
            elif d.kind == "cmd" and d.text in ("{", "}"):
                out.append(Tok("char", "(" if d.text == "{" else ")", d.pos))
            elif d.kind == "cmd" and d.text in ("langle", "rangle", "|", "Vert", "lvert", "rvert"):
                out.append(Tok("cmd", {"|": "|", "Vert": "|", "lvert": "left|", "rvert": "right|"}.get(d.text, d.text), d.pos))
            else:
                raise _error(text, t.pos, f"\\{t.text} needs a delimiter such as ( or [",
                             "\\left. and \\right. are not supported")
            i += 2
            continue
        if t.kind == "cmd" and t.text in ("lvert", "rvert"):
            out.append(Tok("cmd", "left|" if t.text == "lvert" else "right|", t.pos))
            i += 1
            continue
        out.append(t)
        i += 1
    return out


def _error(text: str, pos: int, what: str, hint: str | None = None, span: Span | None = None) -> ParseError:
    line_start = text.rfind("\n", 0, pos) + 1
    column = pos - line_start + 1
    lo, hi = max(0, pos - 20), min(len(text), pos + 20)
    snippet = ("..." if lo else "") + " ".join(text[lo:hi].split()) + ("..." if hi < len(text) else "")
    here = " ".join(text[pos:pos + 12].split()) or "the end"
    message = f"cannot read the LaTeX at column {column} ('{here}'): {what}; near: {snippet}"
    return ParseError(message, span, hint)


def _place(span: Span, text: str, pos: int, locate=None) -> Span:
    """The file position of text[pos]: through `locate` (offset -> (line, col)) when the reader of the file
    gives one, else from the span of the value (its opening quote)."""
    if locate is not None:
        try:
            line, col = locate(pos)
            return Span(span.path, line, col)
        except (IndexError, ValueError):
            pass
    lines_before = text.count("\n", 0, pos)
    if lines_before:
        return Span(span.path, span.line + lines_before, pos - (text.rfind("\n", 0, pos) + 1) + 1)
    return Span(span.path, span.line, (span.col + pos + 1) if span.col else None)


def parse_latex(text: str, scope: Scope, span: Span, locate=None):
    """Parse one LaTeX expression; return a SymPy expression, or (lhs, rhs) for an equation `a = b`.

    Raises nothing but ParseError, placed at the file's line and column (`locate`: offset -> (line, col)).
    """
    if not isinstance(text, str):
        raise ParseError(f"expected LaTeX in quotes, got {type(text).__name__}", span,
                         "write it as a TOML literal string: latex = '\\frac{1}{2}'")
    if len(text) > MAX_EXPRESSION_CHARS:
        raise ParseError(f"expression is {len(text)} characters long; the limit is {MAX_EXPRESSION_CHARS}",
                         span, "split the step into smaller steps")
    if not text.strip():
        raise ParseError("empty expression", span, "write the expression, e.g. latex = '\\frac{1}{2}'")
    body = _TAG.sub(lambda m: " " * len(m.group(0)), text)  # an equation tag such as \qquad\cdots(2)
    try:
        tokens = _tokenize(body)
        scope.nodes_read += len(tokens)  # the same budget for all the expressions of a file as the expression reader's
        if scope.nodes_read > MAX_FILE_NODES:
            raise FileLimitError(f"the expressions of this file have more than {MAX_FILE_NODES:,} parts in all", span,
                                 "split the derivation into several files")
        return finish_related(_Parser(text, tokens, scope, lambda pos: _place(span, text, pos, locate)).top())
    except ParseError as exc:
        pos = getattr(exc, "latex_pos", None)
        exc.span = _place(span, text, pos, locate) if pos is not None else span
        raise
    except RecursionError:
        raise ParseError("the LaTeX is nested too deeply to read", span, "split the step into smaller steps") from None
    except (ArithmeticError, ValueError, TypeError, IndexError, AttributeError, KeyError) as exc:
        # A reader bug must still be this line's error, never a traceback that loses the file.
        raise ParseError(f"cannot read this LaTeX ({type(exc).__name__})", span,
                         "simplify the notation; if it is standard LaTeX, please report it") from None


def clean_latex(text: str) -> str:
    """The author's LaTeX as standard LaTeX for an export: tags, colours, alignment and a leading '=' removed,
    and the MathJax-only commands (\\bold, \\space) replaced. Only for text that `parse_latex` accepted."""
    body = _TAG.sub("", text)
    body = re.sub(r"\\(?:text)?color\s*\{[^{}]*\}", "", body)
    body = body.replace("&", " ").replace("\\space", "\\ ")
    body = re.sub(r"\\\\\s*$", "", body.strip())
    body = re.sub(r"\\bold(?![A-Za-z])", r"\\mathbf", body)
    body = re.sub(r"\\bm(?![A-Za-z])", r"\\boldsymbol", body)
    body = re.sub(r"^\s*=", "", body)
    return " ".join(body.split())


class _Parser:
    def __init__(self, text: str, tokens: list[Tok], scope: Scope, where=lambda pos: None):
        self.text, self.toks, self.i, self.scope = text, tokens, 0, scope
        self.where = where  # offset -> the file's Span, for warnings
        self.depth = 0
        self.integrals = 0  # open integrals: inside one, 'd x' ends the integrand
        self.product_index: sp.Symbol | None = None  # inside \prod_{j=..}: z_j is a component of z

    # -- tokens -------------------------------------------------------------
    @property
    def tok(self) -> Tok:
        return self.toks[self.i]

    def peek(self, k: int = 1) -> Tok:
        return self.toks[min(self.i + k, len(self.toks) - 1)]

    def at(self, kind: str, text: str | None = None, tok: Tok | None = None) -> bool:
        t = tok or self.tok
        return t.kind == kind and (text is None or t.text == text)

    def at_char(self, chars: str) -> bool:
        return self.tok.kind == "char" and self.tok.text in chars

    def next(self) -> Tok:
        t = self.tok
        self.i += 1
        return t

    def expect_char(self, char: str, what: str) -> Tok:
        if not self.at("char", char):
            raise self.error(f"expected '{char}' {what}")
        return self.next()

    def error(self, what: str, hint: str | None = None, tok: Tok | None = None) -> ParseError:
        pos = (tok or self.tok).pos
        exc = _error(self.text, pos, what, hint)
        exc.latex_pos = pos  # type: ignore[attr-defined]
        return exc

    def checked(self, value, tok: Tok | None = None):
        """`value`, just built, after the builder's bounds: no huge number, nothing undefined."""
        why = B.too_big(value)
        if why:
            raise self.error(f"this makes {why}", "klproof bounds numbers and powers so that no step can exhaust memory",
                             tok=tok)
        if B.undefined(value):
            raise self.error("this is undefined (a division by zero, log 0 or a zeroth root)", tok=tok)
        return value

    def bind(self, name: str, domain: dict, tok: Tok, what: str):
        return B.binding(self.scope, name, domain, self.where(tok.pos), what)

    def enter(self):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"nested more than {MAX_DEPTH} levels deep", "split the step into smaller steps")

    # -- top ----------------------------------------------------------------
    def relation(self) -> Relation | None:
        """The relation token here (=, <, >, \\le, \\geq, ...), consumed; None if there is none."""
        t = self.tok
        found = _RELATION_TOKENS.get((t.kind, t.text))
        if found is not None:
            self.next()
        return found

    def top(self):
        leading = self.relation()  # a continuation line '= ...', '&= ...', '\\geq ...'
        lhs = self.expr()
        relation = self.relation()
        if relation is not None:
            if leading not in (None, Relation.EQ):
                raise self.error("a step that starts with a relation cannot be an equation or inequality too",
                                 "write either '\\geq rhs' or 'lhs \\geq rhs'")
            rhs = self.expr()
            if self.relation() is not None:
                raise self.error("more than one '=' or inequality sign", "write one relation per step: a chain continues with "
                                 "'= ...' or '\\geq ...' steps")
            self.finish()
            return (lhs, rhs) if relation is Relation.EQ else Related(relation, lhs, rhs)
        self.finish()
        return lhs if leading in (None, Relation.EQ) else Related(leading, None, lhs)

    def finish(self):
        if not self.at("end"):
            t = self.tok
            what = f"unexpected '{self._show(t)}'"
            hint = None
            if t.kind == "cmd" and t.text == "over":
                hint = "wrap the fraction in braces: {a \\over b}"
            elif t.kind == "char" and t.text in ")]}":
                hint = "a bracket is closed that was never opened"
            raise self.error(what, hint)

    @staticmethod
    def _show(t: Tok) -> str:
        return ("\\" + t.text) if t.kind == "cmd" else t.text

    # -- arithmetic ---------------------------------------------------------
    def expr(self) -> sp.Expr:
        self.enter()
        sign = 1
        if self.at_char("+-"):
            sign = -1 if self.next().text == "-" else 1
        result = sign * self.term()
        while self.at_char("+-"):
            op = self.next().text
            if self.at_char("+-"):
                raise self.error("two signs in a row", "write a - (-b) with brackets")
            right = self.term()
            result = self.checked(result + right if op == "+" else result - right)
        self.depth -= 1
        return result

    def term(self) -> sp.Expr:
        result = self.power()
        while True:
            if self.at("char", "*") or self.at("cmd", "cdot") or self.at("cmd", "times"):
                self.next()
                result = self.checked(result * self.signed_power())
            elif self.at("char", "/"):
                slash = self.next()
                result = self._divide(result, self.signed_power())
                if self.starts_factor() and not self.at("num"):
                    # a/2\sigma: (a/2)·σ or a/(2σ)? Papers mean both; klproof never guesses.
                    raise self.error("'a/b c' has two readings, (a/b)·c and a/(b c)",
                                     "write \\frac{a}{b c}, or (a/b) \\cdot c", tok=slash)
            elif self.starts_factor():
                if self.at("num"):
                    raise self.error("a number right after a factor", "write \\cdot for a product, or x_2 / x^2")
                result = self.checked(result * self.power())
            else:
                return result

    def signed_power(self) -> sp.Expr:
        if self.at_char("+-"):
            return (-1 if self.next().text == "-" else 1) * self.power()
        return self.power()

    def _divide(self, a, b):
        if b == 0:
            raise self.error("division by zero")
        return self.checked(a / b)

    def starts_factor(self) -> bool:
        t = self.tok
        if t.kind in ("num", "letter"):
            if self.integrals and self.is_differential():
                return False
            return True
        if t.kind == "char":
            return t.text in "([{"
        if t.kind == "cmd":
            if self.integrals and self.is_differential():
                return False
            return t.text not in {"over", "mid", "vert", "|", "parallel", "Vert", "cdot", "times", "rangle",
                                  "right|", "sim", "}", "atop", "choose"} and ("cmd", t.text) not in _RELATION_TOKENS
        return False

    def is_differential(self) -> bool:
        """At 'd x', 'd\\epsilon', 'd \\bold z' or '\\mathrm{d}x' inside an integral."""
        t = self.tok
        if t.kind == "letter" and t.text == "d":
            nxt = self.peek()
        elif t.kind == "cmd" and t.text in ("mathrm", "text", "operatorname") and self.peek().text == "{" \
                and self.peek(2).text == "d" and self.peek(3).text == "}":
            nxt = self.peek(4)
        else:
            return False
        return nxt.kind == "letter" or (nxt.kind == "cmd" and (nxt.text in GREEK or nxt.text in STYLE
                                                                or nxt.text in ("mathrm",)))

    def power(self) -> sp.Expr:
        self.enter()
        base, _ = self.primary()
        if self.at("char", "^"):
            base = self.raise_to(base)
        if self.at("char", "^"):
            raise self.error("a double superscript", "use braces: {x^a}^b")
        if self.at("char", "_"):
            raise self.error("a subscript on something that is not a name")
        if self.at("char", "!") or self.at("char", "'"):
            raise self.error(f"'{self.tok.text}' (factorial or prime) is not supported")
        self.depth -= 1
        return base

    def raise_to(self, base):
        caret = self.next()
        if self.at("letter", "T") or self.at("cmd", "top") or self.at("cmd", "intercal"):
            raise self.error("a transpose is not supported here", "write \\left\\langle u_j, v_j \\right\\rangle_{j=1}^{k} for u^T v")
        if self.at("char", "{") and self.peek().text == "(":
            raise self.error("a superscript in brackets such as x^{(i)} is a label, not a power",
                             "declare the labelled quantity as its own symbol, e.g. x_i")
        exponent = self.tex_argument()
        why = B.power_problem(base, exponent)
        if why:
            raise self.error(why, "klproof bounds numbers and powers so that no step can exhaust memory", tok=caret)
        return self.checked(sp.Pow(base, exponent), caret)

    # -- arguments ------------------------------------------------------------
    def tex_argument(self) -> sp.Expr:
        """A TeX macro argument: {group}, or one token (one digit of a number, a letter, \\pi, \\mu ...)."""
        t = self.tok
        if self.at("char", "{"):
            return self.brace_group()
        if t.kind == "num":
            if len(t.text) > 1:  # TeX takes one digit: \frac 12 is \frac{1}{2}
                self.toks[self.i] = Tok("num", t.text[1:], t.pos + 1)
                if t.text[1] == ".":
                    raise self.error("a decimal number as a one-token argument", "use braces: ^{0.5}", tok=t)
                return sp.Integer(int(t.text[0]))
            self.next()
            return self.number(t)
        if t.kind == "letter" or (t.kind == "cmd" and (t.text in GREEK or t.text in ("pi", "infty"))):
            return self.single_name()
        if t.kind == "char" and t.text in "+-":
            raise self.error("a sign as a one-token argument", "use braces: e^{-x}")
        raise self.error(f"'{self._show(t)}' cannot be a one-token argument", "use braces: {...}")

    def brace_group(self) -> sp.Expr:
        self.expect_char("{", "")
        if self.at("char", "}"):
            raise self.error("an empty group {}")
        result = self.expr()
        if self.at("cmd", "over"):
            self.next()
            denominator = self.expr()
            result = self._divide(result, denominator)
        self.expect_char("}", "to close the group")
        return result

    def number(self, t: Tok) -> sp.Expr:
        digits = t.text.replace(".", "")
        if len(digits) > MAX_INTEGER_DIGITS:
            raise self.error(f"the number has more than {MAX_INTEGER_DIGITS} digits", tok=t)
        return sp.Rational(t.text) if "." in t.text else sp.Integer(t.text)

    def paren_group(self) -> sp.Expr:
        """( expr ) or [ expr ], \\left( ... \\right) included; \\over allowed inside."""
        opener = self.next()
        closer = {"(": ")", "[": "]"}[opener.text]
        result = self.expr()
        if self.at("cmd", "over"):
            self.next()
            result = self._divide(result, self.expr())
        if not self.at("char", closer):
            if self.at("end"):
                raise self.error(f"'{opener.text}' is never closed", tok=opener)
            raise self.error(f"expected '{closer}' to close the '{opener.text}' at column {opener.pos + 1}")
        self.next()
        return result

    # -- primaries ------------------------------------------------------------
    def primary(self):
        """One factor before its superscript. Returns (expr, kind)."""
        t = self.tok
        if t.kind == "num":
            self.next()
            return self.number(t), "num"
        if t.kind == "char":
            if t.text in "([":
                return self.paren_group(), "group"
            if t.text == "{":
                return self.brace_group(), "group"
            if t.text == "|":
                raise self.error("'|' outside a probability", "write P(z \\mid X); absolute values as \\left| x \\right|")
            raise self.error(f"unexpected '{t.text}'")
        if t.kind == "letter":
            return self.letter_primary()
        if t.kind == "cmd":
            return self.command_primary()
        raise self.error("the expression ends too early")

    def command_primary(self):
        t = self.tok
        name = t.text
        if name in FRACTIONS and LD.is_derivative_fraction(self):
            return LD.fraction_derivative(self), "big"
        if name == "nabla":
            return LD.nabla(self), "big"
        if name in FRACTIONS:
            self.next()
            if self.at("char", "["):
                raise self.error(f"\\{name}[..] options are not supported")
            numerator = self.tex_argument()
            denominator = self.tex_argument()
            return self._divide(numerator, denominator), "frac"
        if name == "sqrt":
            self.next()
            if self.at("char", "["):
                self.next()
                index_tok = self.tok
                index = self.expr()
                self.expect_char("]", "to close the root's index")
                if not (index.is_integer and index.is_positive):
                    raise self.error("the index of a root must be a positive integer", tok=index_tok)
                return self.checked(sp.root(self.tex_argument(), index), t), "frac"
            return self.checked(sp.sqrt(self.tex_argument()), t), "frac"
        if name in FUNCTIONS:
            return self.function(), "function"
        if name == "pi":
            self.next()
            return sp.pi, "name"
        if name == "infty":
            self.next()
            return sp.oo, "name"
        if name == "sum":
            return self.summation(), "big"
        if name == "int":
            return self.integral(), "big"
        if name == "prod":
            return self.product(), "big"
        if name in ("boxed",):
            self.next()
            if not self.at("char", "{"):
                raise self.error("\\boxed needs {...}")
            return self.brace_group(), "group"
        if name == "left|":
            self.next()
            inner = self.expr()
            if not self.at("cmd", "right|"):
                raise self.error("expected \\right| to close the absolute value")
            self.next()
            return sp.Abs(inner), "group"
        if name == "langle":
            return self.dot(), "group"
        if name in ("mathcal", "mathrm", "mathbb", "operatorname", "text", "mathsf", "textrm") or name in STYLE \
                or name in GREEK or name == "det":
            return self.name_primary()
        if name in ("cdots", "ldots", "dots"):
            raise self.error(f"\\{name} is not supported", "write the sum with \\sum_{j=1}^{J}")
        if name in ("over", "atop", "choose"):
            raise self.error(f"\\{name} must be inside braces with its numerator: {{a \\over b}}")
        if name in ("le", "leq", "ge", "geq", "leqslant", "geqslant"):
            raise self.error(f"\\{name} may appear once, between the two sides or at the start of a step",
                             "write 'lhs \\geq rhs' or, continuing a chain, '\\geq rhs'")
        if name in ("neq", "approx", "propto", "therefore", "because", "to", "rightarrow"):
            raise self.error(f"\\{name} is not supported", "a step is one expression or one equation a = b")
        raise self.error(f"unknown command \\{name}",
                         "klproof reads the commands listed in the README (LaTeX input); others are errors, not symbols")

    def function(self):
        t = self.next()
        name = t.text
        if self.at("char", "^"):
            raise self.error(f"a power of \\{name} such as \\{name}^2 x is not supported", f"write (\\{name} x)^2")
        if self.at("char", "_"):
            raise self.error(f"\\{name} with a base is not supported", "klproof's \\log is the natural logarithm")
        fn = {"exp": sp.exp, "sin": sp.sin, "cos": sp.cos}.get(name, sp.log)
        if self.at_char("(["):
            return self.checked(fn(self.paren_group()), t)
        if self.at("char", "{"):
            arg = self.brace_group()
            if self.at("char", "^"):
                arg = self.raise_to(arg)
        else:
            if not self.starts_factor():
                raise self.error(f"\\{name} needs an argument")
            arg = self.power()
        if self.starts_factor():
            raise self.error(f"after \\{name} without brackets it is unclear where its argument ends",
                             f"write \\{name}(a b) or (\\{name} a) b", tok=self.tok)
        return self.checked(fn(arg), t)

    # -- names ------------------------------------------------------------------
    def letter_primary(self):
        t = self.tok
        letter = t.text
        if letter == "e" and self.peek().text == "^" and self.peek().kind == "char":
            if "e" in self.scope.symbols:
                raise self.error("'e' is a declared symbol, so e^{..} is ambiguous", "write \\exp(..) for the exponential")
            self.next()
            caret = self.next()
            exponent = self.tex_argument()
            why = B.power_problem(sp.E, exponent)
            if why:
                raise self.error(why, tok=caret)
            return self.checked(sp.exp(exponent), caret), "function"
        # a run of letters that spells a known function or a declared long name is ambiguous
        j = self.i
        run = ""
        while self.toks[j].kind == "letter" and self.toks[j].pos == t.pos + len(run):
            run += self.toks[j].text
            j += 1
        if len(run) > 1:
            for k in range(len(run), 1, -1):
                word = run[:k]
                if word in _NAMEWORDS or (word in self._declared() and not self._all_single(word)):
                    hint = f"write \\{word}" if word in ("log", "ln", "exp", "det", "sin", "cos") else \
                        f"write \\mathrm{{{word}}} for the name, or separate the letters with \\, for a product"
                    raise self.error(f"'{word}' reads as the product {' '.join(word)} in LaTeX", hint)
        if letter == "e" and "e" not in self.scope.symbols:
            self.next()
            return sp.E, "name"
        return self.name_primary()

    def _declared(self):
        return {**self.scope.symbols, **self.scope.families, **self.scope.distributions, **self.scope.definitions}

    def _all_single(self, word: str) -> bool:
        return all(ch in self.scope.symbols for ch in word)

    def read_name(self) -> tuple[str, list[str], Tok]:
        """A base name: (kind, candidates, token). kind: 'plain', 'normal', 'expect', 'special'."""
        t = self.tok
        if t.kind == "letter":
            self.next()
            return "plain", [t.text], t
        name = t.text
        if name in GREEK:
            self.next()
            return "plain", list(GREEK_ALIASES.get(name, (name,))), t
        if name == "det":
            self.next()
            return "special", ["det"], t
        if name in STYLE:
            self.next()
            inner = self.read_braced_name() if self.at("char", "{") else None
            if inner is not None:
                return inner
            if self.tok.kind == "letter" or (self.tok.kind == "cmd" and self.tok.text in GREEK):
                return self.read_name()
            raise self.error(f"\\{name} needs a name")
        if name in ("mathcal", "mathrm", "mathbb", "operatorname", "text", "mathsf", "textrm"):
            self.next()
            if self.at("char", "{"):
                self.next()
                word = ""
                while self.tok.kind in ("letter", "num") or self.at("char", "_"):
                    word += self.next().text
                if self.at("cmd") and self.tok.text in ("mathbb", "mathrm") and not word:
                    inner = self.read_name()
                    self.expect_char("}", "to close the name")
                    return inner
                if not word or not self.at("char", "}"):
                    raise self.error(f"\\{name}{{...}} must contain a plain name")
                self.next()
            elif self.tok.kind == "letter":
                word = self.next().text
            else:
                raise self.error(f"\\{name} needs a name")
            if word == "N" and name in ("mathcal", "mathrm", "mathsf", "operatorname"):
                return "normal", ["N"], t
            if word in FINITE_DENSITIES and name in ("mathrm", "operatorname", "text", "mathsf"):
                return "finite", [word], t
            if word == "E" and name in ("mathbb", "mathrm", "operatorname"):
                return "expect", ["E"], t
            if word in ("tr", "diag", "KL", "det", "log", "ln", "exp") and name in ("operatorname", "mathrm", "text"):
                return "special", [word], t
            if name in ("mathcal", "mathbb"):
                raise self.error(f"\\{name}{{{word}}} is not a known notation", "𝒩 is \\mathcal{N}, 𝔼 is \\mathbb{E}")
            return "plain", [word], t
        raise self.error(f"unknown command \\{name}")

    def read_braced_name(self):
        self.next()  # {
        result = self.read_name()
        self.expect_char("}", "to close the name")
        return result

    def subscript_text(self) -> str:
        """The text of a subscript used as part of a name: _1, _{12}, _j, _{\\phi}, _{\\bm \\theta}."""
        self.next()  # _
        if self.at("char", "{"):
            self.next()
            parts = []
            while not self.at("char", "}"):
                t = self.tok
                if t.kind in ("letter", "num"):
                    parts.append(self.next().text)
                elif t.kind == "cmd" and t.text in GREEK:
                    parts.append(self.next().text)
                elif t.kind == "cmd" and t.text in STYLE | {"mathrm", "text", "operatorname"}:
                    self.next()
                elif t.kind == "char" and t.text in "{}" and t.text == "{":
                    self.next()
                    depth = 1
                    while depth:
                        u = self.next()
                        if u.kind == "end":
                            raise self.error("unclosed subscript")
                        if u.text == "{" and u.kind == "char":
                            depth += 1
                        elif u.text == "}" and u.kind == "char":
                            depth -= 1
                        elif u.kind in ("letter", "num") or (u.kind == "cmd" and u.text in GREEK):
                            parts.append(u.text)
                else:
                    raise self.error(f"'{self._show(t)}' in a subscript", "a name's subscript is letters and digits, e.g. \\mu_{12}")
            self.next()
            return "".join(parts)
        t = self.tok
        if t.kind == "num":
            if len(t.text) > 1:
                self.toks[self.i] = Tok("num", t.text[1:], t.pos + 1)
                return t.text[0]
            return self.next().text
        if t.kind == "letter" or (t.kind == "cmd" and t.text in GREEK):
            return self.next().text
        if t.kind == "cmd" and t.text in STYLE:
            self.next()
            if self.tok.kind == "letter" or (self.tok.kind == "cmd" and self.tok.text in GREEK):
                return self.next().text
        raise self.error("a subscript must be letters and digits")

    def single_name(self) -> sp.Expr:
        """A one-token name (a \\frac or ^ argument): no subscripts."""
        t = self.next()
        if t.kind == "cmd" and t.text == "pi":
            return sp.pi
        if t.kind == "cmd" and t.text == "infty":
            return sp.oo
        if t.kind == "letter" and t.text == "e" and "e" not in self.scope.symbols:
            return sp.E
        candidates = [t.text] if t.kind == "letter" else list(GREEK_ALIASES.get(t.text, (t.text,)))
        return self.resolve(candidates, None, t)

    def name_primary(self):
        kind, candidates, t = self.read_name()
        if kind == "normal":
            return self.normal_named(t), "call"
        if kind == "expect":
            return self.expectation(t), "big"
        if kind == "finite":
            return self.finite_density(t, candidates[0]), "call"
        if kind == "special":
            return self.special(candidates[0], t), "call"
        # plain names: subscript, superscript (kept for power()), call
        if candidates == ["E"] and t.kind == "letter" and "E" not in self.scope.symbols:
            if self.at("char", "_") or self.at_char("(["):
                return self.expectation(t), "big"
            raise self.error("'E' is not declared", "the expectation is \\mathbb{E}_{z \\sim Q(z|X)}[...]", tok=t)
        sub = None
        if self.at("char", "_"):
            if candidates == ["D"] and self._kl_subscript_ahead():
                return self.kl(t), "big"
            sub = self.subscript_text()
        if self.at_char("(") :
            called = self.call(candidates, sub, t)
            if called is not None:
                return called, "call"
        value = self.resolve(candidates, sub, t)
        if self.at_char("(["):
            shown = self.text[t.pos:self.tok.pos].strip()
            raise self.error(f"'{shown}(' reads as a function application, but {value} is a symbol",
                             f"for a product write {shown} \\cdot (...)")
        return value, "name"

    def _kl_subscript_ahead(self) -> bool:
        j = self.i + 1
        word = ""
        if self.toks[j].text == "{":
            j += 1
            while self.toks[j].kind in ("letter", "cmd", "char") and self.toks[j].text != "}":
                t = self.toks[j]
                if t.kind == "letter":
                    word += t.text
                elif t.kind == "cmd" and t.text in ("mathrm", "text", "operatorname", "textrm", "mathsf"):
                    pass
                elif t.kind == "char" and t.text == "{":
                    pass
                else:
                    return False
                j += 1
        return word == "KL"

    def resolve(self, candidates: list[str], sub: str | None, t: Tok) -> sp.Expr:
        symbols, families, scope = self.scope.symbols, self.scope.families, self.scope
        if sub is None:
            found = [c for c in candidates if scope.symbol(c) is not None]
            if found:
                return scope.symbol(found[0])
            for c in candidates:
                if c in families:
                    raise self.error(f"'{c}' is an indexed family", f"write it with an index, e.g. {c}_j", tok=t)
                if c in self.scope.distributions or c in self.scope.definitions:
                    raise self.error(f"'{c}' is a function", f"call it, e.g. {c}(...)", tok=t)
            raise self.error(f"unknown symbol '{candidates[0]}'",
                             did_you_mean(candidates[0], list(symbols) + list(families)), tok=t)
        as_symbol = [c + "_" + sub for c in candidates if scope.symbol(c + "_" + sub) is not None]
        index = scope.symbol(sub)
        if not as_symbol and sub.isascii() and sub.isdigit() and len(sub) <= 6:
            index = sp.Integer(sub)  # a component with a concrete index: mu_1 is mu[1] (a declared mu_1 wins)
        as_family = [c for c in candidates if c in families and index is not None and index.is_integer]
        if as_symbol and as_family:
            raise self.error(f"'{as_symbol[0]}' is ambiguous: a declared symbol and the family {as_family[0]}[{sub}]",
                             "rename one of them", tok=t)
        if as_symbol:
            return scope.symbol(as_symbol[0])
        if as_family:
            return families[as_family[0]][index]
        if self.product_index is not None and sub == self.product_index.name:
            raise self.error(f"'{candidates[0]}_{sub}' (a component) is only allowed as the variable of the normal density in \\prod", tok=t)
        if any(c in families for c in candidates):
            raise self.error(f"index '{sub}' of {candidates[0]} is not a declared integer symbol",
                             f'declare it under [symbols], e.g. {sub} = "integer"', tok=t)
        name = candidates[0] + "_" + sub
        raise self.error(f"unknown symbol '{name}'", did_you_mean(name, list(symbols) + list(families)), tok=t)

    def call(self, candidates, sub, t):
        """F(...) for a declared distribution or definition; None when the name is neither."""
        names = [c + "_" + sub for c in candidates] if sub else list(candidates)
        for name in names:
            if name in self.scope.distributions:
                return self.probability(name)
            if name in self.scope.definitions:
                return self.defined(name)
        if sub is not None:  # q_\phi(z|x): the subscript labels the parameters of q
            for name in candidates:
                if name in self.scope.distributions and (sub in GREEK or sub.isalpha() and sub not in self.scope.symbols):
                    return self.probability(name)
        return None

    def probability(self, family: str) -> sp.Expr:
        variables = self.scope.distributions[family]
        opener = self.next()
        targets, givens = [self.variable(family, variables)], []
        current = targets
        while True:
            if self.at("char", ","):
                self.next()
            elif self.at("char", "|") or self.at("cmd", "mid") or self.at("cmd", "vert"):
                if current is givens:
                    raise self.error("a second '|' in a probability")
                self.next()
                current = givens
            elif self.at("char", ")"):
                self.next()
                break
            else:
                raise self.error(f"expected ',', '|' or ')' in {family}(...)", tok=self.tok)
            current.append(self.variable(family, variables))
        names = [v.name for v in targets + givens]
        if len(set(names)) != len(names):
            raise self.error(f"a variable appears twice in {family}(...)", tok=opener)
        return C.Prob(sp.Symbol(family), sp.Tuple(*targets), sp.Tuple(*givens))

    def variable(self, family: str, variables) -> sp.Symbol:
        t = self.tok
        if t.kind == "char" and t.text == "{":  # {\color{..} z = ...} or {z}
            self.next()
            value = self.variable(family, variables)
            self.expect_char("}", "")
            return value
        if not (t.kind == "letter" or (t.kind == "cmd" and (t.text in GREEK or t.text in STYLE or t.text == "mathrm"))):
            raise self.error(f"expected a variable of {family}", f"{family} is declared over ({', '.join(variables)})")
        kind, candidates, _ = self.read_name()
        sub = self.subscript_text() if self.at("char", "_") else None
        if self.at("char", "^"):
            raise self.error("a superscript on a variable of a probability is not supported",
                             "declare the labelled variable as its own symbol, e.g. x_i")
        if self.at("char", "="):
            raise self.error(f"a value for a variable inside {family}(...) is not supported",
                             "substitute into an explicit density such as \\mathcal{N}(z; \\mu, \\sigma^2)")
        names = [c + "_" + sub for c in candidates] if sub else candidates
        for name in names:
            if name in variables:
                return self.scope.symbol(name)
        raise self.error(f"'{names[0]}' is not a variable of the distribution {family}",
                         f"{family} is declared over ({', '.join(variables)})", tok=t)

    def defined(self, name: str) -> sp.Expr:
        body = self.scope.definitions[name]
        self.next()
        args = [self.expr()]
        while self.at("char", ","):
            self.next()
            args.append(self.expr())
        self.expect_char(")", f"to close {name}(...)")
        if len(args) != len(body.variables):
            raise self.error(f"{name}() takes {len(body.variables)} arguments, got {len(args)}")
        return C.Defined(Str(name), body, sp.Tuple(*args))

    # -- the field's notation ------------------------------------------------
    def normal_named(self, t: Tok, variable: sp.Expr | None = None) -> sp.Expr:
        """\\mathrm N_{\\mu,\\sigma}(x) or \\mathcal{N}(x; \\mu, \\sigma^2) or \\mathcal{N}(x \\mid \\mu, \\sigma)."""
        if self.at("char", "_"):
            self.next()
            self.expect_char("{", "after N_ (write N_{\\mu,\\sigma}(x))")
            mu = self.expr()
            self.expect_char(",", "between the mean and the standard deviation in N_{\\mu,\\sigma}")
            sigma = self.expr()
            self.expect_char("}", "to close N_{\\mu,\\sigma}")
            self.expect_char("(", "for the variable: N_{\\mu,\\sigma}(x)")
            x = self.normal_variable()
            self.expect_char(")", "to close N_{\\mu,\\sigma}(x)")
            return self.make_normal(x, mu, sigma, t)
        opener = self.expect_char("(", "after \\mathcal{N}")
        first = self.normal_variable()
        if self.at("char", ";"):
            self.next()
            mu = self.expr()
            self.expect_char(",", "between the mean and the variance")
            variance = self.expr()
            self.expect_char(")", "to close \\mathcal{N}(x; \\mu, \\sigma^2)")
            return self.make_normal(first, mu, self.std_from_variance(variance, t), t)
        if self.at("char", "|") or self.at("cmd", "mid") or self.at("cmd", "vert"):
            self.next()
            mu = self.expr()
            self.expect_char(",", "between the mean and the standard deviation")
            scale_tok = self.tok
            scale = self.expr()
            self.expect_char(")", "to close \\mathcal{N}(x \\mid \\mu, \\sigma)")
            if isinstance(scale, sp.Pow) and scale.exp == 2:
                sigma = self.std_from_variance(scale, t)  # N(x | mu, sigma^2): the variance
            elif scale.is_Number and scale != 1:
                raise self.error("\\mathcal{N}(x \\mid \\mu, c) with a number c is ambiguous (standard deviation or variance?)",
                                 "write \\mathcal{N}(x; \\mu, c) for the variance c", tok=scale_tok)
            else:
                sigma = scale  # as in the source documents: N(z | mu, sigma), sigma the standard deviation
            return self.make_normal(first, mu, sigma, t)
        if self.at("char", ","):
            if variable is None:
                raise self.error("\\mathcal{N}(\\mu, \\sigma^2) does not say which variable it is a density of",
                                 "write \\mathcal{N}(x; \\mu, \\sigma^2), or x \\sim \\mathcal{N}(\\mu, \\sigma^2) in a subscript",
                                 tok=opener)
            self.next()
            variance = self.expr()
            self.expect_char(")", "to close \\mathcal{N}(\\mu, \\sigma^2)")
            return self.make_normal(variable, first, self.std_from_variance(variance, t), t)
        raise self.error("expected ';', '\\mid' or ',' in \\mathcal{N}(...)")

    def finite_density(self, t: Tok, word: str, variable: sp.Expr | None = None) -> sp.Expr:
        """\\mathrm{Bern}(x; p), or \\mathrm{Bern}(p) after x \\sim in the subscript of an expectation."""
        cls = FINITE_DENSITIES[word]
        self.expect_char("(", f"after \\mathrm{{{word}}}")
        args = [self.expr()]
        if self.at("char", ";") or self.at("char", "|") or self.at("cmd", "mid"):
            self.next()
            if variable is not None:
                raise self.error(f"the variable of \\mathrm{{{word}}} is already named before \\sim")
            variable = args.pop()
            args = [self.expr()]
        while self.at("char", ","):
            self.next()
            args.append(self.expr())
        self.expect_char(")", f"to close \\mathrm{{{word}}}(...)")
        if variable is None:
            raise self.error(f"\\mathrm{{{word}}}(...) does not say which variable it is a mass function of",
                             f"write \\mathrm{{{word}}}(x; p), or x \\sim \\mathrm{{{word}}}(p) in a subscript", tok=t)
        if len(args) + 1 != cls.arity:
            raise self.error(f"\\mathrm{{{word}}} takes {cls.arity - 1} parameter(s), got {len(args)}", tok=t)
        return cls(variable, *args)

    def normal_variable(self) -> sp.Expr:
        """The variable slot: x, z_j inside \\prod, or 'z = mu + sigma eps' (the density evaluated there)."""
        t = self.tok
        if self.product_index is not None:
            kind, candidates, _ = self.read_name()
            sub = self.subscript_text() if self.at("char", "_") else None
            if kind == "plain" and sub == self.product_index.name:
                for c in candidates:
                    if self.scope.symbol(c) is not None:
                        return self.scope.symbol(c)
            raise self.error(f"the variable of a product of normals is written z_{self.product_index}", tok=t)
        start = self.i
        if t.kind == "char" and t.text == "{":
            self.next()
            value = self.normal_variable()
            self.expect_char("}", "")
            return value
        value = self.expr()
        if self.at("char", "="):
            if not isinstance(value, sp.Symbol):
                raise self.error("the left of '=' in a density's variable slot must be the variable", tok=self.toks[start])
            self.next()
            value = self.expr()
        return value

    def std_from_variance(self, variance: sp.Expr, t: Tok) -> sp.Expr:
        if isinstance(variance, sp.Pow) and variance.exp == 2:
            s = variance.base
            if s.is_positive:
                return s
            if s.is_real:
                return sp.Abs(s)
        if variance.is_nonnegative is False:
            raise self.error("a variance must be nonnegative", tok=t)
        return sp.sqrt(variance)

    def make_normal(self, x, mu, sigma, t: Tok) -> sp.Expr:
        if x.is_real is False or mu.is_real is False:
            raise self.error("the variable and the mean of a normal density must be real", tok=t)
        return C.Normal(x, mu, sigma)

    def density(self, what: str) -> tuple[sp.Expr, sp.Symbol]:
        t = self.tok
        value, _ = self.primary()
        var = C.density_variable(value)
        if var is None:
            raise self.error(f"'{self.text[t.pos:self.tok.pos].strip()}' is not a density",
                             "use a declared distribution such as Q(z \\mid X), \\mathcal{N}(x; \\mu, \\sigma^2) or \\prod ...", tok=t)
        return value, var

    def expectation(self, t: Tok) -> sp.Expr:
        if not self.at("char", "_"):
            raise self.error("E[...] needs the distribution it is taken over",
                             "write \\mathbb{E}_{z \\sim Q(z \\mid X)}[...] or \\mathbb{E}_{Q(z \\mid X)}[...]")
        self.next()
        self.expect_char("{", "after E_ (write E_{z \\sim Q(z|X)})")
        if self.at("char", "}"):
            raise self.error("an empty subscript")
        start = self.tok
        if self.tok.kind in ("letter", "cmd") and self._sim_ahead():
            # E_{z ~ density}[f]: the variable is named first, and bound in the density and in f
            name, _ = self.binder_name()
            self.next()  # \sim
            named = self.at("cmd") and self.tok.text in ("mathcal", "mathrm", "operatorname", "text", "mathsf")
            saved = self.i
            kind2, words, t2 = self.read_name() if named else (None, None, None)
            self.i = saved
            domain = {"real": True} if kind2 == "normal" else FINITE_DENSITIES[words[0]].domain \
                if kind2 == "finite" else B.declared_domain(self.scope, name)
            with self.bind(name, domain, start, f"the expectation over {name}") as var:
                if kind2 is not None:
                    self.read_name()
                if kind2 == "normal":
                    density = self.normal_named(t2, var)
                elif kind2 == "finite":
                    density = self.finite_density(t2, words[0], var)
                else:
                    self.i = saved
                    density, _ = self.density("expectation")
                if C.density_variable(density) != var:
                    raise self.error(f"'{name}' is not the variable of the density in the subscript", tok=start)
                self.expect_char("}", "to close the subscript of E")
                return C.Expectation(self.expectand(), density, var)
        density, file_var = self.density("expectation")
        self.expect_char("}", "to close the subscript of E")
        with self.bind(file_var.name, _density_domain(self.scope, density, file_var), start,
                       f"the expectation over {file_var.name}") as var:
            # the density names its variable before any binder could: it is read, then re-bound
            return C.Expectation(self.expectand(), density.xreplace({file_var: var}), var)

    def expectand(self) -> sp.Expr:
        if not self.at_char("(["):
            raise self.error("expected [ ... ] after E_{...}")
        return self.paren_group()

    def _sim_ahead(self) -> bool:
        depth = 0
        for tok in self.toks[self.i:]:
            if tok.kind == "char" and tok.text in "({[":
                depth += 1
            elif tok.kind == "char" and tok.text in ")}]":
                if depth == 0:
                    return False
                depth -= 1
            elif tok.kind == "cmd" and tok.text == "sim" and depth == 0:
                return True
            elif tok.kind == "end":
                return False
        return False

    def kl(self, t: Tok) -> sp.Expr:
        self.subscript_text()  # _{KL}
        if not self.at_char("(["):
            raise self.error("expected ( or [ after D_{KL}")
        opener = self.next()
        q, var_q = self.density("KL")
        if not (self.at("cmd") and self.tok.text in PARALLEL or self.at("char", "|")):
            raise self.error("expected \\| or \\parallel between the two densities of D_{KL}")
        if self.at("char", "|"):
            self.next()
            if not self.at("char", "|"):
                raise self.error("expected '||' (or \\|, \\parallel) between the two densities")
        self.next()
        p, var_p = self.density("KL")
        closer = {"(": ")", "[": "]"}[opener.text]
        self.expect_char(closer, "to close D_{KL}")
        if var_q != var_p:
            raise self.error(f"D_KL compares densities over the same variable, got '{var_q}' and '{var_p}'", tok=t)
        with self.bind(var_q.name, _density_domain(self.scope, q, var_q), t, f"the KL divergence over {var_q.name}") as var:
            return C.KL(q.xreplace({var_q: var}), p.xreplace({var_q: var}), var)

    def special(self, word: str, t: Tok) -> sp.Expr:
        if word in ("log", "ln", "exp"):
            raise self.error(f"write \\{word}, not \\operatorname{{{word}}}", tok=t)
        if word == "KL":
            raise self.error("write D_{KL}(q \\| p)", tok=t)
        if word == "diag":
            if not self.at_char("(["):
                raise self.error("expected ( after diag")
            name = self._range_name_after(self._closing(self.i))
            with self.bind(name, {"integer": True}, t, f"diag over {name}") as j:
                f = self.paren_group()
                _, lo, hi = self.range_subscripts("diag")
            return C.Diag(f, j, lo, hi)
        arg_tok = self.tok
        if not self.at_char("(["):
            raise self.error(f"expected ( after {word}")
        arg = self.paren_group()
        if not isinstance(arg, C.Diag):
            raise self.error(f"{word} is defined here for diagonal matrices", "write \\operatorname{diag}(\\sigma_j^2)_{j=1}^{k}", tok=arg_tok)
        problem = B.product_bounds_problem(*arg.args[2:]) if word != "tr" else None  # det diag(v) is a product
        if problem:
            raise self.error(problem, "write the dimension as a symbol, e.g. _{j=1}^{k}", tok=arg_tok)
        return C.Trace(arg) if word == "tr" else C.Det(arg)

    def range_subscripts(self, what: str):
        """_{j=a}^{b} (or ^{b}_{j=a}): returns (the name j, a, b), a and b checked as a sum's bounds."""
        j = lo = hi = None
        t = self.tok
        for _ in range(2):
            if self.at("char", "_") and j is None:
                self.next()
                self.expect_char("{", f"after {what}_ (write _{{j=1}})")
                j, _ = self.binder_name()
                self.expect_char("=", f"in the range of {what}: _{{j=1}}")
                lo = self.expr()
                self.expect_char("}", "to close the range")
            elif self.at("char", "^") and hi is None:
                self.next()
                hi = self.tex_argument()
        if j is None or hi is None:
            raise self.error(f"{what} needs a range _{{j=1}}^{{J}}")
        problem = B.sum_bounds_problem(lo, hi)
        if problem:
            raise self.error(problem, "declare the bound as an integer under [symbols], e.g. J = \"positive integer\"", tok=t)
        return j, lo, hi

    def binder_name(self) -> tuple[str, Tok]:
        """The name a binder introduces (its declared spelling when one of the aliases is declared)."""
        t = self.tok
        kind, candidates, _ = self.read_name()
        sub = self.subscript_text() if self.at("char", "_") else None
        names = [c + "_" + sub for c in candidates] if sub else candidates
        for name in names:
            if self.scope.symbol(name) is not None:
                return name, t
        return names[0], t

    def _closing(self, i: int) -> int:
        """The index of the token that closes the bracket (or \\langle) opened at token i."""
        depth = 0
        for j in range(i, len(self.toks)):
            tok = self.toks[j]
            if tok.kind == "char" and tok.text in "([{" or tok.kind == "cmd" and tok.text == "langle":
                depth += 1
            elif tok.kind == "char" and tok.text in ")]}" or tok.kind == "cmd" and tok.text == "rangle":
                depth -= 1
                if depth == 0:
                    return j
            elif tok.kind == "end":
                break
        raise self.error("a bracket is never closed", tok=self.toks[i])

    def _range_name_after(self, close: int) -> str:
        """The index name of a range _{j=..} written after the token at `close`: read ahead, position kept."""
        saved = self.i
        try:
            self.i = close + 1
            if self.at("char", "^"):  # ^{k}_{j=1}
                self.next()
                self.i = self._closing(self.i) + 1 if self.at("char", "{") else self.i + 1
            if not (self.at("char", "_") and self.peek().text == "{"):
                raise self.error("expected a range _{j=1}^{k} after the closing bracket")
            self.i += 2
            name, _ = self.binder_name()
            return name
        finally:
            self.i = saved

    def dot(self) -> sp.Expr:
        t = self.tok
        name = self._range_name_after(self._closing(self.i))
        self.next()  # \langle
        with self.bind(name, {"integer": True}, t, f"the dot product over {name}") as j:
            u = self.expr()
            self.expect_char(",", "between the two vectors of \\langle u, v \\rangle")
            v = self.expr()
            if not self.at("cmd", "rangle"):
                raise self.error("expected \\rangle")
            self.next()
            _, lo, hi = self.range_subscripts("\\langle u_j, v_j \\rangle")
        return C.Dot(u, v, j, lo, hi)

    def summation(self) -> sp.Expr:
        t = self.next()
        j = lo = hi = None
        latent = None
        for _ in range(2):
            if self.at("char", "_") and j is None and latent is None:
                self.next()
                if self.at("char", "{"):
                    self.next()
                    name, _ = self.binder_name()
                    if self.at("char", "="):
                        self.next()
                        j, lo = name, self.expr()
                    else:
                        latent = name
                    self.expect_char("}", "to close the sum's subscript")
                else:
                    latent, _ = self.binder_name()
            elif self.at("char", "^") and hi is None:
                self.next()
                hi = self.tex_argument()
        if latent is None and j is None:
            raise self.error("a sum needs its index", "write \\sum_{j=1}^{J} or \\sum_{z} (over all values of z)", tok=t)
        if j is not None and hi is None:
            raise self.error("a sum needs its upper limit", "write \\sum_{j=1}^{J}", tok=t)
        if latent is not None and hi is not None:
            raise self.error("a sum over all values of a variable has no upper limit", tok=t)
        if latent is not None:
            if latent not in self.scope.symbols:
                raise self.error(f"unknown variable '{latent}'", "a sum over all values of a variable needs it "
                                 "declared under [symbols]; " + did_you_mean(latent, list(self.scope.symbols)), tok=t)
            with self.bind(latent, B.declared_domain(self.scope, latent), t, f"a sum over all values of {latent}") as var:
                return C.LatentSum(self.summand(), var)
        problem = B.sum_bounds_problem(lo, hi)
        if problem:
            raise self.error(problem, "declare the bound as an integer under [symbols], e.g. J = \"positive integer\"", tok=t)
        with self.bind(j, B.range_domain({"integer": True}, lo, hi), t, f"the sum over {j}") as var:
            return sp.Sum(self.summand(), (var, lo, hi))

    def summand(self) -> sp.Expr:
        if self.at_char("+-"):
            sign = -1 if self.next().text == "-" else 1
            return sign * self.term()
        if not self.starts_factor():
            raise self.error("the sum has no summand")
        return self.term()

    def product(self) -> sp.Expr:
        t = self.next()
        name, lo, hi = self.range_subscripts("\\prod")
        problem = B.product_bounds_problem(lo, hi)
        if problem:
            raise self.error(problem, "write the product over a symbolic bound, e.g. \\prod_{d=1}^{D}", tok=t)
        if not self._vector_normal_ahead(name):  # any other factor: the product of its values over the range
            with self.bind(name, B.range_domain({"integer": True}, lo, hi), t, f"the product over {name}") as var:
                outer, self.product_index = self.product_index, None
                try:
                    return sp.Product(self.summand(), (var, lo, hi))
                finally:
                    self.product_index = outer
        with self.bind(name, B.range_domain({"integer": True}, lo, hi), t, f"the product over {name}") as j:
            outer, self.product_index = self.product_index, j
            try:
                kind, _, name_tok = self.read_name() if self.at("cmd") else (None, None, None)
                if kind != "normal":
                    raise self.error("only a product of normal densities is supported",
                                     "write \\prod_{j=1}^{J} \\mathcal{N}(z_j; \\mu_j, \\sigma_j^2)", tok=t)
                normal = self.normal_named(name_tok)
            finally:
                self.product_index = outer
        if self.starts_factor():
            raise self.error("it is unclear where the product ends", "put the product in brackets")
        x, mu, sigma = normal.args
        return C.NormalDiag(x, mu, sigma, j, lo, hi)

    def _vector_normal_ahead(self, index: str) -> bool:
        """Whether a \\prod's factor is a normal density in z_j for a declared plain symbol z (a diagonal
        Gaussian over the vector z), read ahead with the position kept. A component x_j of a declared
        family, or any other factor, makes an ordinary product."""
        saved = self.i
        try:
            if not self.at("cmd"):
                return False
            kind, _, _ = self.read_name()
            if kind != "normal":
                return False
            if self.at("char", "_"):  # N_{\\mu,\\sigma}(z_j)
                self.next()
                if not self.at("char", "{"):
                    return False
                self.i = self._closing(self.i) + 1
            if not self.at("char", "("):
                return False
            self.next()
            if self.at("char", "{"):
                self.next()
            _, candidates, _ = self.read_name()
            sub = self.subscript_text() if self.at("char", "_") else None
            return sub == index and any(c in self.scope.symbols and c not in self.scope.families for c in candidates)
        except ParseError:
            return False
        finally:
            self.i = saved

    def integral(self) -> sp.Expr:
        t = self.next()
        lo = hi = None
        for _ in range(2):
            if self.at("char", "_") and lo is None:
                self.next()
                lo = self.tex_argument() if not self.at_char("+-") else self._signed_argument()
            elif self.at("char", "^") and hi is None:
                self.next()
                hi = self.tex_argument()
        if (lo is None) != (hi is None):
            raise self.error("an integral needs both limits, or none (the whole real line)", tok=t)
        # The integrand comes before its differential: find the variable first, so that the integrand
        # is read with it bound (a file's assumptions on that name never shape the integrand).
        name = self._differential_ahead()
        if name is None:
            raise self.error("expected the differential (dx) that ends the integral",
                             "write \\int_{-\\infty}^{\\infty} f(x) \\, dx", tok=t)
        whole_line = lo is None or (lo == -sp.oo and hi == sp.oo)
        latent = whole_line and self.scope.is_distribution_variable(name)
        if lo is None:
            lo, hi = -sp.oo, sp.oo
        problem = B.integral_bounds_problem(lo, hi)
        if problem:
            raise self.error(problem, tok=t)
        domain = B.declared_domain(self.scope, name) if latent else B.range_domain({"real": True}, lo, hi)
        with self.bind(name, domain, t, f"the integral over {name}") as var:
            self.integrals += 1
            try:
                if not self.starts_factor() and not self.at_char("+-"):
                    raise self.error("the integral has no integrand")
                body = self.expr()
            finally:
                self.integrals -= 1
            if not self.is_differential():
                raise self.error("expected the differential (dx) that ends the integral",
                                 "write \\int_{-\\infty}^{\\infty} f(x) \\, dx", tok=self.tok)
            if self.at("letter", "d"):
                self.next()
            else:
                self.i += 4  # \mathrm{d}
            self.binder_name()
        if latent and body.has(C.Prob):  # an abstract density: over all values of its variable
            return C.LatentSum(body, var)
        if not var.is_real:
            raise self.error(f"the integration variable '{name}' is not declared real",
                             f'declare it under [symbols], e.g. {name} = "real"', tok=t)
        return sp.Integral(body, (var, lo, hi))

    def _differential_ahead(self) -> str | None:
        """The variable of the differential that closes the integral starting here, read ahead."""
        saved, pending, depth = self.i, 0, 0
        try:
            while not self.at("end"):
                tok = self.tok
                if tok.kind == "char" and tok.text in "([{" or tok.kind == "cmd" and tok.text == "langle":
                    depth += 1
                elif tok.kind == "char" and tok.text in ")]}" or tok.kind == "cmd" and tok.text == "rangle":
                    depth -= 1
                    if depth < 0:
                        return None
                elif depth == 0 and tok.kind == "cmd" and tok.text == "int":
                    pending += 1  # an inner integral takes the next differential
                elif depth == 0 and self.is_differential():
                    if pending:
                        pending -= 1
                    else:
                        self.i += 1 if self.at("letter", "d") else 4
                        return self.binder_name()[0]
                self.i += 1
            return None
        finally:
            self.i = saved

    def _signed_argument(self) -> sp.Expr:
        sign = -1 if self.next().text == "-" else 1
        return sign * self.tex_argument()


def _density_domain(scope: Scope, density, var) -> dict:
    """The domain of the variable a density is over: the declared support of an abstract distribution's
    variable, the real line for a normal density."""
    if isinstance(density, C.Prob):
        return B.declared_domain(scope, var.name)
    return {"real": True}
