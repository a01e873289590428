"""One bad step is that step's error (issue 17.1): the rest of the file is still checked, every error at its own
line, and the run exits 2 at the end."""

from __future__ import annotations

import json

from conftest import run_cli

FILE = '''title = "several mistakes"
[symbols]
x = "real"
[[chain]]
start = "x + x"
[[chain.step]]
expr = "2*x"
[[chain.step]]
expr = "2*x + y"
[[chain.step]]
expr = "3*x"
[[chain.step]]
expr = "x*2 == 2*x"
by = "Jensen's inequality"
[[chain.step]]
expr = "2*x + 0"
[[chain.step]]
latex = '\\log 0'
[[chain]]
start = "lgo(x)"
[[chain.step]]
expr = "x"
[[chain.step]]
expr = "x + 0"
[[chain]]
start = "x**2"
[[chain.step]]
expr = "x*x"
'''


def test_each_unreadable_step_is_its_own_error_and_the_rest_is_checked(tmp_path):
    path = tmp_path / "mistakes.toml"
    path.write_text(FILE)
    result = run_cli("check", "--no-cache", "--format", "json", str(path))
    assert result.returncode == 2, result.stdout + result.stderr
    steps = json.loads(result.stdout)["files"][0]["steps"]
    by_line = {s["line"]: s for s in steps}
    assert by_line[7]["status"] == "proved"
    assert by_line[9]["status"] == "error" and "unknown symbol 'y'" in by_line[9]["detail"]
    assert by_line[11]["status"] == "error" and "cannot be read" in by_line[11]["detail"]
    assert by_line[14]["status"] == "error" and "unknown justification" in by_line[14]["detail"]
    # the equation was read: the step after it continues from its right side
    assert by_line[16]["status"] == "proved"
    assert by_line[18]["status"] == "error" and "undefined" in by_line[18]["detail"]
    assert by_line[20]["status"] == "error" and "unknown function 'lgo'" in by_line[20]["detail"]
    assert by_line[22]["status"] == "error"
    assert by_line[24]["status"] == "proved"  # x continues from line 22, which was readable
    assert by_line[28]["status"] == "proved"  # another chain, untouched


def test_the_terminal_report_gives_each_error_with_its_hint(tmp_path):
    path = tmp_path / "mistakes.toml"
    path.write_text(FILE)
    result = run_cli("check", "--no-cache", str(path))
    assert result.returncode == 2
    assert f"{path}:9" in result.stdout and f"{path}:20" in result.stdout
    assert "hint:" in result.stdout and "did you mean 'log'" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_a_file_whose_every_step_is_broken_is_still_reported_line_by_line(tmp_path):
    lines = ['title = "t"', "[symbols]", 'x = "real"', "[[chain]]", 'start = "x"']
    for _ in range(60):
        lines += ["[[chain.step]]", 'expr = "nope(x)"']
    path = tmp_path / "broken.toml"
    path.write_text("\n".join(lines) + "\n")
    result = run_cli("check", "--no-cache", str(path))
    assert result.returncode == 2
    assert "more than 50 steps cannot be read" in result.stdout
