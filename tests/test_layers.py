"""The layers of the pipeline, checked on the source: readers never import the checker, reporters never
import readers or the checker, and the vocabulary imports neither (DESIGN: one pipeline, pure reporters)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "klproof"

# layer -> the packages it must not import (at module level or inside functions)
FORBIDDEN = {
    "parse": ("klproof.check", "klproof.report", "klproof.api", "klproof.cli", "klproof.export"),
    "report": ("klproof.parse", "klproof.check", "klproof.api", "klproof.cli", "klproof.export"),
    "vocabulary": ("klproof.parse", "klproof.check", "klproof.report", "klproof.api", "klproof.cli"),
}


def imported_modules(path: Path) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
    return out


CASES = [(layer, path) for layer in FORBIDDEN for path in sorted((PACKAGE / layer).glob("*.py"))]


@pytest.mark.parametrize("layer,path", CASES, ids=[f"{layer}/{path.name}" for layer, path in CASES])
def test_layer_does_not_import_what_it_must_not(layer, path):
    bad = sorted(m for m in imported_modules(path) if any(m == f or m.startswith(f + ".") for f in FORBIDDEN[layer]))
    assert not bad, f"klproof/{layer}/{path.name} imports {bad}"


def test_the_check_catches_a_forbidden_import(tmp_path):
    sample = tmp_path / "x.py"
    sample.write_text("def f():\n    from klproof.parse.latex import parse_latex\n")
    assert "klproof.parse.latex" in imported_modules(sample)
