"""LaTeX and Markdown export: golden files for proofs/, the round trip, pdflatex, and the CLI.

Regenerate the golden files after an intended change of the output with
    KLPROOF_UPDATE_GOLDEN=1 .venv/bin/python -m pytest -q tests/test_latex_export.py
and review the diff under tests/golden/ before committing it.
"""

from __future__ import annotations

import re

import os
import shutil
import subprocess
from functools import lru_cache

import pytest
import sympy as sp

from conftest import ROOT, derivation_text, run_cli
from klproof.api import check_sources, parse_sources
from klproof.errors import Span
from klproof.parse.latex import parse_latex
from klproof.export import derivation_scope, read_back
from klproof.export import latex as render_latex
from klproof.export import markdown as render_markdown
from klproof.report.latex import escape_text, render_expression

GOLDEN = ROOT / "tests" / "golden"
PROOFS = sorted((ROOT / "proofs").glob("*.toml"))
UPDATE = os.environ.get("KLPROOF_UPDATE_GOLDEN") == "1"


@lru_cache(maxsize=None)
def checked():
    sources = [(f"proofs/{p.name}", p.read_bytes()) for p in PROOFS]
    report = check_sources(sources, jobs=2)
    return {d.path: d for d in parse_sources(sources)}, report


def _golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"missing golden file {path}: run with KLPROOF_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8"), f"{name} differs from its golden file (KLPROOF_UPDATE_GOLDEN=1 to accept)"


@pytest.mark.parametrize("proof", [p.name for p in PROOFS])
def test_golden_exports(proof):
    derivations, report = checked()
    d = derivations[f"proofs/{proof}"]
    stem = proof.removesuffix(".toml")
    _golden(f"{stem}.tex", render_latex(d, report))
    _golden(f"{stem}.standalone.tex", render_latex(d, report, standalone=True, tags=True, marks=True))
    _golden(f"{stem}.md", render_markdown(d, report))


def test_round_trip_every_step_of_proofs():
    """Every exported expression, read back by klproof's LaTeX reader, is the expression that was checked."""
    derivations, _ = checked()
    count = 0
    for d in derivations.values():
        scope = derivation_scope(d)
        for step in d.steps:
            claim = step.claim
            expected = (claim.lhs, claim.rhs) if step.is_equation else claim.rhs
            r = render_expression(step.text, expected, d, read_back(d), step.latex_source)
            assert r.how != "verbatim", f"{step.span}: no LaTeX rendering reads back"
            tex = r.tex if r.lhs is None else f"{r.lhs} = {r.tex}"
            got = parse_latex(tex, scope, Span("<export>", 1))
            if step.is_equation:
                assert isinstance(got, tuple) and sp.simplify(got[0] - claim.lhs) == 0 and got[1] == claim.rhs, step.span
            else:
                assert got == claim.rhs, f"{step.span}: {tex}"
            count += 1
    assert count == sum(len(d.steps) for d in derivations.values()) > 50


def test_author_order_is_kept():
    derivations, report = checked()
    tex = render_latex(derivations["proofs/000_kl_divergence_integral.toml"], report)
    assert "-\\frac{1}{2} \\sum_{j=1}^{J} \\left(1 + \\log \\sigma_{j}^{2} - \\mu_{j}^{2} - \\sigma_{j}^{2}\\right)" in tex
    assert "\\mathcal{N}(x;\\, \\mu_{1}, \\sigma_{1}^{2})" in tex
    assert "% proofs/000_kl_divergence_integral.toml:86" in tex
    assert "\\ln" not in tex


def test_printer_uses_the_fields_notation():
    derivations, report = checked()
    tex = render_latex(derivations["proofs/001_kl_divergence_derivation.toml"], report)
    assert "D_{\\mathrm{KL}}\\left(Q(z \\mid X) \\,\\|\\, P(z \\mid X)\\right)" in tex
    assert "\\mathbb{E}_{Q(z \\mid X)}\\left[\\log P(X \\mid z)\\right]" in tex
    md = render_markdown(derivations["proofs/002_epsilon_reparameterisation.toml"], report)
    assert "$$" in md and "\\epsilon" in md and "d\\epsilon" in md


def test_non_ascii_text_is_kept_out_of_the_tex_body():
    assert escape_text("Appendix - KL Divergence 적분: D_KL") == "Appendix - KL Divergence [...] : D\\_KL"
    assert escape_text("café ε") == "cafe $\\epsilon$"
    derivations, report = checked()
    tex = render_latex(derivations["proofs/000_kl_divergence_integral.toml"], report, standalone=True)
    assert tex.isascii()


def test_unverified_steps_are_refused_or_marked(tmp_path):
    path = tmp_path / "wrong.toml"
    path.write_text(derivation_text("(a + b)**2", "a**2 + b**2"))
    refused = run_cli("export", str(path))
    assert refused.returncode == 1 and "wrong.toml:" in refused.stderr and "refuted" in refused.stderr
    assert refused.stdout == ""
    marked = run_cli("export", str(path), "--allow-unverified")
    assert marked.returncode == 0 and "\\overset{?}{=}" in marked.stdout and "[REFUTED]" in marked.stdout
    md = run_cli("export", str(path), "--to", "markdown", "--allow-unverified")
    assert "REFUTED" in md.stdout and "Not verified" in md.stdout


def test_export_bad_input_exits_2(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(derivation_text("sigma2 + 1", "1 + sigma2"))
    result = run_cli("export", str(bad))
    assert result.returncode == 2 and "unknown symbol 'sigma2'" in result.stderr and "Traceback" not in result.stderr
    missing = run_cli("export", str(tmp_path / "nope.toml"))
    assert missing.returncode == 2 and "no such file" in missing.stderr.lower()


def test_export_writes_a_file(tmp_path):
    out = tmp_path / "x.md"
    result = run_cli("export", "proofs/002_epsilon_reparameterisation.toml", "--to", "markdown", "-o", str(out))
    assert result.returncode == 0 and result.stdout == ""
    assert out.read_text(encoding="utf-8").startswith("# Deriving $-D_{\\mathrm{KL}}$ with")


@pytest.mark.skipif(shutil.which("pdflatex") is None,
                    reason="pdflatex is not installed (apt-get install texlive-latex-base texlive-latex-recommended; .ci/run does)")
def test_standalone_export_compiles_with_pdflatex(tmp_path):
    derivations, report = checked()
    for name in ("proofs/000_kl_divergence_integral.toml", "proofs/003_kl_divergence_latex.toml"):
        (tmp_path / "doc.tex").write_text(render_latex(derivations[name], report, standalone=True, marks=True,
                                                            tags=name.startswith("proofs/003")), encoding="ascii")
        result = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "doc.tex"], cwd=tmp_path,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stdout[-3000:]
        assert (tmp_path / "doc.pdf").stat().st_size > 10_000


def test_a_step_accepted_on_numeric_evidence_is_exported_without_a_flag_and_says_so(tmp_path):
    path = tmp_path / "numeric.toml"
    path.write_text(derivation_text("sqrt(t**2 + 2*t + 1)", "t + 1", "algebra") + "numeric = true\n")
    tex = run_cli("export", "--standalone", str(path))
    assert tex.returncode == 0, tex.stderr
    # the points and digits are the evidence's own (24 points for arithmetic, agreement to 30 digits or more)
    assert "\\overset{\\text{num.}}{=}" in tex.stdout
    assert re.search(r"\[numeric evidence: \d+ points, (3\d|4\d) digits, accepted\]", tex.stdout)
    assert "1 accepted on numeric evidence" in tex.stdout and "not a proof" in tex.stdout
    assert "\\overset{?}{=}" not in tex.stdout and "Not verified" not in tex.stdout
    md = run_cli("export", "--to", "markdown", str(path))
    assert md.returncode == 0 and re.search(r"≈ numeric evidence, accepted \(\d+ points agree to \d+ digits", md.stdout)
    assert "ACCEPTED" not in md.stdout and "✗" not in md.stdout and "Not verified" not in md.stdout
    path.write_text(derivation_text("sqrt(t**2 + 2*t + 1)", "t + 1", "algebra"))  # not accepted: refused
    refused = run_cli("export", str(path))
    assert refused.returncode == 1 and "step 1 is numeric" in refused.stderr



POWERED = ["KL(N(x, mu, 1), N(x, 0, 1))", "N(x, mu, 1)", "NormalDiag(z, m[j], v[j], (j, 1, J))", "P(z|X)", "Sum(x, z)",
           "tr(diag(v[j], (j, 1, J)))", "det(diag(v[j], (j, 1, J)))", "dot(m[j], m[j], (j, 1, J))", "g(x)",
           "Bernoulli(1, t)", "Laplace(x, mu, 1)", "Exponential(x, 1)", "E(x, N(x, mu, 1))", "Derivative(mu**3, mu)",
           "Categorical(x, m[i], (i, 1, 3))", "Product(v[j], (j, 1, J))", "Sum(m[j], (j, 1, J))"]


@pytest.mark.parametrize("text", POWERED)
def test_every_notion_to_a_power_prints(text):
    """SymPy prints f(x)^2 by handing the power to f's printer: a notion whose printer takes none must not crash."""
    from klproof.parse.file import read_derivation
    from klproof.report.latex import sympy_latex

    source = derivation_text(f"({text})**2", "1", extra='[definitions]\n"g(a)" = "a + 1"')
    (step,) = read_derivation("power.toml", source.encode()).steps
    assert "^{2}" in sympy_latex(step.claim.lhs)
