"""Every step of proofs/ is proved (not numeric, not unknown), and the as-written example fails where it should."""

from __future__ import annotations

import pytest

from klproof.check.decide import Options, check_step
from klproof.parse.file import read_derivation
from klproof.verdict import Status

from conftest import ROOT

PROOFS = sorted((ROOT / "proofs").glob("*.toml"))
STEPS = [(path, step) for path in PROOFS
         for step in read_derivation(str(path.relative_to(ROOT)), path.read_bytes()).steps]


def test_every_source_document_is_encoded():
    sources = {read_derivation(str(p), p.read_bytes()).source for p in PROOFS}
    for seed in ("000_d4526cdaa0de79c4", "001_ffd799093996390d", "002_e50f3a6d62a72702"):
        assert any(seed in s for s in sources), seed


@pytest.mark.parametrize("path,step", STEPS, ids=[f"{p.name}:{s.span.line}" for p, s in STEPS])
def test_proof_step_is_proved(path, step):
    verdict = check_step(step, Options(numeric=False))
    assert verdict.status is Status.PROVED, (verdict.method, verdict.detail)
    assert verdict.rules or verdict.method == "algebra"


@pytest.mark.parametrize("path,step", STEPS[::3], ids=[f"{p.name}:{s.span.line}" for p, s in STEPS[::3]])
def test_proved_steps_survive_the_numeric_cross_check(path, step):
    """A proof contradicted by a certified witness would mean an unsound rule."""
    verdict = check_step(step, Options(cross_check=True, points=3))
    assert verdict.status is Status.PROVED, (verdict.method, verdict.detail, verdict.witness)


def test_example_001_refutes_exactly_the_loss_line():
    path = ROOT / "examples" / "001_kl_divergence_derivation_as_written.toml"
    derivation = read_derivation(str(path), path.read_bytes())
    verdicts = [check_step(step, Options()) for step in derivation.steps]
    refuted = [v for v in verdicts if v.status is Status.REFUTED]
    assert len(refuted) == 1
    assert all(v.status is Status.PROVED for v in verdicts if v not in refuted)
    (loss,) = refuted
    assert "loss" in loss.step.chain
    assert loss.witness is not None and loss.witness.point
    assert "sign of the term -KL(Q(z|X), P(z))" in loss.diagnosis
