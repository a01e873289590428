"""A cache nobody can forge: attacks on the verdict cache through the real command line.

Each test runs `klproof check` as a subprocess with its own user cache folder
(XDG_CACHE_HOME), plants what an attacker (a pull request, another user, a
killed run) could leave in the cache folder, and checks that no false step is
believed, nothing hangs or crashes, and nothing is written outside the folder.
"""

from __future__ import annotations

import json
import os
import sys

import pytest

from cli_inprocess import invoke
from conftest import derivation_text, run_cli

FALSE = ("(a + b)**2", "a**2 + b**2")  # refuted at a = b = 1
TRUE = ("(a + b)**2", "a**2 + 2*a*b + b**2")


@pytest.fixture
def user_cache(tmp_path, monkeypatch):
    folder = tmp_path / "user-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(folder))  # for the in-process helpers below
    return folder


def check(tmp_path, user_cache, path, *extra, cache_dir=True, cwd=None, fmt="json", subprocess=False):
    """The real command line: in this process (fast), or as the installed script with `subprocess`."""
    args = ["check", "--format", fmt, *extra]
    if cache_dir:
        args += ["--cache-dir", str(tmp_path / "cache")]
    env = {"XDG_CACHE_HOME": str(user_cache)}
    if subprocess or cwd is not None:
        result = run_cli(*args, str(path), env=env, cwd=cwd, timeout=120)
    else:
        result = invoke(*args, str(path), env=env)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def statuses(result) -> list[str]:
    return [s["status"] for f in json.loads(result.stdout)["files"] for s in f["steps"]]


def entries(tmp_path):
    return sorted((tmp_path / "cache").glob("*/*.json"))


def write(tmp_path, name: str, pair) -> os.PathLike:
    path = tmp_path / name
    path.write_text(derivation_text(*pair, by="algebra"))
    return path


def forged_proved_entry(template: dict) -> dict:
    """What an attacker who read the source would write: a plausible 'proved' verdict."""
    verdict = {"format": 2, "status": "proved", "method": "algebra", "rules": [], "detail": "", "seconds": 0.0,
               "witness": None, "evidence": None, "diagnosis": ""}
    if "verdicts" in template:  # a whole file's entry
        return {**template, "verdicts": [{**item, "verdict": verdict} for item in template["verdicts"]]}
    return verdict


@pytest.mark.parametrize("mac", ["", "0" * 64, "recomputed with another key"])
def test_a_forged_proved_entry_is_not_believed(tmp_path, user_cache, mac):
    path = write(tmp_path, "d.toml", FALSE)
    first = check(tmp_path, user_cache, path)
    assert first.returncode == 1 and statuses(first) == ["refuted"]
    import hashlib
    import hmac

    for entry in entries(tmp_path):
        envelope = json.loads(entry.read_text())
        body = json.dumps(forged_proved_entry(json.loads(envelope["body"])))
        forged_mac = mac
        if mac.startswith("recomputed"):
            forged_mac = hmac.new(b"k" * 32, entry.stem.encode() + b"\0" + body.encode(), hashlib.sha256).hexdigest()
        entry.write_text(json.dumps({"mac": forged_mac, "body": body}))
    again = check(tmp_path, user_cache, path, subprocess=mac == "")
    assert again.returncode == 1 and statuses(again) == ["refuted"]
    assert "ignored" in again.stderr and "cache entr" in again.stderr


def test_an_entry_of_the_old_unauthenticated_format_is_not_believed(tmp_path, user_cache):
    path = write(tmp_path, "d.toml", FALSE)
    check(tmp_path, user_cache, path)
    for entry in entries(tmp_path):
        template = json.loads(json.loads(entry.read_text())["body"])
        entry.write_text(json.dumps(forged_proved_entry(template)))  # no envelope at all
    assert statuses(check(tmp_path, user_cache, path)) == ["refuted"]


def test_a_genuine_entry_moved_to_another_key_is_not_believed(tmp_path, user_cache):
    """The MAC covers the key: a true step's 'proved' cannot be copied onto a false step's key."""
    true_path = write(tmp_path, "true.toml", TRUE)
    check(tmp_path, user_cache, true_path)
    proved = {e.parent.name: e.read_text() for e in entries(tmp_path)}
    false_path = write(tmp_path, "false.toml", FALSE)
    before = set(entries(tmp_path))
    check(tmp_path, user_cache, false_path)
    for entry in set(entries(tmp_path)) - before:
        entry.write_text(proved[entry.parent.name])
    again = check(tmp_path, user_cache, false_path)
    assert statuses(again) == ["refuted"] and "ignored" in again.stderr


def test_a_cut_short_entry_is_a_miss(tmp_path, user_cache):
    """A killed run or a full disk can leave at worst a truncated file: never believed."""
    path = write(tmp_path, "d.toml", TRUE)
    check(tmp_path, user_cache, path)
    for entry in entries(tmp_path):
        entry.write_bytes(entry.read_bytes()[: len(entry.read_bytes()) // 2])
    again = check(tmp_path, user_cache, path)
    assert again.returncode == 0 and statuses(again) == ["proved"]
    assert [s["cached"] for f in json.loads(again.stdout)["files"] for s in f["steps"]] == [False]


@pytest.mark.skipif(sys.platform == "win32", reason="device files and FIFOs")
@pytest.mark.parametrize("target", ["/dev/zero", "/dev/stdin", "fifo", "directory", "huge"])
def test_an_entry_that_is_not_a_small_regular_file_is_a_miss(tmp_path, user_cache, target):
    """A symlink to /dev/zero once grew the run to 6 GB, one to stdin hung: now they are misses."""
    path = write(tmp_path, "d.toml", TRUE)
    check(tmp_path, user_cache, path)
    for entry in entries(tmp_path):
        entry.unlink()
        if target == "fifo":
            os.mkfifo(entry)
        elif target == "directory":
            entry.mkdir()
        elif target == "huge":
            with open(entry, "wb") as handle:
                handle.truncate(64 * 1024 * 1024)  # sparse: 64 MB of zeros, above the bound
        else:
            entry.symlink_to(target)
    again = check(tmp_path, user_cache, path, subprocess=True)
    assert again.returncode == 0 and statuses(again) == ["proved"]
    assert "ignored" in again.stderr


@pytest.mark.parametrize("body", ["[" * 200_000, '{"mac": "' + "0" * 64 + '", "body": "' + "[" * 100_000 + '"}',
                                  "\xff\xfe not utf-8", "null", '{"mac": 1, "body": 2}'])
def test_undecodable_entries_are_misses(tmp_path, user_cache, body):
    path = write(tmp_path, "d.toml", TRUE)
    check(tmp_path, user_cache, path)
    for entry in entries(tmp_path):
        entry.write_bytes(body.encode("utf-8", "surrogateescape") if isinstance(body, str) else body)
    again = check(tmp_path, user_cache, path)
    assert again.returncode == 0 and statuses(again) == ["proved"]


BAD_FIELDS = [
    {"method": 5}, {"rules": "algebra"}, {"rules": [1, 2]}, {"status": "believed"}, {"detail": None},
    {"witness": {"point": {"a": 1}, "lhs": 1, "rhs": "1", "difference": "0", "digits": "30", "model": ""}},
    {"witness": {"point": [["a"]], "lhs": "1", "rhs": "1", "difference": "0", "digits": 30, "model": ""}},
    {"evidence": {"points": "6", "digits": 30, "seed": 1}},
    {"evidence": {"points": 6, "digits": 30, "seed": 1, "extra": 1}},
]


@pytest.mark.parametrize("bad", BAD_FIELDS, ids=[next(iter(b)) + str(i) for i, b in enumerate(BAD_FIELDS)])
@pytest.mark.parametrize("fmt", ["terminal", "json", "junit", "github"])
def test_authentic_entries_with_wrongly_typed_fields_are_misses_in_every_reporter(tmp_path, user_cache, bad, fmt):
    """Even an entry with a valid MAC (another klproof version's, say) is type-checked field by field."""
    from klproof.check.cache import VerdictCache

    path = write(tmp_path, "d.toml", FALSE)
    check(tmp_path, user_cache, path)
    store = VerdictCache(tmp_path / "cache")
    for entry in entries(tmp_path):
        body = json.loads(json.loads(entry.read_text())["body"])
        if "verdicts" in body:
            body["verdicts"] = [{**item, "verdict": {**item["verdict"], **bad}} for item in body["verdicts"]]
        else:
            body.update(bad)
        text = json.dumps(body)
        entry.write_text(json.dumps({"mac": store._mac(entry.stem, text), "body": text}))
    result = check(tmp_path, user_cache, path, fmt=fmt)
    assert result.returncode == 1, result.stderr


def test_a_cache_folder_that_is_a_symlink_is_refused_and_nothing_is_written_through_it(tmp_path, user_cache):
    repository = tmp_path / "repository"
    repository.mkdir()
    (tmp_path / "cache").symlink_to(repository)
    path = write(tmp_path, "d.toml", TRUE)
    result = check(tmp_path, user_cache, path)
    assert result.returncode == 0 and statuses(result) == ["proved"]
    assert "symbolic link" in result.stderr
    assert list(repository.iterdir()) == []  # no .gitignore (containing '*') in the repository root


def test_the_default_cache_is_outside_the_working_tree_and_keyed_by_the_project(tmp_path, user_cache):
    projects = []
    for name in ("one", "two"):
        project = tmp_path / name
        project.mkdir()
        path = write(project, "d.toml", TRUE)
        assert check(tmp_path, user_cache, path, cache_dir=False, cwd=project).returncode == 0
        again = check(tmp_path, user_cache, path, cache_dir=False, cwd=project)
        assert [s["cached"] for f in json.loads(again.stdout)["files"] for s in f["steps"]] == [True]
        assert not any(p.name.startswith(".klproof") for p in project.iterdir())
        projects.append(project)
    folders = list((user_cache / "klproof" / "projects").iterdir())
    assert len(folders) == 2
    key = user_cache / "klproof" / "hmac.key"
    assert key.stat().st_size == 32 and key.stat().st_mode & 0o077 == 0  # readable by this user only


@pytest.mark.parametrize("broken", ["empty", "short", "symlink"])
def test_a_broken_or_planted_key_is_replaced_and_never_followed(tmp_path, user_cache, broken):
    """A key cut short by a killed first run, or a symlink planted to a key the attacker knows."""
    key = user_cache / "klproof" / "hmac.key"
    key.parent.mkdir(parents=True)
    known = tmp_path / "known.key"
    known.write_bytes(b"A" * 32)
    if broken == "symlink":
        key.symlink_to(known)
    else:
        key.write_bytes(b"" if broken == "empty" else b"A" * 7)
    path = write(tmp_path, "d.toml", TRUE)
    assert check(tmp_path, user_cache, path).returncode == 0
    again = check(tmp_path, user_cache, path)
    assert [s["cached"] for f in json.loads(again.stdout)["files"] for s in f["steps"]] == [True]
    assert not key.is_symlink() and key.stat().st_size == 32 and key.read_bytes() != b"A" * 32
    assert known.read_bytes() == b"A" * 32
