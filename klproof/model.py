"""The parsed derivation: frozen values that the checker reads and never changes.

A chain of expressions becomes a list of steps, each with one `Claim`: an
identity to prove (the previous expression equals this one, or an equation's two
sides are equal) or an implication (this equation follows from the previous one).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from klproof.errors import Span


@dataclass(frozen=True)
class Identity:
    """lhs == rhs for all values allowed by the assumptions."""

    lhs: Any
    rhs: Any


@dataclass(frozen=True)
class Implication:
    """The equation lhs == rhs follows from the equation premise_lhs == premise_rhs."""

    premise_lhs: Any
    premise_rhs: Any
    lhs: Any
    rhs: Any


Claim = Identity | Implication


@dataclass(frozen=True)
class StepError:
    """Why one step cannot be read: that step's error, while the rest of the file is still checked."""

    span: Span
    message: str
    hint: str = ""


@dataclass(frozen=True)
class Step:
    """One checked line of a derivation."""

    number: int  # 1-based, across the whole file
    chain: str  # the chain's title
    text: str  # the expression as its author wrote it
    previous_text: str  # what it is claimed equal to (or follows from), as written
    claim: Claim | None  # None when the step cannot be read (see `error`)
    span: Span
    by: tuple[str, ...] = ()  # canonical rule ids named by the justification
    by_text: str = ""  # the justification as written
    note: str = ""
    substitution: tuple[Any, Any] | None = None  # (old variable, expression in the new one)
    accept_numeric: bool = False
    is_equation: bool = False
    latex_source: bool = False  # the step was written in LaTeX
    error: StepError | None = None  # the step could not be read: it is reported as an error, never checked


@dataclass(frozen=True)
class Chain:
    title: str
    start_text: str
    start: Any  # the starting expression (for an equation: its right-hand side)
    span: Span
    steps: tuple[Step, ...]
    start_is_equation: bool = False


@dataclass(frozen=True)
class Derivation:
    """Everything a derivation file declares, with the steps to check."""

    path: str
    title: str
    source: str
    symbols: dict[str, Any] = field(default_factory=dict)  # name -> sympy Symbol or IndexedBase
    assumptions: dict[str, str] = field(default_factory=dict)  # name -> assumptions as written
    distributions: dict[str, tuple[str, ...]] = field(default_factory=dict)
    definitions: dict[str, tuple[tuple[Any, ...], Any, str]] = field(default_factory=dict)
    chains: tuple[Chain, ...] = ()
    warnings: tuple[tuple[Span, str], ...] = ()  # e.g. a declared assumption that a binder overrides

    @property
    def steps(self) -> tuple[Step, ...]:
        return tuple(step for chain in self.chains for step in chain.steps)
