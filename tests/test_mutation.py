"""Mutation testing of proofs/: no mutant of a proved step may be proved; nearly all get a witness."""

from __future__ import annotations

import sys

from klproof.verdict import Status

from conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))
import mutation  # noqa: E402


def test_no_mutant_of_a_proof_is_proved_and_the_kill_rate_is_high():
    outcomes = mutation.run(sorted((ROOT / "proofs").glob("*.toml")))
    live = [o for o in outcomes if o.status is not None]
    proved = [f"{o.mutant.step.span}: {o.mutant.kind}" for o in live if o.status is Status.PROVED]
    refuted = sum(1 for o in live if o.status is Status.REFUTED)
    assert len(live) >= 150
    assert not proved, proved
    assert refuted / len(live) >= 0.95, mutation.summary(outcomes)
