"""Properties of the text escapers over generated text: nothing a file says can break out of where it is put."""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import ROOT
from klproof.errors import clean
from klproof.report.markdown import _code, _title
from klproof.report.texnames import author_tex, escape_text, title_latex, title_pieces

KATEX = ROOT / ".katex" / "node_modules" / "katex"
# the pieces titles are made of: formulas, words, and everything that means something to TeX or Markdown
TOKENS = ["D_KL", "mu", "sigma_j", "eps", "a1", "x0", "mu_q[j]", "N(0, I)", "N(mu, sigma^2)", "log", "sqrt(a1*a12)",
          "z", "=", "+", "-", "*", "/", "~", "|", "||", "(", ")", "[", "]", ",", ":", "^", "_", "$", "\\", "{", "}",
          "%", "#", "&", "`", "<script>", "적분", "ε", "the", "of", "KL", "ELBO", "(1)", "2", "\x1b[2J", "\u202e"]
titles = st.lists(st.sampled_from(TOKENS), max_size=14).map(" ".join) | st.text(max_size=40)


@given(st.text(max_size=80))
def test_clean_leaves_nothing_a_terminal_acts_on(text):
    shown = clean(text)
    shown.encode("utf-8")  # no lone surrogates
    assert all(c == "\n" or unicodedata.category(c) not in ("Cc", "Cs") for c in shown)
    assert not set(shown) & set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")


@given(st.text(max_size=80))
def test_a_code_span_cannot_be_closed_from_inside(text):
    span = _code(text)
    fence = re.match("`+", span).group(0)
    inner = span[len(fence):-len(fence)]
    assert span.endswith(fence) and fence not in inner.replace(fence + fence, "")
    assert all(len(run) != len(fence) for run in re.findall("`+", inner))


@given(titles)
@settings(max_examples=300)
def test_a_title_for_latex_is_ascii_with_balanced_math(text):
    tex = title_latex(text)
    assert tex.isascii() and len(re.findall(r"(?<!\\)\$", tex)) % 2 == 0
    for math, piece in title_pieces(text):
        if math:
            assert piece.count("{") == piece.count("}") and piece.count("(") == piece.count(")")
            assert not set(piece) & set("$%#&`~") or "\\sim" in piece


@given(titles)
@settings(max_examples=300)
def test_a_title_for_markdown_opens_no_markup(text):
    md = _title(text)
    outside = re.sub(r"(?<!\\)\$[^$]*(?<!\\)\$", "", md)  # the math pieces klproof itself wrote
    assert not re.search(r"(?<!\\)[<`*_\[\]]", outside)


@given(st.text(max_size=60))
def test_text_for_latex_has_no_active_character_unescaped(text):
    out = escape_text(text)
    assert out.isascii()
    stripped = re.sub(r"\\[{}$&#%_]|\$\\[a-z]+\$|\\\^\{\}|\$[<>|]\$|\$\^2\$|\\dots\{\}|\$\\mathcal\{N\}\$|"
                      r"\$\\mathbb\{E\}\$|\$\\\|\$|\$\\backslash\$", "", out)
    assert not set(stripped) & set("\\{}$&#%^_~")


@given(st.lists(st.sampled_from(list("x+1 {}\\%#^$") + ["\\label", "\\input", "\\frac", "\\write18"]),
                max_size=30).map("".join))
def test_author_latex_is_pasted_only_when_inert(text):
    pasted = author_tex(text)
    if pasted is not None:
        assert "%" not in pasted and "#" not in pasted and "^^" not in pasted and "$" not in pasted
        assert "\\input" not in pasted and "\\write" not in pasted and "\\label" not in pasted


@pytest.mark.skipif(not KATEX.exists() or shutil.which("node") is None, reason="KaTeX is not installed")
def test_the_math_of_generated_titles_renders_with_katex():
    rng = random.Random(20261121)
    formulas = []
    for _ in range(400):
        text = " ".join(rng.choice(TOKENS) for _ in range(rng.randint(1, 12)))
        formulas += [{"tex": piece, "display": False} for math, piece in title_pieces(text) if math]
    assert len(formulas) > 200
    result = subprocess.run(["node", str(ROOT / "tests" / "katex" / "render.js")], input=json.dumps(formulas),
                            capture_output=True, text=True, timeout=120, env={"KLPROOF_KATEX": str(KATEX),
                                                                               "PATH": "/usr/bin:/bin"})
    assert json.loads(result.stdout) == []
