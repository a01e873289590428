"""The pytest plugin: `pytest proofs/` runs one test item per derivation step.

Registered through the `pytest11` entry point `klproof`, so it is active
wherever klproof is installed (`-p no:klproof` turns it off). It collects
`*.toml` files that are derivations (they have a `[[chain]]` table; other TOML
files such as pyproject.toml are left alone) and Markdown and LaTeX documents
with a klproof header, and yields one item per step. The
file is read in a worker under klproof's time and memory limits (a hostile
file cannot hang collection), and the steps of a file are checked together, in
worker processes with the same limits and through the verdict cache, when the
first of its selected items runs. A step that does not hold fails with klproof's own explanation, at
the step's file and line. A file that does not parse is one failing item.

Modelled on pytest's "non-Python tests" example. SymPy is imported only when a
derivation file is collected, so the plugin costs nothing elsewhere.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from klproof.discover import SNIFF_BYTES, is_document, looks_like_document
from klproof.discover import looks_like_derivation as _has_chain


def looks_like_derivation(path: Path) -> bool:
    """A .toml file with a [[chain]] table, or a Markdown or LaTeX document with a klproof header
    (read only its beginning; never pyproject.toml)."""
    document = is_document(str(path))
    if (path.suffix != ".toml" and not document) or path.name == "pyproject.toml" or not path.is_file():
        return False  # not a regular file (a FIFO would block collection)
    try:
        with path.open("rb") as handle:
            head = handle.read(SNIFF_BYTES)
    except OSError:
        return False
    return looks_like_document(str(path), head) if document else _has_chain(head)


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
        from klproof.check.runner import Overrun, call_bounded
        from klproof.errors import KlproofError, show
        from klproof.parse.source import read_source

        shown = self._display_path()
        try:
            self._data = read_source(str(self.path))
        except KlproofError as exc:
            yield UnreadableItem.from_parent(self, name="parse", error=exc.render(), line=1)
            return
        timeout = self.config.getoption("klproof_timeout")
        try:  # read in a worker, under the time and memory limits of a step: a hostile file cannot hang collection
            error, line, steps = call_bounded(_step_infos, (shown, self._data), timeout)
        except Overrun as exc:
            error, line, steps = (f"{show(shown, 200)}:1: reading the file: {exc}\n  hint: a number tower or a huge "
                                  "expression? simplify the file or split it; or raise --klproof-timeout"), 1, ()
        except RuntimeError as exc:
            error, line, steps = f"{show(shown, 200)}:1: internal error while reading: please report ({exc})", 1, ()
        if error:
            yield UnreadableItem.from_parent(self, name="parse", error=error, line=line)
            return
        for step in steps:
            yield StepItem.from_parent(self, name=f"step {step.number} (line {step.line})", step=step)

    def verdict_for(self, item: StepItem):
        """The item's verdict; the first call checks every selected step of this file together."""
        if getattr(self, "_verdicts", None) is None:
            selected = {i.step.number for i in self.session.items if isinstance(i, StepItem) and i.parent is self}
            self._verdicts = self._check(selected | {item.step.number})
        if item.step.number not in self._verdicts:
            self._verdicts.update(self._check({item.step.number}))
        return self._verdicts[item.step.number]

    def _check(self, numbers: set[int]):
        """Verdicts by step number; the file is read again in the workers, under their limits."""
        from klproof.api import check_sources
        from klproof.check.decide import Options

        config = self.config
        options = Options(timeout=config.getoption("klproof_timeout"))
        seed = config.getoption("klproof_seed")
        if seed is not None:
            options = Options(timeout=options.timeout, seed=seed)
        cache = None
        if not config.getoption("klproof_no_cache"):
            from klproof.check.cache import VerdictCache, default_directory

            cache = VerdictCache(default_directory(config.rootpath))
        report = check_sources([(self._display_path(), self._data)], options, jobs=config.getoption("klproof_jobs"),
                               cache=cache, only={0: frozenset(numbers)})
        (result,) = report.files
        if result.error:
            from klproof.report.text import file_error

            raise UnreadableFile(file_error(result))
        return {v.step.number: v for v in result.verdicts}


def _step_infos(path: str, data: bytes):
    """(error, its line, ()) or ("", 0, the StepInfo of every step); runs in a bounded worker."""
    from klproof.api import parse_one
    from klproof.check.decide import step_info
    from klproof.errors import KlproofError, Span

    parsed = parse_one(path, data)
    if isinstance(parsed, KlproofError):
        return parsed.at(Span(path, 1)).render(), parsed.span.line if parsed.span else 1, ()
    return "", 0, tuple(step_info(step) for step in parsed.steps)


class StepItem(pytest.Item):
    def __init__(self, *, step, **kwargs):
        super().__init__(**kwargs)
        self.step = step  # its StepInfo: the parsed file lives only in the workers

    def runtest(self) -> None:
        assert isinstance(self.parent, DerivationFile), "a step item is collected by its file"
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
        return self.path, self.step.line - 1, f"{self.parent._display_path()}:{self.step.line}: step {self.step.number}"


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
