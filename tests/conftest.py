"""Shared helpers: build small derivation files in memory and check them without worker processes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from klproof.check.decide import Options, check_step
from klproof.parse.file import read_derivation

ROOT = Path(__file__).resolve().parent.parent
# Data, not tests: the hostile corpus is derivation files that the klproof pytest plugin
# would otherwise collect; test_hostile.py runs them through the CLI instead.
collect_ignore_glob = ["hostile/*", "golden/*"]
DEFAULT_SYMBOLS = {
    "x": "real", "y": "real", "z": "real", "eps": "real", "X": "real", "a": "real", "b": "real",
    "mu": "real", "mu_1": "real", "mu_2": "real", "s": "real",
    "sigma": "positive", "sigma_1": "positive", "sigma_2": "positive", "t": "positive",
    "j": "integer", "i": "integer", "K": "integer", "J": "positive integer", "n": "positive integer",
}


def derivation_text(start: str, expr: str | None = None, by: str = "", extra: str = "", substitute: str = "") -> str:
    lines = ['title = "test"', "", "[symbols]"]
    lines += [f'{k} = "{v}"' for k, v in DEFAULT_SYMBOLS.items()]
    lines += ["", "[families]", 'm = "real"', 'v = "positive"', "", "[distributions]",
              'P = ["z", "X"]', 'Q = ["z", "X"]', "", extra, "", "[[chain]]", f"start = '''{start}'''"]
    if expr is not None:
        lines += ["", "[[chain.step]]", f"expr = '''{expr}'''"]
        if by:
            lines.append(f'by = "{by}"')
        if substitute:
            lines.append(f'substitute = "{substitute}"')
    return "\n".join(lines) + "\n"


def check_claim(start: str, expr: str | None = None, by: str = "", options: Options | None = None, **kw):
    """The verdict of the single step in a one-step derivation."""
    derivation = read_derivation("test.toml", derivation_text(start, expr, by, **kw).encode())
    (step,) = derivation.steps
    return check_step(step, options or Options())


def klproof_command() -> list[str]:
    """The installed `klproof` console script next to this Python (the real entry point)."""
    script = Path(sys.executable).parent / "klproof"
    if script.exists():
        return [str(script)]
    found = shutil.which("klproof")
    assert found, "klproof is not installed: pip install -e .[test]"
    return [found]


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 120, env: dict | None = None,
            input: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*klproof_command(), *args], capture_output=True, text=True, cwd=cwd or ROOT,
                          timeout=timeout, input=input,
                          env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200", **(env or {})})


@pytest.fixture
def root() -> Path:
    return ROOT


def read_error(path: str, data: bytes):
    """The error reading `data` gives: the file's ParseError, or else the first unreadable step's, as a ParseError."""
    from klproof.errors import ParseError

    try:
        derivation = read_derivation(path, data)
    except ParseError as exc:
        return exc
    for step in derivation.steps:
        if step.error is not None:
            return ParseError(step.error.message, step.error.span, step.error.hint or None)
    raise AssertionError("no error: every step was read")
