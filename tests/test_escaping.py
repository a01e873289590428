"""Nothing a file contains, or a file's name, reaches a terminal, log, report or export raw; reports and
exports go where the user said and nowhere else (never over an input, never through a symbolic link)."""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from cli_inprocess import invoke
from conftest import ROOT, derivation_text, run_cli
from klproof.errors import clean
from klproof.report.texnames import author_tex, comment_text, escape_text

FORMATS = ("terminal", "json", "junit", "github", "sarif")
GOOD = derivation_text("(a + b)**2", "a**2 + 2*a*b + b**2")
FALSE = derivation_text("(a + b)**2", "a**2 + b**2")
# a name that is not UTF-8 and carries an escape sequence that would turn a terminal red
HOSTILE_NAME = b"bad\xff\x1b[31m\x07name.toml"


@pytest.fixture
def hostile_folder(tmp_path) -> Path:
    (tmp_path / "good.toml").write_text(GOOD)
    with open(os.path.join(os.fsencode(tmp_path), HOSTILE_NAME), "w") as handle:
        handle.write(FALSE)  # refuted, so that every format names the file
    return tmp_path


@pytest.mark.parametrize("format", FORMATS)
def test_a_non_utf8_file_name_with_escapes_is_reported_escaped_in_every_format(hostile_folder, format):
    result = invoke("check", "--format", format, "--cache-dir", str(hostile_folder / "cache"), str(hostile_folder))
    assert result.returncode == 1, result.stdout[-2000:] + result.stderr[-2000:]
    assert "Traceback" not in result.stderr and "\x1b" not in result.stdout + result.stderr
    assert "\x07" not in result.stdout
    shown = "bad\\udcff\\u001b[31m\\u0007name.toml"  # named, escaped, not dropped
    if format == "json":
        paths = [f["path"] for f in json.loads(result.stdout)["files"]]
        assert len(paths) == 2 and any(p.endswith(shown) for p in paths)
    elif format == "sarif":
        (result_,) = json.loads(result.stdout)["runs"][0]["results"]
        uri = result_["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        assert uri.endswith("bad%5Cudcff%5Cu001b%5B31m%5Cu0007name.toml")
    else:
        assert shown in result.stdout
    if format == "junit":
        assert len(ET.fromstring(result.stdout).findall("testsuite")) == 2


def test_reports_with_a_non_utf8_name_are_written_and_cached(hostile_folder):
    for _ in range(2):  # the second run reads the cache the first one wrote
        for format, name in (("junit", "r.xml"), ("json", "r.json"), ("sarif", "r.sarif"), ("terminal", "r.txt")):
            result = invoke("check", "--format", format, "--output", str(hostile_folder / name),
                             "--cache-dir", str(hostile_folder / "cache"), str(hostile_folder))
            assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr[-2000:]
            assert "\x1b" not in (hostile_folder / name).read_text(encoding="utf-8")
    ET.parse(hostile_folder / "r.xml")
    json.loads((hostile_folder / "r.sarif").read_text(encoding="utf-8"))


def test_exports_of_a_file_with_a_hostile_name(hostile_folder):
    path = os.path.join(os.fsencode(hostile_folder), HOSTILE_NAME)
    for to in ("latex", "markdown"):
        result = invoke("export", "--to", to, "--allow-unverified", os.fsdecode(path))
        assert result.returncode == 0 and "Traceback" not in result.stderr
        assert "\x1b" not in result.stdout + result.stderr and "bad\\udcff" in result.stdout
        refused = invoke("export", "--to", to, os.fsdecode(path))
        assert refused.returncode == 1 and "\x1b" not in refused.stderr and "bad\\udcff" in refused.stderr


@pytest.mark.parametrize("text, shown", [
    ("x\x1b[2Jy", "x\\u001b[2Jy"), ("nul\x00", "nul\\u0000"), ("rtl\u202eevil", "rtl\\u202eevil"),
    ("surrogate\udcff", "surrogate\\udcff"), ("two\nlines", "two\nlines"), ("σ and 적분", "σ and 적분"),
])
def test_clean_escapes_what_a_terminal_would_act_on_and_keeps_the_rest(text, shown):
    assert clean(text) == shown


def test_latex_text_and_comments_never_carry_control_characters():
    assert "\x1b" not in escape_text("a\x1bb") and "\x00" not in escape_text("a\x00b")
    assert comment_text("a\x1bb\nc") == "a\\u001bb c"


@pytest.mark.parametrize("tex, expected", [
    ("\\frac{1}{2} \\label{eq:one}", "\\frac{1}{2}"),
    ("x + 1 \\label{\\input /etc/passwd}", "x + 1"),
    ("x \\input{/etc/passwd}", None), ("x % comment", None), ("x^^5c", None), ("\\def\\x{1} x", None),
    ("x \\write18{rm -rf /}", None), ("\\left\\langle u, v \\right\\rangle", "\\left\\langle u, v \\right\\rangle"),
])
def test_the_authors_latex_is_pasted_only_when_it_cannot_act_on_the_tex_run(tex, expected):
    assert author_tex(tex) == expected


def test_a_label_with_an_input_never_reaches_the_latex_export(tmp_path):
    path = tmp_path / "label.toml"
    path.write_text(derivation_text("a + b", "b + a").replace("expr = '''b + a'''",
                                                            "latex = 'b + a \\label{\\input /etc/passwd}'"))
    assert run_cli("check", "--no-cache", str(path)).returncode == 0
    for to in ("latex", "markdown"):
        result = run_cli("export", "--to", to, str(path))
        assert result.returncode == 0 and "\\input" not in result.stdout and "\\label" not in result.stdout


def test_markdown_export_escapes_source_title_and_notes(tmp_path):
    text = GOOD.replace('title = "test"', 'title = "<img src=x onerror=alert(1)> `x` *y*"\n'
                                          'source = "a`b ``c <script>alert(1)</script>"')
    text = text.replace("[[chain.step]]", "[[chain.step]]\nnote = \"<b>bold</b> [link](http://x) $x$\"")
    path = tmp_path / "md.toml"
    path.write_text(text)
    result = run_cli("export", "--to", "markdown", str(path))
    assert result.returncode == 0, result.stderr
    md = result.stdout
    assert "<script>" not in md.replace("```a`b ``c <script>alert(1)</script>```", "")  # only inside a code span
    assert "Source: ```a`b ``c <script>alert(1)</script>```" in md
    assert not re.search(r"(?<!\\)<(img|b>)", md)  # every < that could open HTML is escaped
    assert "\\<img" in md and "\\`x\\`" in md and "\\*y\\*" in md
    assert "\\<b\\>" in md and "\\[link\\]" in md and "\\$x\\$" in md


# -- where reports and exports go ---------------------------------------------------------

def _derivation(tmp_path) -> Path:
    path = tmp_path / "d.toml"
    path.write_text(GOOD)
    return path


@pytest.mark.parametrize("command", [("export",), ("export", "--to", "markdown"), ("check", "--format", "json")])
def test_output_never_overwrites_an_input(tmp_path, command):
    path = _derivation(tmp_path)
    for target in (path, tmp_path / "." / "d.toml"):
        result = invoke(*command, str(path), "-o", str(target))
        assert result.returncode == 2 and "input file" in result.stderr and "Traceback" not in result.stderr
        assert path.read_text() == GOOD
    os.link(path, tmp_path / "hard.toml")  # the same file under another name
    result = invoke(*command, str(path), "-o", str(tmp_path / "hard.toml"))
    assert result.returncode == 2 and path.read_text() == GOOD


@pytest.mark.parametrize("command", [("export",), ("check", "--format", "junit")])
def test_output_never_follows_or_creates_through_a_symlink(tmp_path, command):
    path = _derivation(tmp_path)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (tmp_path / "link").symlink_to(victim)
    (tmp_path / "dangling").symlink_to(tmp_path / "created-by-klproof.txt")
    for link in ("link", "dangling"):
        result = invoke(*command, str(path), "-o", str(tmp_path / link))
        assert result.returncode == 2 and "symbolic link" in result.stderr
    assert victim.read_text() == "keep me" and not (tmp_path / "created-by-klproof.txt").exists()


def test_output_dash_means_standard_output(tmp_path):
    path = _derivation(tmp_path)
    exported = run_cli("export", str(path), "-o", "-", cwd=tmp_path)
    assert exported.returncode == 0 and "\\begin{align*}" in exported.stdout
    checked = run_cli("check", "--format", "json", "-o", "-", str(path), cwd=tmp_path)
    assert checked.returncode == 0 and json.loads(checked.stdout)["summary"]["proved"] == 1
    assert not (tmp_path / "-").exists()


def test_output_to_a_new_file_in_a_new_folder_still_works(tmp_path):
    path = _derivation(tmp_path)
    target = tmp_path / "out" / "d.tex"
    assert invoke("export", str(path), "-o", str(target)).returncode == 0
    assert "\\begin{align*}" in target.read_text()
    assert invoke("export", str(path), "-o", str(target)).returncode == 0  # an earlier export is replaced


def test_the_repository_inputs_are_untouched_by_refused_writes():
    before = (ROOT / "proofs" / "000_kl_divergence_integral.toml").read_bytes()
    result = run_cli("check", "--format", "junit", "-o", "proofs/000_kl_divergence_integral.toml", "proofs")
    assert result.returncode == 2
    assert (ROOT / "proofs" / "000_kl_divergence_integral.toml").read_bytes() == before
