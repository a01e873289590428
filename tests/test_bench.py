"""bench/run.py runs: its plain-SymPy translation, its per-step comparison and its tables (no timing asserted)."""

from __future__ import annotations

import importlib.util
import sys

import pytest
import sympy as sp

from klproof import vocabulary as C
from klproof.parse.file import read_derivation

from conftest import ROOT, derivation_text


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "bench" / "run.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_run"] = module
    spec.loader.exec_module(module)
    return module


def one_step(start: str, expr: str, by: str = ""):
    (step,) = read_derivation("t.toml", derivation_text(start, expr, by).encode()).steps
    return step


def test_translation_leaves_no_klproof_vocabulary(bench):
    step = one_step("KL(Q(z|X), P(z|X))", "E(log(Q(z|X)) - log(P(X|z)*P(z)/P(X)), Q(z|X))", "Bayes' rule")
    difference = bench.baseline_difference(step)
    assert not difference.atoms(*C.VOCABULARY, C.Defined)
    names = {type(f).__name__ for f in difference.atoms(sp.core.function.AppliedUndef)}
    assert {"Q_z_given_X", "P_z_given_X", "P_X_given_z", "P_z", "P_X"} <= names
    assert all(s.limits[0][1:] == (0, bench.K) for s in difference.atoms(sp.Sum))


def test_a_simple_step_is_proved_by_the_baseline(bench):
    step = one_step("E(x**2, N(x, mu, sigma))", "E(x**2, N(x, mu, sigma)) + 0*x", "algebra")
    assert bench.baseline_check(step)[0] == "proved"
    step = one_step("(a + b)**2", "a**2 + 2*a*b + b**2", "algebra")
    verdict, seconds, cpu = bench.baseline_check(step)
    assert verdict == "proved" and seconds >= 0


def test_bayes_is_out_of_the_baselines_reach(bench):
    step = one_step("log(P(z|X))", "log(P(X|z)) + log(P(z)) - log(P(X))", "Bayes' rule")
    assert bench.baseline_check(step)[0] == "not proved"


def test_comparison_and_tables_are_well_formed(bench):
    steps = [("t.toml", one_step("(a + b)**2", "a**2 + 2*a*b + b**2", "algebra")),
             ("t.toml", one_step("log(P(z|X))", "log(P(X|z)) + log(P(z)) - log(P(X))", "Bayes' rule"))]
    rows = bench.compare(steps, timeout=10)
    assert [r.klproof for r in rows] == ["proved", "proved"]
    assert [r.baseline for r in rows] == ["proved", "not proved"]
    table = bench.step_table(rows)
    lines = table.splitlines()
    assert len(lines) == 2 + len(rows)
    assert all(line.startswith("| ") and line.endswith(" |") and line.count(" | ") == 6 for line in lines if "---" not in line)
    totals = bench.totals(rows)
    assert totals["klproof_proved"] == 2 and totals["baseline_proved"] == 1
    assert "steps proved" in bench.totals_table(totals)


def test_a_hang_is_cut_off(bench):
    import time

    assert bench.limited(time.sleep, (30,), 0.2) == ("timeout", None)


def test_mutants_are_false_and_corpus_names_are_fresh(bench, tmp_path):
    step = one_step("a + b", "b + a", "algebra")
    assert sp.expand(bench.mutant(step).claim.lhs - bench.mutant(step).claim.rhs) != 0
    count = bench.generate_corpus(tmp_path, 12)
    assert count == 12
    files = sorted(tmp_path.glob("*.toml"))
    steps = [s for f in files for s in read_derivation(str(f), f.read_bytes()).steps]
    assert len(steps) == 12
    assert "mu_c1" in files[0].read_text() and "sigma_1_c1" in files[0].read_text()
