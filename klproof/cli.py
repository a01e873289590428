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
from typing import TYPE_CHECKING, Any

import typer

from klproof import __version__

if TYPE_CHECKING:
    from klproof.verdict import FileError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
SUFFIX = ".toml"

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="Verify mathematical derivations step by step: prove each step, or refute it with a witness.")


class Format(str, Enum):
    terminal = "terminal"
    json = "json"
    junit = "junit"
    github = "github"
    sarif = "sarif"


def _console(stderr: bool = False):
    from rich.console import Console

    no_color = bool(os.environ.get("NO_COLOR"))
    return Console(stderr=stderr, no_color=no_color, highlight=False, soft_wrap=True)


def _console_to_text(renderable) -> str:
    """A rich renderable as plain text, for a terminal report written to a file."""
    from rich.console import Console

    console = Console(record=True, no_color=True, highlight=False, soft_wrap=True, width=200,
                      file=open(os.devnull, "w", encoding="utf-8"))
    console.print(renderable)
    console.file.close()
    return console.export_text(styles=False)


def _fail(message: str) -> typer.Exit:
    """Print `message` (escaped: it may quote file names and file text) and return the usage exit."""
    from rich.text import Text

    from klproof.errors import clean

    _console(stderr=True).print(Text.assemble(("error:", "red"), " ", clean(message)))
    return typer.Exit(EXIT_USAGE)


def collect_files(paths: list[Path]) -> tuple[list[tuple[str, bytes]], list[tuple[str, FileError]]]:
    """(path, bytes) of every derivation file under `paths`, and (path, error) of each path,
    file or sub-folder that could not be read: none is skipped silently, so an unchecked
    derivation never passes.

    A file named on the command line is always read; in a folder, *.toml files are, and Markdown and
    LaTeX documents only when they have a klproof header (so a folder's README is not an error).

    Files are read by `read_source`: regular files only (a FIFO would block, a device
    never end), and never more than the size limit.
    """
    from klproof.discover import DOCUMENT_SUFFIXES, looks_like_document
    from klproof.errors import KlproofError
    from klproof.parse.source import read_source
    from klproof.verdict import FileError

    sources: list[tuple[str, bytes]] = []
    problems: list[tuple[str, FileError]] = []
    hint = "check that it exists and is readable (permissions), or leave it out of the paths"
    for path in paths:
        if path.is_dir():
            found: list[Path] = []
            unreadable: list[OSError] = []
            # Symlinked folders are not followed (as pathlib's rglob), so a link cannot loop or leave the tree.
            for folder, dirs, names in os.walk(path, onerror=unreadable.append):
                dirs.sort()
                found += [Path(folder, n) for n in names
                          if n.lower().endswith((SUFFIX, *DOCUMENT_SUFFIXES)) and not n.startswith(".")]
            for exc in unreadable:
                problems.append((str(exc.filename or path),
                                 FileError(f"cannot read this folder: {exc.strerror or exc}", hint=hint)))
            found = sorted(p for p in found if p.is_file() or p.is_symlink())
            before = len(sources)
            for file in found:
                try:
                    data = read_source(str(file))
                except KlproofError as exc:
                    problems.append((str(file), FileError.of(exc)))
                    continue
                # in a folder, a Markdown or LaTeX file is checked only if it has a klproof header
                if file.name.endswith(SUFFIX) or looks_like_document(str(file), data):
                    sources.append((str(file), data))
            if len(sources) == before and not unreadable and not any(p.name.endswith(SUFFIX) for p in found):
                problems.append((str(path), FileError(f"no derivation files (*{SUFFIX}) in this folder",
                                                      hint="name derivation files *.toml (a Markdown or LaTeX "
                                                      "document needs a klproof header), or pass the files themselves")))
            continue
        if not (path.exists() or path.is_symlink()):
            problems.append((str(path), FileError("no such file or folder", hint=hint)))
            continue
        try:
            sources.append((str(path), read_source(str(path))))
        except KlproofError as exc:
            problems.append((str(path), FileError.of(exc)))
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


def _render_machine(report, format: Format) -> str:
    if format is Format.json:
        from klproof.report.json import render_json

        return render_json(report)
    if format is Format.junit:
        from klproof.report.junit import render_junit

        return render_junit(report)
    if format is Format.sarif:
        from klproof.report.sarif import render_sarif

        return render_sarif(report)
    from klproof.report.github import render_github

    return render_github(report)


def _is_stdout(path: Path | None) -> bool:
    return path is not None and str(path) == "-"


def _refuse_output(path: Path, inputs: list[str]) -> None:
    """Exit 2 unless `path` may receive a report: not one of the `inputs`, not a symbolic link
    (followed or created through, even dangling), not a folder or a device."""
    import stat

    from klproof.errors import clean

    shown = clean(str(path))
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise _fail(f"{shown}: cannot write: {exc.strerror}") from None
    if info is not None:
        if stat.S_ISLNK(info.st_mode):
            raise _fail(f"{shown} is a symbolic link; not writing through it (name the file itself)")
        if not stat.S_ISREG(info.st_mode):
            raise _fail(f"{shown} is not a regular file; not writing to it")
        for source in inputs:
            try:
                if os.path.samefile(path, source):
                    raise _fail(f"{shown} is an input file ({clean(source)}); not overwriting it "
                                "(choose another output path)")
            except OSError:
                continue


def _write_output(path: Path, text: str, inputs: list[str]) -> None:
    """Write a report or an export to `path` (checked by `_refuse_output`, and opened without following
    a link that may have appeared since): the file the user named, or nothing."""
    from klproof.errors import clean

    _refuse_output(path, inputs)
    shown = clean(str(path))
    try:
        if not path.parent.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(path, flags, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as handle:
            handle.write(text)
    except OSError as exc:
        raise _fail(f"{shown}: cannot write: {exc.strerror}") from None


class _ProgressBar:
    """A transient rich progress bar, shown only if the run is still going after `delay` seconds."""

    def __init__(self, console, delay: float = 0.5):
        import threading

        self.console, self.delay = console, delay
        self.lock = threading.Lock()
        # rich.progress and threading are imported when the bar starts (the CLI's start-up stays fast)
        self.progress: Any = None
        self.task: Any = None
        self.timer: Any = None
        self.shown = self.closed = False

    def start(self) -> None:
        import threading

        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(TextColumn("checking"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                 console=self.console, transient=True)
        self.task = self.progress.add_task("steps", total=0)
        self.timer = threading.Timer(self.delay, self._show)
        self.timer.daemon = True
        self.timer.start()

    def grow(self, steps: int) -> None:
        """A file has been read: its steps join the total (files are read as the run goes)."""
        if self.progress is not None:
            self.progress.update(self.task, total=(self.progress.tasks[0].total or 0) + steps)

    def _show(self) -> None:
        with self.lock:
            if not self.closed and self.progress is not None:
                self.progress.start()
                self.shown = True

    def advance(self, _verdict=None) -> None:
        if self.progress is not None:
            self.progress.advance(self.task)

    def close(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
        with self.lock:
            self.closed = True
            if self.shown:
                self.progress.stop()


def _explain_in_worker(path: str, data: bytes, line: int, options):
    """Read the file, find the step at `line` and check it, recording every form; runs in a bounded worker.

    ("error", rendered error) | ("no step", the steps' lines) | ("ok", step, attempt or None, verdict);
    the attempt is None when checking met an internal error (the verdict carries its traceback)."""
    from klproof.api import parse_one
    from klproof.check.decide import check_step
    from klproof.check.engine import prove
    from klproof.errors import KlproofError, Span
    from klproof.model import Bound
    from klproof.printing import show
    from klproof.verdict import Reason

    derivation = parse_one(path, data)
    if isinstance(derivation, KlproofError):
        return "error", derivation.at(Span(path, 1)).render()
    step = _find_step(derivation, line)
    if step is None:
        return "no step", ", ".join(str(s.span.line) for s in derivation.steps) or "none"
    verdict = check_step(step, options)
    if verdict.reason is Reason.INTERNAL:
        return "ok", step, None, verdict
    if isinstance(step.claim, Bound):  # an inequality: the rules for bounds (they record no intermediate forms)
        from klproof.check.inequality import prove_bound

        return "ok", step, prove_bound(step), verdict
    return "ok", step, prove(step, record_forms=True, form_text=show), verdict


def _find_step(derivation, line: int):
    """The step whose text is at `line` (or the last step that starts before it, in the same chain)."""
    chain_lines = sorted(chain.span.line for chain in derivation.chains)
    before = [step for step in derivation.steps if step.span.line <= line]
    if not before:
        return None
    step = before[-1]
    if any(step.span.line < c <= line for c in chain_lines):
        return None  # the line is in a later chain's header, before its first step
    return step


@app.command()
def new(
    name: str = typer.Argument(..., help="The file to create; '.toml' is added when missing."),
) -> None:
    """Write a commented starter derivation file NAME.toml that passes `klproof check`."""
    from klproof.starter import starter_text

    path = Path(name if name.endswith(SUFFIX) else name + SUFFIX)
    if path.exists():
        raise _fail(f"{path} already exists; not overwriting it (choose another name or remove it)")
    if not path.parent.is_dir():
        raise _fail(f"{path.parent}: no such folder")
    title = path.stem.replace("_", " ").replace("-", " ").strip() or "my derivation"
    try:
        with path.open("x", encoding="utf-8") as handle:
            handle.write(starter_text(title, str(path)))
    except FileExistsError:
        raise _fail(f"{path} already exists; not overwriting it") from None
    except OSError as exc:
        raise _fail(f"{path}: cannot write: {exc.strerror}") from None
    typer.echo(f"wrote {path}; check it with: klproof check {path}")


@app.command()
def rules(
    name: str | None = typer.Argument(None, help="A rule's name or alias; without it, every rule."),
    markdown: bool = typer.Option(False, "--markdown", help="The README's rule table (Markdown)."),
) -> None:
    """List the rules a step's `by` may name: aliases, what each says, its side conditions."""
    from klproof.catalog import RULES, resolve
    from klproof.report import rules as listing

    if name is None:
        typer.echo(listing.markdown_table() if markdown else listing.listing(), nl=False)
        raise typer.Exit(EXIT_OK)
    try:
        rule = RULES[resolve(name)]
    except ValueError as exc:
        from klproof.errors import show

        raise _fail(f"no rule named '{show(name)}'\n  hint: {exc}") from None
    typer.echo(listing.describe(rule), nl=False)
    raise typer.Exit(EXIT_OK)


@app.command()
def explain(
    location: str = typer.Argument(..., metavar="FILE:LINE", help="A derivation file and the line of one of its steps."),
    timeout: float = typer.Option(30.0, "--timeout", min=0.1, help="Seconds allowed for the step."),
    seed: int = typer.Option(20261121, "--seed", help="Seed for numeric sampling."),
) -> None:
    """Show how one step is checked: the rewrite stages tried, the one that closed it, the intermediate forms."""
    path_text, _, line_text = location.rpartition(":")
    if not path_text or not line_text.isdigit():
        raise _fail(f"expected FILE:LINE, e.g. proofs/000_kl.toml:42; got '{location}'")
    path, line = Path(path_text), int(line_text)

    from klproof.check.decide import Options
    from klproof.check.runner import Overrun, call_bounded
    from klproof.errors import KlproofError, clean, show
    from klproof.parse.source import read_source

    try:
        data = read_source(str(path))
    except KlproofError as exc:
        raise _fail(exc.render()) from None
    options = Options(timeout=timeout, seed=seed)
    console = _console()
    where = f"{show(str(path), 200)}:{line}"
    try:  # reading is bounded like checking: the file is read in the worker too
        answer = call_bounded(_explain_in_worker, (str(path), data, line, options), timeout)
    except Overrun as exc:
        console.print(f"{where}: unknown (timeout): {exc}; raise --timeout or split the step", markup=False)
        raise typer.Exit(EXIT_FAILED) from None
    except RuntimeError as exc:
        console.print(f"{where}: internal error: please report: {clean(str(exc))}", markup=False)
        raise typer.Exit(EXIT_FAILED) from None
    if answer[0] == "error":
        raise _fail(answer[1])
    if answer[0] == "no step":
        raise _fail(f"{where}: no step there; steps are at lines {answer[1]}")
    _, step, attempt, verdict = answer
    if attempt is None:  # an internal error: what the report says, then the traceback to report
        from klproof.report.text import explanation_lines

        for text in explanation_lines(verdict):
            console.print(text, markup=False)
        console.print("traceback (please include it in the report):\n" + verdict.traceback, markup=False)
        raise typer.Exit(EXIT_FAILED)
    from klproof.report.explain import render_explanation

    console.print(render_explanation(step, attempt, verdict))
    raise typer.Exit(EXIT_OK if verdict.passed else EXIT_FAILED)


@app.command()
def check(
    paths: list[Path] = typer.Argument(..., help="Derivation files (*.toml) or folders to search for them."),
    format: Format = typer.Option(Format.terminal, "--format", "-f",
                                  help="Report format: terminal, json, junit (JUnit XML), github (workflow annotations) "
                                       "or sarif (GitHub code scanning)."),
    output: Path | None = typer.Option(None, "--output", "-o",
                                          help="Write the --format report to this file ('-': standard output); "
                                               "the terminal report still goes to the screen."),
    timeout: float = typer.Option(10.0, "--timeout", min=0.1, help="Seconds allowed per step; a step over it is 'unknown (timeout)'."),
    jobs: int = typer.Option(0, "--jobs", "-j", min=0,
                             help="Worker processes (0: chosen from the work: one per core, at most one per file, "
                                  "one for a small run)."),
    seed: int = typer.Option(20261121, "--seed", help="Seed for numeric sampling (reported, so runs are reproducible)."),
    numeric: bool = typer.Option(True, "--numeric/--no-numeric", help="Look for counterexamples when a proof fails."),
    cross_check: bool = typer.Option(False, "--cross-check", help="Also sample proved steps; a disagreement is an error."),
    cache: bool = typer.Option(True, "--cache/--no-cache", help="Reuse the verdicts of unchanged steps."),
    cache_dir: Path | None = typer.Option(
        None, "--cache-dir",
        help="Where the verdict cache lives (default: the user's cache folder, one per project). "
             "Entries are authenticated with a key kept in the user's cache folder."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Explain proved steps too."),
    derivations_only: bool = typer.Option(False, "--derivations-only",
                                          help="Skip TOML files that are not derivations (no [[chain]] table), "
                                               "as the pre-commit hook does."),
    strict_justifications: bool = typer.Option(False, "--strict-justifications",
                                               help="Fail a step that is proved only with rules beyond its stated `by`."),
) -> None:
    """Prove every step of the derivation files, or refute it with a counterexample."""
    from klproof.api import check_sources
    from klproof.check.decide import Options

    sources, problems = collect_files(paths)
    if output is not None and not _is_stdout(output):
        _refuse_output(output, [path for path, _ in sources])
    if derivations_only:
        from klproof.discover import looks_checkable

        sources = [(path, data) for path, data in sources if looks_checkable(path, data)]
    options = Options(timeout=timeout, numeric=numeric, cross_check=cross_check, seed=seed)
    store = None
    if cache:
        from klproof.check.cache import VerdictCache

        store = VerdictCache(cache_dir)
        if store.problem or not store.usable:
            _console(stderr=True).print(f"warning: {store.problem}", style="yellow", markup=False)
    if _is_stdout(output):
        output = None
    console = _console()
    to_screen = format is Format.terminal or output is not None
    bar = _ProgressBar(console) if to_screen and sys.stdout.isatty() else None
    if bar:
        bar.start()
    try:
        report = check_sources(sources, options, jobs=jobs, cache=store,
                               on_parsed=bar.grow if bar else None, on_done=bar.advance if bar else None)
    finally:
        if bar:
            bar.close()
    if problems:  # unreadable paths are in the report and its summary, never a silent "PASSED 0 files"
        from dataclasses import replace

        from klproof.verdict import FileReport

        report = replace(report, files=tuple(FileReport(path=p, error=e) for p, e in problems) + report.files)
    if strict_justifications:
        from dataclasses import replace

        report = replace(report, strict_justifications=True)
    if output is not None:
        inputs = [path for path, _ in sources]
        if format is Format.terminal:
            from klproof.report.terminal import render_report

            _write_output(output, _console_to_text(render_report(report, verbose=verbose)), inputs)
        else:
            _write_output(output, _render_machine(report, format), inputs)
    elif format is not Format.terminal:
        sys.stdout.write(_render_machine(report, format))
    if to_screen:
        from klproof.report.terminal import render_report

        console.print(render_report(report, verbose=verbose))
    if store is not None and store.rejected:
        _console(stderr=True).print(f"warning: ignored {store.rejected} cache entr{'y' if store.rejected == 1 else 'ies'} "
                                    f"that this user's klproof did not write (forged, edited or not a regular file)",
                                    style="yellow", markup=False)
    if report.has_input_errors:
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
    output: Path | None = typer.Option(None, "--output", "-o",
                                          help="Write to this file instead of standard output ('-': standard output)."),
    allow_unverified: bool = typer.Option(False, "--allow-unverified", help="Export even if some step is not proved; such steps are marked."),
    timeout: float = typer.Option(10.0, "--timeout", min=0.1, help="Seconds allowed per step."),
    jobs: int = typer.Option(0, "--jobs", "-j", min=0, help="Worker processes (0: one per core)."),
) -> None:
    """Check a derivation, then export it as LaTeX or Markdown (only if every step is proved, by default)."""
    from klproof.check.runner import default_jobs
    from klproof.errors import KlproofError, clean
    from klproof.export import export_file
    from klproof.parse.source import read_source

    try:
        data = read_source(str(file))
    except KlproofError as exc:
        raise _fail(exc.render()) from None
    if output is not None and not _is_stdout(output):
        _refuse_output(output, [str(file)])
    try:
        exported = export_file(str(file), data, to is ExportFormat.markdown, allow_unverified=allow_unverified,
                               timeout=timeout, jobs=jobs or default_jobs(), standalone=standalone, tags=tags,
                               marks=marks)
    except KlproofError as exc:
        raise _fail(exc.render()) from None
    failing = exported.unverified
    if not exported.rendered:
        err = _console(stderr=True)
        err.print(f"error: not exported: {len(failing)} step{'s' if len(failing) != 1 else ''} of {clean(str(file))} "
                  "not proved (use --allow-unverified to export with these steps marked):", style="red", markup=False)
        for line in failing:
            err.print(f"  {clean(line)}", markup=False)
        raise typer.Exit(EXIT_FAILED)
    text = exported.text
    if output is None or _is_stdout(output):
        sys.stdout.write(text)
    else:
        _write_output(output, text, [str(file)])
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
