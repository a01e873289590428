"""Hostile input around the verdicts (issue 12 items 1, 2, 6; issue 17 item 4), through the real CLI and
the pytest plugin: reading is bounded like checking, unreadable paths are errors in the summary, a
2,000-step file is allowed, and an exception inside a rule or the sampler is that step's internal error.

Every CLI run here is watched through /proc: no traceback, the documented exit code, the message at its
file:line(:col), a wall-time bound, a bound on the peak resident memory of the whole process tree, nothing
written outside the run's folder, and the good file beside the hostile one still reported.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
from conftest import ROOT, derivation_text, klproof_command
from proctree import run_watched
from test_hostile import _tree

from klproof.check.runner import SMALL_RUN_BYTES, default_jobs

TIMEOUT = 2  # --timeout of these runs, seconds
SLACK = 10.0  # interpreter start, SymPy import, workers; the machine is shared
GOOD = derivation_text("(a + b)**2", "a**2 + 2*a*b + b**2", by="algebra")
HEADER = 'title = "hostile"\n[symbols]\nx = "real"\n\n'


def _latex(start: str, step: str) -> str:
    return HEADER + f"[[chain]]\nlatex = '{start}'\n\n[[chain.step]]\nlatex = '{step}'\n"


def _setpriv() -> list[str]:
    """As root, drop the capabilities that read past file permissions (so chmod 000 means unreadable)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: permissions cannot be tested")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search"]


def watched_check(folder: Path, *args: str, bound: float, peak_mib: float, prefix: list[str] | None = None):
    """`klproof check --no-cache --timeout 2 ARGS` in `folder`, watched; the common assertions."""
    repo_before, folder_before = _tree(ROOT), _tree(folder)
    run = run_watched([*(prefix or []), *klproof_command(), "check", "--no-cache", "--timeout", str(TIMEOUT), *args],
                      cwd=folder, env={"NO_COLOR": "1", "COLUMNS": "200", "PYTHONDONTWRITEBYTECODE": "1"},
                      timeout=bound + 60)
    assert "Traceback" not in run.output, run.output[-3000:]
    assert run.seconds < bound, f"took {run.seconds:.1f} s, bound {bound} s"
    assert run.peak_mib < peak_mib, f"the process tree peaked at {run.peak_mib:.0f} MiB, bound {peak_mib} MiB"
    assert _tree(folder) == folder_before, "the run created or changed a file in its folder"
    assert _tree(ROOT) == repo_before, "the run created or changed a file in the repository"
    return run


# -- 12.1: reading is bounded like checking ------------------------------------------------------------

TOWER = "{{{10^{999}}^{999}}^{999}}"
SLOW_READS = {  # a file whose reading would not end: that file's error (exit 2) within the time limit
    "latex_number_tower": _latex("x = x", f"= {TOWER}"),
    "latex_number_tower_in_start": _latex(f"x = {TOWER}", "= x"),
    "latex_nested_exponents": _latex("x = x", "= 10^{10^{10^{10^{10}}}}"),
}
KEY_BOMBS = {  # a key of thousands of dotted parts: refused before tomllib, at the key
    "dotted_key_30000_parts": ('title = "t"\n' + ".".join(["a"] * 30_000) + " = 1\n", 2, 1),
    "dotted_table_100_kb": ('title = "t"\n[' + ".".join(["t"] * 50_000) + "]\nk = 1\n", 2, 2),
    "dotted_quoted_key_100_kb": ('title = "t"\n\n' + ".".join(['"q"'] * 25_000) + " = 1\n", 3, 1),
}


@pytest.mark.parametrize("name", sorted(SLOW_READS))
def test_a_file_whose_reading_does_not_end_is_that_files_error(tmp_path, name):
    (tmp_path / f"{name}.toml").write_text(SLOW_READS[name])
    (tmp_path / "good.toml").write_text(GOOD)
    run = watched_check(tmp_path, "-j", "1", ".", bound=TIMEOUT + SLACK, peak_mib=1500)
    assert run.returncode == 2, run.output[-3000:]
    assert f"{name}.toml:" in run.output and "hint:" in run.output
    assert "good.toml" in run.output and "1 proved" in run.output and "1 unreadable file" in run.output


@pytest.mark.parametrize("name", sorted(KEY_BOMBS))
def test_dotted_key_bombs_are_refused_before_tomllib(tmp_path, name):
    text, line, col = KEY_BOMBS[name]
    (tmp_path / f"{name}.toml").write_text(text)
    (tmp_path / "good.toml").write_text(GOOD)
    run = watched_check(tmp_path, ".", bound=SLACK, peak_mib=600)
    assert run.returncode == 2, run.output[-3000:]
    assert f"{name}.toml:{line}:{col}: a key or table name of more than 32 dotted parts" in run.output
    assert "1 proved" in run.output


def test_a_number_too_long_to_print_costs_one_step_at_most(tmp_path):
    """{10^{99}}^{99} is a 9,801-digit number: once the run died with a traceback in the cache key."""
    (tmp_path / "digits.toml").write_text(_latex("x = x", "= {10^{99}}^{99}"))
    (tmp_path / "good.toml").write_text(GOOD)
    run = watched_check(tmp_path, ".", bound=TIMEOUT + SLACK, peak_mib=1500)
    assert run.returncode in (1, 2), run.output[-3000:]  # its step's error, or the file's when numbers are bounded
    assert "digits.toml:" in run.output and "1 proved" in run.output


PLUGIN_CASES = {  # derivations (a [[chain]] table near the top), so the plugin collects them
    "latex_number_tower": SLOW_READS["latex_number_tower"],
    "dotted_key_in_a_chain": 'title = "t"\n[[chain]]\nstart = "x"\n' + ".".join(["a"] * 30_000) + " = 1\n",
}


@pytest.mark.parametrize("name", sorted(PLUGIN_CASES))
def test_pytest_collection_is_bounded_too(tmp_path, name):
    (tmp_path / f"{name}.toml").write_text(PLUGIN_CASES[name])
    (tmp_path / "good.toml").write_text(GOOD)
    run = run_watched([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--klproof-no-cache",
                       f"--klproof-timeout={TIMEOUT}", "."], cwd=tmp_path, env={"NO_COLOR": "1"}, timeout=120)
    assert "Traceback" not in run.output, run.output[-3000:]
    assert run.seconds < TIMEOUT + 2 * SLACK, run.seconds
    assert run.peak_mib < 1500, run.peak_mib
    assert run.returncode == 1, run.output[-3000:]  # its reading is one failing item; the good step passes
    assert "1 failed, 1 passed" in run.output and f"{name}.toml:" in run.output, run.output[-3000:]


# -- 12.6: honest summaries ----------------------------------------------------------------------------

def test_an_unreadable_sub_folder_is_an_error_in_the_summary(tmp_path):
    prefix = _setpriv()
    (tmp_path / "proofs" / "locked").mkdir(parents=True)
    (tmp_path / "proofs" / "locked" / "hidden.toml").write_text(GOOD)
    (tmp_path / "proofs" / "good.toml").write_text(GOOD)
    os.chmod(tmp_path / "proofs" / "locked", 0)
    try:
        run = watched_check(tmp_path, "proofs", bound=SLACK, peak_mib=600, prefix=prefix)
    finally:
        os.chmod(tmp_path / "proofs" / "locked", 0o755)
    assert run.returncode == 2, run.output[-3000:]
    assert "proofs/locked:1: cannot read this folder" in run.output and "hint:" in run.output
    assert "FAILED 2 files" in run.output and "1 proved" in run.output and "1 unreadable file" in run.output


def test_an_unreadable_file_is_an_error_in_the_summary(tmp_path):
    prefix = _setpriv()
    (tmp_path / "secret.toml").write_text(GOOD)
    os.chmod(tmp_path / "secret.toml", 0)
    (tmp_path / "good.toml").write_text(GOOD)
    try:
        run = watched_check(tmp_path, ".", bound=SLACK, peak_mib=600, prefix=prefix)
    finally:
        os.chmod(tmp_path / "secret.toml", 0o644)
    assert run.returncode == 2 and "secret.toml:1: cannot open the file" in run.output
    assert "1 proved" in run.output and "1 unreadable file" in run.output


@pytest.mark.parametrize("paths, message", [
    (["missing.toml"], "missing.toml:1: no such file or folder"),
    (["empty"], "empty:1: no derivation files (*.toml) in this folder"),
    (["missing.toml", "empty"], "2 unreadable files"),
])
def test_a_run_with_nothing_readable_never_passes(tmp_path, paths, message):
    (tmp_path / "empty").mkdir()
    run = watched_check(tmp_path, *paths, bound=SLACK, peak_mib=400)
    assert run.returncode == 2 and message in run.output
    assert "PASSED" not in run.output and "FAILED" in run.output


def _steps_file(steps: int, equation_starts: int = 0) -> str:
    chains = "".join("[[chain]]\nstart = \"x + x == 2*x\"\n" for _ in range(equation_starts))
    return HEADER + chains + '[[chain]]\nstart = "x"\n' + '[[chain.step]]\nexpr = "x"\n' * steps


def test_a_2000_step_file_is_allowed_as_the_readme_says(tmp_path):
    (tmp_path / "big.toml").write_text(_steps_file(2000))
    run = watched_check(tmp_path, "big.toml", bound=60, peak_mib=1200)
    assert run.returncode == 0 and "2000 steps: 2000 proved" in run.output, run.output[-2000:]


def test_2001_claims_are_refused(tmp_path):
    """The true counterpart's limit: 1,999 steps and two chains that start with an equation are 2,001 claims."""
    (tmp_path / "over.toml").write_text(_steps_file(1999, equation_starts=2))
    run = watched_check(tmp_path, "over.toml", "-j", "1", bound=SLACK + 20, peak_mib=1200)
    assert run.returncode == 2 and "more than 2000 steps in one file" in run.output, run.output[-2000:]


# -- 12.3: file names that look like options -------------------------------------------------------------

@pytest.mark.parametrize("name", ["--output=pyproject.toml", "-x.toml", "--format=json.toml", "-o.toml"])
def test_after_double_dash_a_file_name_is_a_file(tmp_path, name):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    (tmp_path / name).write_text(GOOD)
    run = watched_check(tmp_path, "--", name, bound=SLACK, peak_mib=600)
    assert run.returncode == 0 and "1 proved" in run.output and name in run.output, run.output[-2000:]
    assert (tmp_path / "pyproject.toml").read_text() == '[project]\nname = "x"\n'


# -- 17.6: the default number of workers ----------------------------------------------------------------

def test_default_workers_follow_the_work():
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    small = [("a.toml", b"x" * 100)] * 3
    many = [(f"{i}.toml", b"x" * SMALL_RUN_BYTES) for i in range(40)]
    assert default_jobs(small) == 1  # a second worker would spend more warming SymPy than it saves
    assert default_jobs(many) == cores
    assert default_jobs(many[:1]) == 1  # one file is one task: one worker
    assert default_jobs([]) == 1


# -- 17.4: an exception inside a rule or the sampler is that step's internal error -----------------------

def _broken(message: str, error=KeyError):
    def rewrite(expr):
        raise error(message)
    return rewrite


def test_an_exception_inside_a_rule_is_an_internal_error_naming_it(tmp_path, monkeypatch):
    from cli_inprocess import invoke

    from klproof.check import engine

    broken = [(rule, _broken("ComplexInfinity") if rule == "log_rules" else rewrite, triggers)
              for rule, rewrite, triggers in engine.PASSES]
    monkeypatch.setattr(engine, "PASSES", broken)  # the forked workers inherit the broken rule
    path = tmp_path / "log.toml"
    path.write_text(derivation_text("log(sigma*t)", "log(sigma) + log(t)", by="log rules"))
    (tmp_path / "good.toml").write_text(GOOD)
    result = invoke("check", "--no-cache", str(tmp_path))
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "internal error in the rule 'log rules': please report" in output and "KeyError" in output
    assert "ComplexInfinity" not in output  # Python's text is not a reason; the traceback is for explain
    assert "1 proved" in output and "1 error" in output
    explained = invoke("explain", f"{path}:{derivation_text('x', 'x').splitlines().index('[[chain.step]]') + 2}")
    assert explained.returncode == 1
    assert "Traceback" in explained.stdout and "KeyError: 'ComplexInfinity'" in explained.stdout


def test_an_exception_inside_the_sampler_is_an_internal_error(tmp_path, monkeypatch):
    from cli_inprocess import invoke

    from klproof.check import numeric

    monkeypatch.setattr(numeric, "sample", lambda *a, **k: _broken("too many values to unpack", ValueError)(None))
    (tmp_path / "false.toml").write_text(derivation_text("(a + b)**2", "a**2 + b**2"))
    result = invoke("check", "--no-cache", "--format", "json", str(tmp_path / "false.toml"))
    import json

    (step,) = json.loads(result.stdout)["files"][0]["steps"]
    assert step["status"] == "error" and step["method"] == "internal error in the numeric sampler: please report"
    assert "too many values" not in result.stdout


def test_a_resource_limit_inside_a_rule_is_not_an_internal_error(monkeypatch):
    """MemoryError and RecursionError are limits (reported as such by the runner), not klproof bugs."""
    from klproof.check import engine
    from klproof.check.decide import Options, check_step
    from klproof.parse.file import read_derivation

    monkeypatch.setattr(engine, "PASSES", [(r, _broken("deep", RecursionError), t) for r, _, t in engine.PASSES])
    text = derivation_text("log(sigma*t)", "log(sigma) + log(t)", by="log rules")
    (step,) = read_derivation("r.toml", text.encode()).steps
    with pytest.raises(RecursionError):
        check_step(step, Options())


def test_run_verdicts_carry_their_reason_and_are_never_cached(tmp_path):
    from klproof.api import check_sources
    from klproof.check.cache import VerdictCache
    from klproof.check.decide import Options
    from klproof.verdict import Reason, Status

    slow = derivation_text("(x + y + z + 1)**80", "(x + y + z + 2)**80 - 1")
    cache = VerdictCache(tmp_path / "cache")
    report = check_sources([("slow.toml", slow.encode()), ("good.toml", GOOD.encode())], Options(timeout=1),
                           jobs=2, cache=cache)
    slow_verdict, good_verdict = (f.verdicts[0] for f in report.files)
    assert slow_verdict.status is Status.UNKNOWN and slow_verdict.reason is Reason.TIMEOUT
    assert good_verdict.status is Status.PROVED and good_verdict.reason is None
    again = check_sources([("slow.toml", slow.encode())], Options(timeout=1), jobs=1, cache=cache)
    assert not again.files[0].verdicts[0].cached
