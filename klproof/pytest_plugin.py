"""The pytest plugin: `pytest proofs/` runs one test item per derivation step.

Registered through the `pytest11` entry point `klproof`, so it is active
wherever klproof is installed (`-p no:klproof` turns it off). It collects
`*.toml` files that are derivations (they have a `[[chain]]` table; other TOML
files such as pyproject.toml are left alone) and yields one item per step. The
steps of a file are checked together, in worker processes with klproof's time
and memory limits and through the verdict cache, when the first of its selected
items runs. A step that does not hold fails with klproof's own explanation, at
the step's file and line. A file that does not parse is one failing item.

Modelled on pytest's "non-Python tests" example. SymPy is imported only when a
derivation file is collected, so the plugin costs nothing elsewhere.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from klproof.discover import SNIFF_BYTES
from klproof.discover import looks_like_derivation as _has_chain


def looks_like_derivation(path: Path) -> bool:
    """A .toml file with a [[chain]] table (read only its beginning; never pyproject.toml)."""
    if path.suffix != ".toml" or path.name == "pyproject.toml" or not path.is_file():
        return False  # not a regular file (a FIFO would block collection)
    try:
        with path.open("rb") as handle:
            head = handle.read(SNIFF_BYTES)
    except OSError:
        return False
    return _has_chain(head)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("klproof", "klproof derivation files")
    group.addoption("--klproof-timeout", type=float, default=10.0, metavar="SECONDS",
                    help="klproof: seconds allowed per derivation step (default 10).")
    group.addoption("--klproof-jobs", type=int, default=0, metavar="N",
                    help="klproof: worker processes for checking steps (default: one per core).")
    group.addoption("--klproof-seed", type=int, default=None, metavar="N",
                    help="klproof: seed for numeric sampling.")
    group.addoption("--klproof-no-cache", action="store_true", default=False,
                    help="klproof: prove every step again instead of reusing cached verdicts.")


def pytest_collect_file(file_path: Path, parent: pytest.Collector):
    if looks_like_derivation(file_path):
        return DerivationFile.from_parent(parent, path=file_path)
    return None


class StepFailed(Exception):
    """A step that does not hold; carries its verdict."""

    def __init__(self, verdict):
        super().__init__(verdict.status.value)
        self.verdict = verdict


class UnreadableFile(Exception):
    """A derivation file that does not parse; carries the rendered error."""


class DerivationFile(pytest.File):
    def _display_path(self) -> str:
        try:
            return str(self.path.relative_to(self.config.rootpath))
        except ValueError:
            return str(self.path)

    def collect(self):
        from klproof.api import parse_sources
        from klproof.errors import KlproofError, Span

        shown = self._display_path()
        from klproof.parse.source import read_source

        try:
            data = read_source(str(self.path))
        except KlproofError as exc:
            yield UnreadableItem.from_parent(self, name="parse", error=exc.render(), line=1)
            return
        (parsed,) = parse_sources([(shown, data)])
        if isinstance(parsed, KlproofError):
            yield UnreadableItem.from_parent(self, name="parse", error=parsed.at(Span(shown, 1)).render(),
                                             line=parsed.span.line if parsed.span else 1)
            return
        for step in parsed.steps:
            yield StepItem.from_parent(self, name=f"step {step.number} (line {step.span.line})", step=step)

    def verdict_for(self, item: "StepItem"):
        """The item's verdict; the first call checks every selected step of this file together."""
        if getattr(self, "_verdicts", None) is None:
            selected = [i for i in self.session.items if isinstance(i, StepItem) and i.parent is self]
            if item not in selected:
                selected.append(item)
            self._verdicts = dict(zip((i.step.number for i in selected), self._check([i.step for i in selected])))
        if item.step.number not in self._verdicts:
            (self._verdicts[item.step.number],) = self._check([item.step])
        return self._verdicts[item.step.number]

    def _check(self, steps):
        from klproof.api import check_steps
        from klproof.check.decide import Options
        from klproof.check.runner import default_jobs

        config = self.config
        options = Options(timeout=config.getoption("klproof_timeout"))
        seed = config.getoption("klproof_seed")
        if seed is not None:
            options = Options(timeout=options.timeout, seed=seed)
        cache = None
        if not config.getoption("klproof_no_cache"):
            from klproof.check.cache import VerdictCache, default_directory

            cache = VerdictCache(default_directory(config.rootpath))
        jobs = config.getoption("klproof_jobs") or default_jobs()
        return check_steps(steps, options, jobs=jobs, cache=cache)


class StepItem(pytest.Item):
    def __init__(self, *, step, **kwargs):
        super().__init__(**kwargs)
        self.step = step

    def runtest(self) -> None:
        verdict = self.parent.verdict_for(self)
        self.user_properties.append(("klproof_status", verdict.status.value))
        self.user_properties.append(("klproof_method", verdict.method))
        if verdict.cached:
            self.user_properties.append(("klproof_cached", "true"))
        if not verdict.passed:
            raise StepFailed(verdict)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, StepFailed):
            from klproof.report.text import explanation_lines

            return "\n".join(explanation_lines(excinfo.value.verdict))
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        return self.path, self.step.span.line - 1, f"{self.parent._display_path()}:{self.step.span.line}: " \
                                                   f"step {self.step.number}"


class UnreadableItem(pytest.Item):
    def __init__(self, *, error: str, line: int, **kwargs):
        super().__init__(**kwargs)
        self.error = error
        self.line = line

    def runtest(self) -> None:
        raise UnreadableFile(self.error)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, UnreadableFile):
            return f"cannot read the derivation:\n{self.error}"
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        return self.path, self.line - 1, f"{self.parent._display_path()}: cannot be read"
