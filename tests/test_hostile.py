"""Hostile and broken input through the real command line (issue 6).

Every file of tests/hostile/ is checked alone, in a temporary folder used as the
working directory, and must give its expected message at its expected line (and
column), its exit code, no traceback, within its time bound, and must not create
or touch any file outside that folder. One run over the whole corpus mixed with
good files shows that nothing is lost. Property-based tests throw random text and
random expression trees at the parser: it may reject with ParseError, nothing else.
"""

from __future__ import annotations

import os
import re
import shutil
import time
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from klproof.errors import ParseError, Span
from klproof.parse.build import MAX_EXPONENT, Scope
from klproof.parse.expr import parse_expression
from klproof.parse.file import MAX_FILE_BYTES, read_derivation, read_source

from conftest import ROOT, derivation_text, run_cli, read_error

HOSTILE = ROOT / "tests" / "hostile"
EXPECTED: dict[str, dict] = tomllib.loads((HOSTILE / "EXPECTED.toml").read_text(encoding="utf-8"))
STARTUP_SLACK = 8.0  # seconds allowed on top of a step's time limit: interpreter start, SymPy import, workers
IGNORED = {".git", ".venv", "__pycache__", ".pytest_cache", ".hypothesis"}


def _tree(root: Path) -> dict[str, int]:
    """Every file under `root` (except caches and the virtualenv) with its modification time."""
    found: dict[str, int] = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in IGNORED and not d.endswith(".egg-info")]
        for name in files:
            path = os.path.join(folder, name)
            try:
                found[os.path.relpath(path, root)] = os.lstat(path).st_mtime_ns
            except OSError:
                pass
    return found


def run_isolated(tmp_path: Path, *args: str, env: dict | None = None, bound: float = STARTUP_SLACK):
    """Run `klproof check ARGS` with cwd=tmp_path; assert it touched nothing and ended within `bound`."""
    repo_before, tmp_before = _tree(ROOT), _tree(tmp_path)
    started = time.perf_counter()
    result = run_cli("check", "--no-cache", *args, cwd=tmp_path, timeout=bound + 30,
                     env={"PYTHONDONTWRITEBYTECODE": "1", **(env or {})})
    elapsed = time.perf_counter() - started
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output[-3000:]
    assert elapsed < bound, f"took {elapsed:.1f} s, bound {bound} s"
    assert _tree(tmp_path) == tmp_before, "the run created or changed a file in its folder"
    assert _tree(ROOT) == repo_before, "the run created or changed a file in the repository"
    return result, output, elapsed


def _corpus(exit_codes: set[int]) -> list[str]:
    return sorted(name for name, e in EXPECTED.items() if e["exit"] in exit_codes)


def test_corpus_is_complete():
    files = {p.name for p in HOSTILE.glob("*.toml")} - {"EXPECTED.toml"}
    assert files == set(EXPECTED), "every corpus file needs an entry in EXPECTED.toml, and back"
    assert len(files) >= 50
    assert all(p.stat().st_size < 20_000 for p in HOSTILE.glob("*.toml"))


def _run_alone(name: str, folder: Path) -> dict:
    """Run the CLI on one corpus file, alone in its own folder (the working directory)."""
    folder.mkdir()
    shutil.copy(HOSTILE / name, folder / name)
    before = _tree(folder)
    started = time.perf_counter()
    result = run_cli("check", "--no-cache", "--timeout", "2", "-j", "1", name, cwd=folder, timeout=120,
                     env={"PYTHONDONTWRITEBYTECODE": "1"})
    return {"result": result, "output": result.stdout + result.stderr, "seconds": time.perf_counter() - started,
            "untouched": _tree(folder) == before}


@pytest.fixture(scope="module")
def corpus_runs(tmp_path_factory):
    """Every corpus file checked alone, several CLI processes at a time (each file is fast)."""
    from concurrent.futures import ThreadPoolExecutor

    base = tmp_path_factory.mktemp("alone")
    repo_before = _tree(ROOT)
    names = _corpus({0, 2})
    with ThreadPoolExecutor(max_workers=max(2, min(8, os.cpu_count() or 2))) as pool:
        runs = dict(zip(names, pool.map(lambda n: _run_alone(n, base / n.removesuffix(".toml")), names)))
    return runs, _tree(ROOT) == repo_before


@pytest.mark.parametrize("name", _corpus({0, 2}))
def test_each_file_alone(name, corpus_runs):
    runs, repo_untouched = corpus_runs
    run, expected = runs[name], EXPECTED[name]
    output = run["output"]
    assert "Traceback" not in output, output[-3000:]
    assert "\x1b" not in output and "\x00" not in output, "file text reached the terminal unescaped"
    assert run["seconds"] < 3 * STARTUP_SLACK, f"took {run['seconds']:.1f} s"  # several runs share the machine
    assert run["untouched"], "the run created or changed a file in its folder"
    assert repo_untouched, "a run created or changed a file in the repository"
    assert run["result"].returncode == expected["exit"], output[-3000:]
    assert expected["message"] in output, output[-3000:]
    if "line" in expected:
        where = f"{name}:{expected['line']}" + (f":{expected['col']}" if "col" in expected else "")
        assert f"{where}:" in output or f"{where} " in output, (where, output[-3000:])
    if expected["exit"] == 2:
        assert "hint:" in output


@pytest.mark.parametrize("name", _corpus({1}))
def test_steps_that_do_not_finish_end_as_unknown(name, tmp_path):
    expected = EXPECTED[name]
    shutil.copy(HOSTILE / name, tmp_path / name)
    env = {"KLPROOF_MEMORY_LIMIT_MB": str(expected["memory_mb"])} if "memory_mb" in expected else {}
    timeout = expected["timeout"]
    result, output, _ = run_isolated(tmp_path, "--timeout", str(timeout), "-j", "1", name, env=env,
                                     bound=timeout + STARTUP_SLACK)
    assert result.returncode == 1, output[-3000:]
    assert "unknown" in output and expected["message"] in output, output[-3000:]
    assert f"{name}:{expected['line']}" in output
    if "memory_mb" in expected:  # MemoryError inside the check, or the worker killed while allocating
        assert f"ran out of memory (limit {expected['memory_mb']} MiB)" in output or "the checking process died" in output


def test_whole_corpus_with_good_files_loses_nothing(tmp_path):
    """One run: every bad file reported at its line, every good file still checked."""
    names = _corpus({0, 2})
    for name in names:
        shutil.copy(HOSTILE / name, tmp_path / name)
    (tmp_path / "zz_plain_good.toml").write_text(derivation_text("(a + b)**2", "a**2 + 2*a*b + b**2", by="algebra"))
    result, output, _ = run_isolated(tmp_path, "--timeout", "2", ".", bound=30)
    assert result.returncode == 2
    for name in names:
        expected = EXPECTED[name]
        if expected["exit"] == 2:
            assert f"{name}:{expected.get('line', 1)}" in output, name
            assert expected["message"] in output, name
    good = [n for n in names if EXPECTED[n]["exit"] == 0] + ["zz_plain_good.toml"]
    assert f"{len(good)} proved" in output, output[-2000:]
    # a file that cannot be read at all is an unreadable file; a file whose lines cannot be read, line errors
    summary = output.strip().splitlines()[-1]
    unreadable = int(re.search(r"(\d+) unreadable files", summary).group(1))
    line_errors = int(re.search(r"(\d+) error", summary).group(1))
    assert unreadable + line_errors >= len(names) - len(good) + 1 and unreadable < len(names) - len(good) + 1


# -- files too big to keep in the corpus, built in the test's folder -----------------------------

HEADER = 'title = "t"\n[symbols]\nx = "real"\n'
BIG_PRODUCT = " * ".join(f"(x+{k})" for k in range(240))
GENERATED = {
    "ten_megabytes_of_whitespace": (b'title = "t"\n' + b" " * 10_000_000, "the limit is 1,000,000", 1),
    "huge_array": (b'title = "t"\nsource = [' + b"1," * 300_000 + b"]\n", "source must be a string", 2),
    "thousands_of_chains": ((HEADER + '[[chain]]\nstart = "x == x"\n' * 3000).encode(),
                            "the file has 3,000 chains; the limit is 500", 1004),
    "too_many_steps": ((HEADER + '[[chain]]\nstart = "x"\n' + '[[chain.step]]\nexpr = "x"\n' * 2100).encode(),
                       "steps; the limit is 2,000", 1),
    "too_many_names": (('title = "t"\n[symbols]\n' + "".join(f'x{i} = "real"\n' for i in range(1100))).encode(),
                       "declares 1,100 names; the limit is 1,000", 1),
    "too_many_parts_in_all": ((HEADER + '[[chain]]\nstart = "x"\n'
                               + f'[[chain.step]]\nexpr = "{BIG_PRODUCT}"\n' * 40).encode(),
                              "more than 20,000 parts in all", None),
}


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_generated_bombs(name, tmp_path):
    data, message, line = GENERATED[name]
    (tmp_path / f"{name}.toml").write_bytes(data)
    result, output, _ = run_isolated(tmp_path, "--timeout", "2", f"{name}.toml", bound=15)
    assert result.returncode == 2, output[-2000:]
    assert message in output
    if line is not None:
        assert f"{name}.toml:{line}" in output


def test_folder_without_derivations(tmp_path):
    (tmp_path / "empty").mkdir()
    result, output, _ = run_isolated(tmp_path, "empty")
    assert result.returncode == 2 and "no derivation files" in output


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_symlink_loop(tmp_path):
    os.symlink("loop.toml", tmp_path / "loop.toml")
    (tmp_path / "good.toml").write_text(derivation_text("x + x", "2*x", by="algebra"))
    result, output, _ = run_isolated(tmp_path, "loop.toml", "good.toml")
    assert result.returncode == 2 and "loop.toml" in output and "1 proved" in output


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_in_a_folder_is_not_read(tmp_path):
    os.mkfifo(tmp_path / "pipe.toml")
    (tmp_path / "good.toml").write_text(derivation_text("x + x", "2*x", by="algebra"))
    result, output, _ = run_isolated(tmp_path, ".")
    assert result.returncode == 0 and "1 proved" in output


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_named_on_the_command_line(tmp_path):
    os.mkfifo(tmp_path / "pipe.toml")
    result = run_cli("check", "pipe.toml", cwd=tmp_path, timeout=5)
    assert result.returncode == 2 and "not a regular file" in result.stdout + result.stderr


# -- reading a path safely ---------------------------------------------------------------------------

def test_read_source_refuses_what_is_not_a_regular_file(tmp_path):
    os.mkfifo(tmp_path / "pipe.toml")
    started = time.perf_counter()
    with pytest.raises(ParseError, match="not a regular file \\(a FIFO\\)"):
        read_source(str(tmp_path / "pipe.toml"))
    assert time.perf_counter() - started < 1
    os.symlink("loop.toml", tmp_path / "loop.toml")
    with pytest.raises(ParseError, match="cannot open the file"):
        read_source(str(tmp_path / "loop.toml"))
    with pytest.raises(ParseError, match="a folder"):
        read_source(str(tmp_path))
    if os.path.exists("/dev/zero"):
        with pytest.raises(ParseError, match="a device"):
            read_source("/dev/zero")


def test_read_source_reads_at_most_one_byte_over_the_limit(tmp_path):
    big = tmp_path / "big.toml"
    big.write_bytes(b" " * (MAX_FILE_BYTES * 3))
    data = read_source(str(big))
    assert len(data) == MAX_FILE_BYTES + 1
    with pytest.raises(ParseError, match="the limit is"):
        read_derivation("big.toml", data)


# -- positions ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("line_end", ["\n", "\r\n"])
def test_columns_point_at_the_sub_expression(line_end):
    text = derivation_text("x + (y + lgo(x))", "x").replace("\n", line_end)
    error = read_error("c.toml", text.encode())
    line = text.split(line_end)[error.span.line - 1]
    assert line[error.span.col - 1:].startswith("lgo(")


def test_columns_after_escapes_and_unicode():
    text = derivation_text("x", "x").replace("expr = '''x'''", 'expr = "\\u0078 + \\"\\" + é + sigam"')
    error = read_error("c.toml", text.encode())
    line = text.splitlines()[error.span.line - 1]
    assert "\\u0078" in line and error.span.col is not None


def test_substitute_error_column():
    text = derivation_text("Integral(x, x)", "Integral(x, x)", substitute="x = lgo(eps)")
    error = read_error("c.toml", text.encode())
    line = text.splitlines()[error.span.line - 1]
    assert line[error.span.col - 1:].startswith("lgo(")


# -- property-based: random text and random expression trees -------------------------------------

SCOPE_TEXT = derivation_text("x", "x")
SCOPE_DERIVATION = read_derivation("s.toml", SCOPE_TEXT.encode())


def _scope() -> Scope:
    from sympy import IndexedBase, Symbol

    scope = Scope()
    for name, value in SCOPE_DERIVATION.symbols.items():
        if isinstance(value, IndexedBase):
            scope.families[name] = value
        elif isinstance(value, Symbol):
            scope.symbols[name] = value
    scope.distributions.update(SCOPE_DERIVATION.distributions)
    return scope


NAMES = ["x", "y", "z", "j", "J", "n", "sigma", "mu", "m", "v", "P", "Q", "pi", "oo", "__class__", "exp", "log",
         "sqrt", "Abs", "N", "E", "KL", "Sum", "Integral", "diag", "tr", "det", "dot", "NormalDiag", "factorial",
         "Derivative", "diff", "grad", "sin", "cos"]
NUMBERS = ["0", "1", "2", "10", "0.5", "1e3", "999", "1000", "1001", "10**99", "7" * 40, "1e-9", "3j", "0x1f"]
TOKENS = NAMES + NUMBERS + ["+", "-", "*", "/", "**", "|", "(", ")", "[", "]", ",", "==", "<", ".", "'", ":=",
                            "lambda", "for", "in", "if", "else", " ", "^", "@", "%", "~", "...", "{", "}"]


def _trees():
    leaves = st.sampled_from(NAMES + NUMBERS)

    def extend(children):
        call = st.tuples(st.sampled_from(NAMES), st.lists(children, min_size=0, max_size=4)).map(
            lambda t: f"{t[0]}({', '.join(t[1])})")
        binary = st.tuples(children, st.sampled_from(["+", "-", "*", "/", "**", "|", "=="]), children).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})")
        index = st.tuples(st.sampled_from(["m", "v", "x", "log"]), children).map(lambda t: f"{t[0]}[{t[1]}]")
        rng = st.tuples(st.sampled_from(["j", "x", "z"]), children, children).map(lambda t: f"({t[0]}, {t[1]}, {t[2]})")
        unary = children.map(lambda c: f"-{c}")
        return call | binary | index | rng | unary

    return st.recursive(leaves, extend, max_leaves=40)


def _parse_or_reject(text: str) -> None:
    started = time.perf_counter()
    try:
        parse_expression(text, _scope(), Span("h.toml", 3, 9))
    except ParseError as error:
        assert error.span is not None and error.span.path == "h.toml"
        assert error.render().startswith("h.toml:3")
    assert time.perf_counter() - started < 5


PROPERTY = settings(max_examples=300, deadline=5000, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(st.text(max_size=200))
def test_random_text_as_an_expression(text):
    _parse_or_reject(text)


@PROPERTY
@given(st.lists(st.sampled_from(TOKENS), max_size=40).map("".join))
def test_random_token_strings(text):
    _parse_or_reject(text)


@PROPERTY
@given(_trees())
def test_random_expression_trees(text):
    _parse_or_reject(text)


def _read_or_reject(data: bytes) -> None:
    started = time.perf_counter()
    try:
        read_derivation("r.toml", data)
    except ParseError as error:
        assert error.render().startswith("r.toml:")
    assert time.perf_counter() - started < 5


@PROPERTY
@given(st.binary(max_size=300))
def test_random_bytes_as_a_file(data):
    _read_or_reject(data)


FILE_TOKENS = ["title = ", '"t"', "\n", "[symbols]", "[[chain]]", "[[chain.step]]", "[definitions]", "[families]",
               "[distributions]", 'x = "real"', 'start = "x"', 'expr = "', '"', "'''", '"""', "=", "[", "]", "{", "}",
               ",", "#", "by = ", '"algebra"', '"f(x)" = "x*x"', 'P = ["x"]', "\r\n", "\t", "\ufeff", "x", "1", " "]


@PROPERTY
@given(st.lists(st.sampled_from(FILE_TOKENS), max_size=60).map("".join))
def test_random_files_from_toml_tokens(text):
    _read_or_reject(text.encode("utf-8"))


@PROPERTY
@given(_trees(), _trees())
def test_random_trees_in_a_file(start, expr):
    _read_or_reject(derivation_text(start.replace("'", ""), expr.replace("'", "")).encode())


def test_exponent_limit_is_the_documented_one():
    scope = _scope()
    parse_expression(f"x**{MAX_EXPONENT}", scope, Span("e.toml", 1))
    with pytest.raises(ParseError, match="too large"):
        parse_expression(f"x**{MAX_EXPONENT + 1}", scope, Span("e.toml", 1))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
@pytest.mark.parametrize("command", [("explain", "pipe.toml:3"), ("export", "pipe.toml", "--to", "latex")])
def test_other_commands_do_not_block_on_a_fifo(tmp_path, command):
    os.mkfifo(tmp_path / "pipe.toml")
    result = run_cli(*command, cwd=tmp_path, timeout=10)
    assert result.returncode == 2 and "not a regular file" in result.stderr
