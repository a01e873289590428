"""The identity table (bench/identities.py): every true identity proved symbolically, by the rule expected to
close it, every near-miss refuted with a certified witness, none proved."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from klproof.catalog import RULES
from klproof.check.decide import Options, check_step
from klproof.parse.file import read_derivation
from klproof.verdict import Status

from conftest import ROOT

_spec = importlib.util.spec_from_file_location("bench_identities", ROOT / "bench" / "identities.py")
identities = importlib.util.module_from_spec(_spec)
sys.modules["bench_identities"] = identities
_spec.loader.exec_module(identities)

TRUE = [r for r in identities.ROWS if r.holds and not r.gap]
GAPS = [r for r in identities.ROWS if r.holds and r.gap]
FALSE = [r for r in identities.ROWS if not r.holds]


def _step(row):
    (step,) = read_derivation("identity.toml", identities.derivation_text(row).encode()).steps
    return step


def test_the_table_has_forty_sourced_identities_and_their_near_misses():
    assert len(TRUE) >= 40 and len(FALSE) >= 40 and len(GAPS) <= 2
    assert all(r.source.strip() for r in identities.ROWS)
    assert len({r.name for r in identities.ROWS}) == len(identities.ROWS)
    assert all(r.closes in RULES for r in TRUE)
    kinds = " ".join(r.claim for r in TRUE)
    for notion in ("N(", "Laplace(", "Exponential(", "GammaDist(", "Bernoulli(", "Categorical(", "Sum(", "(x, 0, oo)"):
        assert notion in kinds, notion


@pytest.mark.parametrize("row", TRUE, ids=[r.name for r in TRUE])
def test_a_true_identity_is_proved_by_its_rule(row):
    verdict = check_step(_step(row), Options())  # numeric on: the evaluation rung is confirmed by it
    assert verdict.status is Status.PROVED, (verdict.method, verdict.detail)
    assert row.closes in verdict.rules, verdict.rules


@pytest.mark.parametrize("row", FALSE, ids=[r.name for r in FALSE])
def test_a_near_miss_is_refuted_never_proved(row):
    verdict = check_step(_step(row), Options())
    assert verdict.status is Status.REFUTED, (verdict.method, verdict.detail)
    assert verdict.witness is not None


@pytest.mark.parametrize("row", GAPS, ids=[r.name for r in GAPS])
def test_a_known_gap_is_true_and_never_refuted(row):
    """Rows klproof does not prove yet (the reason is in the row): sound all the same."""
    verdict = check_step(_step(row), Options())
    assert verdict.status not in (Status.REFUTED, Status.ERROR), (verdict.method, verdict.detail)
