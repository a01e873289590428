"""Verdicts and reports: plain frozen values, the only thing reporters ever see."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from klproof.model import Relation, expression_text


class Status(str, Enum):
    """How far a step is established, best first. Only PROVED passes by default."""

    PROVED = "proved"
    NUMERIC = "numeric"
    UNKNOWN = "unknown"
    REFUTED = "refuted"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return list(Status).index(self)


class Reason(str, Enum):
    """Why a step has no verdict on its mathematics: its input, the run or klproof decided it.

    Such verdicts say something about the input, the machine or klproof: never stored in the cache."""

    UNREADABLE = "unreadable"  # the step's line cannot be read (an input error: exit 2)
    TIMEOUT = "timeout"  # stopped at the per-step time limit
    OUT_OF_MEMORY = "out of memory"  # stopped at the per-worker memory limit
    TOO_DEEP = "too deeply nested"  # Python's recursion limit
    CRASH = "crash"  # the worker process died
    INTERNAL = "internal error"  # an exception inside a rule or the sampler: a klproof bug
    INCONSISTENT = "internal inconsistency"  # a proof contradicted by a certified witness


@dataclass(frozen=True)
class Witness:
    """A point inside the assumptions where the two sides provably differ."""

    point: tuple[tuple[str, str], ...]  # (name, value) as text
    lhs: str
    rhs: str
    difference: str
    digits: int  # significant digits to which the difference was certified
    model: str = ""  # the random finite probability model used, if any


@dataclass(frozen=True)
class NumericEvidence:
    """Agreement at sample points: evidence, never proof."""

    points: int
    digits: int
    seed: int
    max_difference: str = ""  # the largest |lhs - rhs| among the agreeing points
    scales: str = ""  # the smallest and largest nonzero |value| sampled, e.g. "1e-09..4e+08"
    complex_points: int = 0  # complex values among those sampled
    margin: str = ""  # the largest relative difference |lhs - rhs| / max(|lhs|, |rhs|): the thinnest agreement
    quadrature: bool = False  # some value came from quadrature (agreement is then to half the digits)


@dataclass(frozen=True)
class StepInfo:
    """What a reporter needs of a step, as its author wrote it."""

    number: int
    chain: str
    path: str
    line: int
    col: int | None
    text: str
    previous_text: str
    by_text: str
    note: str
    is_equation: bool
    accept_numeric: bool
    relation: Relation = Relation.EQ  # the step's relation (to the previous expression, or between its sides)
    chain_relation: Relation = Relation.EQ  # what its chain concludes

    def __post_init__(self):  # read back from a cached report as plain strings
        object.__setattr__(self, "relation", Relation(self.relation))
        object.__setattr__(self, "chain_relation", Relation(self.chain_relation))

    @property
    def expression(self) -> str:
        """The step's expression as written, without the relation an inequality step opens with."""
        return expression_text(self.text) if self.relation is not Relation.EQ else self.text


@dataclass(frozen=True)
class Verdict:
    step: StepInfo
    status: Status
    method: str  # the rule(s) or strategy that decided it, in words
    rules: tuple[str, ...] = ()
    detail: str = ""  # why unknown, the residual, the diagnosis of a refutation
    seconds: float = 0.0
    witness: Witness | None = None
    evidence: NumericEvidence | None = None
    diagnosis: str = ""
    cached: bool = False
    reason: Reason | None = None  # set when the input, the run or klproof, not the mathematics, decided it
    hint: str = ""  # what to do next, for an unreadable step
    traceback: str = ""  # of an internal error, for `klproof explain`
    beyond_stated: bool = False  # proved, but only with rules beyond the step's own `by`

    @property
    def justification_insufficient(self) -> bool:
        """Proved, but the stated justification alone did not prove it (`--strict-justifications` fails it)."""
        return self.status is Status.PROVED and self.beyond_stated

    @property
    def passed(self) -> bool:
        return self.status is Status.PROVED or (self.status is Status.NUMERIC and self.step.accept_numeric)


@dataclass(frozen=True)
class FileError:
    """Why a whole file could not be read: where (line, column), what, and what to do next."""

    message: str
    line: int = 1
    col: int | None = None
    hint: str = ""

    @classmethod
    def of(cls, error, line: int = 1) -> FileError:
        """From a KlproofError (anything with message, span and hint); placed at `line` if it has no place."""
        span = error.span
        return cls(error.message, span.line if span else line, span.col if span else None, error.hint or "")


@dataclass(frozen=True)
class FileReport:
    path: str
    title: str = ""
    source: str = ""
    verdicts: tuple[Verdict, ...] = ()
    error: FileError | None = None  # why the file could not be read at all
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return not self.error and all(v.passed for v in self.verdicts)

    def count(self, status: Status) -> int:
        return sum(1 for v in self.verdicts if v.status is status)


@dataclass(frozen=True)
class Report:
    files: tuple[FileReport, ...] = ()
    seconds: float = 0.0
    settings: dict = field(default_factory=dict)  # seed, timeout, jobs: what makes the run reproducible
    strict_justifications: bool = False  # a step proved only beyond its stated `by` fails too

    def holds(self, verdict: Verdict) -> bool:
        """Whether the step passes this run: proved (or accepted numeric), and under strict
        justifications proved by the rules its `by` names."""
        return verdict.passed and not (self.strict_justifications and verdict.justification_insufficient)

    def file_passed(self, file: FileReport) -> bool:
        return not file.error and all(self.holds(v) for v in file.verdicts)

    @property
    def passed(self) -> bool:
        return all(self.file_passed(f) for f in self.files)

    @property
    def beyond_stated(self) -> int:
        """How many proved steps needed more than their stated justification."""
        return sum(1 for v in self.verdicts if v.justification_insufficient)

    @property
    def has_input_errors(self) -> bool:
        return any(f.error for f in self.files) or any(v.reason is Reason.UNREADABLE for v in self.verdicts)

    @property
    def verdicts(self) -> tuple[Verdict, ...]:
        return tuple(v for f in self.files for v in f.verdicts)
