"""The verdict cache: hits on the second run, never a stale proof, current line numbers, safe storage."""

from __future__ import annotations

import json
import subprocess
import sys

from cli_inprocess import invoke
from conftest import derivation_text

from klproof.check.cache import VerdictCache, content_key
from klproof.check.decide import Options
from klproof.parse.file import read_derivation
from klproof.verdict import Status


def steps_of(output: str) -> list[dict]:
    return [s for f in json.loads(output)["files"] for s in f["steps"]]


def check_json(tmp_path, *paths: str, extra: tuple = ()) -> tuple[int, list[dict]]:
    result = invoke("check", "--format", "json", "--cache-dir", str(tmp_path / "cache"), *extra, *paths)
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, steps_of(result.stdout)


def test_second_run_comes_from_the_cache_and_the_folder_ignores_itself(tmp_path):
    path = tmp_path / "d.toml"
    path.write_text(derivation_text("(a + b)**2", "a**2 + 2*a*b + b**2", by="algebra"))
    code, first = check_json(tmp_path, str(path))
    assert code == 0 and [s["cached"] for s in first] == [False]
    code, second = check_json(tmp_path, str(path))
    assert code == 0 and [s["cached"] for s in second] == [True] and second[0]["status"] == "proved"
    assert (tmp_path / "cache" / ".gitignore").read_text().strip().endswith("*")
    assert list((tmp_path / "cache" / "steps").glob("*.json"))
    terminal = invoke("check", "--cache-dir", str(tmp_path / "cache"), str(path))
    assert "(cached)" in terminal.stdout and "PASSED 1 file, 1 step: 1 proved (1 from the cache)" in terminal.stdout
    code, bypassed = check_json(tmp_path, str(path), extra=("--no-cache",))
    assert code == 0 and [s["cached"] for s in bypassed] == [False]


def test_a_cached_verdict_carries_the_current_line(tmp_path):
    path = tmp_path / "d.toml"
    text = derivation_text("(a + b)**2", "a**2 + 2*a*b + b**2")
    path.write_text(text)
    _, first = check_json(tmp_path, str(path))
    path.write_text("# a comment\n# and another\n\n" + text)
    _, moved = check_json(tmp_path, str(path))
    assert moved[0]["cached"] and moved[0]["line"] == first[0]["line"] + 3


def test_changed_assumptions_or_definitions_are_checked_again(tmp_path):
    """sqrt(s**2) = s holds for positive s only; g's body travels inside the claim."""
    path = tmp_path / "d.toml"
    positive = derivation_text("sqrt(t**2)", "t").replace("t = \"positive\"", "t = \"positive\"")
    path.write_text(positive)
    code, first = check_json(tmp_path, str(path))
    assert code == 0 and first[0]["status"] == "proved"
    path.write_text(positive.replace('t = "positive"', 't = "real"'))
    code, second = check_json(tmp_path, str(path))
    assert code == 1 and not second[0]["cached"] and second[0]["status"] != "proved"

    defined = tmp_path / "g.toml"
    defined.write_text(derivation_text("g(x)", "x**2 + 1", by="definition", extra='[definitions]\n"g(x)" = "x**2 + 1"'))
    code, first = check_json(tmp_path, str(defined))
    assert code == 0 and first[0]["status"] == "proved"
    defined.write_text(derivation_text("g(x)", "x**2 + 1", by="definition", extra='[definitions]\n"g(x)" = "x**2 + 2"'))
    code, second = check_json(tmp_path, str(defined))
    assert code == 1 and not second[0]["cached"] and second[0]["status"] == "refuted"


def test_the_key_covers_options_justification_and_the_checking_code(monkeypatch):
    base = read_derivation("a.toml", derivation_text("(a + b)**2", "a**2 + 2*a*b + b**2", by="algebra").encode())
    other_by = read_derivation("a.toml", derivation_text("(a + b)**2", "a**2 + 2*a*b + b**2", by="log rules").encode())
    (step,), (step_by,) = base.steps, other_by.steps
    key = content_key(step, Options())
    assert key == content_key(step, Options(timeout=1))  # the time limit only decides timeouts, never stored
    assert key != content_key(step_by, Options())
    for changed in (Options(seed=1), Options(points=3), Options(digits=20), Options(numeric=False),
                    Options(cross_check=True)):
        assert content_key(step, changed) != key
    import klproof.check.cache as cache_module

    monkeypatch.setattr(cache_module, "code_fingerprint", lambda: "a rule was fixed")
    assert content_key(step, Options()) != key  # a changed rule invalidates old verdicts before a version bump


def test_timeouts_and_corrupt_entries_are_not_reused(tmp_path):
    from klproof.check.decide import crash_verdict, internal_verdict, step_info, timeout_verdict
    from klproof.verdict import Reason

    (step,) = read_derivation("a.toml", derivation_text("(a + b)**2", "a**2 + 2*a*b + b**2").encode()).steps
    cache = VerdictCache(tmp_path / "c")
    for unstable in (timeout_verdict(step_info(step), 1.0),
                     crash_verdict(step_info(step), Reason.CRASH, "the checking process died", 1.0),
                     crash_verdict(step_info(step), Reason.OUT_OF_MEMORY, "ran out of memory", 1.0),
                     internal_verdict(step_info(step), "the numeric sampler", ValueError("x"), 1.0)):
        cache.put(step, Options(), unstable)
    assert cache.get(step, Options()) is None and not (tmp_path / "c" / "steps").exists()
    from klproof.check.decide import check_step

    verdict = check_step(step, Options())
    cache.put(step, Options(), verdict)
    hit = cache.get(step, Options())
    assert hit is not None and hit.cached and hit.status is Status.PROVED and hit.step == verdict.step
    (entry,) = (tmp_path / "c" / "steps").glob("*.json")
    entry.write_text('{"format": 1, "status": "proved"')  # a torn or foreign file is a miss
    assert cache.get(step, Options()) is None
    entry.write_text(json.dumps({"format": 1, "status": "refuted", "method": "m", "rules": [], "detail": "",
                                 "seconds": 0, "witness": None, "evidence": None, "diagnosis": ""}))
    assert cache.get(step, Options()) is None  # only proofs live under the content key


def test_a_warm_run_starts_no_worker_and_never_imports_the_engine(tmp_path):
    code = f"""
import sys, multiprocessing
from pathlib import Path
from klproof.api import check_sources
from klproof.check.cache import VerdictCache
from klproof.check.decide import Options
started = []
multiprocessing.context.ForkProcess.start = lambda self: started.append(self)
sources = [(str(p), p.read_bytes()) for p in sorted(Path({str(tmp_path)!r}).glob('*.toml'))]
report = check_sources(sources, Options(), jobs=2, cache=VerdictCache({str(tmp_path / 'cache')!r}))
print(report.passed, all(v.cached for v in report.verdicts), len(started), 'klproof.check.engine' in sys.modules)
"""
    (tmp_path / "a.toml").write_text(derivation_text("(a + b)**2", "a**2 + 2*a*b + b**2", by="algebra"))
    (tmp_path / "b.toml").write_text(derivation_text("Integral(N(x, mu, sigma), x)", "1", by="Gaussian moments"))
    warm_up = invoke("check", "--cache-dir", str(tmp_path / "cache"), str(tmp_path))
    assert warm_up.returncode == 0, warm_up.stdout[-2000:]
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.stdout.split() == ["True", "True", "0", "False"], result.stdout + result.stderr


def test_an_unchanged_file_is_not_even_parsed_and_an_edited_one_falls_back_to_its_steps(tmp_path):
    path = tmp_path / "d.toml"
    text = derivation_text("(a + b)**2", "a**2 + 2*a*b + b**2", by="algebra")
    path.write_text(text)
    assert invoke("check", "--cache-dir", str(tmp_path / "cache"), str(path)).returncode == 0
    assert list((tmp_path / "cache" / "files").glob("*.json"))
    code = f"""
import sys
from klproof.api import check_sources
from klproof.check.cache import VerdictCache
from klproof.check.decide import Options
report = check_sources([({str(path)!r}, open({str(path)!r}, 'rb').read())], Options(),
                       cache=VerdictCache({str(tmp_path / 'cache')!r}))
print(report.passed, all(v.cached for v in report.verdicts), 'sympy' in sys.modules)
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.stdout.split() == ["True", "True", "False"], result.stdout + result.stderr
    path.write_text("# a comment moves every line down\n" + text)
    code, steps = check_json(tmp_path, str(path))
    assert code == 0 and steps[0]["cached"] is True
    assert steps[0]["line"] == read_derivation(str(path), path.read_bytes()).steps[0].span.line
