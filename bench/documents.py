"""Reading documents: what a large Markdown document costs, against parsing its Markdown.

    .venv/bin/python bench/documents.py [--rounds 5]

Three readings of the same ~1 MB Markdown document with one equation, interleaved
round by round so that the shared machine's noise falls on all of them alike:

- markdown-it, full parse (the baseline: block and inline tokens, with the dollarmath and amsmath plugins;
  klproof parses inline markup only in paragraphs that start with math),
- klproof's reader (`read_document`: header, formulas, chains, the LaTeX of the one equation),
- the same equation in a document of a few lines (the cost of the equation itself).

Reported as ratios to markdown-it, full parse, with the medians in seconds as a side note.
"""

from __future__ import annotations

import argparse
import statistics
import time

from klproof.parse.document import read_document
from klproof.parse.markdown import _parser

HEADER = '+++\ntitle = "t"\n[symbols]\nx = "real"\ny = "real"\n+++\n'
EQUATION = "\n\n$$ (x+y)^2 = x^2 + 2xy + y^2 $$\n"


def big_document() -> str:
    prose = ("Lorem ipsum dolor sit amet, $x$ consectetur *adipiscing* elit, `code` and a [link](#a).\n\n" * 12_000)
    text = HEADER + prose[:990_000] + EQUATION
    assert len(text.encode()) < 1_000_000
    return text


def timed(function, *args) -> float:
    started = time.perf_counter()
    function(*args)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    big, small = big_document(), HEADER + EQUATION
    read_document("warm.md", small.encode())  # imports and SymPy's first use, outside the timings
    times: dict[str, list[float]] = {"markdown-it, full parse": [], "klproof reader, 1 MB": [], "klproof reader, 8 lines": []}
    md = _parser()
    for _ in range(args.rounds):
        times["markdown-it, full parse"].append(timed(md.parse, big))
        times["klproof reader, 1 MB"].append(timed(read_document, "big.md", big.encode()))
        times["klproof reader, 8 lines"].append(timed(read_document, "small.md", small.encode()))
    floor = statistics.median(times["markdown-it, full parse"])
    print(f"{len(big.encode()):,} bytes, one equation; {args.rounds} interleaved rounds; median seconds as a side note")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"  {name:<26} {median / floor:6.2f} x markdown-it   ({median:.3f} s)")


if __name__ == "__main__":
    main()
