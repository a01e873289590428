"""The vocabulary is discoverable: `klproof rules`, `klproof rules NAME`, the README's table, and hints
that name the closest rules or functions instead of a cut list."""

from __future__ import annotations

import pytest

from conftest import ROOT, derivation_text, run_cli
from klproof.catalog import RULES, resolve
from klproof.errors import did_you_mean
from klproof.report.rules import markdown_table


def test_rules_lists_every_rule_with_its_aliases_statement_and_side_conditions():
    result = run_cli("rules")
    assert result.returncode == 0 and result.stderr == ""
    for rule in RULES.values():
        assert rule.title in result.stdout and rule.statement in result.stdout
        for alias in rule.aliases:
            assert f'"{alias}"' in result.stdout
        for condition in rule.conditions:
            assert condition in result.stdout
    assert result.stdout.count("side conditions:") == sum(1 for r in RULES.values() if r.conditions)


def test_every_rule_states_its_side_conditions():
    assert all(rule.conditions for rule in RULES.values())
    assert any("provably positive" in c for c in RULES["log_rules"].conditions)


@pytest.mark.parametrize("name, rule", [
    ("log rules", "log_rules"), ("log of a quotient", "log_rules"), ("Bayes' theorem", "bayes"),
    ("KL", "kl_definition"), ("change of variables", "substitution"), ("LINEARITY OF EXPECTATION", "linearity"),
])
def test_rules_name_shows_one_rule_by_any_of_its_names(name, rule):
    result = run_cli("rules", name)
    assert result.returncode == 0
    assert result.stdout.startswith(f"{RULES[rule].title}  ({rule})")
    assert "side conditions:" in result.stdout
    others = [r.title for r in RULES.values() if r.id != rule and f"{r.title}  (" in result.stdout]
    assert others == []


@pytest.mark.parametrize("name, hint", [
    ("Stirling's formula", "`klproof rules` lists every rule"),
    ("log rule", "did you mean 'log rules'"),
    ("bayse rule", "did you mean 'bayes rule'"),
])
def test_an_unknown_rule_name_exits_2_with_the_closest_names(name, hint):
    result = run_cli("rules", name)
    assert result.returncode == 2 and hint in result.stderr and "Traceback" not in result.stderr
    assert "in all)" not in result.stderr and ", ..." not in result.stderr


def test_the_readme_rule_table_is_the_catalogs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert markdown_table() in readme, "regenerate the README's rule table with: klproof rules --markdown"
    assert run_cli("rules", "--markdown").stdout == markdown_table()


def test_an_unknown_by_in_a_file_names_the_closest_rules_never_a_cut_list(tmp_path):
    path = tmp_path / "d.toml"
    path.write_text(derivation_text("(a + b)**2", "a**2 + 2*a*b + b**2", by="Stirling's formula"))
    result = run_cli("check", str(path))
    assert result.returncode == 2
    assert "klproof rules" in result.stdout and "in all)" not in result.stdout and "..." not in result.stdout
    path.write_text(derivation_text("(a + b)**2", "a**2 + 2*a*b + b**2", by="lineraity"))
    assert "did you mean 'linearity'" in run_cli("check", str(path)).stdout


def test_an_unknown_function_names_the_closest_functions(tmp_path):
    path = tmp_path / "d.toml"
    path.write_text(derivation_text("sqrtt(t)", "t"))
    result = run_cli("check", str(path))
    assert result.returncode == 2 and "did you mean 'sqrt'" in result.stdout
    path.write_text(derivation_text("Limit(t, t)", "1"))
    result = run_cli("check", str(path))
    assert result.returncode == 2 and "in all)" not in result.stdout and "README" in result.stdout


@pytest.mark.parametrize("known, expected", [
    (["alpha", "beta"], "declared: alpha, beta"),  # few: all of them
    ([f"name{k}" for k in range(95)], "no declared is close to 'zzz' (95 in all)"),  # many, none close: a count
    ([f"name{k}" for k in range(95)] + ["zzzz"], "did you mean 'zzzz'?"),
])
def test_did_you_mean_never_cuts_a_list(known, expected):
    assert did_you_mean("zzz", known) == expected


def test_did_you_mean_escapes_what_it_quotes():
    hint = did_you_mean("x\x1b[2J", ["x\x1b[2Jy"])
    assert "\x1b" not in hint and "\\u001b" in hint


def test_resolve_is_case_and_punctuation_insensitive():
    assert resolve("Bayes’ Rule") == "bayes" and resolve("log-rules") == "log_rules"
