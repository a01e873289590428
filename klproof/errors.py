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


def clean(text: str) -> str:
    """`text` from a file or a file name, safe for any terminal, log or writer: control, bidirectional and
    other unprintable characters (ESC, NUL, the lone surrogates of a non-UTF-8 file name) become \\uXXXX;
    line breaks are kept. Nothing is cut."""
    return "".join(c if (c.isprintable() or c == "\n") and c not in _BIDI else f"\\u{ord(c):04x}" for c in text)


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


def did_you_mean(name: str, known: list[str] | tuple[str, ...], what: str = "declared", listing: str = "") -> str:
    """A hint naming the closest known names; all of them when there are few; never a cut list.

    `listing` says where the whole list is (e.g. "`klproof rules` lists them") when there are many.
    """
    names = sorted(set(known))
    close: list[str] = []
    if len(name) <= MAX_SUGGESTION_NAME:
        close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
        if not close:  # a shared word is a better clue than spelling: "log rule" -> "log rules"
            words = set(name.lower().split())
            close = [k for k in names if words & set(k.lower().split()) and len(words) < 6][:3]
    if close:
        return "did you mean " + " or ".join(f"'{show(c, 40)}'" for c in close) + "?"
    if len(names) <= 12:
        return f"{what}: " + (", ".join(show(k, 40) for k in names) or "none")
    return f"no {what} is close to '{show(name, 40)}'" + (f"; {listing}" if listing else f" ({len(names)} in all)")
