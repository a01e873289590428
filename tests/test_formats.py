"""Output formats through the real entry point: JSON parses, JUnit XML parses and counts, annotations carry lines."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import xml.etree.ElementTree as ET

import pytest

from cli_inprocess import invoke
from conftest import ROOT, derivation_text, klproof_command, run_cli

from klproof.report.github import command, escape_data, escape_property

EXAMPLE = "examples/001_kl_divergence_derivation_as_written.toml"


@pytest.fixture(autouse=True)
def in_the_repository(monkeypatch):
    monkeypatch.chdir(ROOT)  # the in-process runs name files relative to the repository, as a user would


def test_json_keeps_its_fields_and_says_what_came_from_the_cache(tmp_path):
    (tmp_path / "a.toml").write_text(derivation_text("(a + b)**2", "a**2 + 2*a*b + b**2"))
    (tmp_path / "b.toml").write_text(derivation_text("(a + b)**2", "a**2 + b**2"))
    args = ("check", "--format", "json", "--cache-dir", str(tmp_path / "cache"), str(tmp_path))
    cold, warm = invoke(*args), invoke(*args)
    assert cold.returncode == warm.returncode == 1
    for result, cached in ((cold, False), (warm, True)):
        report = json.loads(result.stdout)
        assert report["schema_version"] == 1 and report["summary"]["refuted"] == 1
        assert report["summary"]["cached"] == (2 if cached else 0)
        steps = [s for f in report["files"] for s in f["steps"]]
        fields = {"number", "line", "col", "chain", "text", "previous", "by", "note", "status", "passed", "method",
                  "rules", "detail", "diagnosis", "seconds", "cached", "witness", "evidence"}
        assert len(steps) == 2 and all(fields <= set(s) for s in steps)
        assert all(s["cached"] is cached for s in steps)
    cold_steps = [s for f in json.loads(cold.stdout)["files"] for s in f["steps"]]
    warm_steps = [s for f in json.loads(warm.stdout)["files"] for s in f["steps"]]
    same = ("status", "method", "rules", "detail", "diagnosis", "witness", "line", "text")
    assert [{k: s[k] for k in same} for s in cold_steps] == [{k: s[k] for k in same} for s in warm_steps]


def test_junit_has_one_testcase_per_step_and_the_witness_in_the_failure(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(derivation_text("sigma2 + 1", "1 + sigma2"))
    result = invoke("check", "--format", "junit", "proofs/000_kl_divergence_integral.toml", EXAMPLE, str(bad))
    assert result.returncode == 2  # an unreadable file wins over a refuted step
    root = ET.fromstring(result.stdout)
    suites = root.findall("testsuite")
    assert len(suites) == 3  # one per file
    by_name = {s.get("name"): s for s in suites}
    example = by_name[EXAMPLE]
    cases = example.findall("testcase")
    assert len(cases) == int(example.get("tests")) == 18
    failures = [c for c in cases if c.find("failure") is not None]
    assert len(failures) == 1 and example.get("failures") == "1"
    failure = failures[0].find("failure")
    assert failures[0].get("name").startswith("step 15 (line 92)")
    assert failures[0].get("classname") == "examples.001_kl_divergence_derivation_as_written"
    assert failure.get("type") == "refuted" and "sign of the term" in failure.get("message")
    assert "witness:" in failure.text and "diagnosis:" in failure.text
    unreadable = by_name[str(bad)]  # neither line can be read: each is its own error
    start, step = unreadable.findall("testcase")
    assert start.find("error") is not None and "sigma2" in start.find("error").get("message")
    assert step.find("error") is not None and "sigma2" in step.find("error").get("message")
    assert root.get("tests") == str(sum(int(s.get("tests")) for s in suites))
    assert root.get("failures") == "1" and root.get("errors") == "2"


def test_github_annotations_point_at_the_step_and_escape_properties(tmp_path):
    result = invoke("check", "--format", "github", EXAMPLE)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    errors = [line for line in lines if line.startswith("::error ")]
    assert len(errors) == 1
    assert errors[0].startswith(f"::error file={EXAMPLE},line=92,col=")
    assert "title=klproof%3A step 15 refuted::" in errors[0]
    message = errors[0].split("::", 2)[2]
    assert "\n" not in message and "%0A  witness:" in message and "sign of the term" in message
    assert lines[-1].startswith("::notice title=klproof::FAILED 1 file, 18 steps: 17 proved, 1 refuted")


def test_github_numeric_steps_are_warnings_and_bad_files_errors_at_their_line(tmp_path):
    (tmp_path / "num.toml").write_text(derivation_text("sin(x)**2 + cos(x)**2", "1"))
    (tmp_path / "bad.toml").write_text(derivation_text("sigma2 + 1", "1 + sigma2"))
    result = invoke("check", "--format", "github", "--no-cache", str(tmp_path))
    assert result.returncode == 2, result.stdout
    bad = [line for line in result.stdout.splitlines() if "bad.toml" in line]
    assert bad and bad[0].startswith(f"::error file={tmp_path / 'bad.toml'},line=")
    assert ",line=1," not in bad[0]  # the parse error's own line, not the top of the file


def test_github_escaping_follows_the_workflow_command_rules():
    assert escape_data("50% a\r\nb: c, d") == "50%25 a%0D%0Ab: c, d"
    assert escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"
    assert command("error", "x: y", file="p,q.toml", line=3, col=None) == "::error file=p%2Cq.toml,line=3::x: y"


def test_output_writes_the_machine_format_and_the_terminal_report_still_prints(tmp_path):
    target = tmp_path / "out" / "report.xml"
    result = run_cli("check", "--format", "junit", "--output", str(target), EXAMPLE, env={"NO_COLOR": ""})
    assert result.returncode == 1
    assert "\x1b[" not in result.stdout  # stdout is not a terminal: no colour even without NO_COLOR
    assert "checking" not in result.stdout + result.stderr  # nor a progress bar
    assert "FAILED 1 file, 18 steps" in result.stdout and "witness:" in result.stdout
    assert "<testsuite" not in result.stdout
    assert len(ET.parse(target).getroot().find("testsuite").findall("testcase")) == 18


def run_in_terminal(*args: str, env: dict | None = None, timeout: float = 60) -> str:
    """klproof with stdout on a pseudo-terminal: what a user sees."""
    main, child = pty.openpty()
    environment = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "TERM")}
    environment.update({"TERM": "xterm-256color", "COLUMNS": "160", **(env or {})})
    process = subprocess.Popen([*klproof_command(), *args], stdout=child, stderr=child, stdin=subprocess.DEVNULL,
                               cwd=ROOT, env=environment, close_fds=True)
    os.close(child)
    chunks = []
    while True:
        try:
            data = os.read(main, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    process.wait(timeout=timeout)
    os.close(main)
    return b"".join(chunks).decode("utf-8", "replace")


def test_colour_on_a_terminal_and_off_with_no_color():
    coloured = run_in_terminal("check", EXAMPLE)
    assert "\x1b[" in coloured and "refuted" in coloured
    plain = run_in_terminal("check", EXAMPLE, env={"NO_COLOR": "1"})
    assert "refuted" in plain and "\x1b[31m" not in plain and "\x1b[1;31m" not in plain


# -- SARIF for GitHub code scanning --------------------------------------------------------

def test_sarif_has_what_github_code_scanning_requires(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(derivation_text("sigma2 + 1", "1 + sigma2"))
    result = invoke("check", "--format", "sarif", "proofs/000_kl_divergence_integral.toml", EXAMPLE, str(bad))
    assert result.returncode == 2
    sarif = json.loads(result.stdout)
    assert sarif["version"] == "2.1.0" and sarif["$schema"].endswith("sarif-2.1.0.json")
    (run,) = sarif["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "klproof" and driver["rules"]
    rule_ids = [r["id"] for r in driver["rules"]]
    assert len(set(rule_ids)) == len(rule_ids) and all(r["shortDescription"]["text"] for r in driver["rules"])
    results = run["results"]
    # the refuted step of the example and the two unreadable lines of bad.toml; nothing for proved steps
    assert sorted(r["ruleId"] for r in results) == ["klproof/refuted", "klproof/unreadable", "klproof/unreadable"]
    for r in results:
        assert r["ruleId"] in rule_ids and rule_ids[r["ruleIndex"]] == r["ruleId"]
        assert r["message"]["text"] and r["level"] in ("error", "warning", "note")
        (location,) = r["locations"]
        physical = location["physicalLocation"]
        assert physical["artifactLocation"]["uri"] and physical["region"]["startLine"] >= 1
    refuted = next(r for r in results if r["ruleId"] == "klproof/refuted")
    assert refuted["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == EXAMPLE
    assert refuted["locations"][0]["physicalLocation"]["region"]["startLine"] == 92
    assert "witness" in refuted["message"]["text"] and "sign of the term" in refuted["message"]["text"]
    unreadable = [r for r in results if r["ruleId"] == "klproof/unreadable"]
    assert all(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].startswith("file:///")
               for r in unreadable)
    assert all("unknown symbol 'sigma2'" in r["message"]["text"] for r in unreadable)
    assert len({r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in unreadable}) == 2


def test_sarif_of_a_passing_run_has_no_results():
    result = invoke("check", "--format", "sarif", "proofs/002_epsilon_reparameterisation.toml")
    assert result.returncode == 0 and json.loads(result.stdout)["runs"][0]["results"] == []


# -- when the stated justification was not enough -----------------------------------------

# needs the normal density and Gaussian moments, says linearity
BEYOND = derivation_text("Integral(N(x, mu, sigma), x)", "1", by="linearity")


def test_needing_more_than_the_stated_justification_is_shown_by_default(tmp_path):
    (tmp_path / "beyond.toml").write_text(BEYOND)
    result = invoke("check", "--no-cache", str(tmp_path / "beyond.toml"))
    assert result.returncode == 0
    assert "needed more than the stated justification; also used: normal density, Gaussian moments" in result.stdout
    assert "PASSED 1 file, 1 step: 1 proved, 1 needed more than the stated justification" in result.stdout
    report = json.loads(invoke("check", "--no-cache", "--format", "json", str(tmp_path / "beyond.toml")).stdout)
    (step,) = report["files"][0]["steps"]
    assert step["beyond_stated"] is True and step["passed"] is True and report["summary"]["beyond_stated"] == 1
    github = invoke("check", "--format", "github", str(tmp_path / "beyond.toml")).stdout
    assert "::notice file=" in github and "needed more than its stated justification" in github
    assert "::error" not in github


def test_strict_justifications_fail_ci_in_every_format(tmp_path):
    (tmp_path / "beyond.toml").write_text(BEYOND)
    (tmp_path / "stated.toml").write_text(derivation_text("Integral(N(x, mu, sigma), x)", "1", by="Gaussian moments"))
    path = str(tmp_path / "beyond.toml")
    strict = invoke("check", "--strict-justifications", path)
    assert strict.returncode == 1 and "FAILED" in strict.stdout and "needed more" in strict.stdout
    assert invoke("check", "--strict-justifications", str(tmp_path / "stated.toml")).returncode == 0
    report = json.loads(invoke("check", "--strict-justifications", "--format", "json", path).stdout)
    assert report["files"][0]["steps"][0]["passed"] is False and report["summary"]["passed"] is False
    junit = ET.fromstring(invoke("check", "--strict-justifications", "--format", "junit", path).stdout)
    assert junit.get("failures") == "1"
    github = invoke("check", "--strict-justifications", "--format", "github", path).stdout
    assert "::error file=" in github and "beyond its stated justification" in github
    sarif = json.loads(invoke("check", "--strict-justifications", "--format", "sarif", path).stdout)
    assert [r["ruleId"] for r in sarif["runs"][0]["results"]] == ["klproof/justification"]
    assert json.loads(invoke("check", "--format", "sarif", path).stdout)["runs"][0]["results"] == []
