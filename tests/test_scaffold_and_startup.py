"""`klproof new`, `klproof explain`, exit codes, and a start-up that does not import SymPy."""

from __future__ import annotations

import subprocess
import sys

from cli_inprocess import invoke
from conftest import ROOT, run_cli

EXAMPLE = ROOT / "examples" / "001_kl_divergence_derivation_as_written.toml"


def test_new_writes_a_starter_that_passes_and_refuses_to_overwrite(tmp_path):
    result = run_cli("new", "my_derivation", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    path = tmp_path / "my_derivation.toml"
    text = path.read_text()
    assert text.count("#") >= 10 and 'title = "my derivation"' in text and "[[chain.step]]" in text
    checked = run_cli("check", "--no-cache", str(path))
    assert checked.returncode == 0 and "PASSED" in checked.stdout and "proved" in checked.stdout, checked.stdout
    again = run_cli("new", "my_derivation.toml", cwd=tmp_path)
    assert again.returncode == 2 and "already exists" in again.stderr
    assert path.read_text() == text


def test_explain_shows_the_stages_the_closing_one_and_the_forms():
    result = invoke("explain", f"{ROOT}/proofs/002_epsilon_reparameterisation.toml:72")
    assert result.returncode == 0, result.stdout
    out = result.stdout
    assert "step 11" in out and "stage 1: stated rules" in out and "← closed it" in out
    assert "definition of KL →" in out and "KL(N(z, mu, sigma), N(z, 0, 1))" in out  # forms in the file's syntax
    assert "Verdict: ✓ proved" in out


def test_explain_a_refuted_step_shows_every_stage_and_the_witness():
    result = invoke("explain", f"{EXAMPLE}:92")
    assert result.returncode == 1
    out = result.stdout
    assert "stage 1: stated rules" in out and "stage 2: all rules" in out and "closed it" not in out
    assert "Bayes' rule →" in out and "Not closed" in out and "witness:" in out and "diagnosis:" in out


def test_explain_rejects_bad_locations_with_exit_2():
    assert invoke("explain", str(EXAMPLE)).returncode == 2
    assert invoke("explain", f"{EXAMPLE}:1").returncode == 2
    assert invoke("explain", "no/such/file.toml:3").returncode == 2


def test_exit_codes_0_1_2():
    assert run_cli("check", "proofs/000_kl_divergence_integral.toml").returncode == 0
    assert invoke("check", str(EXAMPLE)).returncode == 1
    assert invoke("check", "--format", "yaml", str(EXAMPLE)).returncode == 2  # bad usage
    assert invoke("check", "--jobs", "-1", str(EXAMPLE)).returncode == 2
    assert invoke("check").returncode == 2
    assert invoke("frobnicate").returncode == 2


def test_help_and_version_do_not_import_sympy():
    code = """
import sys
from typer.testing import CliRunner
from klproof.cli import app
runner = CliRunner()
assert runner.invoke(app, ["--help"]).exit_code == 0
assert runner.invoke(app, ["check", "--help"]).exit_code == 0
version = runner.invoke(app, ["--version"])
assert version.exit_code == 0 and version.stdout.startswith("klproof ")
print(sorted(m for m in sys.modules if m.split(".")[0] in ("sympy", "mpmath", "lark")))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
    helped = run_cli("--help")
    assert helped.returncode == 0 and all(c in helped.stdout for c in ("check", "new", "explain"))


def test_derivations_only_skips_other_toml_files(tmp_path):
    from conftest import derivation_text

    (tmp_path / "d.toml").write_text(derivation_text("(a + b)**2", "a**2 + 2*a*b + b**2"))
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert invoke("check", "--no-cache", str(tmp_path)).returncode == 2  # without it, pyproject.toml is unreadable
    result = invoke("check", "--no-cache", "--derivations-only", str(tmp_path))
    assert result.returncode == 0 and "PASSED 1 file, 1 step" in result.stdout
