"""Watch a process and its descendants through /proc: the peak resident memory of the whole tree, and
every process it ever had (to check that none outlives it). Linux only; elsewhere the figures are zero."""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

PROC = Path("/proc")


def _stat(pid: int) -> tuple[int, str] | None:
    """(parent pid, state letter) of `pid`, or None once it is gone."""
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    return int(fields[1]), fields[0]


def _rss_kib(pid: int) -> int:
    try:
        for line in (PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def descendants(root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir() if PROC.exists() else ():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None:
                children.setdefault(stat[0], []).append(int(entry.name))
    found, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pid: int) -> bool:
    stat = _stat(pid)
    return stat is not None and stat[1] not in ("Z", "X")


@dataclass
class Watched:
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    peak_mib: float  # the largest sum of resident memory over the process and its descendants
    seen: set[int] = field(default_factory=set)  # every descendant observed

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run_watched(command: list[str], cwd: Path, env: dict, timeout: float, interval: float = 0.05) -> Watched:
    """Run `command`, sampling its process tree's memory every `interval` seconds; kill it after `timeout`."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env={**os.environ, **env}, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    peak, seen = 0, set()
    import threading

    out: dict[str, str] = {}
    reader = threading.Thread(target=lambda: out.update(zip(("stdout", "stderr"), process.communicate())))
    reader.start()
    while process.poll() is None and time.perf_counter() - started < timeout:
        tree = descendants(process.pid) | {process.pid}
        seen |= tree - {process.pid}
        peak = max(peak, sum(_rss_kib(p) for p in tree))
        time.sleep(interval)
    if process.poll() is None:
        process.kill()
    reader.join()
    return Watched(process.returncode, out.get("stdout", ""), out.get("stderr", ""),
                   time.perf_counter() - started, peak / 1024, seen)
