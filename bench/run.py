"""Benchmark: klproof against plain SymPy on the same steps, and the speed klproof must reach.

Run from the repository root, in one go on one machine (every timing is compared with a baseline
measured in the same run, because the machine is shared and noisy):

    .venv/bin/python bench/run.py [--quick] [--out bench/results.md] [--timeout 10]

What it measures
----------------
1. Every step of proofs/ and examples/, checked twice, each check in its own forked process with the
   same per-step time limit (--timeout; a process over it is killed and the check counts as "timeout"):
   - klproof: `check_step(step, Options(timeout=...))`, numeric on, exactly as the CLI's worker runs it;
   - the plain-SymPy baseline: `sympy.simplify(lhs - rhs) == 0` on the same parsed claim (the same
     SymPy symbols, so the same assumptions), after the translation below. Only the `simplify` call is
     timed (the translation stands for what the user types), which favours the baseline.
   Implication steps ("follows from the previous equation"): the baseline checks the conclusion as an
   identity, simplify(lhs - rhs) == 0.
2. `klproof check proofs` as a user runs it (the venv's console script, in a subprocess), cold
   (`--no-cache` when the CLI has it; without a cache every run is cold) and warm (a second run with the
   cache, when there is one), against `python -c "import sympy"`: the floor.
3. `klproof --help` against `python -c pass`.
4. Scaling: generated corpora of 10, 100 and 1,000 steps (the proofs' chains, copied with every declared
   name renamed per copy, mu -> mu_c17, so no cache can help), checked with -j 1 and -j <all cores>.
5. Numeric checking: `numeric.sample` on every proofs/ step (true: all points are sampled), and on a false
   mutant of each (the sign of one term of the right side flipped: a witness ends the search).

The baseline's translation: what a notebook user without klproof would write
------------------------------------------------------------------------------
klproof's vocabulary objects have no meaning in plain SymPy, so before `simplify` each is replaced by
the plain-SymPy expression a user would type for it:

- a user definition g(x) -> its body (`rules.expand_definitions`);
- tr(diag(v_j)) -> Sum(v_j, (j, a, b)); det(diag(v_j)) -> Product(v_j, (j, a, b)); dot(u_j, v_j) ->
  Sum(u_j*v_j, (j, a, b)) (`_matrices`: the first half of `rules.diagonal`; its log-of-a-product split is a
  klproof rewrite, not something a user writes);
- KL(NormalDiag(z, m_j, s_j), NormalDiag(z, m'_j, s'_j)) -> Sum(KL(N(z, m_j, s_j), N(z, m'_j, s'_j)), j)
  (`rules.kl_product`: the per-dimension KLs over the user's own variable z);
- KL(q, p) -> E_q[log q - log p] (`rules.kl_definition`);
- E(f, N(x, mu, sigma)) -> Integral(density * f, (x, -oo, oo)) (as `rules.expectation`);
- N(x, mu, sigma) -> exp(-(x - mu)**2/(2 sigma**2))/(sqrt(2 pi) sigma) (`rules.normal_density`);
- abstract probabilities: P(z|X) -> Function('P_z_given_X', positive=True)(z, X), P(z) -> P_z(z),
  P(z, X) -> P_z_X(z, X): one undefined function per conditional, declared positive as klproof's are
  (`_probabilities`). Nothing tells SymPy that they are related (Bayes' rule) or normalised;
- E(f, Q(z|X)) -> Sum(Q_z_given_X(z, X) * f, (z, 0, K)), and a sum or integral over all values of an
  abstract variable, Sum(f, z), -> Sum(f, (z, 0, K)), with K a symbolic positive integer
  (`_latent_sums`). A user has no way to tell SymPy that Sum_z Q(z|X) = 1: that is the point.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import multiprocessing
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sympy as sp  # noqa: E402

from klproof import vocabulary as C  # noqa: E402
from klproof.check import rules as R  # noqa: E402
from klproof.check.decide import Options, check_step  # noqa: E402
from klproof.model import Implication, Step  # noqa: E402
from klproof.parse.file import read_derivation  # noqa: E402

K = sp.Symbol("K", integer=True, positive=True)  # the number of values of a latent variable: unknown
BIN = Path(sys.executable).parent  # the venv's bin: its python and its klproof console script


# -- the plain-SymPy baseline: translation ------------------------------------------------------------

def _matrices(e: sp.Expr) -> sp.Expr:
    e = e.replace(lambda n: isinstance(n, C.Trace), lambda n: sp.Sum(n.args[0].args[0], n.args[0].args[1:]))
    e = e.replace(lambda n: isinstance(n, C.Det), lambda n: sp.Product(n.args[0].args[0], n.args[0].args[1:]))
    return e.replace(lambda n: isinstance(n, C.Dot), lambda n: sp.Sum(n.args[0] * n.args[1], n.args[2:]))


def _normal_diag(e: sp.Expr) -> sp.Expr:
    """A diagonal Gaussian outside a KL (not in proofs/, here for completeness): the product of its densities."""
    def product(n: C.NormalDiag):
        z, m, s, j, a, b = n.args
        return sp.Product(C.Normal(sp.IndexedBase(z.name, real=True)[j], m, s), (j, a, b))

    return e.replace(lambda n: isinstance(n, C.NormalDiag), product)


def _expectations(e: sp.Expr) -> sp.Expr:
    """`rules.expectation`, with E over an abstract density as Sum(..., (z, 0, K)): what a user writes."""
    return R.expectation(e, latent_sum=lambda f, var: sp.Sum(f, (var, 0, K)))


def _latent_sums(e: sp.Expr) -> sp.Expr:
    return e.replace(lambda n: isinstance(n, C.LatentSum), lambda n: sp.Sum(n.args[0], (n.args[1], 0, K)))


def _derivatives(e: sp.Expr) -> sp.Expr:
    """d/dmu f at mu as a user writes it: SymPy's Derivative, at the point by Subs (diff(f, mu) when the
    point is the variable's own symbol)."""
    return e.replace(lambda n: isinstance(n, C.DerivativeAt),
                     lambda n: sp.Subs(sp.Derivative(n.body, (n.variable, n.order)), n.variable, n.point))


def probability_function(p: C.Prob) -> sp.Expr:
    """P(z|X) as a user writes it in plain SymPy: an undefined positive function P_z_given_X(z, X)."""
    name = p.family + "_" + "_".join(s.name for s in p.targets)
    if p.givens:
        name += "_given_" + "_".join(s.name for s in p.givens)
    return sp.Function(name, positive=True)(*p.targets, *p.givens)


def _probabilities(e: sp.Expr) -> sp.Expr:
    return e.replace(lambda n: isinstance(n, C.Prob), probability_function)


def to_plain_sympy(e: sp.Expr) -> sp.Expr:
    """klproof's vocabulary replaced by the plain SymPy a notebook user would write (see the docstring)."""
    for rewrite in (R.expand_definitions, _matrices, R.kl_product, R.kl_definition, _normal_diag, _expectations,
                    _latent_sums, R.normal_density, _probabilities, _derivatives):
        e = rewrite(e)
    leftover = e.atoms(*C.VOCABULARY, C.Defined)
    if leftover:
        raise ValueError(f"untranslated vocabulary: {sorted(map(str, leftover))[:3]}")
    return e


def baseline_difference(step: Step) -> sp.Expr:
    claim = step.claim  # an Implication's conclusion is checked as an identity
    return to_plain_sympy(claim.lhs) - to_plain_sympy(claim.rhs)


def baseline_check(step: Step) -> tuple[str, float, float]:
    """(verdict, wall and CPU seconds of the simplify call): the user's one-liner simplify(lhs - rhs) == 0."""
    difference = baseline_difference(step)
    cpu, started = time.process_time(), time.perf_counter()
    proved = sp.simplify(difference) == 0
    return ("proved" if proved else "not proved"), time.perf_counter() - started, time.process_time() - cpu


def klproof_check(step: Step, timeout: float) -> tuple[str, float, float]:
    """(verdict, wall and CPU seconds): klproof's whole per-step work, numeric on, as the CLI's worker runs it."""
    cpu, started = time.process_time(), time.perf_counter()
    verdict = check_step(step, Options(timeout=timeout))
    return verdict.status.value, time.perf_counter() - started, time.process_time() - cpu


def warm_up() -> None:
    """Pay SymPy's and klproof's one-time costs (lazy imports, first use) in the parent, on steps outside the
    corpus, then empty SymPy's caches: every forked check then starts like a worker that has done other work,
    without a cached result of its own step."""
    from sympy.core.cache import clear_cache

    text = "\n".join(['title = "warm-up"', "[symbols]", 'y = "real"', 'w = "real"', 't = "positive"', 'V = "real"',
                      "[distributions]", 'F = ["y", "V"]', "[[chain]]",
                      "start = 'KL(N(y, w, t), N(y, 0, 1))'", "[[chain.step]]",
                      "expr = 'E(log(N(y, w, t)) - log(N(y, 0, 1)), N(y, w, t))'", "[[chain]]",
                      "start = 'E(log(F(y|V)) + w, F(y|V))'", "[[chain.step]]", "expr = 'log(F(V))'"]) + "\n"
    for step in read_derivation("warm-up.toml", text.encode()).steps:
        check_step(step, Options(cross_check=True))
        sp.simplify(baseline_difference(step))
    clear_cache()


# -- one check per forked process, killed at the time limit ----------------------------------------------

def _child(conn, fn, args):
    try:
        conn.send(("ok", fn(*args)))
    except BaseException as exc:  # noqa: BLE001 - any failure is the check's verdict "error"
        conn.send(("error", f"{type(exc).__name__}: {exc}"[:200]))
    finally:
        conn.close()


def limited(fn, args: tuple, timeout: float):
    """('ok', result) | ('error', message) | ('timeout', None), fn(*args) run in a fresh forked process."""
    context = multiprocessing.get_context("fork")
    parent, child = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(child, fn, args), daemon=True)
    process.start()
    child.close()
    try:
        if parent.poll(timeout):
            try:
                return parent.recv()
            except EOFError:
                return "error", "the process died"
        return "timeout", None
    finally:
        if process.is_alive():
            process.kill()
        process.join()
        parent.close()


@dataclasses.dataclass
class Row:
    where: str
    kind: str  # identity | implication
    klproof: str
    klproof_s: float  # CPU seconds of the check (wall seconds are noisier on a shared machine)
    baseline: str
    baseline_s: float  # CPU seconds; the time limit for a timeout (a lower bound)
    note: str = ""
    klproof_wall: float = 0.0
    baseline_wall: float = 0.0

    @property
    def ratio(self) -> float:
        return self.baseline_s / max(self.klproof_s, 1e-4)


def corpus_steps(folders=("proofs", "examples")) -> list[tuple[str, Step]]:
    steps = []
    for folder in folders:
        for path in sorted((ROOT / folder).glob("*.toml")):
            rel = str(path.relative_to(ROOT))
            steps += [(rel, s) for s in read_derivation(rel, path.read_bytes()).steps]
    return steps


def compare_step(where: str, step: Step, timeout: float) -> Row:
    kind = "implication" if isinstance(step.claim, Implication) else "identity"
    status, value = limited(klproof_check, (step, timeout), timeout)
    if status == "ok":
        k_verdict, k_wall, k_s = value
    else:
        k_verdict, k_wall, k_s = status, timeout, timeout
    note = ""
    status, value = limited(baseline_check, (step,), timeout)
    if status == "ok":
        b_verdict, b_wall, b_s = value
    elif status == "timeout":
        b_verdict, b_wall, b_s = "timeout", timeout, timeout
    else:
        b_verdict, b_wall, b_s, note = "error", 0.0, 0.0, value
    return Row(where, kind, k_verdict, k_s, b_verdict, b_s, note, k_wall, b_wall)


def compare(steps: list[tuple[str, Step]], timeout: float, progress=None) -> list[Row]:
    warm_up()
    rows = []
    for path, step in steps:
        row = compare_step(f"{path}:{step.span.line}", step, timeout)
        rows.append(row)
        if progress:
            progress(row)
    return rows


# -- tables ---------------------------------------------------------------------------------------------

def _secs(s: float) -> str:
    return f"{s * 1000:.0f} ms" if s < 1 else f"{s:.2f} s"


def _ratio(r: float) -> str:
    return f"{r:.0f}×" if r >= 10 else f"{r:.1f}×" if r >= 1 else f"{r:.2f}×"


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(lines)


def step_table(rows: list[Row]) -> str:
    body = []
    for r in rows:
        baseline_time = (">" if r.baseline == "timeout" else "") + _secs(r.baseline_s)
        ratio = "" if r.baseline == "error" else (">" if r.baseline == "timeout" else "") + _ratio(r.ratio)
        verdict = r.baseline + (f" ({r.note})" if r.note else "")
        body.append([r.where, r.kind, r.klproof, _secs(r.klproof_s), verdict, baseline_time, ratio])
    return markdown_table(["step", "claim", "klproof", "CPU", "SymPy simplify", "CPU", "ratio"], body)


def totals(rows: list[Row]) -> dict:
    both = [r for r in rows if r.baseline == "proved"]
    k_all, b_all = sum(r.klproof_s for r in rows), sum(r.baseline_s for r in rows)
    k_both, b_both = sum(r.klproof_s for r in both), sum(r.baseline_s for r in both)
    return {
        "steps": len(rows),
        "klproof_proved": sum(r.klproof == "proved" for r in rows),
        "klproof_refuted": sum(r.klproof == "refuted" for r in rows),
        "baseline_proved": len(both),
        "baseline_timeouts": sum(r.baseline == "timeout" for r in rows),
        "baseline_errors": sum(r.baseline == "error" for r in rows),
        "klproof_total": k_all, "baseline_total": b_all, "ratio_all": b_all / max(k_all, 1e-9),
        "klproof_both": k_both, "baseline_both": b_both, "ratio_both": b_both / max(k_both, 1e-9) if both else 0.0,
        "klproof_wall": sum(r.klproof_wall for r in rows), "baseline_wall": sum(r.baseline_wall for r in rows),
        "klproof_both_wall": sum(r.klproof_wall for r in both), "baseline_both_wall": sum(r.baseline_wall for r in both),
        "proofs_all_proved": all(r.klproof == "proved" for r in rows if r.where.startswith("proofs/")),
    }


def totals_table(t: dict) -> str:
    return markdown_table(["", "klproof", "SymPy simplify", "baseline / klproof"], [
        ["steps proved", f"{t['klproof_proved']} of {t['steps']} (+{t['klproof_refuted']} refuted)",
         f"{t['baseline_proved']} of {t['steps']} ({t['baseline_timeouts']} timeouts, {t['baseline_errors']} errors)", ""],
        ["total CPU time, all steps", _secs(t["klproof_total"]), ("≥ " if t["baseline_timeouts"] else "") + _secs(t["baseline_total"]),
         ("≥ " if t["baseline_timeouts"] else "") + _ratio(t["ratio_all"])],
        [f"total CPU time, the {t['baseline_proved']} steps both prove", _secs(t["klproof_both"]),
         _secs(t["baseline_both"]), _ratio(t["ratio_both"])],
        ["(side note) total wall time, all steps / steps both prove",
         f"{_secs(t['klproof_wall'])} / {_secs(t['klproof_both_wall'])}",
         f"{_secs(t['baseline_wall'])} / {_secs(t['baseline_both_wall'])}",
         f"{_ratio(t['baseline_wall'] / max(t['klproof_wall'], 1e-9))} / "
         f"{_ratio(t['baseline_both_wall'] / max(t['klproof_both_wall'], 1e-9))}"],
    ])


# -- command-line timings -------------------------------------------------------------------------------

def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_runs(command: list[str], repeats: int, cwd: Path, env: dict | None = None,
               cpu: list | None = None) -> tuple[list[float], int, str]:
    """Wall seconds of each run (and, into `cpu`, the CPU seconds of the command and its worker processes)."""
    times, code, out = [], 0, ""
    for _ in range(repeats):
        cpu_before, started = _children_cpu(), time.perf_counter()
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True,
                              env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200", **(env or {})})
        times.append(time.perf_counter() - started)
        if cpu is not None:
            cpu.append(_children_cpu() - cpu_before)
        code, out = done.returncode, done.stdout + done.stderr
    return times, code, out


def klproof_help() -> str:
    return subprocess.run([str(BIN / "klproof"), "check", "--help"], capture_output=True, text=True,
                          env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}).stdout


def cli_timings(repeats: int, workdir: Path) -> dict:
    """Median and min of each command, cold and warm, with the floor measured in the same run."""
    python, klproof = str(BIN / "python"), str(BIN / "klproof")
    has_cache_flag = "--no-cache" in klproof_help()
    proofs = workdir / "proofs"
    shutil.copytree(ROOT / "proofs", proofs)
    env = {"XDG_CACHE_HOME": str(workdir / "xdg-cache"), "KLPROOF_CACHE_DIR": str(workdir / "cache")}
    cold = [klproof, "check", "proofs"] + (["--no-cache"] if has_cache_flag else [])
    results = {"has_cache_flag": has_cache_flag}
    # Interleave the commands, so that a noisy moment of the machine hits all of them alike.
    samples: dict[str, list[float]] = {k: [] for k in ("pass", "import sympy", "help", "cold", "warm")}
    cpu: dict[str, list[float]] = {k: [] for k in samples}
    codes = {}
    if has_cache_flag:
        timed_runs([klproof, "check", "proofs"], 1, workdir, env)  # fill the cache
    for _ in range(repeats):
        for name, command in (("pass", [python, "-c", "pass"]), ("import sympy", [python, "-c", "import sympy"]),
                              ("help", [klproof, "--help"]), ("cold", cold),
                              ("warm", [klproof, "check", "proofs"] if has_cache_flag else None)):
            if command is None:
                continue
            times, code, out = timed_runs(command, 1, workdir, env, cpu=cpu[name])
            samples[name] += times
            codes[name] = (code, out.strip().splitlines()[-1] if out.strip() else "")
    results["samples"] = samples
    results["cpu"] = cpu
    results["codes"] = codes
    return results


def cli_table(c: dict) -> str:
    s = c["samples"]
    med = {k: statistics.median(v) for k, v in s.items() if v}
    low = {k: min(v) for k, v in s.items() if v}
    floor, floor_min = med["import sympy"], low["import sympy"]
    rows = [
        ["`python -c \"import sympy\"` (the floor)", "1.00×", "+0.00 s", "", f"{med['import sympy']:.2f} s / {low['import sympy']:.2f} s"],
        ["`python -c pass`", f"{med['pass'] / floor:.2f}×", f"{med['pass'] - floor:+.2f} s", "", f"{med['pass']:.3f} s / {low['pass']:.3f} s"],
        ["`klproof --help`", f"{med['help'] / floor:.2f}×", f"{med['help'] - floor:+.2f} s",
         f"+{med['help'] - med['pass']:.3f} s over `python -c pass`", f"{med['help']:.3f} s / {low['help']:.3f} s"],
        ["`klproof check proofs` cold" + (" (`--no-cache`)" if c["has_cache_flag"] else " (no cache in this build)"),
         f"{med['cold'] / floor:.2f}×", f"{med['cold'] - floor:+.2f} s", f"min: {low['cold'] - floor_min:+.2f} s",
         f"{med['cold']:.2f} s / {low['cold']:.2f} s"],
    ]
    if s.get("warm"):
        rows.append(["`klproof check proofs` warm (cache)", f"{med['warm'] / floor:.2f}×", f"{med['warm'] - floor:+.2f} s",
                     f"min: {low['warm'] - floor_min:+.2f} s", f"{med['warm']:.2f} s / {low['warm']:.2f} s"])
    else:
        rows.append(["`klproof check proofs` warm (cache)", "n/a", "n/a", "the CLI has no `--no-cache`: no cache yet", ""])
    cpu = {k: statistics.median(v) for k, v in c["cpu"].items() if v}
    for row, key in zip(rows, ("import sympy", "pass", "help", "cold", "warm")):
        row.append(f"{cpu[key]:.2f} s" if key in cpu else "")
    table = markdown_table(["command (median of %d)" % len(s["import sympy"]), "vs import sympy", "difference",
                            "", "wall seconds: median / min", "CPU seconds, all processes (median)"], rows)
    codes = "; ".join(f"{k}: exit {v[0]}" for k, v in c["codes"].items())
    return table + f"\n\nExit codes: {codes}."


# -- scaling --------------------------------------------------------------------------------------------

NAME_SECTIONS = ("symbols", "families", "distributions", "definitions")


def _declared_names(doc: dict) -> list[str]:
    names = []
    for section in NAME_SECTIONS:
        for key in doc.get(section, {}):
            names.append(key.split("(")[0].strip())
    return names


def renamed_text(text: str, names: list[str], suffix: str) -> str:
    """Every declared name, as a whole word, renamed name -> name_suffix (mu[j] -> mu_c3[j_c3])."""
    pattern = re.compile(r"\b(" + "|".join(sorted(map(re.escape, names), key=len, reverse=True)) + r")\b")
    return pattern.sub(lambda m: f"{m.group(1)}_{suffix}", text)


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return json.dumps(v, ensure_ascii=False)


def toml_document(doc: dict, chains: list[dict]) -> str:
    lines = [f"{k} = {_toml_value(v)}" for k, v in doc.items() if not isinstance(v, (dict, list))]
    for section in NAME_SECTIONS:
        if doc.get(section):
            lines += ["", f"[{section}]"] + [f"{_toml_value(k)} = {_toml_value(v)}" for k, v in doc[section].items()]
    for chain in chains:
        lines += ["", "[[chain]]"] + [f"{k} = {_toml_value(v)}" for k, v in chain.items() if k != "step"]
        for step in chain.get("step", []):
            lines += ["", "[[chain.step]]"] + [f"{k} = {_toml_value(v)}" for k, v in step.items()]
    return "\n".join(lines) + "\n"


def _count_steps(doc: dict, chain: dict) -> int:
    return len(read_derivation("count.toml", toml_document(doc, [chain]).encode()).steps)


def generate_corpus(folder: Path, size: int, sources=None) -> int:
    """`size` steps of the proofs' chains, copy after copy, each copy with fresh names. Returns the count."""
    sources = sources or sorted((ROOT / "proofs").glob("*.toml"))
    folder.mkdir(parents=True, exist_ok=True)
    originals = []
    for path in sources:
        text = path.read_text(encoding="utf-8")
        doc = tomllib.loads(text)
        if any("latex" in c or any("latex" in s for s in c.get("step", [])) for c in doc.get("chain", [])):
            continue  # renaming is textual: it cannot reach names spelled as LaTeX commands (\mu_1)
        originals.append((path.stem, text, _declared_names(doc)))
    total, copy = 0, 0
    while total < size:
        copy += 1
        for stem, text, names in originals:
            if total >= size:
                break
            doc = tomllib.loads(renamed_text(text, names, f"c{copy}"))
            chains = []
            for chain in doc.get("chain", []):
                if total >= size:
                    break
                count = _count_steps(doc, chain)
                while total + count > size and chain.get("step"):  # cut the last chain to the exact size
                    chain = {**chain, "step": chain["step"][:-1]}
                    count = _count_steps(doc, chain)
                if count == 0 or total + count > size:
                    continue
                chains.append(chain)
                total += count
            if chains:
                (folder / f"{stem}_c{copy}.toml").write_text(toml_document(doc, chains), encoding="utf-8")
    return total


def scaling(sizes: list[int], workdir: Path, cores: int, has_cache_flag: bool) -> list[dict]:
    klproof = str(BIN / "klproof")
    out = []
    for size in sizes:
        folder = workdir / f"corpus_{size}"
        count = generate_corpus(folder, size)
        entry = {"size": count}
        for jobs in sorted({1, cores}):
            command = [klproof, "check", "-j", str(jobs), str(folder)] + (["--no-cache"] if has_cache_flag else [])
            cpu: list[float] = []
            times, code, output = timed_runs(command, 1, workdir, cpu=cpu)
            last = output.strip().splitlines()[-1] if output.strip() else ""
            entry[jobs] = {"seconds": times[0], "cpu": cpu[0], "exit": code, "summary": last}
        out.append(entry)
    return out


def marginal_cpu(entries: list[dict]) -> list[float]:
    """CPU seconds per added step (-j 1) from each size to the next: constant when the cost is linear."""
    return [(b[1]["cpu"] - a[1]["cpu"]) / (b["size"] - a["size"]) for a, b in zip(entries, entries[1:])]


def scaling_table(entries: list[dict], cores: int, floor: float) -> str:
    rows = []
    marginal = [None] + marginal_cpu(entries)
    for e, m in zip(entries, marginal):
        row = [str(e["size"])]
        for jobs in sorted({1, cores}):
            r = e[jobs]
            row += [f"{r['seconds']:.2f} s", f"{r['cpu']:.2f} s", f"{r['cpu'] / r['seconds']:.2f}"]
        speedup = e[1]["seconds"] / e[cores]["seconds"] if cores > 1 else 1.0
        row += [f"{speedup:.2f}×", f"{(e[1]['seconds'] - floor) / e['size'] * 1000:.0f} ms",
                f"{m * 1000:.0f} ms" if m is not None else "",
                f"exit {e[1]['exit']}/{e[cores]['exit']}; " + e[cores]["summary"].replace("PASSED ", "")]
        rows.append(row)
    header = ["steps"]
    for jobs in sorted({1, cores}):
        header += [f"-j {jobs} wall", f"-j {jobs} CPU", f"-j {jobs} cores busy"]
    header += [f"-j {cores} speed-up (wall)", "(wall − floor) per step, -j 1",
               "CPU per added step, -j 1 (constant = linear)", "result"]
    return markdown_table(header, rows)


# -- numeric checking -----------------------------------------------------------------------------------

def mutant(step: Step) -> Step:
    """The step with the sign of one term of its right side flipped: a false step."""
    claim = step.claim
    terms = list(sp.Add.make_args(claim.rhs))
    flipped = sp.Add(-terms[0], *terms[1:]) if len(terms) > 1 else -claim.rhs
    if flipped == claim.rhs:  # rhs == 0
        flipped = claim.rhs + 1
    return dataclasses.replace(step, claim=dataclasses.replace(claim, rhs=flipped), text=step.text + " [mutant]")


def numeric_timings(steps: list[Step]) -> list[tuple[str, float, str, float]]:
    """(true: outcome, seconds, mutant: outcome, seconds) per step: numeric.sample as check_step calls it."""
    from klproof.check.numeric import sample

    options = Options()
    out = []
    for step in steps:
        row = []
        for s in (step, mutant(step)):
            started = time.process_time()
            result = sample(s, seed=options.seed, points=options.points, digits=options.digits)
            seconds = time.process_time() - started
            outcome = "witness" if result.witness else ("agree" if result.evidence else "no evidence")
            row += [outcome, seconds]
        out.append(tuple(row))
    return out


def numeric_table(results: list[tuple], where: list[str]) -> str:
    def summary(values, outcomes, expected):
        return [f"{statistics.median(values) * 1000:.0f} ms", f"{min(values) * 1000:.0f} ms",
                f"{max(values) * 1000:.0f} ms", f"{sum(o == expected for o in outcomes)} of {len(outcomes)}"]

    true_s = [r[1] for r in results]
    mut_s = [r[3] for r in results]
    slowest = sorted(zip(where, results), key=lambda wr: -max(wr[1][1], wr[1][3]))[:3]
    table = markdown_table(["numeric.sample on", "median", "min", "max", "expected outcome"], [
        ["proofs/ steps (true: all points agree)", *summary(true_s, [r[0] for r in results], "agree")],
        ["false mutants (one sign flipped: a witness)", *summary(mut_s, [r[2] for r in results], "witness")],
    ])
    table += "\n\nSlowest: " + "; ".join(f"{w} ({r[1] * 1000:.0f} ms true, {r[3] * 1000:.0f} ms mutant)"
                                         for w, r in slowest) + "."
    return table


# -- the run --------------------------------------------------------------------------------------------

def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True).stdout.strip()
    except OSError:
        return "?"


def targets_table(t: dict, cli: dict, scale: list[dict], numeric: list[tuple], n_cores: int) -> str:
    s = cli["samples"]
    floor = statistics.median(s["import sympy"])
    cold = statistics.median(s["cold"]) - floor
    warm = statistics.median(s["warm"]) - floor if s.get("warm") else None
    help_s = statistics.median(s["help"])
    num_true = statistics.median(r[1] for r in numeric)
    num_mut = statistics.median(r[3] for r in numeric)
    big = scale[-1]
    speedup = big[1]["seconds"] / big[n_cores]["seconds"] if n_cores > 1 else float("nan")
    marginal = marginal_cpu(scale)
    linear = max(marginal) <= 1.3 * min(marginal) if len(marginal) > 1 else None
    busy = big[n_cores]["cpu"] / big[n_cores]["seconds"]
    yes = lambda ok: "met" if ok else "**missed**"  # noqa: E731
    rows = [
        ["every step of proofs/ proved", "yes" if t["proofs_all_proved"] else "no", yes(t["proofs_all_proved"])],
        ["klproof ≥ 50× faster than simplify on the steps both prove", _ratio(t["ratio_both"]), yes(t["ratio_both"] >= 50)],
        ["`klproof check proofs` cold ≤ import sympy + 1 s", f"{cold:+.2f} s", yes(cold <= 1.0)],
        ["`klproof check proofs` warm ≤ import sympy + 0.2 s",
         f"{warm:+.2f} s" if warm is not None else "no cache in this build", yes(warm is not None and warm <= 0.2)],
        ["`klproof --help` < 0.2 s", f"{help_s:.3f} s", yes(help_s < 0.2)],
        ["numeric check of a step < 100 ms median", f"{num_true * 1000:.0f} ms true, {num_mut * 1000:.0f} ms mutants",
         yes(num_true < 0.1 and num_mut < 0.1)],
        ["cost linear in the number of steps",
         "CPU per added step: " + " → ".join(f"{m * 1000:.0f} ms" for m in marginal) + " (-j 1)",
         yes(bool(linear)) if linear is not None else "n/a (needs 3 sizes)"],
        [f"-j {n_cores} ≥ 1.7× faster than -j 1 at {big['size']} steps",
         f"{speedup:.2f}× (-j {n_cores} kept {busy:.2f} cores busy; load average {os.getloadavg()[0]:.1f})",
         yes(speedup >= 1.7)],
    ]
    return markdown_table(["target", "measured", ""], rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smaller run: scaling to 100 steps, fewer repeats")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results.md"), help="the Markdown results file")
    parser.add_argument("--timeout", type=float, default=10.0, help="per-step time limit, seconds (both checkers)")
    parser.add_argument("--repeats", type=int, default=None, help="runs of each command-line timing (default 5, quick 3)")
    args = parser.parse_args(argv)
    repeats = args.repeats or (3 if args.quick else 5)
    sizes = [10, 100] if args.quick else [10, 100, 1000]
    n_cores = cores()
    started, load_start = time.perf_counter(), os.getloadavg()[0]
    say = lambda text="": print(text, flush=True)  # noqa: E731

    say(f"klproof benchmark: {n_cores} cores, Python {platform.python_version()}, SymPy {sp.__version__}")
    steps = corpus_steps()
    say(f"\n1. {len(steps)} steps of proofs/ and examples/, each check in its own process, limit {args.timeout:g} s")
    rows = compare(steps, args.timeout, progress=lambda r: say(
        f"  {r.where:55} klproof {r.klproof:9} {_secs(r.klproof_s):>8}   simplify {r.baseline:10} {_secs(r.baseline_s):>8}"))
    t = totals(rows)

    say(f"\n2. command-line timings, {repeats} runs each")
    with tempfile.TemporaryDirectory(prefix="klproof-bench-") as tmp:
        work = Path(tmp)
        cli = cli_timings(repeats, work)
        floor = statistics.median(cli["samples"]["import sympy"])
        say(cli_table(cli))
        say(f"\n3. scaling: {sizes} steps, -j 1 and -j {n_cores}")
        scale = scaling(sizes, work, n_cores, cli["has_cache_flag"])
        say(scaling_table(scale, n_cores, floor))
    say("\n4. numeric checking")
    proof_steps = [(w, s) for w, s in steps if w.startswith("proofs/")]
    status, numeric = limited(numeric_timings, ([s for _, s in proof_steps],), 900)
    if status != "ok":
        raise SystemExit(f"numeric timing failed: {status} {numeric}")
    wall, load_end = time.perf_counter() - started, os.getloadavg()[0]

    where = [f"{w}:{s.span.line}" for w, s in proof_steps]
    report = "\n".join([
        "# klproof benchmark results",
        "",
        f"{datetime.date.today().isoformat()} · {n_cores} cores ({platform.processor() or platform.machine()}) · "
        f"Python {platform.python_version()} · SymPy {sp.__version__} · klproof commit {_commit()} · "
        f"per-step limit {args.timeout:g} s · {'quick' if args.quick else 'full'} run, wall time {wall:.0f} s · "
        f"load average (1 min) {load_start:.2f} at the start, {load_end:.2f} at the end (the machine is shared)",
        "",
        "Reproduce: `.venv/bin/python bench/run.py" + (" --quick" if args.quick else "") + "`. "
        "Ratios are against baselines measured in the same run; absolute seconds are a side note.",
        "",
        "## Targets",
        "",
        targets_table(t, cli, scale, numeric, n_cores),
        "",
        "## klproof against `sympy.simplify(lhs - rhs) == 0`, per step",
        "",
        "Each check in a fresh forked process, killed at the limit (a timeout counts as the limit: a lower bound). "
        "klproof: `check_step` with numeric on; the baseline: simplify of the claim translated to plain SymPy "
        "(see bench/run.py's docstring), only the simplify call timed.",
        "",
        totals_table(t),
        "",
        step_table(rows),
        "",
        "## `klproof check proofs` as a user runs it",
        "",
        cli_table(cli),
        "",
        "## Scaling: generated corpora (the proofs' chains with fresh names per copy)",
        "",
        "Wall and CPU seconds of the whole `klproof check` run (CPU: all its processes). \"cores busy\" is CPU / wall: "
        "below the -j value when the shared machine gives klproof less than that many cores.",
        "",
        scaling_table(scale, n_cores, floor),
        "",
        "## Numeric checking per step (`numeric.sample`, 6 points, 30 digits)",
        "",
        "CPU time of each call, in one process after the warm-up (each mutant right after its true step, as a "
        "false step's numeric check runs right after its failed proof attempt).",
        "",
        numeric_table(numeric, where),
        "",
    ])
    say("\n" + report)
    Path(args.out).write_text(report, encoding="utf-8")
    say(f"written to {args.out}; wall time {wall:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
