"""The pytest plugin, run with pytest's own `pytester`: one item per step, klproof's explanation on failure."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT, derivation_text

pytest_plugins = ["pytester"]
QUIET = ("-p", "no:hypothesispytest", "-p", "no:cacheprovider")  # keep each inner run to klproof's own work

EXAMPLE = ROOT / "examples" / "001_kl_divergence_derivation_as_written.toml"


def test_one_item_per_step_and_a_refuted_step_fails_with_the_witness(pytester):
    pytester.makefile(".toml", good=derivation_text("(a + b)**2", "a**2 + 2*a*b + b**2"))
    (pytester.path / "example.toml").write_bytes(EXAMPLE.read_bytes())
    pytester.makefile(".toml", pyproject='[project]\nname = "x"\n', other='[tool]\nkey = "not a derivation"\n')
    result = pytester.runpytest(*QUIET, "--klproof-no-cache", "-rf")
    result.assert_outcomes(passed=18, failed=1)
    result.stdout.fnmatch_lines([
        "*example.toml:92: step 15*refuted*",
        "*claim:*",
        "*witness:*",
        "*diagnosis: the sign of the term -KL(Q(z|X), P(z)) on the right side is wrong*",
        "FAILED example.toml::step 15 (line 92)*",
    ])
    collected = [line for line in result.stdout.lines if line.startswith(("pyproject.toml", "other.toml"))]
    assert not collected, collected


def test_location_is_the_steps_file_and_line(pytester):
    pytester.makefile(".toml", wrong=derivation_text("(a + b)**2", "a**2 + b**2"))
    items, _ = pytester.inline_genitems(*QUIET)
    (item,) = items
    path, line, description = item.reportinfo()
    assert path == pytester.path / "wrong.toml"
    text = (pytester.path / "wrong.toml").read_text().splitlines()
    assert text[line].startswith("expr = ") and "a**2 + b**2" in text[line]
    assert item.location[1] == line and description.startswith(f"wrong.toml:{line + 1}: step 1")


def test_each_unreadable_line_is_its_own_failing_item(pytester):
    pytester.makefile(".toml", bad=derivation_text("sigma2 + 1", "1 + sigma2"))
    result = pytester.runpytest(*QUIET, "--klproof-no-cache")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*unknown symbol 'sigma2'*", "*did you mean 'sigma_2'*"])


def test_a_file_that_does_not_parse_is_one_failing_item(pytester):
    pytester.makefile(".toml", bad='title = "t"\n[symbols\n[[chain]]\nstart = "x"\n')
    result = pytester.runpytest(*QUIET, "--klproof-no-cache")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*cannot read the derivation*", "*not valid TOML*"])


def test_cache_is_shared_with_the_command_line(pytester, monkeypatch):
    from klproof.check.cache import default_directory

    monkeypatch.setenv("XDG_CACHE_HOME", str(pytester.path / "user-cache"))
    pytester.makefile(".toml", good=derivation_text("(a + b)**2", "a**2 + 2*a*b + b**2"))
    first = pytester.runpytest(*QUIET)
    first.assert_outcomes(passed=1)
    assert not (pytester.path / ".klproof_cache").exists()  # the cache lives outside the working tree
    assert list((default_directory(pytester.path) / "steps").glob("*.json"))
    pytester.runpytest(*QUIET, "--junitxml=out.xml").assert_outcomes(passed=1)
    assert 'name="klproof_cached" value="true"' in (pytester.path / "out.xml").read_text()


def test_the_plugin_is_registered_and_collects_nothing_in_this_suite(request):
    from importlib.metadata import entry_points

    from klproof.pytest_plugin import StepItem, UnreadableItem, looks_like_derivation

    assert any(e.name == "klproof" and e.value == "klproof.pytest_plugin" for e in entry_points(group="pytest11"))
    assert request.config.pluginmanager.has_plugin("klproof")
    assert not [i for i in request.session.items if isinstance(i, (StepItem, UnreadableItem))]
    assert not looks_like_derivation(ROOT / "pyproject.toml")
    assert looks_like_derivation(EXAMPLE)
    imported = subprocess.run([sys.executable, "-c", "import sys, klproof.pytest_plugin; print(sorted(sys.modules))"],
                              capture_output=True, text=True, timeout=60).stdout
    assert "sympy" not in imported  # loaded by every pytest run in the environment: it must stay cheap
