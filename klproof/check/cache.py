"""The verdict cache: a step whose content has not changed is not proved again.

A verdict is stored under a SHA-256 key of everything it depends on:

- the claim, as SymPy's `srepr`, which spells out every symbol's assumptions
  (`Symbol('sigma', positive=True)`) and every definition's body (definitions
  travel inside `Defined` nodes), and the substitution the same way;
- the justification (the canonical rule ids and the words as written, which the
  verdict's detail quotes), whether the step is an equation, and `numeric = true`;
- the checking options that change a verdict (numeric, cross-check, seed,
  points, digits; the time limit only decides timeouts, and those are never
  stored), and the versions of klproof, SymPy and Python.

Two keys per step. A step proved without sampling depends on nothing else, so
it is stored under its content key and survives renumbering and rewording
elsewhere in the file. Every other verdict also depends on the step's number
and text (they seed the numeric sampler), so it is stored under a key that adds
them. Timeouts and crashed workers are never stored: they say something about
the machine, not the step.

In front of the steps, whole files: an entry under the file's path and exact
bytes (with the same options and versions) holds its whole report, so an
unchanged file is not even parsed; an edited file falls through to its steps.

Storage: one small JSON file per key in `<dir>/steps/` (and `<dir>/files/`), written to a temporary
file and moved into place with `os.replace`, so concurrent runs never see half
a file; an unreadable or foreign entry is a miss. The cached verdict is rebuilt
with the step's current `StepInfo` (its line may have moved), `cached=True`.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

from klproof import __version__
from klproof.check.decide import Options, step_info
from klproof.model import Step
from klproof.verdict import FileReport, NumericEvidence, Reason, Status, StepInfo, Verdict, Witness

FORMAT = 1  # of the entries; part of every key
DEFAULT_DIR = ".klproof_cache"
README = ("# klproof cache\n\nVerdicts of unchanged derivation steps, so that `klproof check` does not prove\n"
          "them again. Safe to delete at any time; `klproof check --no-cache` bypasses it.\n")
CACHEDIR_TAG = ("Signature: 8a477f597d28d172789f06886806bc55\n"
                "# This file is a cache directory tag created by klproof.\n"
                "# For information about cache directory tags, see https://bford.info/cachedir/\n")
UNCACHEABLE_REASONS = frozenset(Reason)  # a timeout, a crashed worker, an internal error: about the run, not the step


PRESENTATION = ("cli.py", "pytest_plugin.py", "starter.py", "report/")  # cannot change a verdict


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """SHA-256 of klproof's own source files that take part in checking (everything but presentation)."""
    package = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package).as_posix()
        if relative.startswith(PRESENTATION):
            continue
        digest.update(relative.encode() + b"\0")
        try:
            digest.update(path.read_bytes())
        except OSError:
            digest.update(b"unreadable")
        digest.update(b"\0")
    return digest.hexdigest()


@functools.lru_cache(maxsize=1)
def _sympy_version() -> str:
    from importlib.metadata import version  # not `import sympy`: a fully cached run never needs SymPy

    return version("sympy")


def _versions() -> list[str]:
    return [__version__, _sympy_version(), f"{sys.version_info.major}.{sys.version_info.minor}", code_fingerprint()]


def _srepr(value) -> str:
    import sympy

    return sympy.srepr(value)


def content_key(step: Step, options: Options) -> str:
    """The key of everything a step's symbolic verdict depends on."""
    claim = step.claim
    fields = {name: _srepr(getattr(claim, name)) for name in sorted(vars(claim))}
    payload = {
        "format": FORMAT,
        "versions": _versions(),
        "claim": [type(claim).__name__, fields],
        "substitution": _srepr(step.substitution) if step.substitution is not None else None,
        "by": list(step.by),
        "by_text": step.by_text,
        "is_equation": step.is_equation,
        "accept_numeric": step.accept_numeric,
        "options": _options(options),
    }
    return _digest(payload)


def _options(options: Options) -> dict:
    return {"numeric": options.numeric, "cross_check": options.cross_check, "seed": options.seed,
            "points": options.points, "digits": options.digits}


def file_key(path: str, data: bytes, options: Options) -> str:
    """The key of a whole file's verdicts: its path and exact bytes (so every line is where it was)."""
    return _digest({"format": FORMAT, "versions": _versions(), "path": path,
                    "bytes": hashlib.sha256(data).hexdigest(), "options": _options(options)})


def full_key(step: Step, content: str) -> str:
    """The key of a verdict that also depends on the step's number and text (numeric sampling)."""
    return _digest({"content": content, "number": step.number, "text": step.text})


def _digest(payload: dict) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=True).encode()).hexdigest()


def is_cacheable(verdict: Verdict) -> bool:
    return verdict.reason not in UNCACHEABLE_REASONS and verdict.status is not Status.ERROR


def needs_full_key(verdict: Verdict, options: Options) -> bool:
    """Whether the verdict may depend on numeric sampling (which is seeded by the step's number and text)."""
    return verdict.status is not Status.PROVED or options.cross_check


def encode(verdict: Verdict) -> dict:
    return {
        "format": FORMAT,
        "status": verdict.status.value,
        "method": verdict.method,
        "rules": list(verdict.rules),
        "detail": verdict.detail,
        "seconds": verdict.seconds,
        "witness": asdict(verdict.witness) if verdict.witness else None,
        "evidence": asdict(verdict.evidence) if verdict.evidence else None,
        "diagnosis": verdict.diagnosis,
        "beyond_stated": verdict.beyond_stated,
    }


def decode(data: dict, info: StepInfo) -> Verdict:
    """The stored verdict, for the step as it is now. Raises (KeyError, TypeError, ValueError) on a bad entry."""
    if data.get("format") != FORMAT:
        raise ValueError("another cache format")
    witness = data["witness"]
    if witness is not None:
        witness = Witness(**{**witness, "point": tuple(tuple(p) for p in witness["point"])})
    evidence = NumericEvidence(**data["evidence"]) if data["evidence"] is not None else None
    return Verdict(step=info, status=Status(data["status"]), method=str(data["method"]),
                   rules=tuple(str(r) for r in data["rules"]), detail=str(data["detail"]), seconds=0.0,
                   witness=witness, evidence=evidence, diagnosis=str(data["diagnosis"]), cached=True,
                   beyond_stated=data["beyond_stated"] is True)


class VerdictCache:
    """Verdicts on disk under `directory` (created on first write)."""

    def __init__(self, directory: str | os.PathLike = DEFAULT_DIR):
        self.directory = Path(directory)
        self.steps = self.directory / "steps"
        self.files = self.directory / "files"  # whole unchanged files: no parsing at all
        self.hits = 0
        self.stored = 0

    def _path(self, key: str, folder: Path | None = None) -> Path:
        return (folder or self.steps) / f"{key}.json"

    def _read(self, key: str, folder: Path | None = None) -> dict | None:
        try:
            data = json.loads(self._path(key, folder).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def get(self, step: Step, options: Options) -> Verdict | None:
        content = content_key(step, options)
        for key, proved_only in ((content, True), (full_key(step, content), False)):
            data = self._read(key)
            if data is None:
                continue
            try:
                verdict = decode(data, step_info(step))
            except (KeyError, TypeError, ValueError):
                continue
            if proved_only and verdict.status is not Status.PROVED:
                continue  # only symbolic proofs may live under the content key
            self.hits += 1
            return verdict
        return None

    def get_file(self, path: str, data: bytes, options: Options) -> FileReport | None:
        """A whole unchanged file's report, without parsing it; None on a miss or a bad entry."""
        entry = self._read(file_key(path, data, options), self.files)
        if entry is None:
            return None
        try:
            verdicts = tuple(decode(item["verdict"], StepInfo(**item["step"])) for item in entry["verdicts"])
            report = FileReport(path=path, title=str(entry["title"]), source=str(entry["source"]), verdicts=verdicts)
        except (KeyError, TypeError, ValueError):
            return None
        self.hits += len(verdicts)
        return report

    def put_file(self, path: str, data: bytes, options: Options, report: FileReport) -> None:
        """Store a file's report when every verdict in it may be stored (no timeout, no crash)."""
        if report.error or not all(is_cacheable(v) for v in report.verdicts):
            return
        entry = {"format": FORMAT, "title": report.title, "source": report.source,
                 "verdicts": [{"step": asdict(v.step), "verdict": encode(v)} for v in report.verdicts]}
        try:
            self._prepare()
            # ASCII JSON: a non-UTF-8 file name (lone surrogates in `path`) is written escaped, never a crash
            self._write(self._path(file_key(path, data, options), self.files), json.dumps(entry, ensure_ascii=True))
        except OSError:
            pass

    def put(self, step: Step, options: Options, verdict: Verdict) -> None:
        if verdict.cached or not is_cacheable(verdict):
            return
        key = content_key(step, options)
        if needs_full_key(verdict, options):
            key = full_key(step, key)
        try:
            self._prepare()
            self._write(self._path(key), json.dumps(encode(verdict), ensure_ascii=True))
            self.stored += 1
        except OSError:
            pass  # a read-only or full disk costs speed, never a verdict

    def _prepare(self) -> None:
        if self.steps.is_dir() and self.files.is_dir():
            return
        self.steps.mkdir(parents=True, exist_ok=True)
        self.files.mkdir(parents=True, exist_ok=True)
        for name, text in ((".gitignore", "# created by klproof automatically\n*\n"), ("README.md", README),
                           ("CACHEDIR.TAG", CACHEDIR_TAG)):
            target = self.directory / name
            if not target.exists():
                self._write(target, text)

    @staticmethod
    def _write(target: Path, text: str) -> None:
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(temporary, target)
        except BaseException:
            try:
                os.unlink(temporary)
            except OSError:
                pass
            raise


__all__ = ["VerdictCache", "content_key", "full_key", "is_cacheable", "DEFAULT_DIR"]
