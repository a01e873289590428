"""Telling derivation files from other TOML files, and klproof documents from other Markdown and LaTeX files,
without parsing them (cheap: no SymPy, no TOML parser)."""

from __future__ import annotations

import re

DERIVATION_MARK = re.compile(rb"^[ \t]*\[\[[ \t]*chain[ \t]*\]\]", re.MULTILINE)
SNIFF_BYTES = 1_000_000


def looks_like_derivation(data: bytes) -> bool:
    """Whether TOML text has a [[chain]] table: what every derivation file has, and other TOML files do not."""
    return DERIVATION_MARK.search(data[:SNIFF_BYTES]) is not None


DOCUMENT_SUFFIXES = (".md", ".markdown", ".tex")
_MARKDOWN_HEADER = re.compile(rb"\A\+\+\+[ \t]*\r?$|^<!--[ \t]*klproof[ \t]*\r?$", re.MULTILINE)
_LATEX_HEADER = re.compile(rb"^%[ \t]*klproof[ \t]*\r?$", re.MULTILINE)


def is_document(path: str) -> bool:
    """Markdown or LaTeX, by the file's name."""
    return str(path).lower().endswith(DOCUMENT_SUFFIXES)


def looks_like_document(path: str, data: bytes) -> bool:
    """Whether a Markdown or LaTeX document declares itself a klproof derivation: TOML front matter ('+++'),
    a '<!-- klproof' comment, or a '% klproof' comment block. Folders, pytest and pre-commit check only those."""
    mark = _LATEX_HEADER if str(path).lower().endswith(".tex") else _MARKDOWN_HEADER
    return mark.search(data[:SNIFF_BYTES].removeprefix(b"\xef\xbb\xbf")) is not None


def looks_checkable(path: str, data: bytes) -> bool:
    """A derivation file or a klproof document (what --derivations-only keeps)."""
    return looks_like_document(path, data) if is_document(path) else looks_like_derivation(data)
