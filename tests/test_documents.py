"""Documents as input: Markdown and LaTeX documents read where their derivations are written.

The reader is tested on tables of small documents (what becomes a step, at which
line and column, with which justification) and on broken ones (a clear error at
the right line, the rest still read); the seed documents in examples/ against
golden reports through the real command line. After an intended change of the
reports, regenerate them with
`KLPROOF_UPDATE_GOLDEN=1 .venv/bin/python -m pytest -q tests/test_documents.py` and review the diff.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ROOT, run_cli
from klproof.discover import looks_like_document
from klproof.errors import ParseError
from klproof.parse.document import prose_rule, read_document

GOLDEN = ROOT / "tests" / "golden" / "documents"
EXAMPLES = ["000_kl_divergence_integral.md", "001_kl_divergence_derivation.md",
            "002_epsilon_reparameterisation.md", "appendix_vae_kl.tex"]
SEEDS = {"000_kl_divergence_integral.md": "000_d4526cdaa0de79c4.txt",
         "001_kl_divergence_derivation.md": "001_ffd799093996390d.txt",
         "002_epsilon_reparameterisation.md": "002_e50f3a6d62a72702.txt"}
HEADER = """+++
title = "t"
[symbols]
x = "real"
y = "real"
z = "real"
X = "real"
j = "integer"
[distributions]
P = ["z", "X"]
Q = ["z", "X"]
+++
"""
H = HEADER.count("\n")  # lines the header takes: a formula on document line H + k is at line H + k


def read(text: str, path: str = "notes.md"):
    return read_document(path, text.encode())


def steps_of(text: str, path: str = "notes.md"):
    """(line, col, text, by_text) of every step that was read, and (line, col, message) of those that were not."""
    steps = read(text, path).steps
    return ([(s.span.line, s.span.col, s.text, s.by_text) for s in steps if s.error is None],
            [(s.error.span.line, s.error.span.col, s.error.message) for s in steps if s.error is not None])


# -- what becomes a step ------------------------------------------------------
def test_a_continuation_across_blocks_separated_by_prose():
    steps, errors = steps_of(HEADER + "# T\n\n$$\n(x+y)^2\n$$\n\nexpanding,\n\n$$\n= x^2 + 2xy + y^2\n$$\n")
    assert errors == []
    assert steps == [(H + 10, 3, "x^2 + 2xy + y^2", "")]


def test_a_heading_or_code_block_ends_a_chain():
    text = HEADER + "$$ (x+y)^2 $$\n\n# Next\n\n$$ = x^2 + 2xy + y^2 $$\n\n$$ = y^2 + 2xy + x^2 $$\n"
    steps, _ = steps_of(text)
    assert [s[2] for s in steps] == ["y^2 + 2xy + x^2"]  # the '= x^2 ...' after the heading starts a chain
    text = HEADER + "$$ (x+y)^2 $$\n\n```\ncode\n```\n\n$$ = x^2 + 2xy + y^2 $$\n"
    with pytest.raises(ParseError, match="no chain"):
        read(text)


@pytest.mark.parametrize("fence", ["```\n$$ x = 2 $$\n```", "~~~\n$$\nx = 2\n$$\n~~~", "    $$ x = 2 $$",
                                   "<!--\n$$ x = 2 $$\n-->", "`$$ x = 2 $$`"])
def test_math_in_code_and_comments_is_never_read(fence):
    text = HEADER + fence + "\n\n$$ (x+y)^2 = x^2 + 2xy + y^2 $$\n"
    steps, errors = steps_of(text)
    assert errors == [] and [s[2] for s in steps] == ["x^2 + 2xy + y^2"]


def test_an_align_block_with_by_comments_overset_and_tags():
    text = HEADER + r"""$$
\begin{aligned}
(x+y)^2 &= (x+y)(x+y) \\ % by: algebra
&\overset{\text{expand}}{=} x^2 + 2xy + y^2 \tag{1} \\
% by: rearrange
&= y^2 + 2xy + x^2
\end{aligned}
$$
"""
    steps, errors = steps_of(text)
    assert errors == []
    assert [(s[0], s[3]) for s in steps] == [(H + 3, "algebra"), (H + 4, "expand"), (H + 6, "rearrange")]


def test_a_line_with_several_relations_is_several_steps_and_boxed_is_layout():
    steps, _ = steps_of(HEADER + r"$$ (x+y)^2 = (x+y)(x+y) = x^2 + 2xy + y^2 $$" + "\n")
    assert [s[2] for s in steps] == ["(x+y)(x+y)", "x^2 + 2xy + y^2"]
    steps, _ = steps_of(HEADER + r"$$ \therefore \boxed{(x+y)^2 = x^2 + 2xy + y^2}. $$" + "\n")
    assert [s[2] for s in steps] == ["x^2 + 2xy + y^2"]
    steps, errors = steps_of(HEADER + r"$$ \sum_{j=1}^{2} x = 2x $$" + "\n")
    assert errors == [] and [s[2] for s in steps] == ["2x"]  # an '=' inside braces is not the line's relation


def test_a_row_without_a_relation_goes_on_with_the_expression_above():
    text = HEADER + "$$\n\\begin{aligned}\n(x+y)^2 + y &= x^2 + 2xy \\\\\n  &\\quad + y^2 + y \\\\ % by: algebra\n" \
        "-x^2 &= -x^2\n\\end{aligned}\n$$\n"
    steps, errors = steps_of(text)
    assert errors == [] and [(s[0], s[2], s[3]) for s in steps] == [(H + 3, "x^2 + 2xy \\quad + y^2 + y", "algebra"),
                                                                   (H + 5, "-x^2", "")]


@pytest.mark.parametrize("definition", ["f := x + y", "f \\coloneqq x + y", "f \\overset{\\text{def}}{=} x + y"])
def test_a_definition_is_not_a_claim_and_ends_the_chain(definition):
    steps, errors = steps_of(HEADER + f"$$ (x+y)^2 $$\n\n$$ {definition} $$\n\n$$ = x^2 + 2xy + y^2 $$\n\n$$ x - x = 0 $$\n")
    assert errors == [] and [s[2] for s in steps] == ["0"]


def test_inline_math_is_a_step_only_where_it_is_the_paragraph_statement():
    text = HEADER + "$(x+y)^2$\n\n$= x^2 + 2xy + y^2$, by algebra\n\nso $x = 2$ and $= 3$ in passing.\n\n" \
        "$= y^2 + 2xy + x^2$이고 more\n"
    steps, errors = steps_of(text)
    assert errors == []
    assert steps == [(H + 3, 4, "x^2 + 2xy + y^2", 'algebra (from the text: "by algebra")')]


@pytest.mark.parametrize("line, checked", [
    ("z = x + y", False), ("\\epsilon = \\frac{z - x}{y}", False), ("\\mu_1 = x", False), ("\\bold z = x", False),
    ("x - x = 0", True), ("x^2 = x x", True), ("(x) = x", True),
])
def test_a_name_given_to_an_expression_is_a_definition_not_a_claim(line, checked):
    steps, errors = steps_of(HEADER + f"$$ {line} $$\n\n$$ y - y = 0 $$\n")
    assert errors == [] and len(steps) == 1 + checked


def test_an_unknown_justification_is_that_lines_error():
    text = HEADER + "$$\n\\begin{aligned}\n(x+y)^2 &= (x+y)(x+y) \\\\ % by: Stirling\n&= x^2 + 2xy + y^2\n\\end{aligned}\n$$\n"
    steps, errors = steps_of(text)
    assert [e[:2] for e in errors] == [(H + 3, 26)] and "unknown justification 'Stirling'" in errors[0][2]
    assert steps == [(H + 4, 4, "x^2 + 2xy + y^2", "")]  # its expression was read: the next line goes on from it


@pytest.mark.parametrize("sentence, rule", [
    ("using Bayes Theorem equivalent for P", "Bayes Theorem"),
    ("Then, by linearity of expectation,", "linearity of expectation"),
    ("Applying the log rules we get", "log rules"),
    ("식 (4)를 이용해 (5)에 적용하면,", None),
    ("The log of the density is", None),  # a rule's name without 'by', 'using', ...: not a justification
    ("with the log of the density", None),  # 'log' alone is a word of the sentence, not a rule named
    ("by linearity", "linearity"), ("using Bayes", "Bayes"),
    ("by Jensen's inequality", "Jensen's inequality"), ("by Stirling's formula", None),  # an unknown rule: no justification
])
def test_a_rule_named_in_the_sentence_before_a_step(sentence, rule):
    found = prose_rule(sentence)
    assert (found[0] if found else None) == rule


def test_the_header_names_the_density_of_an_unadorned_expectation():
    body = "$$ E[\\log Q(z|X) + 1] $$\n\n$$ = E[\\log Q(z|X)] + 1 $$\n"
    steps, errors = steps_of(HEADER + body)
    assert steps == [] and len(errors) == 2 and all("needs the distribution" in e[2] for e in errors)
    assert [e[:2] for e in errors] == [(H + 1, 5), (H + 3, 7)]  # at each "[" that needs its density
    steps, errors = steps_of(HEADER.replace('title = "t"', "title = \"t\"\nexpectation = 'Q(z \\mid X)'") + body)
    assert errors == [] and len(steps) == 1 and steps[0][0] == H + 4


# -- errors at the right place, nothing lost ----------------------------------
def test_an_unreadable_line_is_its_own_error_and_the_rest_is_still_read():
    text = HEADER + "$$\n\\begin{aligned}\n(x+y)^2 &= \\foo{x} \\\\\n&= (x+y)(x+y) \\\\\n&= x^2 + 2xy + y^2\n" \
        "\\end{aligned}\n$$\n"
    steps, errors = steps_of(text)
    assert [e[:2] for e in errors] == [(H + 3, 12), (H + 4, 4)] and "unknown command \\foo" in errors[0][2]
    assert "continues from a line that cannot be read" in errors[1][2]  # its claim cannot be checked: said so
    assert [(s[0], s[2]) for s in steps] == [(H + 5, "x^2 + 2xy + y^2")]  # checked from the line after


def test_broken_math_reports_its_line_and_other_blocks_are_checked():
    text = HEADER + "$$ (x+y)^2 = x^2 + 2xy + y^2 $$\n\n$$ \\frac{x}{ = 2 $$\n\n$$ x - x = 0 $$\n"
    steps, errors = steps_of(text)
    assert [s[0] for s in steps] == [H + 1, H + 5] and [e[0] for e in errors] == [H + 3]


def test_too_many_unreadable_lines_give_up_the_document():
    text = HEADER + "".join(f"$$ x + {k} = \\foo $$\n\n" for k in range(60))
    with pytest.raises(ParseError, match="steps cannot be read"):
        read(text)
    steps, errors = steps_of(HEADER + "".join(f"$$ x + {k} = \\foo $$\n\n" for k in range(40)))
    assert [e[0] for e in errors] == [H + 1 + 2 * k for k in range(40)]  # each at its own line


@pytest.mark.parametrize("text, line, col, words", [
    ("+++\ntitle = \"t\"\n[symbols\nx = \"real\"\n+++\n$$ x = x $$\n", 3, 9, "not valid TOML"),
    ("+++\ntitle = \"t\"\n[symbols]\nx = \"realistic\"\n+++\n$$ x = x $$\n", 4, 5, "unknown assumption"),
    ("+++\ntitle = \"t\"\n[[chain]]\nstart = \"x\"\n+++\n$$ x = x $$\n", 3, None, "unknown key 'chain'"),
    ("+++\ntitle = \"t\"\n$$ x = x $$\n", 1, 1, "never closed"),
    ("# t\n\n<!-- klproof\ntitle = \"t\"\n[symbols]\nx = 1\n-->\n$$ x = x $$\n", 6, 5, "assumptions must be"),
    ("# t\n\n<!-- a comment that never ends\n\n$$ x = x $$\n", 3, 1, "never closed"),
    ("+++\ntitle = \"t\"\nexpectation = 3\n+++\n$$ x = x $$\n", 3, 15, "expectation must be"),
    ("+++\ntitle = \"t\"\n[[claim]]\nstart = \"nowhere\"\nstep = \"x\"\n+++\n$$ x = x $$\n", 3, None,
     "are not in the document"),
])
def test_header_and_comment_errors_point_at_their_line(text, line, col, words):
    with pytest.raises(ParseError) as caught:
        read(text)
    error = caught.value
    assert words in error.message and error.span.line == line and (col is None or error.span.col == col), error.render()


def test_a_latex_comment_header_error_points_at_the_document_column():
    text = "% klproof\n% title = \"t\"\n% [symbols]\n% x = \"reel\"\n\\[ x = x \\]\n"
    with pytest.raises(ParseError) as caught:
        read(text, "paper.tex")
    assert (caught.value.span.line, caught.value.span.col) == (4, 7) and "reel" in caught.value.message


@pytest.mark.parametrize("body, line", [
    ("\\begin{align*}\nx &= x\n", 5),  # never closed: where it opens
    ("\\begin{align*}\nx &= x\n\\end{equation}\n", 5),
    ("text \\end{align*}\n", 5),
    ("\\[ x = x \n", 5),
    ("\\begin{align*}\nx &= {x \\\\\n\\end{align*}\n", 5),
])
def test_unbalanced_latex_is_a_clear_error(body, line):
    text = "% klproof\n% title = \"t\"\n% [symbols]\n% x = \"real\"\n" + body
    with pytest.raises(ParseError) as caught:
        read(text, "paper.tex")
    assert caught.value.span.line == line and "does not close" in caught.value.message


def test_latex_sections_break_chains_and_verbatim_is_not_read():
    text = ("% klproof\n% title = \"t\"\n% [symbols]\n% x = \"real\"\n% y = \"real\"\n"
            "\\begin{equation}(x+y)^2\\end{equation}\n\\section{B}\n\\begin{equation}= 0\\end{equation}\n"
            "\\begin{verbatim}\n\\[ x = 2 \\]\n\\end{verbatim}\n"
            "\\begin{align}\n(x+y)^2 &= x^2 + 2xy + y^2 \\label{e} \\nonumber \\\\\n"
            "  &= y^2 + 2xy + x^2. % by: algebra\n\\end{align}\n")
    steps, errors = steps_of(text, "paper.tex")
    assert errors == []
    assert [(s[0], s[1], s[3]) for s in steps] == [(13, 12, ""), (14, 6, "algebra")]


def test_a_one_megabyte_markdown_file_with_one_equation():
    prose = ("Lorem ipsum dolor sit amet, $x$ consectetur *adipiscing* elit.\n\n" * 16_000)[:990_000]
    text = HEADER + prose + "\n\n$$ (x+y)^2 = x^2 + 2xy + y^2 $$\n"
    assert len(text.encode()) < 1_000_000
    started = time.perf_counter()
    steps, errors = steps_of(text)
    elapsed = time.perf_counter() - started
    assert errors == [] and len(steps) == 1 and steps[0][0] == text.count("\n")
    assert elapsed < 20, f"reading took {elapsed:.1f} s"  # generous: a quadratic reader takes minutes


@given(st.lists(st.sampled_from([
    "prose with $x$ inline", "$$ (x+y)^2 $$", "$$ = x^2 + 2xy + y^2 $$", "$$ \\frac{x}{ $$", "```\n$$ x = 1 $$\n```",
    "# heading", "<!--\n$$ x = 1 $$\n-->", "> $$ x = x $$", "- $= x$",
    "$$\n\\begin{aligned} x &= x \\\\ &= \\foo \\end{aligned}\n$$",
    "$$ x = = y $$", "$$ = $$", "$$\\begin{aligned}", "\\end{aligned}$$", "$ $", "$$$$", "<!--", "+++", "% by: algebra",
]), max_size=12))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_document_is_read_or_rejected_with_a_parse_error(blocks):
    text = HEADER + "\n\n".join(blocks) + "\n"
    lines = text.split("\n")
    try:
        derivation = read(text)
    except ParseError as exc:
        assert exc.span is not None and 1 <= exc.span.line <= len(lines)
        return
    assert all(1 <= s.error.span.line <= len(lines) for s in derivation.steps if s.error is not None)
    for step in derivation.steps:
        assert "$" in lines[step.span.line - 1] or "\\" in lines[step.span.line - 1] or "=" in lines[step.span.line - 1]


def test_a_heading_with_control_characters_is_an_escaped_title():
    derivation = read(HEADER + "# A \u202e title\x07\n\n$$ (x+y)^2 = x^2 + 2xy + y^2 $$\n")
    assert derivation.chains[0].title == f"A \\u202e title\\u0007 (line {H + 3})"


def test_discovery_needs_a_header():
    assert looks_like_document("a.md", b"+++\ntitle='t'\n+++\n") and looks_like_document("a.md", b"x\n<!-- klproof\n-->")
    assert not looks_like_document("README.md", b"# readme\n$$ x = 1 $$\n")
    assert looks_like_document("p.tex", b"\\documentclass{article}\n% klproof\n% title = 't'\n")
    assert not looks_like_document("p.tex", b"% a comment about klproof\n")


# -- the seed documents, through the command line ------------------------------
def test_the_seed_documents_are_the_sources_with_only_a_header_added():
    for name, seed in SEEDS.items():
        document = (ROOT / "examples" / name).read_text(encoding="utf-8")
        original = (ROOT.parent / "shared" / "seeds" / seed)
        if not original.exists():
            pytest.skip("shared/seeds is not beside the repository")
        source = original.read_text(encoding="utf-8")
        if document.startswith("+++"):
            document = document[document.index("+++\n", 4) + 4:]
        else:
            start = document.index("<!-- klproof")
            document = document[:start] + document[document.index("-->\n", start) + 4:]
        assert document == source, name


def _normalise(text: str) -> str:
    text = re.sub(r" *\b\d+(\.\d+)? (ms|s)\b", " <t>", text)  # timings, and the width of their column
    return re.sub(r" +\n", "\n", text)


@pytest.mark.parametrize("name", EXAMPLES)
def test_golden_report(name, tmp_path):
    result = run_cli("check", "--no-cache", f"examples/{name}")
    assert "Traceback" not in result.stderr
    assert result.returncode == (0 if name.endswith(".tex") else 2), result.stdout + result.stderr
    golden = GOLDEN / (name + ".txt")
    got = _normalise(result.stdout)
    if os.environ.get("KLPROOF_UPDATE_GOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(got, encoding="utf-8")
    assert got == golden.read_text(encoding="utf-8")


def test_seed_001_loss_line_is_refuted_at_its_own_line_with_the_sign_diagnosis():
    result = run_cli("check", "--no-cache", "--format", "json", "examples/001_kl_divergence_derivation.md")
    report = json.loads(result.stdout)
    (file,) = report["files"]
    refuted = [s for s in file["steps"] if s["status"] == "refuted"]
    text = (ROOT / "examples" / "001_kl_divergence_derivation.md").read_text().split("\n")
    assert len(refuted) == 1 and "our loss function is" in text[refuted[0]["line"] - 1]
    assert refuted[0]["witness"] and "sign of the term -KL(Q(z|X), P(z))" in refuted[0]["diagnosis"]
    errors = [(s["line"], s["col"]) for s in file["steps"] if s["status"] == "error"]
    assert (36, 9) in errors  # D_KL(P || Q): P without its variable, said at its line and column
    assert result.returncode == 2


def test_a_folder_checks_documents_with_a_header_and_leaves_other_markdown_alone(tmp_path):
    (tmp_path / "README.md").write_text("# readme\n\n$$ x = \\foo $$\n")
    (tmp_path / "notes.md").write_text(HEADER + "$$ (x+y)^2 = x^2 + 2xy + y^2 $$\n")
    (tmp_path / "paper.tex").write_text("% klproof\n% title = \"p\"\n% [symbols]\n% x = \"real\"\n\\[ x - x = 0 \\]\n")
    result = run_cli("check", "--no-cache", "--format", "github", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "README" not in result.stdout and "2 files, 2 steps: 2 proved" in result.stdout


def test_github_annotations_point_at_the_document_lines(tmp_path):
    (tmp_path / "notes.md").write_text(HEADER + "$$ (x+y)^2 = x^2 + y^2 $$\n\n$$ \\foo $$\n\n$$ = 1 $$\n")
    result = run_cli("check", "--no-cache", "--format", "github", "notes.md", cwd=tmp_path)
    assert result.returncode == 2
    assert f"::error file=notes.md,line={H + 1},col=14,title=klproof%3A step 1 refuted" in result.stdout
    assert f"::error file=notes.md,line={H + 3},col=4,title=klproof%3A step 2 error" in result.stdout
    assert f"::error file=notes.md,line={H + 5},col=6,title=klproof%3A step 3 error" in result.stdout
    assert "Traceback" not in result.stderr


def test_the_pytest_plugin_collects_documents(tmp_path):
    (tmp_path / "notes.md").write_text(HEADER + "$$ (x+y)^2 = x^2 + 2xy + y^2 $$\n\n$$ x + 1 = \\foo $$\n")
    (tmp_path / "README.md").write_text("# not a derivation\n")
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "klproof", "--klproof-no-cache", ".", "-rA"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)
    assert "1 passed" in result.stdout and "1 failed" in result.stdout, result.stdout[-2000:]
    assert f"notes.md::step 2 (line {H + 3})" in result.stdout


def test_pre_commit_manifest_has_a_documents_hook():
    text = (ROOT / ".pre-commit-hooks.yaml").read_text()
    assert "id: klproof-documents" in text and "types_or: [markdown, tex]" in text


def test_a_document_over_the_chain_limit_is_one_error_not_a_line_error():
    text = HEADER + "$$ (x+y)^2 = x^2 + 2xy + y^2 $$\n\n" * 501
    with pytest.raises(ParseError) as caught:
        read(text)
    assert "the limit is 500" in caught.value.message


def test_an_unreadable_line_is_an_error_verdict_at_its_line(tmp_path):
    (tmp_path / "notes.md").write_text(HEADER + "$$ (x+y)^2 = x^2 + 2xy + y^2 $$\n\n$$ x + 1 = \\foo $$\n")
    result = run_cli("check", "--no-cache", "--format", "json", "notes.md", cwd=tmp_path)
    steps = json.loads(result.stdout)["files"][0]["steps"]
    assert [(s["line"], s["col"], s["status"]) for s in steps] == [(H + 1, 14, "proved"), (H + 3, 12, "error")]
    assert result.returncode == 2
