"""The pipeline, top to bottom: sources -> derivations -> verdicts -> report.

Pure: it takes the files' bytes (the CLI reads them) and returns a frozen
`Report`. One bad file becomes a FileReport with its error; the others are
still checked.
"""

from __future__ import annotations

import time
from typing import Callable

from klproof.check.decide import Options
from klproof.errors import KlproofError, Span
from klproof.model import Derivation
from klproof.verdict import FileReport, Report, Verdict


def parse_sources(sources: list[tuple[str, bytes]]) -> list[Derivation | KlproofError]:
    from klproof.parse.file import read_derivation

    parsed: list[Derivation | KlproofError] = []
    for path, data in sources:
        try:
            parsed.append(read_derivation(path, data))
        except KlproofError as exc:
            parsed.append(exc)
        except RecursionError:
            parsed.append(KlproofError("the file is nested too deeply to read", hint="simplify its structure"))
        except Exception as exc:  # a reader bug must cost one file, not the run; say so plainly
            parsed.append(KlproofError(f"klproof could not read this file ({type(exc).__name__}: {exc})"[:300],
                                       hint="this is a bug in klproof; please report it with the file"))
    return parsed


def check_sources(sources: list[tuple[str, bytes]], options: Options | None = None, jobs: int = 1,
                  on_done: Callable[[Verdict], None] | None = None) -> Report:
    from klproof.check.runner import run_steps

    options = options or Options()
    started = time.perf_counter()
    parsed = parse_sources(sources)
    steps = [step for item in parsed if isinstance(item, Derivation) for step in item.steps]
    verdicts = iter(run_steps(steps, options, jobs=jobs, on_done=on_done) if steps else [])
    files = []
    for (path, _), item in zip(sources, parsed):
        if isinstance(item, KlproofError):
            files.append(FileReport(path=path, error=item.at(Span(path, 1)).render()))
            continue
        mine = tuple(next(verdicts) for _ in item.steps)
        files.append(FileReport(path=path, title=item.title, source=item.source, verdicts=mine,
                                seconds=sum(v.seconds for v in mine)))
    settings = {"seed": options.seed, "timeout": options.timeout, "jobs": jobs, "points": options.points,
                "digits": options.digits, "numeric": options.numeric}
    return Report(files=tuple(files), seconds=time.perf_counter() - started, settings=settings)
