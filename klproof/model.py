"""The parsed derivation: frozen values that the checker reads and never changes.

A chain of expressions becomes a list of steps, each with one `Claim`: an
identity to prove (the previous expression equals this one, or an equation's two
sides are equal) or an implication (this equation follows from the previous one).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum
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


class Relation(str, Enum):
    """How a step's expression relates to the previous one (or an inequality's left side to its right)."""

    EQ = "="
    LE = "<="
    LT = "<"
    GE = ">="
    GT = ">"

    @property
    def symbol(self) -> str:
        """As printed in reports: = ≤ < ≥ >."""
        return {"<=": "≤", ">=": "≥"}.get(self.value, self.value)

    @property
    def latex(self) -> str:
        return {"<=": r"\le", ">=": r"\ge"}.get(self.value, self.value)

    @property
    def flipped(self) -> Relation:
        """The same relation read right to left: a <= b is b >= a."""
        return {Relation.LE: Relation.GE, Relation.GE: Relation.LE, Relation.LT: Relation.GT,
                Relation.GT: Relation.LT}.get(self, self)

    @property
    def strict(self) -> bool:
        return self in (Relation.LT, Relation.GT)

    @property
    def direction(self) -> int:
        """+1 for >= and >, -1 for <= and <, 0 for =."""
        return {Relation.GE: 1, Relation.GT: 1, Relation.LE: -1, Relation.LT: -1}.get(self, 0)


def compose(first: Relation, then: Relation) -> Relation | None:
    """The relation of a chain a R1 b R2 c between a and c; None when it concludes nothing (>= then <=)."""
    if first is Relation.EQ:
        return then
    if then is Relation.EQ:
        return first
    if first.direction != then.direction:
        return None
    return first if first.strict else then if then.strict else first


_LEADING_RELATION = re.compile(r"^\s*&?\s*(<=|>=|≤|≥|<|>|=|\\(?:leqslant|geqslant|leq|geq|le|ge)(?![A-Za-z]))\s*")


def expression_text(text: str) -> str:
    """A step's text as written without its leading relation ('>= E(...)' -> 'E(...)'), for showing the claim."""
    return _LEADING_RELATION.sub("", text, count=1)


@dataclass(frozen=True)
class Related:
    """What a reader returns for an inequality: `lhs relation rhs`, or `relation rhs` (lhs None) for a chain step."""

    relation: Relation
    lhs: Any
    rhs: Any


@dataclass(frozen=True)
class Bound:
    """lhs relation rhs (an inequality, relation never EQ) for all values allowed by the assumptions;
    with a premise, wherever the premise (the previous inequality) holds."""

    lhs: Any
    rhs: Any
    relation: Relation
    premise: Bound | None = None

    def _sympyrepr(self, printer) -> str:
        """For SymPy's srepr (the cache key): every symbol with its assumptions, the premise's too."""
        premise = printer._print(self.premise) if self.premise is not None else "None"
        return f"Bound({printer._print(self.lhs)}, {printer._print(self.rhs)}, {self.relation.value!r}, {premise})"


Claim = Identity | Implication | Bound


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
    relation: Relation = Relation.EQ  # to the previous expression (or between an equation's sides)
    chain_relation: Relation = Relation.EQ  # what the whole chain concludes (the same for all its steps)
    error: StepError | None = None  # the step could not be read: it is reported as an error, never checked


@dataclass(frozen=True)
class Chain:
    title: str
    start_text: str
    start: Any  # the starting expression (for an equation: its right-hand side)
    span: Span
    steps: tuple[Step, ...]
    start_is_equation: bool = False
    relation: Relation = Relation.EQ  # what the chain concludes: its steps' relations composed


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
