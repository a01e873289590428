"""Benchmark of the Gaussian algebra (issue 15) against the equality steps of proofs/001, in the same run.

    .venv/bin/python bench/gaussian.py [--rounds 3]

Every step of proofs/009 (DDPM: convolutions, conditioning, closed forms) and of its false variants in
examples/009 is checked with `check_step` exactly as a worker does (numeric on), interleaved round by round
with the steps of proofs/001 (the baseline). Reported: the median seconds per step of each group and its
ratio to the baseline's median. Absolute seconds are a side note (the machine is shared).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from klproof.check.decide import Options, check_step  # noqa: E402
from klproof.parse.file import read_derivation  # noqa: E402

GROUPS = {
    "baseline: proofs/001 (equalities)": ["proofs/001_kl_divergence_derivation.toml"],
    "Gaussian algebra proved: proofs/009": ["proofs/009_ddpm.toml"],
    "Gaussian algebra refuted: examples/009": ["examples/009_ddpm_false_variants.toml"],
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    steps = {name: [s for f in files for s in read_derivation(f, (ROOT / f).read_bytes()).steps]
             for name, files in GROUPS.items()}
    times: dict[str, list[float]] = {name: [] for name in GROUPS}
    for _ in range(args.rounds):
        for name, group in steps.items():  # interleaved: each round runs every group once
            for step in group:
                started = time.perf_counter()
                check_step(step, Options())
                times[name].append(time.perf_counter() - started)
    base = statistics.median(times[next(iter(GROUPS))])
    print("| group | steps | median s/step | ratio to baseline | max s |")
    print("|---|---|---|---|---|")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"| {name} | {len(steps[name])} | {median:.3f} | {median / base:.1f} | {max(values):.2f} |")


if __name__ == "__main__":
    main()
