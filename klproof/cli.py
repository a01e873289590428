"""The command line: the only module that reads files, prints, and chooses exit codes.

Exit codes follow pytest and ruff: 0 every step holds, 1 some step does not
hold, 2 bad usage or unusable input. SymPy is imported only inside commands, so
`klproof --help` and `--version` start fast.
"""

from __future__ import annotations

import os
import sys
from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer

from klproof import __version__

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
SUFFIX = ".toml"

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="Verify mathematical derivations step by step: prove each step, or refute it with a witness.")


class Format(str, Enum):
    terminal = "terminal"
    json = "json"


def _console(stderr: bool = False):
    from rich.console import Console

    no_color = bool(os.environ.get("NO_COLOR"))
    return Console(stderr=stderr, no_color=no_color, highlight=False, soft_wrap=True)


def _fail(message: str) -> "typer.Exit":
    _console(stderr=True).print(f"[red]error:[/red] {message}", markup=True, highlight=False)
    return typer.Exit(EXIT_USAGE)


def collect_files(paths: list[Path]) -> tuple[list[tuple[str, bytes]], list[str]]:
    """(path, bytes) of every derivation file under `paths`, and the paths that could not be read.

    Files are read by `read_source`: regular files only (a FIFO would block, a device
    never end), and never more than the size limit.
    """
    from klproof.errors import KlproofError
    from klproof.parse.file import read_source

    sources: list[tuple[str, bytes]] = []
    problems: list[str] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.rglob(f"*{SUFFIX}") if p.is_file() and not p.name.startswith("."))
            if not found:
                problems.append(f"{path}: no derivation files (*{SUFFIX}) in this folder")
            candidates = found
        elif path.exists() or path.is_symlink():
            candidates = [path]
        else:
            problems.append(f"{path}: no such file or folder")
            continue
        for file in candidates:
            try:
                sources.append((str(file), read_source(str(file))))
            except KlproofError as exc:
                problems.append(exc.render())
    return sources, problems


def _version(value: bool) -> None:
    if value:
        typer.echo(f"klproof {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def main_options(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version and exit."),
) -> None:
    """klproof checks derivation files: symbols with assumptions, and chains of steps with justifications."""


@app.command()
def check(
    paths: List[Path] = typer.Argument(..., help="Derivation files (*.toml) or folders to search for them."),
    format: Format = typer.Option(Format.terminal, "--format", "-f", help="Report format."),
    timeout: float = typer.Option(10.0, "--timeout", min=0.1, help="Seconds allowed per step; a step over it is 'unknown (timeout)'."),
    jobs: int = typer.Option(0, "--jobs", "-j", min=0, help="Worker processes (0: one per core)."),
    seed: int = typer.Option(20261121, "--seed", help="Seed for numeric sampling (reported, so runs are reproducible)."),
    numeric: bool = typer.Option(True, "--numeric/--no-numeric", help="Look for counterexamples when a proof fails."),
    cross_check: bool = typer.Option(False, "--cross-check", help="Also sample proved steps; a disagreement is an error."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Explain proved steps too."),
) -> None:
    """Prove every step of the derivation files, or refute it with a counterexample."""
    from klproof.api import check_sources
    from klproof.check.decide import Options
    from klproof.check.runner import default_jobs

    sources, problems = collect_files(paths)
    for problem in problems:
        _console(stderr=True).print(f"error: {problem}", style="red", markup=False)
    options = Options(timeout=timeout, numeric=numeric, cross_check=cross_check, seed=seed)
    report = check_sources(sources, options, jobs=jobs or default_jobs())
    if format is Format.json:
        from klproof.report.json import render_json

        sys.stdout.write(render_json(report))
    else:
        from klproof.report.terminal import render_report

        _console().print(render_report(report, verbose=verbose))
    if problems or report.has_input_errors:
        raise typer.Exit(EXIT_USAGE)
    raise typer.Exit(EXIT_OK if report.passed else EXIT_FAILED)


class ExportFormat(str, Enum):
    latex = "latex"
    markdown = "markdown"


@app.command()
def export(
    file: Path = typer.Argument(..., help="The derivation file (*.toml) to export."),
    to: ExportFormat = typer.Option(ExportFormat.latex, "--to", "-t", help="latex (amsmath align*) or markdown ($$ math)."),
    standalone: bool = typer.Option(False, "--standalone", help="LaTeX: a complete document that compiles with pdflatex."),
    tags: bool = typer.Option(False, "--tags", help="LaTeX: number the steps (align with \\tag) instead of align*."),
    marks: bool = typer.Option(False, "--marks", help="Show a check mark after every proved step."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write to this file instead of standard output."),
    allow_unverified: bool = typer.Option(False, "--allow-unverified", help="Export even if some step is not proved; such steps are marked."),
    timeout: float = typer.Option(10.0, "--timeout", min=0.1, help="Seconds allowed per step."),
    jobs: int = typer.Option(0, "--jobs", "-j", min=0, help="Worker processes (0: one per core)."),
) -> None:
    """Check a derivation, then export it as LaTeX or Markdown (only if every step is proved, by default)."""
    from klproof.api import check_sources, parse_sources
    from klproof.check.decide import Options
    from klproof.check.runner import default_jobs
    from klproof.errors import KlproofError, Span
    from klproof.report.latex import render_latex, unverified_steps

    if not file.is_file():
        raise _fail(f"{file}: no such file")
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise _fail(f"{file}: cannot read: {exc.strerror}") from None
    (parsed,) = parse_sources([(str(file), data)])
    if isinstance(parsed, KlproofError):
        raise _fail(parsed.at(Span(str(file), 1)).render())
    report = check_sources([(str(file), data)], Options(timeout=timeout), jobs=jobs or default_jobs())
    failing = unverified_steps(parsed, report)
    if failing and not allow_unverified:
        err = _console(stderr=True)
        err.print(f"error: not exported: {len(failing)} step{'s' if len(failing) != 1 else ''} of {file} "
                  "not proved (use --allow-unverified to export with these steps marked):", style="red", markup=False)
        for line in failing:
            err.print(f"  {line}", markup=False)
        raise typer.Exit(EXIT_FAILED)
    if to is ExportFormat.markdown:
        from klproof.report.markdown import render_markdown

        text = render_markdown(parsed, report)
    else:
        text = render_latex(parsed, report, standalone=standalone, tags=tags, marks=marks)
    if output is None:
        sys.stdout.write(text)
    else:
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise _fail(f"{output}: cannot write: {exc.strerror}") from None
    if failing:
        _console(stderr=True).print(f"warning: exported with {len(failing)} unproved step(s) marked", style="yellow",
                                    markup=False)
    raise typer.Exit(EXIT_OK)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(EXIT_USAGE)
