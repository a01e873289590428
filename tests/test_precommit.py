"""The pre-commit hook, run by the real `pre-commit` tool on a throwaway git repository.

`pre-commit try-repo` installs klproof into a fresh environment (about half a
minute: SymPy is large), so it is started in the background while this module is
collected and the rest of the suite runs; the test only waits for it.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from conftest import ROOT, derivation_text

GIT = shutil.which("git")
INJECTED = ("--output=pyproject.toml", "-x.toml", "--format=json.toml")
PYPROJECT = '[project]\nname = "not-a-derivation"\n'
PRE_COMMIT = Path(sys.executable).parent / "pre-commit"


class _TryRepo:
    """`pre-commit try-repo <this repo> klproof --all-files` in a throwaway repository, started at once."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="klproof-pre-commit-"))
        self.repo = self.folder / "repo"
        self.repo.mkdir()
        (self.repo / "good.toml").write_text(derivation_text("(a + b)**2", "a**2 + 2*a*b + b**2"))
        (self.repo / "bad.toml").write_text(derivation_text("(a + b)**2", "a**2 + b**2"))
        (self.repo / "pyproject.toml").write_text(PYPROJECT)
        (self.repo / "notes.txt").write_text("not toml\n")
        (self.repo / "config.toml").write_text('[tool]\nkey = "a TOML file that is not a derivation"\n')
        # File names that look like options (issue 12.3): without `--` the first overwrote pyproject.toml
        # with the report and the second aborted the hook.
        for name in INJECTED:
            (self.repo / name).write_text(derivation_text("x + x", "2*x"))
        env = {**os.environ, "PRE_COMMIT_HOME": str(self.folder / "home"), "NO_COLOR": "1", "COLUMNS": "200",
               "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
               "GIT_COMMITTER_EMAIL": "t@t", "PRE_COMMIT_COLOR": "never"}
        env.pop("PYTHONPATH", None)
        script = (f"git init -q && git add -A && git commit -qm init && "
                  f"'{PRE_COMMIT}' try-repo '{ROOT}' klproof --all-files --color never")
        self.process = subprocess.Popen(["bash", "-c", script], cwd=self.repo, env=env, text=True,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        atexit.register(self.cleanup)

    def result(self, timeout: float = 300) -> tuple[int, str]:
        output, _ = self.process.communicate(timeout=timeout)
        return self.process.returncode, output

    def cleanup(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


RUN = _TryRepo() if GIT and PRE_COMMIT.exists() else None


@pytest.mark.skipif(GIT is None, reason="git is not installed; pre-commit needs it")
def test_pre_commit_hook_checks_derivations_and_fails_on_a_refuted_step():
    assert PRE_COMMIT.exists(), "pre-commit is missing: pip install -e '.[test]'"
    code, output = RUN.result()
    assert "klproof" in output and "Failed" in output, output[-3000:]
    assert code == 1, output[-3000:]
    assert "bad.toml:" in output and "refuted" in output, output[-3000:]
    assert "good.toml" in output, output[-3000:]
    report = output.split("klproof....")[-1]
    assert not re.search(r"(?m)^(pyproject|config)\.toml", report), "only derivations are checked"
    assert "5 files, 5 steps" in report and "4 proved, 1 refuted" in report
    for name in INJECTED:  # checked as files, not read as options
        assert f"{name}  test" in report, report[-3000:]
    assert (RUN.repo / "pyproject.toml").read_text() == PYPROJECT, "a file name was taken for --output"
    assert not list(RUN.repo.glob("*.json")) and "{" not in report.split("\n")[1], "a file name was taken for --format"
    assert "- exit code: 1" in output


def test_hook_manifest_is_what_the_readme_promises():
    text = (ROOT / ".pre-commit-hooks.yaml").read_text()
    assert "id: klproof" in text and "entry: klproof check" in text and "language: python" in text
    assert "types: [toml]" in text and "files: " in text and "args: [--derivations-only, --]" in text
