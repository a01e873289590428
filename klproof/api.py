"""The pipeline, top to bottom: sources -> derivations -> verdicts -> report.

Pure apart from the optional verdict cache: it takes the files' bytes (the CLI
reads them) and returns a frozen `Report`. One bad file becomes a FileReport
with its error; the others are still checked.

With a cache, an unchanged file (same path and bytes) comes back whole without
being parsed, and each step of an edited file is looked up here, in the parent
process, before any worker is started: a run in which every step is cached forks
no worker and never imports the symbolic engine.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Callable

from klproof.check.decide import Options, unreadable_verdict
from klproof.errors import KlproofError, Span
from klproof.model import Derivation, Step
from klproof.verdict import FileReport, Report, Verdict

if TYPE_CHECKING:
    from klproof.check.cache import VerdictCache


def read_one(path: str, data: bytes) -> Derivation:
    """One source: a Markdown or LaTeX document by its name, else a derivation file (TOML)."""
    from klproof.discover import is_document

    if is_document(path):
        from klproof.parse.document import read_document

        return read_document(path, data)
    from klproof.parse.file import read_derivation

    return read_derivation(path, data)


def parse_sources(sources: list[tuple[str, bytes]]) -> list[Derivation | KlproofError]:
    if not sources:
        return []  # nothing to parse: do not import the parser (and SymPy) at all
    parsed: list[Derivation | KlproofError] = []
    for path, data in sources:
        try:
            parsed.append(read_one(path, data))
        except KlproofError as exc:
            parsed.append(exc)
        except RecursionError:
            parsed.append(KlproofError("the file is nested too deeply to read", hint="simplify its structure"))
        except Exception as exc:  # a reader bug must cost one file, not the run; say so plainly
            parsed.append(KlproofError(f"klproof could not read this file ({type(exc).__name__}: {exc})"[:300],
                                       hint="this is a bug in klproof; please report it with the file"))
    return parsed


def check_steps(steps: list[Step], options: Options, jobs: int = 1,
                on_done: Callable[[Verdict], None] | None = None,
                cache: "VerdictCache | None" = None) -> list[Verdict]:
    """Verdicts for `steps` in their order: from the cache where it has them, else from worker processes."""
    verdicts: list[Verdict | None] = [None] * len(steps)
    for i, step in enumerate(steps):
        if step.error is not None:  # unreadable: its error, with no worker and no cache entry
            verdicts[i] = unreadable_verdict(step)
            if on_done:
                on_done(verdicts[i])
    if cache is not None:
        for i, step in enumerate(steps):
            if verdicts[i] is not None:
                continue
            hit = cache.get(step, options)
            if hit is not None:
                verdicts[i] = hit
                if on_done:
                    on_done(hit)
    todo = [i for i, v in enumerate(verdicts) if v is None]
    if todo:
        from klproof.check.runner import run_steps

        fresh = run_steps([steps[i] for i in todo], options, jobs=jobs, on_done=on_done)
        for i, verdict in zip(todo, fresh):
            verdicts[i] = verdict
            if cache is not None:
                cache.put(steps[i], options, verdict)
    return [v for v in verdicts if v is not None]


def check_sources(sources: list[tuple[str, bytes]], options: Options | None = None, jobs: int = 1,
                  on_done: Callable[[Verdict], None] | None = None,
                  cache: "VerdictCache | None" = None,
                  on_start: Callable[[int], None] | None = None) -> Report:
    """Parse and check every source; `on_start(number of steps)` is called once parsing is done."""
    options = options or Options()
    started = time.perf_counter()
    unchanged = {i: hit for i, (path, data) in enumerate(sources)
                 if cache is not None and (hit := cache.get_file(path, data, options)) is not None}
    todo = [source for i, source in enumerate(sources) if i not in unchanged]
    parsed = parse_sources(todo)
    steps = [step for item in parsed if isinstance(item, Derivation) for step in item.steps]
    if on_start:
        on_start(len(steps))
    verdicts = iter(check_steps(steps, options, jobs=jobs, on_done=on_done, cache=cache))
    checked = []
    for (path, data), item in zip(todo, parsed):
        if isinstance(item, KlproofError):
            checked.append(FileReport(path=path, error=item.at(Span(path, 1)).render()))
            continue
        mine = tuple(next(verdicts) for _ in item.steps)
        report = FileReport(path=path, title=item.title, source=item.source, verdicts=mine,
                            seconds=sum(v.seconds for v in mine))
        if cache is not None:
            cache.put_file(path, data, options, report)
        checked.append(report)
    fresh = iter(checked)
    files = [unchanged[i] if i in unchanged else next(fresh) for i in range(len(sources))]
    settings = {"seed": options.seed, "timeout": options.timeout, "jobs": jobs, "points": options.points,
                "digits": options.digits, "numeric": options.numeric, "cross_check": options.cross_check,
                "cache": str(cache.directory) if cache is not None else None}
    return Report(files=tuple(files), seconds=time.perf_counter() - started, settings=settings)

