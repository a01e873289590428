"""Bad input gives file:line: what, plus a hint; never a traceback."""

from __future__ import annotations

import pytest

from klproof.errors import ParseError
from klproof.parse.file import read_derivation

from conftest import derivation_text, read_error


def error_of(text: str | bytes) -> ParseError:
    data = text if isinstance(text, bytes) else text.encode()
    return read_error("bad.toml", data)


@pytest.mark.parametrize("start,expr,message,hint", [
    ("sigma2 + 1", "1", "unknown symbol 'sigma2'", "did you mean 'sigma_2'"),
    ("lgo(x)", "x", "unknown function 'lgo'", "did you mean 'log'"),
    ("x.real", "x", "not allowed", "attribute access"),
    ("__import__('os')", "x", "unknown function '__import__'", ""),
    ("(lambda: 1)()", "x", "cannot be called", ""),
    ("'text'", "x", "is not a number", ""),
    ("[i for i in x]", "x", "not allowed", "comprehensions"),
    ("x^2", "x", "'^' is not a power here", "x**2"),
    ("log(x, 2)", "x", "log() takes 1 argument", ""),
    ("m + 1", "1", "'m' is an indexed family", "m[j]"),
    ("m[x]", "1", "is not an integer", ""),
    ("(x + 1)**100000", "x", "exponent 100000 is too large", ""),
    ("10**10**10", "x", "too large", ""),
    ("x +", "x", "cannot read expression", ""),
    ("R(z|X)", "x", "unknown function 'R'", ""),
    ("P(y|X)", "x", "'y' is not a variable of the distribution P", ""),
    ("x | y", "x", "'|' is only allowed inside a probability", ""),
    ("x < y", "x", "only equations", ""),
    ("1/0", "x", "division by zero", ""),
    ("Sum(x, (x, 1, a))", "x", "the bound a of a sum is not provably an integer", "declare the bound as an integer"),
    ("Sum(x, (x, 1/2, 3))", "x", "the bound 1/2 of a sum is not provably an integer", ""),
    ("NormalDiag(z, m[j], 1, (j, 1, a))", "x", "is not provably an integer", ""),
    ("E(x, x)", "x", "is not a density", ""),
])
def test_expression_errors(start, expr, message, hint):
    error = error_of(derivation_text(start, expr))
    assert message in error.message
    assert hint in (error.hint or "")
    assert error.span.path == "bad.toml" and error.span.line > 1


@pytest.mark.parametrize("text,message,line", [
    (b"title = \"t\"\n[symbols\n", "not valid TOML", 2),
    (b"title = \"t\"\n\xff\xfe", "not valid UTF-8", 2),
    (b"[symbols]\nx = \"real\"\n", "needs a title", 1),
    (b"title = \"t\"\n[symbols]\nx = \"rael\"\n[[chain]]\nstart = \"x\"\n", "unknown assumption 'rael'", 3),
    (b"title = \"t\"\n[symbols]\nx = \"real\"\n", "has no chains", 1),
    (b"title = \"t\"\n[symbols]\nx = \"real\"\n[[chain]]\nstart = \"x\"\n", "has no steps", 4),
    (b"title = \"t\"\nfoo = 1\n", "unknown top-level key 'foo'", 2),
    (b"title = \"t\"\n[symbols]\nx = \"real\"\n[families]\nx = \"real\"\n", "declared twice", 5),
    (b"title = \"t\"\n[symbols]\nx = \"real\"\n[[chain]]\nstart = \"x\"\n[[chain.step]]\nexpr = \"x\"\nby = \"magic\"\n",
     "unknown justification 'magic'", 8),
    (b"title = \"t\"\n[symbols]\nx = \"real\"\n[[chain]]\nstart = \"x\"\n[[chain.step]]\nexpr = \"x\"\nbyy = \"algebra\"\n",
     "unknown key 'byy'", 8),
])
def test_file_errors(text, message, line):
    error = error_of(text)
    assert message in error.message
    assert error.span.line == line


def test_error_render_has_where_what_and_hint():
    error = error_of(derivation_text("sigma2 + 1", "1"))
    rendered = error.render()
    assert rendered.startswith("bad.toml:") and "hint:" in rendered


def test_step_keeps_its_line():
    text = derivation_text("x + x", "2*x")
    (step,) = read_derivation("ok.toml", text.encode()).steps
    assert text.splitlines()[step.span.line - 1].startswith("expr = ")
