"""Mutation testing of proofs/: every mutant of a proved step must not be proved.

Each step's claimed expression is mutated the ways derivations go wrong (flip
the sign of a term, scale a term by 2, drop a term, swap two symbols, σ where σ²
belongs). A mutant that is equivalent to the original (numeric agreement with
the original expression) is set aside, as in any mutation testing; every other
mutant must come out not proved, and the kill rate is the share refuted with a
certified witness.

    python bench/mutation.py            # all steps of proofs/, prints the kill rate
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import sympy as sp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from klproof.check.decide import Options, check_step  # noqa: E402
from klproof.check.numeric import sample  # noqa: E402
from klproof.model import Identity, Implication, Step  # noqa: E402
from klproof.parse.file import read_derivation  # noqa: E402
from klproof.verdict import Status  # noqa: E402

MAX_MUTANTS_PER_STEP = 5


@dataclass(frozen=True)
class Mutant:
    step: Step
    kind: str
    original: Step


def _mutations(expr: sp.Expr):
    """(kind, mutated expression), most telling first."""
    terms = sp.Add.make_args(expr)
    if len(terms) > 1:
        for term in terms:
            yield f"flip the sign of {term}", expr - 2 * term
        yield f"scale {terms[0]} by 2", expr + terms[0]
        yield f"drop {terms[-1]}", expr - terms[-1]
    else:
        yield "flip the sign", -expr
        yield "scale by 2", 2 * expr
    symbols = sorted((s for s in expr.free_symbols if isinstance(s, sp.Symbol)), key=lambda s: s.name)
    for a, b in zip(symbols, symbols[1:]):
        if a.assumptions0 == b.assumptions0:
            yield f"swap {a} and {b}", expr.xreplace({a: b, b: a})
            break
    squares = [p for p in expr.atoms(sp.Pow) if p.exp == 2 and p.base.free_symbols]
    if squares:
        square = sorted(squares, key=sp.default_sort_key)[0]
        yield f"{square.base} where {square} belongs", expr.xreplace({square: square.base})


def mutants(step: Step) -> list[Mutant]:
    claim = step.claim
    out: list[Mutant] = []
    if not isinstance(claim, (Identity, Implication)):
        return out  # a mutated bound may still hold (>= 0 weakened to >= -1): mutants of equalities only
    for kind, mutated in _mutations(claim.rhs):
        if mutated == claim.rhs:
            continue
        if isinstance(claim, Identity):
            new_claim = Identity(claim.lhs, mutated)
        else:
            new_claim = Implication(claim.premise_lhs, claim.premise_rhs, claim.lhs, mutated)
        out.append(Mutant(replace(step, claim=new_claim, text=f"{step.text}  [mutant: {kind}]"), kind, step))
        if len(out) == MAX_MUTANTS_PER_STEP:
            break
    return out


def is_equivalent(mutant: Mutant, options: Options) -> bool:
    """The mutant says the same as the original (e.g. swapping symbols of a symmetric term)."""
    probe = replace(mutant.step, claim=Identity(mutant.original.claim.rhs, mutant.step.claim.rhs), substitution=None)
    result = sample(probe, seed=options.seed, points=options.points, digits=options.digits)
    return result.witness is None and result.evidence is not None


@dataclass(frozen=True)
class Outcome:
    mutant: Mutant
    status: Status | None  # None: equivalent, set aside
    seconds: float


def run(paths: list[Path], options: Options | None = None, every: int = 1) -> list[Outcome]:
    options = options or Options(points=4)
    outcomes = []
    for path in paths:
        derivation = read_derivation(str(path.relative_to(ROOT)), path.read_bytes())
        for step in derivation.steps[::every]:
            for mutant in mutants(step):
                started = time.perf_counter()
                if is_equivalent(mutant, options):
                    outcomes.append(Outcome(mutant, None, time.perf_counter() - started))
                    continue
                verdict = check_step(mutant.step, options)
                outcomes.append(Outcome(mutant, verdict.status, time.perf_counter() - started))
    return outcomes


def summary(outcomes: list[Outcome]) -> str:
    live = [o for o in outcomes if o.status is not None]
    refuted = sum(1 for o in live if o.status is Status.REFUTED)
    proved = [o for o in live if o.status is Status.PROVED]
    lines = [
        f"mutants: {len(outcomes)}, equivalent (set aside): {len(outcomes) - len(live)}",
        f"refuted with a certified witness: {refuted} of {len(live)} = kill rate {refuted / max(1, len(live)):.1%}",
        f"proved (must be 0): {len(proved)}",
        f"not proved, no witness: {len(live) - refuted - len(proved)}",
    ]
    for o in proved:
        lines.append(f"  PROVED MUTANT {o.mutant.step.span}: {o.mutant.kind}")
    for o in live:
        if o.status not in (Status.REFUTED, Status.PROVED):
            lines.append(f"  {o.status.value}: {o.mutant.step.span}: {o.mutant.kind}")
    return "\n".join(lines)


if __name__ == "__main__":
    started = time.perf_counter()
    results = run(sorted((ROOT / "proofs").glob("*.toml")))
    print(summary(results))
    print(f"in {time.perf_counter() - started:.1f} s")
