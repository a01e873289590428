"""The README as a newcomer reads it: every command it prints runs as printed (from the repository root,
after the set-up command), the CI snippets are valid and their klproof commands run, and the test
command is the one .ci/run runs."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT, klproof_command

README = (ROOT / "README.md").read_text(encoding="utf-8")
KLPROOF = ".venv/bin/klproof"
SUBCOMMANDS = ("check", "export", "explain", "rules", "new")


def blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", README, flags=re.S | re.M)


def shell_commands() -> list[str]:
    """Every command of the README's sh blocks and `$ ` lines of its console blocks, split at &&."""
    lines = [line for block in blocks("sh") for line in block.splitlines()]
    lines += [line[2:] for block in blocks("console") for line in block.splitlines() if line.startswith("$ ")]
    commands = []
    for line in lines:
        line = line.split(" #")[0].strip()
        commands += [part.strip() for part in line.split("&&") if part.strip()]
    return commands


def inline_commands() -> list[str]:
    return [m for m in re.findall(r"`(\.venv/bin/klproof [^`]+)`", README)]


def _run_klproof(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    """A klproof command as printed, run from the repository root; what it writes goes to tmp_path."""
    args = list(args)
    for flag in ("-o", "--output"):
        if flag in args:
            k = args.index(flag)
            args[k + 1] = str(tmp_path / Path(args[k + 1]).name)
    cwd = tmp_path if args and args[0] == "new" else ROOT
    return subprocess.run([*klproof_command(), *args], capture_output=True, text=True, cwd=cwd, timeout=300,
                          env={"PATH": "/usr/bin:/bin", "NO_COLOR": "1", "HOME": str(tmp_path)})


def test_the_readme_prints_commands_that_work_in_a_fresh_shell():
    commands = shell_commands()
    assert commands, "no commands found in the README"
    bare = [c for c in commands if c.split()[0] in ("klproof", "pytest", "python")]
    assert bare == [], f"these need an activated venv; write .venv/bin/... instead: {bare}"


@pytest.mark.parametrize("command", sorted({c for c in shell_commands() + inline_commands()
                                            if c.startswith(KLPROOF + " ")}))
def test_every_klproof_command_in_the_readme_runs_as_printed(command, tmp_path):
    args = shlex.split(command)[1:]
    assert args[0] in SUBCOMMANDS or args[0].startswith("-"), command
    result = _run_klproof(args, tmp_path)
    assert result.returncode in (0, 1), f"{command}: exit {result.returncode}\n{result.stderr[-2000:]}"
    assert "Traceback" not in result.stderr and "Usage:" not in result.stderr


def test_the_readme_test_command_is_the_one_ci_runs():
    ci = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line.strip()]
    assert ci[-1] in shell_commands() and ci[-1] == ".venv/bin/python -m pytest -q"
    setup = shell_commands()[:3]
    assert setup == ["python3 -m venv .venv", ".venv/bin/pip install -e '.[test]'", ".venv/bin/klproof check proofs"]


def test_the_ci_snippets_are_valid_and_their_commands_run(tmp_path):
    yaml = pytest.importorskip("yaml")
    workflow, precommit = (yaml.safe_load(block) for block in blocks("yaml"))
    assert "<" not in "".join(blocks("yaml")), "a placeholder left in a CI snippet"
    steps = workflow["jobs"]["klproof"]["steps"]
    runs = [step["run"] for step in steps if "run" in step]
    assert runs[0] == 'pip install "$KLPROOF"' and workflow["env"]["KLPROOF"] == "."
    for run in runs[1:]:
        args = shlex.split(run)
        assert args[0] == "klproof", run
        result = _run_klproof(args[1:], tmp_path)
        assert result.returncode == 0, f"{run}\n{result.stdout[-1500:]}{result.stderr[-1500:]}"
    assert (tmp_path / "klproof.sarif").exists()
    (hook,) = precommit["repos"][0]["hooks"]
    entry = shlex.split(hook["entry"])
    assert entry[0] == "klproof" and entry[-1] == "--"  # file names after --, never read as options
    result = _run_klproof([*entry[1:], "proofs/000_kl_divergence_integral.toml", "pyproject.toml"], tmp_path)
    assert result.returncode == 0, result.stdout[-1500:]
