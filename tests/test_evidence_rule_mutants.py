"""Item 1 of issue 11: the numeric cross-check is independent of the rules.

Each rule of klproof.check.rules.PASSES is replaced in turn by a plausible wrong
version (bench/rule_mutants.py); `--cross-check` must report an internal
inconsistency on the claims that mistake leads to. The same claims under the
real rules are refuted (they are false), and nothing is inconsistent.
"""

from __future__ import annotations

import sys

import pytest

from klproof.check import rules
from klproof.check.decide import Options, check_step
from klproof.verdict import Status

from conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))
import rule_mutants  # noqa: E402


def test_every_rule_has_a_mutant():
    assert {m.rule for m in rule_mutants.MUTANTS} == {name for name, _, _ in rules.PASSES}


@pytest.mark.parametrize("rule, step", rule_mutants.table_steps(), ids=lambda v: v if isinstance(v, str) else "")
def test_the_table_claims_are_false_and_refuted_by_the_real_rules(rule, step):
    verdict = check_step(step, Options(cross_check=True))
    assert verdict.status is Status.REFUTED, (rule, verdict.detail)


@pytest.mark.parametrize("mutant", rule_mutants.MUTANTS, ids=lambda m: m.rule)
def test_a_broken_rule_is_caught_by_the_cross_check(mutant):
    steps = [step for rule, step in rule_mutants.table_steps() if rule == mutant.rule]
    with rule_mutants.broken(mutant.rule):
        found = rule_mutants.inconsistencies(steps)
    assert found, f"{mutant.rule}: the broken rule went unnoticed"
