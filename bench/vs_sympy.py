"""klproof against a notebook user's one-liner `simplify((lhs - rhs).doit()) == 0` on the identity table.

For each identity of bench/identities.py (true ones and near-misses), interleaved, each in a fresh forked
process under the same time limit:

- klproof: the whole per-step check, numeric sampling on, as the CLI's worker runs it (bench/run.py's
  `klproof_check`); a true identity counts when it is "proved", a near-miss when it is not;
- the one-liner on the plain-SymPy translation of the claim (bench/run.py's `to_plain_sympy`, plus the
  formulas a user types for the densities klproof names: Laplace exp(-|x - m|/b)/(2b), exponential
  lam exp(-lam x) and the gamma density on the integral from 0 that E over them already is, Bernoulli p^x (1 - p)^(1 - x), the softmax
  for a categorical): `sp.simplify((lhs - rhs).doit()) == 0`.

Counts (proved true identities, "proved" near-misses, timeouts) and total CPU seconds of each, with the ratio;
the rows where the one-liner proves what klproof does not are listed by name.

    .venv/bin/python bench/vs_sympy.py [--timeout 20] [--write]   # --write: the result into bench/RESULTS.md
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import sympy as sp  # noqa: E402

from klproof import vocabulary as C  # noqa: E402
from klproof.check import rules as R  # noqa: E402
from klproof.parse.file import read_derivation  # noqa: E402

import identities  # noqa: E402

_spec = importlib.util.spec_from_file_location("bench_run", ROOT / "bench" / "run.py")
run = importlib.util.module_from_spec(_spec)
sys.modules["bench_run"] = run
_spec.loader.exec_module(run)


def _user_formula(n: sp.Expr) -> sp.Expr:
    """The density as a user types it in plain SymPy."""
    if isinstance(n, C.Laplace):
        x, m, b = n.args
        return sp.exp(-sp.Abs(x - m) / b) / (2 * b)
    if isinstance(n, C.Exponential):
        x, lam = n.args
        return lam * sp.exp(-lam * x)
    if isinstance(n, C.Gamma):
        x, alpha, beta = n.args
        return beta**alpha * x ** (alpha - 1) * sp.exp(-beta * x) / sp.gamma(alpha)
    if isinstance(n, C.Bernoulli):
        return n.formula()
    if isinstance(n, C.Categorical):
        return sp.exp(n.logit(n.args[0])) / n.normaliser()
    return n


def plain(e: sp.Expr) -> sp.Expr:
    """The claim side in plain SymPy: KL and E as integrals and sums, every density by its formula."""
    e = R.expectation(R.kl_definition(e), latent_sum=lambda f, var: sp.Sum(f, (var, 0, run.K)))
    e = e.replace(lambda n: isinstance(n, (*C.CONTINUOUS_DENSITIES, C.Bernoulli, C.Categorical)), _user_formula)
    return run.to_plain_sympy(e)


def one_liner(step) -> tuple[str, float, float]:
    """(verdict, wall, CPU seconds) of `simplify((lhs - rhs).doit()) == 0` on the translated claim."""
    difference = plain(step.claim.lhs) - plain(step.claim.rhs)
    cpu, started = time.process_time(), time.perf_counter()
    proved = sp.simplify(difference.doit()) == 0
    return ("proved" if proved else "not proved"), time.perf_counter() - started, time.process_time() - cpu


def _step(row):
    (step,) = read_derivation("identity.toml", identities.derivation_text(row).encode()).steps
    return step


def compare(timeout: float, progress=None) -> list[dict]:
    run.warm_up()
    out = []
    for row in identities.ROWS:
        step = _step(row)
        result = {"row": row}
        for who, fn, args in (("klproof", run.klproof_check, (step, timeout)), ("sympy", one_liner, (step,))):
            status, value = run.limited(fn, args, timeout)
            if status == "ok":
                verdict, _, cpu = value
            else:
                verdict, cpu = status, (timeout if status == "timeout" else 0.0)
            result[who], result[who + "_s"] = verdict, cpu
        out.append(result)
        if progress:
            progress(result)
    return out


def summary(results: list[dict]) -> dict:
    true = [r for r in results if r["row"].holds]
    false = [r for r in results if not r["row"].holds]
    s = {"true": len(true), "false": len(false)}
    for who in ("klproof", "sympy"):
        s[who + "_proved"] = sum(r[who] == "proved" for r in true)
        s[who + "_false_proved"] = sum(r[who] == "proved" for r in false)
        s[who + "_timeouts"] = sum(r[who] == "timeout" for r in results)
        s[who + "_errors"] = sum(r[who] == "error" for r in results)
        s[who + "_cpu"] = sum(r[who + "_s"] for r in results)
    s["only_sympy"] = [r["row"].name for r in true if r["sympy"] == "proved" and r["klproof"] != "proved"]
    s["only_klproof"] = [r["row"].name for r in true if r["klproof"] == "proved" and r["sympy"] != "proved"]
    return s


def report(s: dict, timeout: float, command: str) -> str:
    ratio = s["sympy_cpu"] / max(s["klproof_cpu"], 1e-9)
    lines = [
        f"### klproof against `simplify((lhs - rhs).doit()) == 0` on the identity table ({datetime.date.today()})",
        "",
        f"`{command}` — {s['true']} true identities and {s['false']} near-misses from bench/identities.py, "
        f"each in a fresh forked process, klproof and the one-liner interleaved, {timeout:g} s limit each; "
        "CPU seconds of the check (klproof: the whole step with numeric sampling; the one-liner: doit + simplify).",
        "",
        "| | klproof | SymPy one-liner |",
        "|---|---|---|",
        f"| true identities proved | {s['klproof_proved']} of {s['true']} | {s['sympy_proved']} of {s['true']} |",
        f"| near-misses proved (must be 0) | {s['klproof_false_proved']} of {s['false']} | "
        f"{s['sympy_false_proved']} of {s['false']} |",
        f"| timeouts / errors | {s['klproof_timeouts']} / {s['klproof_errors']} | "
        f"{s['sympy_timeouts']} / {s['sympy_errors']} |",
        f"| total CPU, all rows | {s['klproof_cpu']:.1f} s | {'≥ ' if s['sympy_timeouts'] else ''}"
        f"{s['sympy_cpu']:.1f} s |",
        f"| one-liner / klproof CPU | | {'≥ ' if s['sympy_timeouts'] else ''}{ratio:.2f}× |",
        "",
        "Proved by the one-liner and not by klproof: " + (", ".join(s["only_sympy"]) or "none") + ".",
        "",
        "Known gaps (true rows klproof does not prove, with the reason): "
        + ("; ".join(f"{r.name}: {r.gap}" for r in identities.ROWS if r.gap) or "none") + ".",
        "",
        "Proved by klproof and not by the one-liner: " + (", ".join(s["only_klproof"]) or "none") + ".",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=20.0)
    parser.add_argument("--write", action="store_true", help="append the result to bench/RESULTS.md")
    args = parser.parse_args()
    command = "python bench/vs_sympy.py" + (f" --timeout {args.timeout:g}" if args.timeout != 20.0 else "")

    def progress(r):
        print(f"{r['row'].name[:60]:60} {'true' if r['row'].holds else 'false':5} klproof {r['klproof']:10} "
              f"{r['klproof_s']:6.2f} s  sympy {r['sympy']:10} {r['sympy_s']:6.2f} s", flush=True)

    text = report(summary(compare(args.timeout, progress)), args.timeout, command)
    print(text)
    if args.write:
        with (ROOT / "bench" / "RESULTS.md").open("a", encoding="utf-8") as f:
            f.write("\n" + text)


if __name__ == "__main__":
    main()
