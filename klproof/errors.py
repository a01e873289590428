"""Errors for bad input. Each carries where (path:line[:col]), what, and a hint."""

from __future__ import annotations

import difflib
from dataclasses import dataclass


@dataclass(frozen=True)
class Span:
    """Where something came from: a file and a 1-based line (and column, when known)."""

    path: str
    line: int
    col: int | None = None

    def __str__(self) -> str:
        return f"{self.path}:{self.line}" + (f":{self.col}" if self.col else "")


class KlproofError(Exception):
    """Base class: every user-facing error has a message, a span and an optional hint."""

    def __init__(self, message: str, span: Span | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.span = span
        self.hint = hint

    def render(self) -> str:
        where = f"{self.span}: " if self.span else ""
        text = f"{where}{self.message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text

    def at(self, span: Span) -> "KlproofError":
        """The same error placed at `span` if it has no place yet."""
        if self.span is None:
            self.span = span
        return self


class ParseError(KlproofError):
    """The file or one of its expressions cannot be read."""


def did_you_mean(name: str, known: list[str] | tuple[str, ...], what: str = "declared") -> str:
    """A hint naming the closest known names, or listing them when none is close."""
    close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.6)
    if close:
        return "did you mean " + " or ".join(f"'{c}'" for c in close) + "?"
    shown = ", ".join(sorted(known)[:12]) or "none"
    more = "" if len(known) <= 12 else f", ... ({len(known)} in all)"
    return f"{what}: {shown}{more}"
