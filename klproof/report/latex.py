"""LaTeX export of a checked derivation: a pure function of the Derivation and its Report.

Each expression is printed from its author's text, in the author's order of
terms: the Python-like syntax through a walk of its `ast` tree (never eval), a
step written in LaTeX as its author wrote it (cleaned of tags and colours).
Every printed expression is then read back with klproof's own LaTeX reader and
must give the very expression that was checked; if it does not, the canonical
SymPy rendering (`KlproofLatexPrinter`) is used and re-read the same way, and
if that fails too the step's source text is shown verbatim. So an export never
shows a formula other than the one klproof checked.
"""

from __future__ import annotations

import ast
import re
import unicodedata
from dataclasses import dataclass

import sympy as sp
from sympy.printing.latex import LatexPrinter

from klproof import vocabulary as C
from klproof.errors import KlproofError, Span
from klproof.model import Chain, Derivation, Identity, Implication, Step
from klproof.parse.expr import Scope
from klproof.verdict import Report, Status, Verdict

GREEK = {
    "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "lambda",
    "mu", "nu", "xi", "rho", "sigma", "tau", "upsilon", "phi", "chi", "psi", "omega",
    "Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma", "Upsilon", "Phi", "Psi", "Omega",
    "varepsilon", "vartheta", "varphi", "varrho", "varsigma", "varpi",
}
NAME_ALIASES = {"eps": "epsilon"}


def name_latex(name: str) -> str:
    """mu_1 -> \\mu_{1}, eps -> \\epsilon, sigma -> \\sigma, xyz -> \\mathrm{xyz}, x_ab -> x_{ab}."""
    base, _, sub = name.partition("_")
    base = NAME_ALIASES.get(base, base)
    if base in GREEK:
        head = "\\" + base
    elif len(base) == 1:
        head = base
    else:
        head = "\\mathrm{" + base + "}"
    if not sub:
        return head
    parts = sub.split("_")
    inner = "".join(NAME_ALIASES.get(p, p) if NAME_ALIASES.get(p, p) not in GREEK else "\\" + NAME_ALIASES.get(p, p) + " "
                    for p in parts).strip()
    return f"{head}_{{{inner}}}"


class KlproofLatexPrinter(LatexPrinter):
    """SymPy's LaTeX printer with the field's notation for klproof's vocabulary."""

    def __init__(self, settings=None):
        super().__init__({"ln_notation": False, **(settings or {})})

    def _print_Symbol(self, expr, style="plain"):
        return name_latex(expr.name)

    def _print_Indexed(self, expr):
        base = name_latex(expr.base.label.name)
        return f"{base}_{{{', '.join(self._print(i) for i in expr.indices)}}}"

    def _variance(self, sigma) -> str:
        if sigma == 1:
            return "1"
        if isinstance(sigma, sp.Pow) and sigma.exp == sp.Rational(1, 2):
            return self._print(sigma.base)
        if isinstance(sigma, (sp.Symbol, sp.Indexed)):
            return f"{self._print(sigma)}^{{2}}"
        return f"\\left({self._print(sigma)}\\right)^{{2}}"

    def _print_Normal(self, e):
        x, mu, sigma = e.args
        return f"\\mathcal{{N}}({self._print(x)};\\, {self._print(mu)}, {self._variance(sigma)})"

    def _print_NormalDiag(self, e):
        z, mu, sigma, j, a, b = e.args
        return (f"\\prod_{{{self._print(j)}={self._print(a)}}}^{{{self._print(b)}}} "
                f"\\mathcal{{N}}({self._print(z)}_{{{self._print(j)}}};\\, {self._print(mu)}, {self._variance(sigma)})")

    def _print_Prob(self, e):
        targets = ", ".join(self._print(t) for t in e.targets)
        name = name_latex(e.family)
        if e.givens:
            return f"{name}({targets} \\mid {', '.join(self._print(g) for g in e.givens)})"
        return f"{name}({targets})"

    def density_subscript(self, density) -> str:
        if isinstance(density, C.Prob):
            return self._print(density)
        if isinstance(density, C.Normal):
            x, mu, sigma = density.args
            return f"{self._print(x)} \\sim \\mathcal{{N}}({self._print(mu)}, {self._variance(sigma)})"
        if isinstance(density, C.FINITE_DENSITIES):
            x, *params = density.args
            shown = ", ".join(self._print(a) for a in params)
            return f"{self._print(x)} \\sim \\mathrm{{{density.latex_names[0]}}}({shown})"
        return f"{self._print(C.density_variable(density))} \\sim {self._print(density)}"

    def _print_Expectation(self, e):
        f, density, _ = e.args
        return f"\\mathbb{{E}}_{{{self.density_subscript(density)}}}\\left[{self._print(f)}\\right]"

    def _print_KL(self, e):
        return f"D_{{\\mathrm{{KL}}}}\\left({self._print(e.args[0])} \\,\\|\\, {self._print(e.args[1])}\\right)"

    def _print_LatentSum(self, e):
        f, var = e.args
        return f"\\sum_{{{self._print(var)}}} {self._bracket_sum(f)}"

    def _bracket_sum(self, f) -> str:
        text = self._print(f)
        return f"\\left({text}\\right)" if isinstance(f, sp.Add) else text

    def _print_Sum(self, e):
        (j, a, b), = e.limits
        return f"\\sum_{{{self._print(j)}={self._print(a)}}}^{{{self._print(b)}}} {self._bracket_sum(e.function)}"

    def _print_Integral(self, e):
        (x, lo, hi), = e.limits
        body = self._print(e.function)
        if isinstance(e.function, sp.Add):
            body = f"\\left({body}\\right)"
        return f"\\int_{{{self._print(lo)}}}^{{{self._print(hi)}}} {body} \\, d{self._print(x)}"

    def _print_Defined(self, e):
        return f"{name_latex(e.name)}\\left(" + ", ".join(self._print(a) for a in e.args[2]) + "\\right)"

    def _print_Diag(self, e):
        f, j, a, b = e.args
        return f"\\operatorname{{diag}}\\left({self._print(f)}\\right)_{{{self._print(j)}={self._print(a)}}}^{{{self._print(b)}}}"

    def _print_Trace(self, e):
        return f"\\operatorname{{tr}}\\left({self._print(e.args[0])}\\right)"

    def _print_Det(self, e):
        return f"\\det\\left({self._print(e.args[0])}\\right)"

    def _print_Dot(self, e):
        u, v, j, a, b = e.args
        return (f"\\left\\langle {self._print(u)}, {self._print(v)} \\right\\rangle"
                f"_{{{self._print(j)}={self._print(a)}}}^{{{self._print(b)}}}")

    def _print_log(self, e, exp=None):
        text = f"\\log\\left({self._print(e.args[0])}\\right)"
        return f"{text}^{{{exp}}}" if exp else text


_PRINTER = KlproofLatexPrinter()


def sympy_latex(expr) -> str:
    """The canonical rendering (SymPy's order of terms), with the field's notation."""
    return _PRINTER.doprint(expr)


# -- the author's order: a walk of the expression's Python syntax tree -------------------

ADD, NEG, MUL, POW, ATOM = 10, 15, 20, 30, 40


@dataclass(frozen=True)
class _Out:
    tex: str
    prec: int
    closed: str = ""  # the same with an open-ended tail (\sum body, bare \log argument) bracketed
    name_end: bool = False  # ends with a plain name: a '(' after it would read as a call

    @property
    def safe(self) -> str:
        return self.closed or self.tex


class _Unsupported(Exception):
    """The author's text uses something the walk does not print; the canonical printer is used."""


def _paren(tex: str) -> str:
    return f"\\left({tex}\\right)"


class _AuthorPrinter:
    def __init__(self, derivation: Derivation, source: str):
        self.d = derivation
        self.source = source

    def top(self, node: ast.AST) -> tuple[str, str | None]:
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], ast.Eq):
            return self.expr(node.left).tex, self.expr(node.comparators[0]).tex
        return None, self.expr(node).tex

    def expr(self, node: ast.AST) -> _Out:
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            raise _Unsupported(type(node).__name__)
        return method(node)

    def _Constant(self, node):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise _Unsupported("constant")
        text = (ast.get_source_segment(self.source, node) or str(node.value)).replace("_", "")
        if isinstance(node.value, float) and not re.fullmatch(r"\d+\.\d+|\d+", text):
            raise _Unsupported("float syntax")
        return _Out(text, ATOM)

    def _Name(self, node):
        if node.id == "pi":
            return _Out("\\pi", ATOM)
        if node.id in ("oo", "inf"):
            return _Out("\\infty", ATOM)
        return _Out(name_latex(node.id), ATOM, name_end=True)

    def _Subscript(self, node):
        if not isinstance(node.value, ast.Name):
            raise _Unsupported("subscript")
        index = self.expr(node.slice)
        return _Out(f"{name_latex(node.value.id)}_{{{index.tex}}}", ATOM, name_end=True)

    def _UnaryOp(self, node):
        operand = self.expr(node.operand)
        if isinstance(node.op, ast.UAdd):
            return operand
        if not isinstance(node.op, ast.USub):
            raise _Unsupported("unary")
        if operand.prec <= NEG or operand.tex.startswith("-"):
            inner = _paren(operand.tex)
            return _Out("-" + inner, NEG)
        return _Out("-" + operand.tex, NEG, closed="-" + operand.safe if operand.closed else "",
                    name_end=operand.name_end)

    def _BinOp(self, node):
        op = type(node.op)
        if op in (ast.Add, ast.Sub):
            left, right = self.expr(node.left), self.expr(node.right)
            r = right.tex
            if right.prec <= ADD or r.startswith("-") or (op is ast.Sub and right.prec <= NEG):
                r = _paren(r)
            sign = "+" if op is ast.Add else "-"
            return _Out(f"{left.tex} {sign} {r}", ADD)
        if op is ast.Mult:
            left, right = self.expr(node.left), self.expr(node.right)
            lt = left.safe if left.prec >= MUL else _paren(left.tex)
            if left.prec == NEG and left.prec < MUL and not isinstance(node.left, ast.UnaryOp):
                lt = _paren(left.tex)
            if left.prec == NEG and isinstance(node.left, ast.UnaryOp):
                lt = left.safe  # -a*b reads as -(a b), which is what it means
            rt = right.tex if right.prec >= MUL and not right.tex.startswith("-") else _paren(right.tex)
            closed_rt = right.safe if rt == right.tex else rt
            if rt[:1].isdigit() or (rt.startswith(("(", "\\left(")) and left.name_end):
                sep = " \\cdot "
            else:
                sep = " "
            return _Out(f"{lt}{sep}{rt}", MUL, closed=f"{lt}{sep}{closed_rt}" if closed_rt != rt else "",
                        name_end=right.name_end if rt == right.tex else False)
        if op is ast.Div:
            return self._divide(node)
        if op is ast.Pow:
            base, exponent = self.expr(node.left), self.expr(node.right)
            bt = base.tex if base.prec == ATOM and not base.closed and not base.tex.startswith("e^") \
                and not base.tex.startswith("\\sqrt") else _paren(base.tex)
            if base.prec == ATOM and base.tex.startswith("\\mathcal{N}"):
                bt = base.tex
            return _Out(f"{bt}^{{{exponent.tex}}}", POW)
        raise _Unsupported("operator")

    def _divide(self, node):
        numerator, denominator = node.left, node.right
        negative = isinstance(numerator, ast.UnaryOp) and isinstance(numerator.op, ast.USub)
        inner = numerator.operand if negative else numerator
        den = self.expr(denominator)
        sign = "-" if negative else ""
        if _is_big(inner) and isinstance(denominator, ast.Constant):
            body = self.expr(inner)
            frac = f"\\frac{{1}}{{{den.tex}}}"
            return _Out(f"{sign}{frac} {body.tex}", NEG if negative else MUL, closed=f"{sign}{frac} {body.safe}"
                        if body.closed else "")
        num = self.expr(inner)
        return _Out(f"{sign}\\frac{{{num.tex}}}{{{den.tex}}}", NEG if negative else ATOM)

    def _Call(self, node):
        if not isinstance(node.func, ast.Name) or node.keywords:
            raise _Unsupported("call")
        name, args = node.func.id, node.args
        if name in self.d.distributions:
            return self._probability(name, args)
        if name in self.d.definitions:
            inner = ", ".join(self.expr(a).tex for a in args)
            return _Out(f"{name_latex(name)}\\left({inner}\\right)", ATOM)
        if name in _UNARY:
            _arity(args, 1)
            return _Out(_UNARY[name].format(self.expr(args[0]).tex), ATOM)
        method = getattr(self, "_call_" + name, None)
        if method is None:
            raise _Unsupported(name)
        return method(args)

    def _probability(self, name, args):
        if len(args) == 1 and isinstance(args[0], ast.BinOp) and isinstance(args[0].op, ast.BitOr):
            targets, givens = _elements(args[0].left), _elements(args[0].right)
        else:
            targets, givens = list(args), []
        show = lambda items: ", ".join(self.expr(a).tex for a in items)  # noqa: E731
        if givens:
            return _Out(f"{name_latex(name)}({show(targets)} \\mid {show(givens)})", ATOM)
        return _Out(f"{name_latex(name)}({show(targets)})", ATOM)

    def _variance(self, node) -> str:
        if isinstance(node, ast.Constant) and node.value == 1:
            return "1"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "sqrt" and len(node.args) == 1:
            return self.expr(node.args[0]).tex
        out = self.expr(node)
        if isinstance(node, (ast.Name, ast.Subscript)):
            return f"{out.tex}^{{2}}"
        return f"\\left({out.tex}\\right)^{{2}}"

    def _normal_inner(self, args) -> str:
        x, mu, sigma = args
        return f"{self.expr(x).tex};\\, {self.expr(mu).tex}, {self._variance(sigma)}"

    def _call_N(self, args):
        _arity(args, 3)
        return _Out(f"\\mathcal{{N}}({self._normal_inner(args)})", ATOM)

    def _call_NormalDiag(self, args):
        _arity(args, 4)
        z, mu, sigma, limits = args
        j, a, b = self._limits(limits)
        normal = f"\\mathcal{{N}}({self.expr(z).tex}_{{{j}}};\\, {self.expr(mu).tex}, {self._variance(sigma)})"
        return _Out(f"\\prod_{{{j}={a}}}^{{{b}}} {normal}", ATOM)

    def _limits(self, node):
        if not (isinstance(node, ast.Tuple) and len(node.elts) == 3):
            raise _Unsupported("limits")
        return tuple(self.expr(e).tex for e in node.elts)

    def _density_subscript(self, node) -> str:
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id == "N" and len(node.args) == 3:
                x, mu, sigma = node.args
                return f"{self.expr(x).tex} \\sim \\mathcal{{N}}({self.expr(mu).tex}, {self._variance(sigma)})"
            if node.func.id == "NormalDiag" and len(node.args) == 4:
                return f"{self.expr(node.args[0]).tex} \\sim {self.expr(node).tex}"
            if node.func.id in self.d.distributions:
                return self.expr(node).tex
        raise _Unsupported("density")

    def _call_E(self, args):
        _arity(args, 2)
        return _Out(f"\\mathbb{{E}}_{{{self._density_subscript(args[1])}}}\\left[{self.expr(args[0]).tex}\\right]", ATOM)

    def _call_KL(self, args):
        _arity(args, 2)
        q, p = (self.expr(a).tex for a in args)
        return _Out(f"D_{{\\mathrm{{KL}}}}\\left({q} \\,\\|\\, {p}\\right)", ATOM)

    def _call_Sum(self, args):
        _arity(args, 2)
        body, limits = args
        if isinstance(limits, ast.Name):
            head = f"\\sum_{{{name_latex(limits.id)}}}"
        else:
            j, a, b = self._limits(limits)
            head = f"\\sum_{{{j}={a}}}^{{{b}}}"
        inner = self.expr(body)
        text = inner.tex if inner.prec >= MUL and not inner.tex.startswith("-") else _paren(inner.tex)
        tex = f"{head} {text}"
        return _Out(tex, MUL, closed=_paren(tex))

    def _call_Integral(self, args):
        _arity(args, 2)
        body, limits = args
        inner = self.expr(body)
        text = inner.tex if inner.prec >= MUL else _paren(inner.tex)
        if isinstance(limits, ast.Name):
            var = name_latex(limits.id)
            prob = any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in self.d.distributions
                       for n in ast.walk(body))
            head = "\\int" if prob else "\\int_{-\\infty}^{\\infty}"
        else:
            v, a, b = self._limits(limits)
            var, head = v, f"\\int_{{{a}}}^{{{b}}}"
        return _Out(f"{head} {text} \\, d{var}", ATOM)

    def _function(self, fn: str, args) -> _Out:
        _arity(args, 1)
        (arg,) = args
        inner = self.expr(arg)
        bracketed = f"{fn}\\left({inner.tex}\\right)"
        simple = isinstance(arg, (ast.Name, ast.Subscript)) or (
            isinstance(arg, ast.Call) and isinstance(arg.func, ast.Name)
            and (arg.func.id in self.d.distributions or arg.func.id == "N")) or (
            isinstance(arg, ast.BinOp) and isinstance(arg.op, ast.Pow)
            and isinstance(arg.left, (ast.Name, ast.Subscript)) and isinstance(arg.right, ast.Constant))
        if simple:
            return _Out(f"{fn} {inner.tex}", MUL, closed=bracketed)
        return _Out(bracketed, ATOM)

    def _call_log(self, args):
        return self._function("\\log", args)

    _call_ln = _call_log

    def _call_diag(self, args):
        _arity(args, 2)
        j, a, b = self._limits(args[1])
        return _Out(f"\\operatorname{{diag}}\\left({self.expr(args[0]).tex}\\right)_{{{j}={a}}}^{{{b}}}", ATOM)

    def _call_dot(self, args):
        _arity(args, 3)
        j, a, b = self._limits(args[2])
        u, v = self.expr(args[0]).tex, self.expr(args[1]).tex
        return _Out(f"\\left\\langle {u}, {v} \\right\\rangle_{{{j}={a}}}^{{{b}}}", ATOM)



# One-argument functions that print as a fixed template around their argument.
_UNARY = {
    "exp": "e^{{{}}}",
    "sqrt": "\\sqrt{{{}}}",
    "Abs": "\\left|{}\\right|",
    "abs": "\\left|{}\\right|",
    "tr": "\\operatorname{{tr}}\\left({}\\right)",
    "det": "\\det\\left({}\\right)",
}

def _arity(args, n: int) -> None:
    if len(args) != n:
        raise _Unsupported("arity")


def _elements(node):
    return list(node.elts) if isinstance(node, ast.Tuple) else [node]


def _is_big(node) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("Sum", "Integral", "E", "KL")


# -- one expression, verified -------------------------------------------------------------

def derivation_scope(derivation: Derivation) -> Scope:
    """The names the derivation declared, as the parsers want them."""
    symbols = {n: s for n, s in derivation.symbols.items() if isinstance(s, sp.Symbol)}
    families = {n: s for n, s in derivation.symbols.items() if isinstance(s, sp.IndexedBase)}
    definitions = {n: C.DefinitionBody(params, body) for n, (params, body, _) in derivation.definitions.items()}
    return Scope(symbols=symbols, families=families, distributions=dict(derivation.distributions),
                 definitions=definitions)


@dataclass(frozen=True)
class Rendered:
    """An expression (or equation) as LaTeX, and how it was obtained."""

    lhs: str | None  # the left side of an equation
    tex: str  # the expression, or the right side of an equation
    how: str  # "author", "latex source", "sympy", "verbatim"


def _reads_back(tex: str, scope: Scope, expected) -> bool:
    from klproof.parse.latex import parse_latex

    try:
        got = parse_latex(tex, scope, Span("<export>", 1))
    except KlproofError:
        return False
    if isinstance(expected, tuple):
        return isinstance(got, tuple) and got[0] == expected[0] and got[1] == expected[1]
    return not isinstance(got, tuple) and got == expected


def render_expression(text: str, expected, derivation: Derivation, scope: Scope, latex_source: bool) -> Rendered:
    """`text` (the author's) as LaTeX whose reading is `expected` (an expression, or a (lhs, rhs) pair)."""
    candidates: list[tuple[str | None, str, str]] = []
    if latex_source:
        from klproof.parse.latex import clean_latex

        cleaned = clean_latex(text)
        lhs, _, rhs = _split_equation(cleaned) if isinstance(expected, tuple) else (None, "", cleaned)
        candidates.append((lhs, rhs, "latex source"))
    else:
        try:
            tree = ast.parse(" ".join(text.splitlines()), mode="eval")
            lhs, rhs = _AuthorPrinter(derivation, " ".join(text.splitlines())).top(tree.body)
            if (lhs is None) == (not isinstance(expected, tuple)):
                candidates.append((lhs, rhs, "author"))
        except (SyntaxError, _Unsupported, RecursionError, ValueError):
            pass
    if isinstance(expected, tuple):
        candidates.append((sympy_latex(expected[0]), sympy_latex(expected[1]), "sympy"))
    else:
        candidates.append((None, sympy_latex(expected), "sympy"))
    for lhs, rhs, how in candidates:
        tex = rhs if lhs is None else f"{lhs} = {rhs}"
        if _reads_back(tex, scope, expected):
            return Rendered(lhs, rhs, how)
    return Rendered(None, "\\text{\\texttt{" + escape_text(" ".join(text.split())) + "}}", "verbatim")


def _split_equation(tex: str) -> tuple[str | None, str, str]:
    """Split 'a = b' at its top-level '=' (outside braces and brackets)."""
    depth = 0
    for i, ch in enumerate(tex):
        if ch in "{([":
            depth += 1
        elif ch in "})]":
            depth -= 1
        elif ch == "=" and depth == 0:
            return tex[:i].strip(), "=", tex[i + 1:].strip()
    return None, "", tex


# -- text ---------------------------------------------------------------------------------

_TEXT_SPECIAL = {"\\": "$\\backslash$", "{": "\\{", "}": "\\}", "$": "\\$", "&": "\\&", "#": "\\#",
                 "%": "\\%", "_": "\\_", "^": "\\^{}", "~": "$\\sim$", "<": "$<$", ">": "$>$", "|": "$|$"}
_TEXT_UNICODE = {"ε": "$\\epsilon$", "μ": "$\\mu$", "σ": "$\\sigma$", "→": "$\\to$", "−": "-", "–": "--", "—": "---",
                 "‖": "$\\|$", "∣": "$\\mid$", "’": "'", "‘": "`", "“": "``", "”": "''", "…": "\\dots{}",
                 "𝒩": "$\\mathcal{N}$", "𝔼": "$\\mathbb{E}$", "²": "$^2$", "·": "$\\cdot$"}
OMITTED = "[...]"


def escape_text(text: str) -> str:
    """Plain text for pdflatex, ASCII only: specials escaped, accents and a few symbols kept, and every
    run of other characters (Hangul, CJK, emoji ...) replaced by [...] since pdflatex cannot typeset it."""
    out: list[str] = []
    dropped = False
    for ch in text:
        if ch in _TEXT_SPECIAL:
            out.append(_TEXT_SPECIAL[ch])
        elif ch.isascii():
            out.append(ch)
        elif ch in _TEXT_UNICODE:
            out.append(_TEXT_UNICODE[ch])
        else:
            base = "".join(c for c in unicodedata.normalize("NFKD", ch) if c.isascii() and not unicodedata.combining(c))
            if base:
                out.append(base)
            elif not dropped or out[-1] != OMITTED:
                out.append(OMITTED)
                dropped = True
                continue
        dropped = bool(out) and out[-1] == OMITTED
    return re.sub(r"(\[\.\.\.\]\s*)+", OMITTED + " ", "".join(out)).replace(OMITTED + " )", OMITTED + ")").strip()


def comment_text(text: str) -> str:
    """Text for a LaTeX comment: one line, ASCII (other characters as \\u escapes with four hex digits)."""
    flat = " ".join(text.split())
    return "".join(ch if ch.isascii() else f"\\u{ord(ch):04x}" for ch in flat)


# -- the document -------------------------------------------------------------------------

@dataclass(frozen=True)
class ExportLine:
    """One line of a chain in an export."""

    relation: str  # "" for the first line, else "=" (or the relation as shown)
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


def _verdicts_for(derivation: Derivation, report: Report) -> dict[int, Verdict]:
    for file in report.files:
        if file.path == derivation.path:
            return {v.step.number: v for v in file.verdicts}
    return {}


def _start_rendering(chain: Chain, derivation: Derivation, scope: Scope) -> Rendered:
    """The first expression of a chain that does not open with an equation: its text may be either syntax."""
    from klproof.parse.expr import parse_expression
    from klproof.parse.latex import parse_latex

    span = Span(derivation.path, chain.span.line)
    for latex in (False, True):
        try:
            parsed = (parse_latex if latex else parse_expression)(chain.start_text, scope, span)
        except KlproofError:
            continue
        if not isinstance(parsed, tuple) and parsed == chain.start:
            return render_expression(chain.start_text, chain.start, derivation, scope, latex)
    return render_expression("", chain.start, derivation, scope, False)


def export_chains(derivation: Derivation, report: Report) -> tuple[ExportChain, ...]:
    """The derivation as lines ready to print, each with its rendering and verdict."""
    scope = derivation_scope(derivation)
    verdicts = _verdicts_for(derivation, report)
    chains: list[ExportChain] = []
    for chain in derivation.chains:
        lines: list[ExportLine] = []
        steps = list(chain.steps)
        if not chain.start_is_equation:
            r = _start_rendering(chain, derivation, scope)
            lines.append(ExportLine("", None, r.tex, f"{chain.span.path}:{chain.span.line}", "", "", None))
        for step in steps:
            lines.append(_step_line(step, derivation, scope, verdicts.get(step.number)))
        chains.append(ExportChain(chain.title, tuple(lines)))
    return tuple(chains)


def _step_line(step: Step, derivation: Derivation, scope: Scope, verdict: Verdict | None) -> ExportLine:
    claim = step.claim
    where = f"{step.span.path}:{step.span.line}"
    if step.is_equation:
        expected = (claim.lhs, claim.rhs)
        r = render_expression(step.text, expected, derivation, scope, step.latex_source)
        if r.lhs is None:  # verbatim: the whole equation is one text
            return ExportLine("", None, r.tex, where, step.by_text, step.note, verdict, isinstance(claim, Implication))
        return ExportLine("=", r.lhs, r.tex, where, step.by_text, step.note, verdict, isinstance(claim, Implication))
    assert isinstance(claim, Identity)
    r = render_expression(step.text, claim.rhs, derivation, scope, step.latex_source)
    return ExportLine("=", None, r.tex, where, step.by_text, step.note, verdict)


def is_verified(verdict: Verdict | None) -> bool:
    return verdict is not None and verdict.status is Status.PROVED


def unverified_steps(derivation: Derivation, report: Report) -> list[str]:
    """'path:line: status' of every step that is not proved."""
    verdicts = _verdicts_for(derivation, report)
    out = []
    for step in derivation.steps:
        v = verdicts.get(step.number)
        if not is_verified(v):
            out.append(f"{step.span.path}:{step.span.line}: step {step.number} is {v.status.value if v else 'not checked'}")
    return out


def verdict_word(verdict: Verdict | None) -> str:
    if verdict is None:
        return "not checked"
    if verdict.status is Status.NUMERIC:
        return "numeric evidence only" if not verdict.step.accept_numeric else "numeric evidence (accepted)"
    return verdict.status.value


def _annotation(line: ExportLine, marks: bool) -> str:
    parts = []
    if line.implication:
        parts.append("from the previous equation")
    if line.by:
        parts.append(line.by)
    text = "; ".join(parts)
    pieces = []
    if text:
        pieces.append(f"\\text{{({escape_text(text)})}}")
    if line.verdict is not None and not is_verified(line.verdict):
        pieces.append(f"\\textbf{{[{escape_text(verdict_word(line.verdict).upper())}]}}")
    elif marks and line.verdict is not None:
        pieces.append("\\checkmark")
    return "\\quad ".join(pieces)


def _relation(line: ExportLine) -> str:
    if line.verdict is not None and not is_verified(line.verdict):
        return "\\overset{?}{=}"
    return "="


ROW_WIDTH = 80  # visible characters that fit on a row of an A4 page with 2 cm margins


def visible_width(tex: str) -> float:
    """A rough count of the characters a LaTeX formula shows: a fraction is as wide as its wider part,
    sub- and superscripts count less, commands and sizes count as one character or nothing."""
    width, i = 0.0, 0
    while i < len(tex):
        c = tex[i]
        if tex.startswith("\\frac", i):
            num, i = _group(tex, i + 5)
            den, i = _group(tex, i)
            width += max(visible_width(num), visible_width(den))
            continue
        if c in "^_":
            inner, i = _group(tex, i + 1)
            width += 0.7 * visible_width(inner)
            continue
        if c == "\\":
            j = i + 1
            while j < len(tex) and tex[j].isalpha():
                j += 1
            word = tex[i + 1:j] if j > i + 1 else tex[i + 1:i + 2]
            i = max(j, i + 2) if j == i + 1 else j
            if word in ("left", "right", "mathcal", "mathbb", "mathrm", "operatorname", "text", ",", ";", "!", "notag"):
                continue
            width += 3 if word in ("qquad", "int", "sum", "prod") else 1
            continue
        if c not in "{} ":
            width += 1
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
    pending, pending_comments = "", ()
    for k, line in enumerate(lines):
        comment = f"% {comment_text(line.where)}" + (f"  note: {comment_text(line.note)}" if line.note else "")
        if line.relation == "" and line.lhs is None and line.verdict is None:
            if k + 1 < len(lines) and lines[k + 1].lhs is None:
                pending, pending_comments = line.tex, (comment,)
                continue
            rows.append(_Row("", line.tex, "", "", (comment,)))
            continue
        rel = _relation(line)
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


def layout_width(chain: ExportChain) -> float:
    """The width of the widest row once laid out (see render_align), justifications excluded."""
    rows = _rows(chain, False, False)
    left = max((visible_width(r.left) for r in rows), default=0)
    right = max((visible_width(r.right) for r in rows), default=0)
    return left + right if left + right <= ROW_WIDTH else max(right, left)


def render_align(chain: ExportChain, tags: bool, marks: bool) -> str:
    """One align* (align with tags): `first &= step` rows, each with its justification after a \\qquad.
    When the left column plus the widest right side would not fit the page, every left side gets a row
    of its own (`& lhs \\\\ &= rhs`), and a justification that does not fit goes on the row below."""
    env = "align" if tags else "align*"
    rows = _rows(chain, tags, marks)
    left_width = max((visible_width(r.left) for r in rows), default=0)
    limit = ROW_WIDTH - (10 if tags else 0)  # an equation number takes room on the right
    stacked = left_width + max((visible_width(r.right) for r in rows), default=0) > limit
    notag = " \\notag" if tags else ""
    out: list[str] = []
    for row in rows:
        out.extend(row.comments)
        left = row.left
        if stacked and left:
            out.append(f"  &{left}{notag} \\\\")
            left = ""
        used = (0 if stacked else left_width) + visible_width(row.right)
        tag = f" {row.tag}" if row.tag else ""
        if row.note and used + 3 + visible_width(row.note) > limit:
            out.append(f"  {left} &{row.right}{tag} \\\\".replace("   &", "  &"))
            out.append(f"  &\\qquad {row.note}{notag} \\\\")
        else:
            note = f" \\qquad {row.note}" if row.note else ""
            out.append(f"  {left} &{row.right}{note}{tag} \\\\".replace("   &", "  &"))
    if out and out[-1].endswith(" \\\\"):
        out[-1] = out[-1][: -len(" \\\\")]
    return "\n".join([f"\\begin{{{env}}}", *out, f"\\end{{{env}}}"])


def _assumption_lines(derivation: Derivation) -> list[str]:
    """LaTeX lines for every declaration: symbols grouped by their assumptions, distributions, definitions."""
    groups: dict[str, list[str]] = {}
    for name, words in derivation.assumptions.items():
        math = f"{name_latex(name[:-3])}_{{j}}" if name.endswith("[j]") else name_latex(name)
        groups.setdefault(" ".join(words.split()) or "complex", []).append(math)
    out = [f"${', '.join(names)}$: {escape_text(words)}" for words, names in groups.items()]
    if derivation.distributions:
        shown = ", ".join(f"{name_latex(n)}({', '.join(name_latex(v) for v in vs)})"
                          for n, vs in derivation.distributions.items())
        out.append(f"${shown}$: probability distributions, positive wherever a log is taken")
    scope = derivation_scope(derivation)
    for name, (params, body, text) in derivation.definitions.items():
        r = render_expression(text, body, derivation, scope, False)
        head = f"{name_latex(name)}({', '.join(name_latex(str(p)) for p in params)})"
        out.append(f"${head} = {r.tex}$: definition")
    return out


def render_latex(derivation: Derivation, report: Report, standalone: bool = False, tags: bool = False,
                 marks: bool = False) -> str:
    """The derivation as LaTeX: one amsmath align* (align with --tags) per chain."""
    chains = export_chains(derivation, report)
    body: list[str] = [f"% klproof export of {comment_text(derivation.path)}: {comment_text(derivation.title)}"]
    for chain in chains:
        body.append("")
        if standalone:
            body.append(f"\\subsection*{{{escape_text(chain.title)}}}")
            size = _font_size(chain)
            body.append(f"{{{size}" if size else "{")
            body.append(render_align(chain, tags, marks))
            body.append("}")
        else:
            body.append(f"% {comment_text(chain.title)}")
            body.append(render_align(chain, tags, marks))
    if not standalone:
        return "\n".join(body) + "\n"
    title = escape_text(derivation.title)
    omitted = OMITTED in title or any(OMITTED in escape_text(c.title) for c in chains)
    head = [
        "\\documentclass[11pt]{article}",
        "\\usepackage[margin=1.8cm]{geometry}",
        "\\usepackage{amsmath,amssymb}",
        "\\allowdisplaybreaks",
        f"\\title{{{title}}}",
        "\\author{checked by klproof}",
        "\\date{}",
        "\\begin{document}",
        "\\maketitle",
        "",
        f"\\noindent Source: \\texttt{{{escape_text(derivation.source or 'not given')}}}\\\\",
        f"File: \\texttt{{{escape_text(derivation.path)}}}",
        "",
        _status_sentence(derivation, report),
    ]
    if omitted:
        head.append("")
        head.append(f"\\noindent\\emph{{Characters pdflatex cannot typeset without extra fonts (e.g.\\ Hangul) are shown "
                    f"as {OMITTED}; the Markdown export keeps them.}}")
    head += ["", "\\section*{Assumptions}", "\\begin{itemize}"]
    for text in _assumption_lines(derivation):
        head.append(f"  \\item {text}")
    head += ["\\end{itemize}", "", "\\section*{Derivation}"]
    return "\n".join(head + body + ["", "\\end{document}"]) + "\n"


def _font_size(chain: ExportChain) -> str:
    """A smaller size for a chain whose widest row would not fit the page at the normal size."""
    widest = layout_width(chain)
    for size, limit in (("", ROW_WIDTH), ("\\small", ROW_WIDTH * 1.1), ("\\footnotesize", ROW_WIDTH * 1.25)):
        if widest <= limit:
            return size
    return "\\scriptsize"


def _status_sentence(derivation: Derivation, report: Report) -> str:
    verdicts = _verdicts_for(derivation, report)
    total = len(derivation.steps)
    proved = sum(1 for s in derivation.steps if is_verified(verdicts.get(s.number)))
    if proved == total:
        return f"\\noindent All {total} steps were proved by klproof under the assumptions below."
    return (f"\\noindent\\textbf{{Not verified:}} only {proved} of {total} steps were proved; "
            f"the others are marked $\\overset{{?}}{{=}}$ and with their verdict.")

