"""The pipeline, top to bottom: sources -> derivations -> verdicts -> report.

Pure apart from the optional verdict cache: it takes the files' bytes (the CLI
reads them) and returns a frozen `Report`. One bad file becomes a FileReport
with its error; the others are still checked.

Files are read and checked in worker processes (klproof.check.runner), under the
same time and memory limits: a hostile file costs only its own report. With a
cache, an unchanged file (same path and bytes) comes back whole without being
parsed, so a run in which every file is cached forks no worker and never imports
the symbolic engine; each step of an edited file is looked up by its worker.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Callable

from klproof.check.decide import Options
from klproof.errors import KlproofError
from klproof.model import Derivation
from klproof.verdict import FileReport, Report, Verdict

if TYPE_CHECKING:
    from klproof.check.cache import VerdictCache


def parse_one(path: str, data: bytes) -> Derivation | KlproofError:
    """One file's Derivation, or the error that says why it cannot be read (never another exception)."""
    from klproof.parse.file import read_derivation

    try:
        return read_derivation(path, data)
    except KlproofError as exc:
        return exc
    except RecursionError:
        return KlproofError("the file is nested too deeply to read", hint="simplify its structure")
    except MemoryError:
        raise  # the worker reports it with its memory limit
    except Exception as exc:  # a reader bug must cost one file, not the run; say so plainly
        return KlproofError(f"klproof could not read this file ({type(exc).__name__})",
                            hint="this is a bug in klproof; please report it with the file")


def parse_sources(sources: list[tuple[str, bytes]]) -> list[Derivation | KlproofError]:
    """Every file parsed in this process, without the workers' limits: for trusted files (export, tests)."""
    return [parse_one(path, data) for path, data in sources]


def check_sources(sources: list[tuple[str, bytes]], options: Options | None = None, jobs: int = 0,
                  on_done: Callable[[Verdict], None] | None = None,
                  cache: "VerdictCache | None" = None,
                  on_parsed: Callable[[int], None] | None = None,
                  only: dict[int, frozenset[int]] | None = None) -> Report:
    """Read and check every source in worker processes (jobs 0: chosen from the amount of work).

    `on_parsed(number of steps)` is called as each file is read; `only` maps a source's index to the
    step numbers to check (the pytest plugin's selection)."""
    from klproof.check.runner import default_jobs

    options = options or Options()
    started = time.perf_counter()
    unchanged = {i: hit for i, (path, data) in enumerate(sources)
                 if cache is not None and i not in (only or {})
                 and (hit := cache.get_file(path, data, options)) is not None}
    todo = [i for i in range(len(sources)) if i not in unchanged]
    jobs = jobs or default_jobs([sources[i] for i in todo])
    results = []
    if todo:
        from klproof.check.runner import run_files

        selection = {k: (only or {})[i] for k, i in enumerate(todo) if i in (only or {})}
        results = run_files([sources[i] for i in todo], options, jobs=jobs, cache=cache, on_parsed=on_parsed,
                            on_done=on_done, only=selection)
    checked = {}
    for i, result in zip(todo, results):
        path, data = sources[i]
        if result.error:
            checked[i] = FileReport(path=path, error=result.error)
            continue
        report = FileReport(path=path, title=result.title, source=result.source, verdicts=result.verdicts,
                            seconds=sum(v.seconds for v in result.verdicts))
        if cache is not None and i not in (only or {}):
            cache.put_file(path, data, options, report)
        checked[i] = report
    files = [unchanged[i] if i in unchanged else checked[i] for i in range(len(sources))]
    settings = {"seed": options.seed, "timeout": options.timeout, "jobs": jobs, "points": options.points,
                "digits": options.digits, "numeric": options.numeric, "cross_check": options.cross_check,
                "cache": str(cache.directory) if cache is not None else None}
    return Report(files=tuple(files), seconds=time.perf_counter() - started, settings=settings)
