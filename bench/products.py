"""What the product and finite-sum rules (klproof/check/product_rules.py) cost the steps that do not need them.

    .venv/bin/python bench/products.py [--rounds 3]

Every step of proofs/000-005 (written before these rules) is checked with `check_step` exactly as a worker
does (numeric on), once with every rule and once with log_product, product_algebra and finite_sums taken
out of the normaliser's passes, interleaved round by round (the rules' cache of SymPy's proposals is
emptied before each run, so no run profits from an earlier one). The steps of proofs/007 and 008, which
need the rules, are timed alongside with every rule. Reported: the median and total seconds per group and
the ratios to the baseline (proofs/000-005 without the new rules); absolute seconds are a side note.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from klproof.check import engine  # noqa: E402
from klproof.check import product_rules  # noqa: E402
from klproof.check.decide import Options, check_step  # noqa: E402
from klproof.parse.file import read_derivation  # noqa: E402

NEW_RULES = {"log_product", "product_algebra", "finite_sums"}
OLD = sorted(p for p in (ROOT / "proofs").glob("*.toml") if p.name < "007")
NEW = sorted(p for p in (ROOT / "proofs").glob("*.toml") if p.name.startswith(("007", "008")))


def steps(paths):
    return [s for p in paths for s in read_derivation(str(p.relative_to(ROOT)), p.read_bytes()).steps]


def timed(group, passes) -> tuple[list[float], int]:
    engine.PASSES = passes
    product_rules._propose.cache_clear()
    times, proved = [], 0
    for step in group:
        started = time.perf_counter()
        verdict = check_step(step, Options())
        times.append(time.perf_counter() - started)
        proved += verdict.status.name == "PROVED"
    return times, proved


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    every = engine.PASSES
    without = tuple(p for p in every if p[0] not in NEW_RULES)
    groups = {"baseline: proofs/000-005 without the new rules": (steps(OLD), without),
              "proofs/000-005 with the new rules": (steps(OLD), every),
              "proofs/007-008 (need the new rules)": (steps(NEW), every)}
    times: dict[str, list[float]] = {name: [] for name in groups}
    proved: dict[str, int] = {}
    for round_ in range(args.rounds):
        order = list(groups.items())
        for name, (group, passes) in order if round_ % 2 == 0 else order[::-1]:  # interleaved, order alternating
            values, proved[name] = timed(group, passes)
            times[name].extend(values)
    engine.PASSES = every
    base = times[next(iter(groups))]
    print("| group | steps | proved | median s/step | ratio | total s per round | ratio |")
    print("|---|---|---|---|---|---|---|")
    for name, values in times.items():
        count = len(groups[name][0])
        total = sum(values) / args.rounds
        print(f"| {name} | {count} | {proved[name]} | {statistics.median(values):.4f} | "
              f"{statistics.median(values) / statistics.median(base):.2f} | {total:.2f} | "
              f"{total / (sum(base) / args.rounds):.2f} |")


if __name__ == "__main__":
    main()
