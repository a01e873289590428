"""Parallel and bounded: a step over its time limit is stopped and reported, and the run goes on."""

from __future__ import annotations

import json
import re
import time

from test_formats import run_in_terminal

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

