"""The Bernoulli distribution, added as one notion of the vocabulary: both syntaxes, E and KL, both exports."""

from __future__ import annotations

import pytest

from klproof.check.decide import Options, check_step
from klproof.parse.file import read_derivation
from klproof.verdict import Status

from conftest import run_cli

HEADER = '''title = "Bernoulli"
[symbols]
x = "real"
p = "positive"
q = "positive"
c = "real"
'''


def verdict(start: str, step: str, start_key: str = "start", step_key: str = "expr"):
    text = HEADER + f"[[chain]]\n{start_key} = '''{start}'''\n[[chain.step]]\n{step_key} = '''{step}'''\n"
    (only,) = read_derivation("b.toml", text.encode()).steps
    return check_step(only, Options())


@pytest.mark.parametrize("start,step,status", [
    ("E(x, Bernoulli(x, p))", "p", Status.PROVED),
    ("E(x**2, Bernoulli(x, p))", "p", Status.PROVED),  # x in {0, 1}: x**2 = x
    ("E(x**2 + c*x, Bernoulli(x, p))", "(1 + c)*p", Status.PROVED),
    ("E((x - p)**2, Bernoulli(x, p))", "p*(1 - p)", Status.PROVED),  # the variance
    ("KL(Bernoulli(x, p), Bernoulli(x, q))", "p*log(p) - p*log(q) + (1 - p)*log(1 - p) - (1 - p)*log(1 - q)",
     Status.PROVED),
    ("Bernoulli(1, p)", "p", Status.PROVED),
    ("Bernoulli(0, p)", "1 - p", Status.PROVED),
    ("E(x, Bernoulli(x, p))", "1 - p", Status.REFUTED),
    ("E((x - p)**2, Bernoulli(x, p))", "p**2", Status.REFUTED),
    ("KL(Bernoulli(x, p), Bernoulli(x, q))", "p*log(p) - p*log(q)", Status.REFUTED),
])
def test_expression_syntax(start, step, status):
    assert verdict(start, step).status is status


def test_the_bound_variable_is_in_its_support_whatever_the_file_says():
    # x is declared real for the file; under E over Bernoulli it is 0 or 1, so x**3 = x there
    assert verdict("E(x**3, Bernoulli(x, p))", "E(x, Bernoulli(x, p))").status is Status.PROVED
    assert verdict("x**3", "x").status is not Status.PROVED  # and outside it is any real


@pytest.mark.parametrize("start,step,status", [
    ("\\mathbb{E}_{x \\sim \\mathrm{Bern}(p)}\\left[x\\right]", "= p", Status.PROVED),
    ("\\mathbb{E}_{\\mathrm{Bern}(x; p)}\\left[x^2\\right]", "= p", Status.PROVED),
    ("\\operatorname{Bern}(1; p)", "= p", Status.PROVED),
    ("\\mathbb{E}_{x \\sim \\mathrm{Bernoulli}(p)}\\left[x\\right]", "= 1 - p", Status.REFUTED),
])
def test_latex_syntax(start, step, status):
    assert verdict(start, step, "latex", "latex").status is status


def test_both_exports_print_it_and_read_back(tmp_path):
    path = tmp_path / "b.toml"
    path.write_text(HEADER + "[[chain]]\nstart = 'E(x**2 + c*x, Bernoulli(x, p))'\n[[chain.step]]\nexpr = '(1 + c)*p'\n")
    latex = run_cli("export", str(path), "--to", "latex")
    markdown = run_cli("export", str(path), "--to", "markdown")
    assert latex.returncode == 0 and markdown.returncode == 0, latex.stderr + markdown.stderr
    for out in (latex.stdout, markdown.stdout):
        assert "\\mathbb{E}_{x \\sim \\mathrm{Bern}(p)}" in out and "texttt" not in out
