"""Telling derivation files from other TOML files without parsing them (cheap: no SymPy, no TOML parser)."""

from __future__ import annotations

import re

DERIVATION_MARK = re.compile(rb"^[ \t]*\[\[[ \t]*chain[ \t]*\]\]", re.MULTILINE)
SNIFF_BYTES = 1_000_000


def looks_like_derivation(data: bytes) -> bool:
    """Whether TOML text has a [[chain]] table: what every derivation file has, and other TOML files do not."""
    return DERIVATION_MARK.search(data[:SNIFF_BYTES]) is not None
