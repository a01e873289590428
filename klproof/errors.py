"""Errors for bad input. Each carries where (path:line[:col]), what, and a hint."""

from __future__ import annotations

import difflib
import unicodedata
from dataclasses import dataclass

# characters that can rewrite a terminal or reorder text on screen (Trojan Source)
_BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")
MAX_SUGGESTION_NAME = 64  # longer names get no "did you mean" (difflib is quadratic)


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

    def __init__(self, message: str, span: Span | None = None, hint: str | None = None):
        super().__init__(message, span, hint or "see 'The derivation file' in the README for the format")


def show(text: str, limit: int = 60) -> str:
    """`text` from a file, safe to print: unprintable characters escaped, at most `limit` characters."""
    safe = "".join(c if c.isprintable() and c not in _BIDI else f"\\u{ord(c):04x}" for c in text[: limit + 1])
    return safe if len(safe) <= limit and len(text) <= limit else safe[: limit - 1] + "…"


def control_character(text: str, allow: str = "") -> int | None:
    """The index of the first control or bidirectional-override character in `text`, if any."""
    for i, c in enumerate(text):
        if c in allow:
            continue
        if c in _BIDI or unicodedata.category(c) == "Cc":
            return i
    return None


def did_you_mean(name: str, known: list[str] | tuple[str, ...], what: str = "declared") -> str:
    """A hint naming the closest known names, or listing them when none is close."""
    close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.6) if len(name) <= MAX_SUGGESTION_NAME else []
    if close:
        return "did you mean " + " or ".join(f"'{c}'" for c in close) + "?"
    shown = ", ".join(show(k, 40) for k in sorted(known)[:12]) or "none"
    more = "" if len(known) <= 12 else f", ... ({len(known)} in all)"
    return f"{what}: {shown}{more}"
