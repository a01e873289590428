"""The numeric check per step, before and after issue 11, interleaved in one run.

"Before" is klproof/check/numeric.py as of BASE (it gave E, KL and Gaussian integrals
their meaning through the rules' closed forms); "after" is the current one (its own
semantics: quadrature of the density's formula, exact model sums, adaptive
precision). Each step of proofs/ is sampled by both in turn (true step: all points
agree), and a false mutant of it (the sign of one right-side term flipped: a
witness ends the search). CPU time per call; the figures to read are the ratios.

    python bench/numeric_timing.py [--base COMMIT]
"""

from __future__ import annotations

import dataclasses
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sympy as sp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from klproof.check import numeric as after  # noqa: E402
from klproof.parse.file import read_derivation  # noqa: E402

BASE = "0281d51"  # the last commit before the independent semantics


def load_before(commit: str):
    source = subprocess.run(["git", "show", f"{commit}:klproof/check/numeric.py"], cwd=ROOT, capture_output=True,
                            text=True, check=True).stdout
    path = Path(tempfile.mkdtemp()) / "numeric_before.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("numeric_before", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["numeric_before"] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def mutant(step):
    claim = step.claim
    terms = list(sp.Add.make_args(claim.rhs))
    flipped = sp.Add(-terms[0], *terms[1:]) if len(terms) > 1 else -claim.rhs
    if flipped == claim.rhs:
        flipped = claim.rhs + 1
    return dataclasses.replace(step, claim=dataclasses.replace(claim, rhs=flipped), text=step.text + " [mutant]")


def timed(module, step) -> tuple[float, str]:
    started = time.process_time()
    result = module.sample(step, seed=20261121)
    seconds = time.process_time() - started
    return seconds, "witness" if result.witness else ("agree" if result.evidence else "none")


def main() -> None:
    base = sys.argv[sys.argv.index("--base") + 1] if "--base" in sys.argv else BASE
    before = load_before(base)
    steps = []
    for path in sorted((ROOT / "proofs").glob("*.toml")):
        steps += read_derivation(str(path.relative_to(ROOT)), path.read_bytes()).steps
    rows = {("before", "true"): [], ("after", "true"): [], ("before", "mutant"): [], ("after", "mutant"): []}
    outcomes = {key: [] for key in rows}
    for step in steps:
        for kind, s in (("true", step), ("mutant", mutant(step))):
            for name, module in (("before", before), ("after", after)):  # interleaved: same machine state
                seconds, outcome = timed(module, s)
                rows[(name, kind)].append(seconds)
                outcomes[(name, kind)].append(outcome)
    print(f"numeric.sample per step over {len(steps)} proofs/ steps (CPU ms), base {base}\n")
    print("| steps | version | median | worst | total | outcome |")
    print("|---|---|---|---|---|---|")
    for (name, kind), values in rows.items():
        expected = "agree" if kind == "true" else "witness"
        good = sum(o == expected for o in outcomes[(name, kind)])
        print(f"| {kind} | {name} | {statistics.median(values) * 1000:.0f} | {max(values) * 1000:.0f} | "
              f"{sum(values):.1f} s | {good} of {len(values)} {expected} |")
    for kind in ("true", "mutant"):
        ratio = statistics.median(rows[("after", kind)]) / max(statistics.median(rows[("before", kind)]), 1e-9)
        worst = max(rows[("after", kind)]) / max(max(rows[("before", kind)]), 1e-9)
        print(f"\n{kind} steps: after / before = {ratio:.1f}x at the median, {worst:.1f}x at the worst")


if __name__ == "__main__":
    main()
