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

Trust: an entry is believed only if this machine wrote it. Every entry carries an
HMAC-SHA256 over its key and its body, with a secret key created on first use in
the user's cache directory (platformdirs), never in the repository; an entry
shipped in a pull request, edited, moved to another key or cut short fails the
check, is ignored and counted in `rejected`. The default cache folder is also in
the user's cache directory, one per project path; `--cache-dir` chooses another
(for CI caching), and the secret key stays where it is.

Storage: one small JSON file per key in `<dir>/steps/` (and `<dir>/files/`), written to a temporary
file and moved into place with `os.replace`, so concurrent runs never see half
a file and a killed run or a full disk leaves at most a stray temporary file. An
entry is read only if it is a regular file (not a symlink, FIFO or device) of
bounded size; any decoding problem and any field of the wrong type is a miss. A
cache folder that is a symlink is refused (nothing is read or written there).
The cached verdict is rebuilt with the step's current `StepInfo` (its line may
have moved), `cached=True`.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import os
import secrets
import stat
import sys
import tempfile
from dataclasses import asdict, fields
from pathlib import Path

from klproof import __version__
from klproof.check.decide import Options, step_info
from klproof.model import Relation, Step
from klproof.verdict import FileReport, NumericEvidence, Reason, Status, StepInfo, Verdict, Witness

FORMAT = 2  # of the entries; part of every key
MAX_ENTRY_BYTES = 4 * 1024 * 1024  # a step entry is a few kB; a whole file's report well under this
KEY_FILE = "hmac.key"
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


@functools.lru_cache(maxsize=1)
def _mpmath_version() -> str:
    from importlib.metadata import version

    return version("mpmath")


def _versions() -> list[str]:
    return [__version__, _sympy_version(), _mpmath_version(), f"{sys.version_info.major}.{sys.version_info.minor}",
            code_fingerprint()]


def user_cache_root() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("klproof", appauthor=False))


def default_directory(project: str | os.PathLike | None = None) -> Path:
    """The cache folder of a project (the current folder by default): outside the working tree."""
    where = Path(project if project is not None else os.getcwd()).resolve()
    return user_cache_root() / "projects" / hashlib.sha256(str(where).encode()).hexdigest()[:24]


def _secret() -> bytes | None:
    """The HMAC key, created on first use (mode 0600) in the user's cache directory; None if unusable."""
    root = user_cache_root()
    path = root / KEY_FILE
    try:
        key = _read_regular(path, 64)
        if key is not None and len(key) == 32:
            return key
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Written whole under a temporary name, then linked into place: a concurrent first run finds
        # either no key or a whole one, and a run killed half-way leaves no short key behind.
        fd, temporary = tempfile.mkstemp(dir=root, prefix=".hmac.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(secrets.token_bytes(32))
                handle.flush()
                os.fsync(handle.fileno())
            try:
                os.link(temporary, path)
            except FileExistsError:
                if _read_regular(path, 64) is None or len(_read_regular(path, 64) or b"") != 32:
                    os.replace(temporary, path)  # a broken key: entries made with it become misses
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)
        key = _read_regular(path, 64)
    except OSError:
        return None
    return key if key is not None and len(key) == 32 else None


def _read_regular(path: Path, limit: int) -> bytes | None:
    """The bytes of a regular file of at most `limit` bytes; None for anything else (symlink, FIFO,
    device, directory, too large), without ever blocking on it."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            return None
        chunks, total = [], 0
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            total += len(chunk)
            if total > limit:
                return None
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)


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


class BadEntry(ValueError):
    pass


def _typed(cls, data) -> dict:
    """The fields of dataclass `cls` from `data`, each checked against its declared type."""
    if not isinstance(data, dict) or set(data) - {f.name for f in fields(cls)}:
        raise BadEntry(f"not a {cls.__name__}")
    out = {}
    for f in fields(cls):
        if f.name not in data:
            raise BadEntry(f"{cls.__name__} without {f.name}")
        value, kind = data[f.name], str(f.type)
        if kind.startswith("tuple"):  # Witness.point: pairs of strings
            if not (isinstance(value, list) and all(isinstance(p, list) and len(p) == 2
                                                   and all(isinstance(t, str) for t in p) for p in value)):
                raise BadEntry(f"{f.name} is not a list of pairs of strings")
            value = tuple(tuple(p) for p in value)
        elif kind == "int | None":
            if value is not None and (type(value) is not int):
                raise BadEntry(f"{f.name} is not an integer")
        elif kind == "Relation":  # an inequality step's relation, stored as its value ("<=")
            if not isinstance(value, str) or value not in {r.value for r in Relation}:
                raise BadEntry(f"{f.name} is not a relation")
        elif kind in ("int", "bool", "str"):
            if type(value) is not {"int": int, "bool": bool, "str": str}[kind]:
                raise BadEntry(f"{f.name} is not a {kind}")
        else:
            raise BadEntry(f"unexpected field type {kind}")
        out[f.name] = value
    return out


def decode(data, info: StepInfo) -> Verdict:
    """The stored verdict, for the step as it is now. Raises BadEntry unless every field has its type."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise BadEntry("another cache format")
    for name, kind in (("method", str), ("detail", str), ("diagnosis", str), ("rules", list),
                       ("beyond_stated", bool)):
        if not isinstance(data.get(name), kind):
            raise BadEntry(f"{name} has the wrong type")
    if not all(isinstance(r, str) for r in data["rules"]):
        raise BadEntry("rules are not strings")
    try:
        status = Status(data.get("status"))
    except ValueError:
        raise BadEntry("unknown status") from None
    witness = Witness(**_typed(Witness, data.get("witness"))) if data.get("witness") is not None else None
    evidence = NumericEvidence(**_typed(NumericEvidence, data.get("evidence"))) \
        if data.get("evidence") is not None else None
    return Verdict(step=info, status=status, method=data["method"], rules=tuple(data["rules"]),
                   detail=data["detail"], seconds=0.0, witness=witness, evidence=evidence,
                   diagnosis=data["diagnosis"], cached=True, beyond_stated=data["beyond_stated"])


class VerdictCache:
    """Verdicts on disk under `directory` (created on first write), authenticated with this user's key."""

    def __init__(self, directory: str | os.PathLike | None = None):
        self.directory = Path(directory) if directory is not None else default_directory()
        self.steps = self.directory / "steps"
        self.files = self.directory / "files"  # whole unchanged files: no parsing at all
        self.hits = 0
        self.stored = 0
        self.rejected = 0  # entries present but not believed (forged, edited, cut short, not a file)
        self.problem = ""  # why the cache is not used at all, for the CLI to say
        self._key: bytes | None | bool = False  # not read yet
        if any(p.is_symlink() for p in (self.directory, self.steps, self.files)):
            self.problem = f"the cache folder {self.directory} is a symbolic link; not using it"

    @property
    def usable(self) -> bool:
        return not self.problem and self.key is not None

    @property
    def key(self) -> bytes | None:
        if self._key is False:
            self._key = _secret()
            if self._key is None and not self.problem:
                self.problem = f"no usable cache key in {user_cache_root()}; not using the cache"
        return self._key if isinstance(self._key, bytes) else None

    def _path(self, key: str, folder: Path | None = None) -> Path:
        return (folder or self.steps) / f"{key}.json"

    def _mac(self, key: str, body: str) -> str:
        secret = self.key
        assert secret is not None, "entries are read and written only while the cache is usable"
        return hmac.new(secret, key.encode() + b"\0" + body.encode("utf-8"), hashlib.sha256).hexdigest()

    def _read(self, key: str, folder: Path | None = None):
        """The authenticated body of an entry, decoded; None on a miss or a bad entry (counted)."""
        if not self.usable:
            return None
        raw = _read_regular(self._path(key, folder), MAX_ENTRY_BYTES)
        if raw is None:
            if self._path(key, folder).is_symlink() or (folder or self.steps).joinpath(f"{key}.json").exists():
                self.rejected += 1  # present but not a regular file of sane size
            return None
        try:
            envelope = json.loads(raw.decode("utf-8"))
            body, mac = envelope["body"], envelope["mac"]
            if not (isinstance(body, str) and isinstance(mac, str)
                    and hmac.compare_digest(mac, self._mac(key, body))):
                raise BadEntry("not written by this user's klproof")
            return json.loads(body)
        except Exception:
            self.rejected += 1
            return None

    def get(self, step: Step, options: Options) -> Verdict | None:
        content = content_key(step, options)
        for key, proved_only in ((content, True), (full_key(step, content), False)):
            data = self._read(key)
            if data is None:
                continue
            try:
                verdict = decode(data, step_info(step))
            except Exception:
                self.rejected += 1
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
            if not (isinstance(entry, dict) and isinstance(entry.get("title"), str)
                    and isinstance(entry.get("source"), str) and isinstance(entry.get("verdicts"), list)):
                raise BadEntry("not a file entry")
            verdicts = tuple(decode(item["verdict"], StepInfo(**_typed(StepInfo, item["step"])))
                             for item in entry["verdicts"])
            report = FileReport(path=path, title=entry["title"], source=entry["source"], verdicts=verdicts)
        except Exception:
            self.rejected += 1
            return None
        self.hits += len(verdicts)
        return report

    def put_file(self, path: str, data: bytes, options: Options, report: FileReport) -> None:
        """Store a file's report when every verdict in it may be stored (no timeout, no crash)."""
        if report.error or not all(is_cacheable(v) for v in report.verdicts):
            return
        entry = {"format": FORMAT, "title": report.title, "source": report.source,
                 "verdicts": [{"step": asdict(v.step), "verdict": encode(v)} for v in report.verdicts]}
        self._store(file_key(path, data, options), entry, self.files)

    def put(self, step: Step, options: Options, verdict: Verdict) -> None:
        if verdict.cached or not is_cacheable(verdict):
            return
        key = content_key(step, options)
        if needs_full_key(verdict, options):
            key = full_key(step, key)
        if self._store(key, encode(verdict), self.steps):
            self.stored += 1

    def _store(self, key: str, entry: dict, folder: Path) -> bool:
        if not self.usable:
            return False
        # ASCII JSON: a non-UTF-8 file name (lone surrogates in a path) is written escaped, never a crash
        body = json.dumps(entry, ensure_ascii=True)
        try:
            self._prepare()
            self._write(self._path(key, folder), json.dumps({"mac": self._mac(key, body), "body": body}))
            return True
        except OSError:
            return False  # a read-only or full disk costs speed, never a verdict

    def _prepare(self) -> None:
        if self.steps.is_dir() and self.files.is_dir():
            return
        self.steps.mkdir(parents=True, exist_ok=True)
        self.files.mkdir(parents=True, exist_ok=True)
        for name, text in ((".gitignore", "# created by klproof automatically\n*\n"), ("README.md", README),
                           ("CACHEDIR.TAG", CACHEDIR_TAG)):
            target = self.directory / name
            if not target.exists() and not target.is_symlink():
                self._write(target, text)

    def _write(self, target: Path, text: str) -> None:
        # Never outside the cache folder: its folders are checked again right before writing.
        if any(p.is_symlink() for p in (self.directory, self.steps, self.files)):
            raise OSError("the cache folder became a symbolic link")
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, target)
        except BaseException:
            try:
                os.unlink(temporary)
            except OSError:
                pass
            raise


__all__ = ["VerdictCache", "content_key", "default_directory", "full_key", "is_cacheable"]
