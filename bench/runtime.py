"""Benchmark of the runner: parallel scaling at 1,000 steps and the cold start, against baselines in the same run.

    .venv/bin/python bench/runtime.py [--rounds 3] [--steps 1000] [--before DIR] [--out bench/RUNTIME.md]

Every command is run once per round, the commands of a round one after another (interleaved), so that a
noisy moment of the shared machine hits all of them alike; the figures are medians over rounds, and each
ratio is taken within a round, then its median reported. Measured:

- the cold start: `klproof check --no-cache proofs` (the default number of workers, and -j 1) against
  `python -c "import sympy"`, the floor;
- scaling: a generated corpus of `--steps` steps (bench/run.py's: the proofs' chains, copied with fresh
  names, so no cache can help) checked with -j 1, -j 2 and the default; the speed-up is -j 1 wall / -j N wall;
- with `--before DIR` (a checkout of an older klproof, e.g. `git archive <commit> | tar -x -C DIR`), the same
  commands run by that code (`python -m klproof` with PYTHONPATH=DIR), side by side: before/after figures.

CPU seconds are those of the command and all its worker processes (RUSAGE_CHILDREN).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT / "bench"))


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command: list[str], cwd: Path, env: dict) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds of the command and its children, exit code) of one run."""
    cpu, started = _children_cpu(), time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env={**os.environ, "NO_COLOR": "1", **env}, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
    return time.perf_counter() - started, _children_cpu() - cpu, done.returncode


def commands(corpus: Path, proofs: Path, before: Path | None) -> dict[str, tuple[list[str], dict]]:
    python, klproof = str(BIN / "python"), str(BIN / "klproof")
    runs: dict[str, tuple[list[str], dict]] = {
        "import sympy": ([python, "-c", "import sympy"], {}),
        "cold": ([klproof, "check", "--no-cache", str(proofs)], {}),
        "cold -j 1": ([klproof, "check", "--no-cache", "-j", "1", str(proofs)], {}),
        "corpus -j 1": ([klproof, "check", "--no-cache", "-j", "1", str(corpus)], {}),
        "corpus -j 2": ([klproof, "check", "--no-cache", "-j", "2", str(corpus)], {}),
        "corpus default": ([klproof, "check", "--no-cache", str(corpus)], {}),
    }
    if before is not None:
        old = [python, "-m", "klproof", "check", "--no-cache"]
        env = {"PYTHONPATH": str(before)}
        runs.update({
            "before: cold": ([*old, str(proofs)], env),
            "before: corpus -j 1": ([*old, "-j", "1", str(corpus)], env),
            "before: corpus -j 2": ([*old, "-j", "2", str(corpus)], env),
        })
    return runs


def measure(rounds: int, steps: int, before: Path | None, workdir: Path, say=print) -> dict:
    from run import generate_corpus

    corpus, proofs = workdir / "corpus", workdir / "proofs"
    count = generate_corpus(corpus, steps)
    shutil.copytree(ROOT / "proofs", proofs)
    runs = commands(corpus, proofs, before)
    samples: dict[str, list[tuple[float, float, int]]] = {name: [] for name in runs}
    for r in range(rounds):
        for name, (command, env) in runs.items():
            samples[name].append(timed(command, workdir, env))
        say(f"round {r + 1}/{rounds}: " + ", ".join(f"{n} {s[-1][0]:.2f} s" for n, s in samples.items())
            + f"; load {os.getloadavg()[0]:.1f}")
    return {"steps": count, "rounds": rounds, "samples": samples, "load": os.getloadavg()[0]}


def _median(values) -> float:
    return statistics.median(values)


def _cpu(samples: dict, name: str) -> float:
    return _median(r[1] for r in samples[name])


def ratio(samples: dict, a: str, b: str) -> float:
    """Median over rounds of wall(a) / wall(b), each ratio within one round."""
    return _median(x[0] / y[0] for x, y in zip(samples[a], samples[b]))


def difference(samples: dict, a: str, b: str) -> float:
    return _median(x[0] - y[0] for x, y in zip(samples[a], samples[b]))


def report(result: dict) -> str:
    s = result["samples"]
    lines = [f"# Runner benchmark: {result['steps']} steps, {result['rounds']} interleaved rounds, "
             f"{len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()} cores, "
             f"load average {result['load']:.1f} at the end (the machine is shared)", "",
             "| command | wall median | wall min | CPU median | exit |", "|---|---|---|---|---|"]
    for name, runs in s.items():
        lines.append(f"| {name} | {_median(r[0] for r in runs):.2f} s | {min(r[0] for r in runs):.2f} s | "
                     f"{_median(r[1] for r in runs):.2f} s | {sorted({r[2] for r in runs})} |")
    lines += ["", "| figure (ratios and differences within a round, median over rounds) | value |", "|---|---|",
              f"| -j 2 speed-up over -j 1 at {result['steps']} steps | {ratio(s, 'corpus -j 1', 'corpus -j 2'):.2f}× |",
              (f"| -j 2 speed-up when both cores are free, from CPU seconds: 2 × CPU(-j 1) / CPU(-j 2) "
               f"(an upper bound, not a measurement) | {2 * _cpu(s, 'corpus -j 1') / _cpu(s, 'corpus -j 2'):.2f}× |"),
              (f"| cores this run got at -j 2: CPU / wall (2.00 on an idle machine) | "
               f"{_cpu(s, 'corpus -j 2') / _median(r[0] for r in s['corpus -j 2']):.2f} |"),
              f"| default speed-up over -j 1 at {result['steps']} steps | "
              f"{ratio(s, 'corpus -j 1', 'corpus default'):.2f}× |",
              f"| cold `check --no-cache proofs` − `import sympy` | {difference(s, 'cold', 'import sympy'):+.2f} s |",
              f"| cold with -j 1 − `import sympy` | {difference(s, 'cold -j 1', 'import sympy'):+.2f} s |",
              f"| cold: default workers / -j 1 (≤ 1: the default is never slower) | {ratio(s, 'cold', 'cold -j 1'):.2f} |"]
    if "before: cold" in s:
        lines += [f"| before: -j 2 speed-up over -j 1 | {ratio(s, 'before: corpus -j 1', 'before: corpus -j 2'):.2f}× |",
                  f"| before: cold − `import sympy` | {difference(s, 'before: cold', 'import sympy'):+.2f} s |",
                  (f"| before: -j 2 speed-up when both cores are free, from CPU seconds | "
                   f"{2 * _cpu(s, 'before: corpus -j 1') / _cpu(s, 'before: corpus -j 2'):.2f}× |"),
                  f"| CPU seconds at -j 2, after / before | {_cpu(s, 'corpus -j 2') / _cpu(s, 'before: corpus -j 2'):.2f} |",
                  f"| CPU seconds of the cold start, after / before | {_cpu(s, 'cold') / _cpu(s, 'before: cold'):.2f} |",
                  f"| -j 1 after / before | {ratio(s, 'corpus -j 1', 'before: corpus -j 1'):.2f} |",
                  f"| -j 2 after / before | {ratio(s, 'corpus -j 2', 'before: corpus -j 2'):.2f} |"]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--before", type=Path, default=None, help="a checkout of an older klproof to compare with")
    parser.add_argument("--out", type=Path, default=None, help="also write the Markdown report here")
    parser.add_argument("--json", type=Path, default=None, help="also write the raw samples here")
    parser.add_argument("--report", type=Path, default=None, help="only render the report of saved --json samples")
    args = parser.parse_args(argv)
    if args.report:
        print(report(json.loads(args.report.read_text(encoding="utf-8"))))
        return 0
    with tempfile.TemporaryDirectory(prefix="klproof-runtime-") as tmp:
        result = measure(args.rounds, args.steps, args.before, Path(tmp), say=lambda t: print(t, flush=True))
    if args.json:
        args.json.write_text(json.dumps(result), encoding="utf-8")
    text = report(result)
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
