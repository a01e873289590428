"""The one builder behind both readers: the same guards on the LaTeX path as on the expression path,
ParseError and nothing else, the right line and column, and no notation read two ways."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from klproof.errors import ParseError, Span
from klproof.parse.build import Scope
from klproof.parse.file import read_derivation
from klproof.parse.latex import parse_latex

from conftest import read_error

import sympy as sp

HEADER = '''title = "t"
[symbols]
x = "real"
mu = "real"
sigma = "positive"
j = "integer"
J = "positive integer"
z = "real"
X = "real"
[families]
m = "real"
[distributions]
Q = ["z", "X"]
'''


def scope() -> Scope:
    s = Scope()
    for name in ("x", "mu", "a"):
        s.symbols[name] = sp.Symbol(name, real=True)
    s.symbols["sigma"] = sp.Symbol("sigma", positive=True)
    s.symbols["J"] = sp.Symbol("J", positive=True, integer=True)
    s.families["m"] = sp.IndexedBase("m", real=True)
    return s


@pytest.mark.parametrize("latex,message", [
    ("{10^{999}}^{5}", "more than 2,000 digits"),
    ("{{{10^{999}}^{999}}^{999}}", "more than 2,000 digits"),
    ("2^{10^{99}}", "exponent"),
    ("\\log(0)", "undefined"),
    ("\\log 0", "undefined"),
    ("\\sqrt[0]{2}", "positive integer"),
    ("\\frac{1}{0}", "division by zero"),
    ("0^{-1}", "zero base"),
    ("(x-\\mu)^2/2\\sigma^2", "two readings"),
    ("1/2\\sigma", "two readings"),
    ("x/\\sigma \\mu", "two readings"),
    ("x^\u0663", "not understood"),
    ("\u0967\u0968 x", "not understood"),
    ("\\sum_{j=1}^{\\sigma} x", "not provably an integer"),
    ("\\sum_{j=1}^{3/2} x", "not provably an integer"),
])
def test_latex_guards_are_the_expression_readers(latex, message):
    with pytest.raises(ParseError) as info:
        parse_latex(latex, scope(), Span("f.toml", 3, 9))
    assert message in info.value.message, info.value.message


@pytest.mark.parametrize("latex,expected", [
    ("\\frac{(x-\\mu)^2}{2\\sigma^2}", "(x - mu)**2/(2*sigma**2)"),
    ("(x-\\mu)^2/(2\\sigma^2)", "(x - mu)**2/(2*sigma**2)"),
    ("\\frac{1}{2} \\sigma", "sigma/2"),
    ("x/2 \\cdot \\sigma", "sigma*x/2"),
])
def test_the_unambiguous_spellings_still_read(latex, expected):
    assert sp.simplify(parse_latex(latex, scope(), Span("f.toml", 1)) - sp.sympify(expected, locals={
        "x": sp.Symbol("x", real=True), "mu": sp.Symbol("mu", real=True),
        "sigma": sp.Symbol("sigma", positive=True)})) == 0


def test_latex_errors_point_at_the_files_line_and_column():
    text = HEADER + "[[chain]]\nstart = 'x'\n[[chain.step]]\nlatex = '''\nx +\n  \\log(0)'''\n"
    error = read_error("f.toml", text.encode())
    line = text.splitlines().index("  \\log(0)'''") + 1
    assert error.span.line == line and error.span.col == 3, error.span


def test_latex_binders_do_not_see_the_files_assumptions():
    text = HEADER.replace('x = "real"', 'x = "positive"') + \
        "[[chain]]\nlatex = '\\int_{-1}^{1} \\left| x \\right| dx'\n[[chain.step]]\nlatex = '\\int_{-1}^{1} x \\, dx'\n"
    (step,) = read_derivation("f.toml", text.encode()).steps
    assert step.claim.lhs.has(sp.Abs)  # |x| was not simplified to x under the file's x > 0
    assert step.claim.lhs != step.claim.rhs


TOKENS = ["\\frac", "\\sqrt", "\\sum", "\\int", "\\prod", "\\log", "\\exp", "\\mathbb{E}", "\\mathcal{N}", "D_{KL}",
          "\\left(", "\\right)", "\\langle", "\\rangle", "\\|", "\\mid", "\\sim", "\\cdot", "{", "}", "(", ")", "[", "]",
          "^", "_", "=", "+", "-", "/", ",", ";", "|", "d", "x", "\\mu", "\\sigma", "j", "J", "z", "Q", "m_j",
          "1", "2", "10", "0.5", "\\infty", "\\pi", "e", "\\operatorname{diag}", "\\operatorname{tr}", "\\tag{1}",
          "\\\\", "&", "\\boxed", "\\mathrm{d}", "\\over", "!", "'", "\\le", "\u00e9", "\u0663"]


@settings(max_examples=400, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(TOKENS), min_size=1, max_size=30))
def test_latex_token_soups_raise_nothing_but_parse_errors(tokens):
    s = scope()
    s.symbols["z"] = sp.Symbol("z", real=True)
    s.symbols["X"] = sp.Symbol("X", real=True)
    s.symbols["j"] = sp.Symbol("j", integer=True)
    s.distributions["Q"] = ("z", "X")
    try:
        parse_latex(" ".join(tokens), s, Span("f.toml", 1, 9))
    except ParseError as exc:
        assert exc.span is not None and exc.span.path == "f.toml"


@pytest.mark.parametrize("expr,message", [
    ("\uff58 + 1", "non-ASCII character U+FF58"),
    ("\U0001d431 + 1", "non-ASCII"),
    ("x + \u0967", "non-ASCII"),
])
def test_expression_lookalikes_are_refused(expr, message):
    text = HEADER + f"[[chain]]\nstart = 'x'\n[[chain.step]]\nexpr = '{expr}'\n"
    error = read_error("f.toml", text.encode())
    assert message in error.message
    assert "ASCII" in error.hint


@pytest.mark.parametrize("name", ["lambda", "None", "True", "import"])
def test_keywords_cannot_be_declared(name):
    text = HEADER.replace('x = "real"', f'{name} = "real"\nx = "real"')
    error = read_error("f.toml", text.encode() + b"[[chain]]\nstart = 'x'\n[[chain.step]]\nexpr = 'x'\n")
    assert "keyword" in error.message and error.span.line == 3
