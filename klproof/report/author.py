"""The author's order of terms: a walk of an expression's Python syntax tree (never eval) that prints it
as LaTeX term by term, as written. latex.render_expression re-reads whatever this prints and uses it only
if it reads back as the very expression that was checked."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from klproof.model import Derivation
from klproof.report.texnames import indexed_latex, name_latex

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


class Unsupported(Exception):
    """The author's text uses something the walk does not print; the canonical printer is used."""


def _paren(tex: str) -> str:
    return f"\\left({tex}\\right)"


class AuthorPrinter:
    def __init__(self, derivation: Derivation, source: str):
        self.d = derivation
        self.source = source

    def top(self, node: ast.AST) -> tuple[str | None, str]:
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], ast.Eq):
            return self.expr(node.left).tex, self.expr(node.comparators[0]).tex
        return None, self.expr(node).tex

    def expr(self, node: ast.AST) -> _Out:
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            raise Unsupported(type(node).__name__)
        return method(node)

    def _Constant(self, node):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise Unsupported("constant")
        text = (ast.get_source_segment(self.source, node) or str(node.value)).replace("_", "")
        if isinstance(node.value, float) and not re.fullmatch(r"\d+\.\d+|\d+", text):
            raise Unsupported("float syntax")
        return _Out(text, ATOM)

    def _Name(self, node):
        if node.id == "pi":
            return _Out("\\pi", ATOM)
        if node.id in ("oo", "inf"):
            return _Out("\\infty", ATOM)
        return _Out(name_latex(node.id), ATOM, name_end=True)

    def _Subscript(self, node):
        if not isinstance(node.value, ast.Name):
            raise Unsupported("subscript")
        index = self.expr(node.slice)
        return _Out(indexed_latex(node.value.id, index.tex), ATOM, name_end=True)

    def _UnaryOp(self, node):
        operand = self.expr(node.operand)
        if isinstance(node.op, ast.UAdd):
            return operand
        if not isinstance(node.op, ast.USub):
            raise Unsupported("unary")
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
        raise Unsupported("operator")

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
            raise Unsupported("call")
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
            raise Unsupported(name)
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
        component = indexed_latex(z.id, j) if isinstance(z, ast.Name) else f"{self.expr(z).tex}_{{{j}}}"
        normal = f"\\mathcal{{N}}({component};\\, {self.expr(mu).tex}, {self._variance(sigma)})"
        return _Out(f"\\prod_{{{j}={a}}}^{{{b}}} {normal}", ATOM)

    def _limits(self, node):
        if not (isinstance(node, ast.Tuple) and len(node.elts) == 3):
            raise Unsupported("limits")
        return tuple(self.expr(e).tex for e in node.elts)

    def _density_subscript(self, node) -> str:
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id == "N" and len(node.args) == 3:
                x, mu, sigma = node.args
                return f"{self.expr(x).tex} \\sim \\mathcal{{N}}({self.expr(mu).tex}, {self._variance(sigma)})"
            if node.func.id == "MvNormal" and len(node.args) == 3:
                vector, mean, covariance = (self.expr(a).tex for a in node.args)
                return f"{vector} \\sim \\mathcal{{N}}({mean}, {covariance})"
            if node.func.id == "NormalDiag" and len(node.args) == 4:
                return f"{self.expr(node.args[0]).tex} \\sim {self.expr(node).tex}"
            if node.func.id in self.d.distributions:
                return self.expr(node).tex
        raise Unsupported("density")

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

    def _call_Product(self, args):
        _arity(args, 2)
        j, a, b = self._limits(args[1])
        inner = self.expr(args[0])
        text = inner.tex if inner.prec >= MUL and not inner.tex.startswith("-") else _paren(inner.tex)
        tex = f"\\prod_{{{j}={a}}}^{{{b}}} {text}"
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

    # matrices, as the LaTeX reader reads them back: u^\top, \Sigma^{-1}, \log\det, \mathcal{N}(z; \mu, \Sigma)
    def _superscript(self, arg, mark: str) -> _Out:
        inner = self.expr(arg)
        base = inner.tex if inner.prec == ATOM and not inner.closed and "^" not in inner.tex else _paren(inner.tex)
        return _Out(f"{base}^{{{mark}}}", POW)

    def _call_transpose(self, args):
        _arity(args, 1)
        return self._superscript(args[0], "\\top")

    def _call_inv(self, args):
        _arity(args, 1)
        return self._superscript(args[0], "-1")

    def _call_logdet(self, args):
        _arity(args, 1)
        return _Out(f"\\log\\det\\left({self.expr(args[0]).tex}\\right)", ATOM)

    def _call_eye(self, args):
        _arity(args, 1)
        return _Out(f"I_{{{self.expr(args[0]).tex}}}", ATOM)

    def _call_MvNormal(self, args):
        _arity(args, 3)
        z, mu, sigma = (self.expr(a).tex for a in args)
        return _Out(f"\\mathcal{{N}}({z};\\, {mu}, {sigma})", ATOM)

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
        raise Unsupported("arity")


def _elements(node):
    return list(node.elts) if isinstance(node, ast.Tuple) else [node]


def _is_big(node) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("Sum", "Product", "Integral", "E", "KL")
