"""Parallel and bounded: a step over its time limit is stopped and reported, and the run goes on;
a killed run leaves no worker behind and keeps the verdicts it finished."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, klproof_command, run_cli
from proctree import alive, descendants
from test_formats import run_in_terminal
from test_hostile_runtime import NEVER_ENDING_READER

NEVER_ENDING_ZZ = NEVER_ENDING_READER.replace('startswith("slow")', 'startswith("zz_slow")')

SLOW = "(x + y + z + 1)**80"  # expanding it takes minutes; the parser allows exponents up to 1000


def test_a_slow_step_times_out_while_the_others_pass(tmp_path):
    path = tmp_path / "slow.toml"
    path.write_text("\n".join([
        'title = "one slow step between fast ones"',
        "[symbols]", 'x = "real"', 'y = "real"', 'z = "real"', "",
        "[[chain]]", 'start = "(x + y)**2"',
        "[[chain.step]]", 'expr = "x**2 + 2*x*y + y**2"', "",
        "[[chain]]", f'start = "{SLOW}"',
        "[[chain.step]]", 'expr = "(x + y + z + 2)**80 - 1"', "",
        "[[chain]]", 'start = "(x - y)*(x + y)"',
        "[[chain.step]]", 'expr = "x**2 - y**2"', "",
    ]) + "\n")
    report_file = tmp_path / "report.json"
    started = time.perf_counter()
    screen = run_in_terminal("check", "--timeout", "2", "-j", "2", "--no-cache", "--format", "json",
                             "--output", str(report_file), str(path))
    elapsed = time.perf_counter() - started
    screen = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen)
    steps = [s for f in json.loads(report_file.read_text())["files"] for s in f["steps"]]
    assert [(s["status"], s["method"]) for s in steps][1] == ("unknown", "timeout"), steps
    assert [s["status"] for s in steps] == ["proved", "unknown", "proved"]
    assert 2 <= steps[1]["seconds"] < 4
    assert elapsed < 20, elapsed  # the slow step was stopped, not waited for
    assert "timeout" in screen and "FAILED 1 file, 3 steps: 2 proved, 1 unknown" in screen
    assert "checking" in screen  # the progress bar, on a terminal, for a run longer than a moment



# -- a killed run: no worker outlives it, the cache stays whole, a rerun agrees -------------------------

SLOW_FILE = "\n".join(['title = "slow"', "[symbols]", 'x = "real"', 'y = "real"', 'z = "real"', "",
                       "[[chain]]", f'start = "{SLOW}"', "[[chain.step]]", 'expr = "(x + y + z + 2)**80 - 1"', ""])


def _statuses(folder, *args):
    result = run_cli("check", "--format", "json", "--timeout", "2", *args, ".", cwd=folder, timeout=120)
    return {(f["path"], s["line"]): s["status"] for f in json.loads(result.stdout)["files"] for s in f["steps"]}


@pytest.mark.skipif(not Path("/proc").exists(), reason="reads the process tree from /proc")
@pytest.mark.parametrize("kind", ["slow step", "slow read"])
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_sigkill_mid_run_leaves_no_worker_and_a_whole_cache(tmp_path, kind, jobs):
    for path in (ROOT / "proofs").glob("*.toml"):
        shutil.copy(path, tmp_path / path.name)
    (tmp_path / "zz_slow.toml").write_text(SLOW_FILE)
    cache = tmp_path / "cache"
    # "slow read": the real CLI with a reader that never ends on zz_slow.toml (test_hostile_runtime.py)
    entry = [*klproof_command()] if kind == "slow step" else [sys.executable, "-c", NEVER_ENDING_ZZ]
    process = subprocess.Popen([*entry, "check", "-j", jobs, "--timeout", "60", "--cache-dir",
                                str(cache), "."], cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 90
        while len(list((cache / "steps").glob("*.json"))) < 40 and time.monotonic() < deadline:
            time.sleep(0.1)  # verdicts are stored as they come, long before the run ends
        assert process.poll() is None, "the run ended before it could be killed"
        time.sleep(1.5)  # the slow file is in a worker now
        workers = descendants(process.pid)
        assert workers, "no worker process to orphan"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        started = time.monotonic()
        while any(alive(pid) for pid in workers) and time.monotonic() - started < 5:
            time.sleep(0.05)
        assert not any(alive(pid) for pid in workers), "a worker outlived its killed parent"
    finally:
        if process.poll() is None:
            process.kill()
    entries = list((cache / "steps").glob("*.json"))
    assert len(entries) >= 40
    for entry in entries:
        json.loads(entry.read_text(encoding="utf-8"))  # every stored verdict is whole
    fresh = _statuses(tmp_path, "--no-cache")
    again = _statuses(tmp_path, "--cache-dir", str(cache))
    assert again == fresh and len(fresh) >= 53
    assert all(status == "proved" for (name, _), status in fresh.items() if not name.startswith("zz_"))


def test_a_bounded_call_dies_with_its_parent(tmp_path):
    """call_bounded's worker (explain, pytest collection) also ends when its parent is killed."""
    script = tmp_path / "parent.py"
    script.write_text("import time\nfrom klproof.check.runner import call_bounded\n"
                      "call_bounded(time.sleep, (600,), 600)\n")
    process = subprocess.Popen([sys.executable, str(script)], cwd=tmp_path)
    try:
        deadline = time.monotonic() + 30
        while not descendants(process.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        workers = descendants(process.pid)
        assert workers
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        started = time.monotonic()
        while any(alive(pid) for pid in workers) and time.monotonic() - started < 5:
            time.sleep(0.05)
        assert not any(alive(pid) for pid in workers)
    finally:
        if process.poll() is None:
            process.kill()
