"""klproof's command line run in this process through typer's CliRunner (no interpreter start-up per run)."""

from __future__ import annotations

from dataclasses import dataclass

from typer.testing import CliRunner

from klproof.cli import app


@dataclass(frozen=True)
class Result:
    returncode: int
    stdout: str
    stderr: str


def invoke(*args: str, env: dict | None = None) -> Result:
    result = CliRunner().invoke(app, list(args), env={"NO_COLOR": "1", "COLUMNS": "200", **(env or {})},
                                catch_exceptions=False)
    return Result(result.exit_code, result.stdout, result.stderr)
