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
import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sympy as sp
from sympy.printing.latex import LatexPrinter

from klproof import vocabulary as C
from klproof.model import Bound, Chain, Derivation, Identity, Implication, Step, expression_text
from klproof.report.author import AuthorPrinter, Unsupported
from klproof.report.layout import (NUMERIC_RELATION, ExportChain, ExportLine, is_verified, layout_chain, render_align,
                                   status_counts, verdict_word)
from klproof.report.texnames import (OMITTED, author_tex, comment_text, escape_text, indexed_latex, name_latex,
                                     title_latex)
from klproof.verdict import Report, Verdict
from klproof.vocabulary import domains

__all__ = ["render_latex", "render_expression", "ReadBack", "export_chains", "escape_text", "is_verified",
           "unverified_steps", "verdict_word", "ExportChain", "ExportLine", "sympy_latex"]

class KlproofLatexPrinter(LatexPrinter):
    """SymPy's LaTeX printer with the field's notation for klproof's vocabulary."""

    def __init__(self, settings=None):
        super().__init__({"ln_notation": False, **(settings or {})})

    def _print_Symbol(self, expr, style="plain"):
        return name_latex(expr.name)

    def _print_Pow(self, expr):
        # SymPy prints f(x)^2 by passing exp= to f's printer; a notion whose printer takes no power is bracketed
        base = expr.base
        if base.is_Function and not _takes_power(self, base):
            return rf"\left({self._print(base)}\right)^{{{self._print(expr.exp)}}}"
        return super()._print_Pow(expr)

    def _print_Indexed(self, expr):
        return indexed_latex(expr.base.label.name, ", ".join(self._print(i) for i in expr.indices))

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
        j_tex = self._print(j)
        component = indexed_latex(z.name, j_tex) if isinstance(z, sp.Symbol) else f"{self._print(z)}_{{{j_tex}}}"
        return (f"\\prod_{{{self._print(j)}={self._print(a)}}}^{{{self._print(b)}}} "
                f"\\mathcal{{N}}({component};\\, {self._print(mu)}, {self._variance(sigma)})")

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
        if isinstance(density, C.NAMED_DENSITIES):
            x, *params = density.args
            shown = ", ".join(self._print(a) for a in params)
            return f"{self._print(x)} \\sim \\mathrm{{{density.latex_names[0]}}}({shown})"
        return f"{self._print(C.density_variable(density))} \\sim {self._print(density)}"

    def _print_Expectation(self, e, exp=None):  # exp: SymPy passes the power of E[f]^2 here
        f, density, _ = e.args
        text = f"\\mathbb{{E}}_{{{self.density_subscript(density)}}}\\left[{self._print(f)}\\right]"
        return f"\\left({text}\\right)^{{{exp}}}" if exp else text

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

    def _print_Product(self, e):
        (j, a, b), = e.limits
        return f"\\prod_{{{self._print(j)}={self._print(a)}}}^{{{self._print(b)}}} {self._bracket_sum(e.function)}"

    def _print_Integral(self, e):
        # SymPy merges nested integrals into one with several limits, the first the innermost:
        # \int (outermost) ... \int (innermost) f \, d(innermost) ... \, d(outermost)
        body = self._print(e.function)
        if isinstance(e.function, sp.Add):
            body = f"\\left({body}\\right)"
        signs = " ".join(f"\\int_{{{self._print(lo)}}}^{{{self._print(hi)}}}" for _, lo, hi in reversed(e.limits))
        differentials = " ".join(f"\\, d{self._print(x)}" for x, _, _ in e.limits)
        return f"{signs} {body} {differentials}"

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

    # matrices: read back by the LaTeX reader (u^{T}, \Sigma^{-1}, \mathcal{N}(z; \mu, \Sigma))
    def _print_Scalar(self, e):
        return self._print(e.args[0])

    def _print_MvNormal(self, e):
        z, mu, sigma = (self._print(a) for a in e.args)
        return f"\\mathcal{{N}}({z};\\, {mu}, {sigma})"

    def _print_log(self, e, exp=None):
        text = f"\\log\\left({self._print(e.args[0])}\\right)"
        return f"{text}^{{{exp}}}" if exp else text


def _takes_power(printer: LatexPrinter, e) -> bool:
    """Whether the printer of `e` (its class's _latex hook, or the printer's _print_<class>) accepts exp=."""
    hook = getattr(type(e), "_latex", None) or getattr(printer, f"_print_{type(e).__name__}", None)
    if hook is None:
        return True  # SymPy's own printers of functions take it
    return "exp" in inspect.signature(hook).parameters


_PRINTER = KlproofLatexPrinter()


def sympy_latex(expr) -> str:
    """The canonical rendering (SymPy's order of terms), with the field's notation."""
    return _PRINTER.doprint(expr)

# -- one expression, verified -------------------------------------------------------------

@dataclass(frozen=True)
class ReadBack:
    """How an export reads its own output back, in the derivation's scope. The export pipeline
    (klproof.export) gives it: reporters do not import the readers."""

    read: Callable[[str, bool], Any]  # (text, is it LaTeX) -> what the readers make of it; None if unreadable
    clean_latex: Callable[[str], str]  # an author's LaTeX without tags, colours and spacing marks


@dataclass(frozen=True)
class Rendered:
    """An expression (or equation) as LaTeX, and how it was obtained."""

    lhs: str | None  # the left side of an equation
    tex: str  # the expression, or the right side of an equation
    how: str  # "author", "latex source", "sympy", "verbatim"


def _reads_back(tex: str, reader: ReadBack, expected) -> bool:
    got = reader.read(tex, True)
    if got is None:
        return False
    if isinstance(expected, tuple):
        return isinstance(got, tuple) and got[0] == expected[0] and got[1] == expected[1]
    return not isinstance(got, tuple) and got == expected


def render_expression(text: str, expected, derivation: Derivation, reader: ReadBack, latex_source: bool) -> Rendered:
    """`text` (the author's) as LaTeX whose reading is `expected` (an expression, or a (lhs, rhs) pair)."""
    candidates: list[tuple[str | None, str, str]] = []
    lhs: str | None
    if latex_source:
        cleaned = author_tex(reader.clean_latex(text))
        if cleaned is not None:
            lhs, _, rhs = _split_equation(cleaned) if isinstance(expected, tuple) else (None, "", cleaned)
            candidates.append((lhs, rhs, "latex source"))
    else:
        try:
            tree = ast.parse(" ".join(text.splitlines()), mode="eval")
            lhs, rhs = AuthorPrinter(derivation, " ".join(text.splitlines())).top(tree.body)
            if (lhs is None) == (not isinstance(expected, tuple)):
                candidates.append((lhs, rhs, "author"))
        except (SyntaxError, Unsupported, RecursionError, ValueError):
            pass
    if isinstance(expected, tuple):
        candidates.append((sympy_latex(expected[0]), sympy_latex(expected[1]), "sympy"))
    else:
        candidates.append((None, sympy_latex(expected), "sympy"))
    for lhs, rhs, how in candidates:
        tex = rhs if lhs is None else f"{lhs} = {rhs}"
        if _reads_back(tex, reader, expected):
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


# -- the document -------------------------------------------------------------------------
def unverified_steps(derivation: Derivation, report: Report) -> list[str]:
    """'path:line: step N is STATUS' for every step that does not hold (as `klproof check` grades it)."""
    verdicts = _verdicts_for(derivation, report)
    out = []
    for step in derivation.steps:
        v = verdicts.get(step.number)
        if not is_verified(v):
            out.append(f"{step.span.path}:{step.span.line}: step {step.number} is {v.status.value if v else 'not checked'}")
    return out


def _verdicts_for(derivation: Derivation, report: Report) -> dict[int, Verdict]:
    for file in report.files:
        if file.path == derivation.path:
            return {v.step.number: v for v in file.verdicts}
    return {}


def _start_rendering(chain: Chain, derivation: Derivation, reader: ReadBack) -> Rendered:
    """The first expression of a chain that does not open with an equation: its text may be either syntax."""
    for latex in (False, True):
        parsed = reader.read(chain.start_text, latex)
        if parsed is not None and not isinstance(parsed, tuple) and parsed == chain.start:
            return render_expression(chain.start_text, chain.start, derivation, reader, latex)
    return render_expression("", chain.start, derivation, reader, False)


def export_chains(derivation: Derivation, report: Report, reader: ReadBack) -> tuple[ExportChain, ...]:
    """The derivation as lines ready to print, each with its rendering and verdict."""
    verdicts = _verdicts_for(derivation, report)
    chains: list[ExportChain] = []
    for chain in derivation.chains:
        lines: list[ExportLine] = []
        steps = list(chain.steps)
        if not chain.start_is_equation:
            r = _start_rendering(chain, derivation, reader)
            lines.append(ExportLine("", None, r.tex, f"{chain.span.path}:{chain.span.line}", "", "", None))
        for step in steps:
            lines.append(_step_line(step, derivation, reader, verdicts.get(step.number)))
        chains.append(ExportChain(chain.title, tuple(lines), chain.relation.latex))
    return tuple(chains)


def _step_line(step: Step, derivation: Derivation, reader: ReadBack, verdict: Verdict | None) -> ExportLine:
    claim = step.claim
    assert claim is not None, "an export refuses a file with an unreadable step (klproof.export)"
    where = f"{step.span.path}:{step.span.line}"
    rel = step.relation.latex
    if step.is_equation:
        expected = (claim.lhs, claim.rhs)
        text = step.text
        if isinstance(claim, Bound) and step.latex_source:  # read back as an equation: the sides are what counts
            text = _LATEX_RELATION.sub("=", text, count=1)
        r = render_expression(text, expected, derivation, reader, step.latex_source)
        if r.lhs is None:  # verbatim: the whole equation is one text
            return ExportLine("", None, r.tex, where, step.by_text, step.note, verdict, isinstance(claim, Implication))
        return ExportLine(rel, r.lhs, r.tex, where, step.by_text, step.note, verdict, isinstance(claim, Implication))
    assert isinstance(claim, (Identity, Bound))
    text = expression_text(step.text) if isinstance(claim, Bound) else step.text
    r = render_expression(text, claim.rhs, derivation, reader, step.latex_source)
    return ExportLine(rel, None, r.tex, where, step.by_text, step.note, verdict)


_LATEX_RELATION = re.compile(r"\\(?:leqslant|geqslant|leq|geq|le|ge)(?![A-Za-z])|<|>")

def assumption_lines(derivation: Derivation, reader: ReadBack) -> list[str]:
    """LaTeX lines for every declaration: symbols grouped by their assumptions, distributions, definitions."""
    groups: dict[str, list[str]] = {}
    bounded: list[str] = []
    for name, words in derivation.assumptions.items():
        math = indexed_latex(name[:-3], "j") if name.endswith("[j]") else name_latex(name)
        domain = domains.domain_of(derivation.symbols.get(name))
        if domain is not None:  # an interval or a set, as mathematics
            bounded.append(f"${domains.latex(domain, math, name_latex)}$")
            continue
        groups.setdefault(" ".join(words.split()) or "complex", []).append(math)
    out = [f"${', '.join(names)}$: {escape_text(words)}" for words, names in groups.items()] + bounded
    if derivation.distributions:
        shown = ", ".join(f"{name_latex(n)}({', '.join(name_latex(v) for v in vs)})"
                          for n, vs in derivation.distributions.items())
        out.append(f"${shown}$: probability distributions, positive wherever a log is taken")
    for name, (params, body, text) in derivation.definitions.items():
        r = render_expression(text, body, derivation, reader, False)
        head = f"{name_latex(name)}({', '.join(name_latex(str(p)) for p in params)})"
        out.append(f"${head} = {r.tex}$: definition")
    return out


def render_latex(derivation: Derivation, report: Report, reader: ReadBack, standalone: bool = False,
                 tags: bool = False, marks: bool = False) -> str:
    """The derivation as LaTeX: one amsmath align* (align with --tags) per chain."""
    chains = export_chains(derivation, report, reader)
    body: list[str] = [f"% klproof export of {comment_text(derivation.path)}: {comment_text(derivation.title)}"]
    for chain in chains:
        body.append("")
        if standalone:
            body.append(f"\\subsection*{{{title_latex(chain.title)}}}")
            size, align = layout_chain(chain, tags, marks)
            body.append(f"{{{size}" if size else "{")
            body.append(align)
            body.append("}")
            if chain.relation != "=":
                body.append(f"The chain concludes: first expression ${chain.relation}$ last expression.")
        else:
            body.append(f"% {comment_text(chain.title)}")
            if chain.relation != "=":
                body.append(f"% the chain concludes: first expression {chain.relation} last expression")
            body.append(render_align(chain, tags, marks))
    if not standalone:
        return "\n".join(body) + "\n"
    title = title_latex(derivation.title)
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
    for text in assumption_lines(derivation, reader):
        head.append(f"  \\item {text}")
    head += ["\\end{itemize}", "", "\\section*{Derivation}"]
    return "\n".join(head + body + ["", "\\end{document}"]) + "\n"

def _status_sentence(derivation: Derivation, report: Report) -> str:
    verdicts = _verdicts_for(derivation, report)
    proved, numeric, total = status_counts([verdicts.get(s.number) for s in derivation.steps])
    if proved == total:
        return f"\\noindent All {total} steps were proved by klproof under the assumptions below."
    if proved + numeric == total:
        return (f"\\noindent All {total} steps hold as klproof checks them under the assumptions below: {proved} "
                f"proved, and {numeric} accepted on numeric evidence (both sides agree at sample points, which is "
                f"not a proof), marked ${NUMERIC_RELATION}$.")
    return (f"\\noindent\\textbf{{Not verified:}} only {proved + numeric} of {total} steps hold "
            f"({proved} proved{f', {numeric} accepted on numeric evidence' if numeric else ''}); "
            f"the others are marked $\\overset{{?}}{{=}}$ and with their verdict.")
