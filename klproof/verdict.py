"""Verdicts and reports: plain frozen values, the only thing reporters ever see."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


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

    @property
    def passed(self) -> bool:
        return self.status is Status.PROVED or (self.status is Status.NUMERIC and self.step.accept_numeric)


@dataclass(frozen=True)
class FileReport:
    path: str
    title: str = ""
    source: str = ""
    verdicts: tuple[Verdict, ...] = ()
    error: str = ""  # the rendered error when the file could not be read at all
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

    @property
    def passed(self) -> bool:
        return all(f.passed for f in self.files)

    @property
    def has_input_errors(self) -> bool:
        return any(f.error for f in self.files)

    @property
    def verdicts(self) -> tuple[Verdict, ...]:
        return tuple(v for f in self.files for v in f.verdicts)
