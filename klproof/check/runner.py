"""Read and check derivation files in worker processes, bounded in time and memory.

A task is one file: its worker parses it and checks its steps one by one, sending
back what it finished as it goes (the file's steps, then each verdict). Reading is
bounded like checking: the parent allows `timeout` seconds from the task's start
to the parsed file and from each message to the next, and kills a worker that
overruns (a signal in the worker would not stop SymPy deep inside C-level loops).
Reading a file is one unit however many steps it has, so it is charged by the
worker's CPU seconds: a busy shared machine does not turn a slow-to-read file
into an error (its wall time is capped at READ_WALL_FACTOR times the limit). A
file whose reading overruns or kills its worker is that file's error; a step
that does is that step's unknown, and a fresh worker reads the file again and
goes on with the next step. Workers are forked after SymPy is imported, so
starting one costs milliseconds, and the sources are inherited: a task is only
an index.

Workers never outlive the run: each asks the kernel to kill it when its parent
dies (PR_SET_PDEATHSIG, with a thread watching getppid() as the fallback), closes
every pipe end that is not its own, and caps its own CPU time per step (RLIMIT_CPU).
With a cache, a worker stores each verdict as soon as it has it, so a killed run
keeps what it finished.
"""

from __future__ import annotations

import gc
import heapq
import multiprocessing
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import TYPE_CHECKING
from collections.abc import Callable

from klproof.check.decide import Options, check_step, crash_verdict, timeout_verdict
from klproof.verdict import FileError, Reason, StepInfo, Verdict

if TYPE_CHECKING:
    from klproof.check.cache import VerdictCache
    from klproof.model import Derivation

MEMORY_LIMIT_BYTES = 4 * 1024**3  # per worker, where the platform allows it
MEMORY_LIMIT_ENV = "KLPROOF_MEMORY_LIMIT_MB"  # a lower (or higher) cap in MiB, e.g. for tests
CPU_SLACK_SECONDS = 2  # a worker's own CPU cap per step: the time limit plus this (the parent kills it first)
READ_WALL_FACTOR = 4  # reading a file may take this many times --timeout in wall time while its CPU time is under it
SMALL_RUN_BYTES = 12_000  # less work than this (in file bytes) is checked by one worker: a second would not pay


def _limit_memory() -> int | None:
    """Cap this worker's address space; the cap in bytes, or None where the platform has none."""
    limit = MEMORY_LIMIT_BYTES
    try:
        limit = max(64, int(os.environ.get(MEMORY_LIMIT_ENV, ""))) * 1024**2
    except ValueError:
        pass
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        return limit
    except (ImportError, ValueError, OSError):  # not on this platform: the time limit still holds
        return None


def _limit_cpu(seconds: float) -> None:
    """Let this process use at most `seconds` more CPU time (then the kernel stops it with SIGXCPU)."""
    try:
        import resource

        usage = resource.getrusage(resource.RUSAGE_SELF)
        _, hard = resource.getrlimit(resource.RLIMIT_CPU)
        soft = int(usage.ru_utime + usage.ru_stime + seconds) + 1
        if hard != resource.RLIM_INFINITY:
            soft = min(soft, hard)
        resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
    except (ImportError, ValueError, OSError):
        pass


def _die_with_parent(parent_pid: int) -> None:
    """Make sure this worker ends when the process that started it does, however that one ends."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG: the kernel kills us with the parent
    except (OSError, AttributeError):  # not Linux: the watcher below still notices
        pass
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _cap_text(limit: int | None) -> str:
    if not limit:
        return "no limit on this platform"
    return f"limit {limit / 1024**3:g} GiB" if limit >= 1024**3 else f"limit {limit // 1024**2} MiB"


@dataclass(frozen=True)
class FileResult:
    """What the workers made of one file: its error, or its title, source and verdicts in step order."""

    error: FileError | None = None
    title: str = ""
    source: str = ""
    verdicts: tuple[Verdict, ...] = ()


def _serve(conn: Connection, others: list[Connection], parent_pid: int, options: Options,
           sources: list[tuple[str, bytes]], cache: VerdictCache | None) -> None:
    """A worker's loop: a task is (file index, first step to check, step numbers to check or None)."""
    for other in others:  # pipe ends of the parent and of other workers: holding them would hide EOFs
        try:
            other.close()
        except OSError:
            pass
    _die_with_parent(parent_pid)
    cap = _cap_text(_limit_memory())
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        index, first, only = task
        _limit_cpu(options.timeout + CPU_SLACK_SECONDS)
        path, data = sources[index]
        parsed = _read(path, data, cap)
        if isinstance(parsed, FileError):
            conn.send(("error", parsed))
            continue
        steps = parsed.steps
        conn.send(("parsed", parsed.title, parsed.source, tuple(_info(s) for s in steps)))
        for position in range(first, len(steps)):
            step = steps[position]
            if only is not None and step.number not in only:
                continue
            _limit_cpu(options.timeout + CPU_SLACK_SECONDS)
            verdict = _check(step, options, cap, cache)
            try:
                conn.send(("verdict", position, verdict))
            except MemoryError:  # the verdict could not even be sent: say so in a small one
                conn.send(("verdict", position, crash_verdict(_info(step), Reason.OUT_OF_MEMORY,
                                                              f"ran out of memory ({cap})", verdict.seconds)))
        conn.send(("done",))


def _info(step) -> StepInfo:
    from klproof.check.decide import step_info

    return step_info(step)


def _read(path: str, data: bytes, cap: str) -> Derivation | FileError:
    """The file's Derivation, or its error."""
    from klproof.api import parse_one
    from klproof.errors import KlproofError

    try:
        parsed = parse_one(path, data)
    except MemoryError:
        parsed = KlproofError(f"reading the file ran out of memory ({cap})", hint="split the file or simplify it")
    if isinstance(parsed, KlproofError):
        return FileError.of(parsed)
    return parsed


def _check(step, options: Options, cap: str, cache: VerdictCache | None) -> Verdict:
    started = time.perf_counter()
    if cache is not None and step.error is None:  # an unreadable step is its error: nothing to look up
        try:
            hit = cache.get(step, options)
        except Exception:  # a step the cache cannot key (e.g. a number too long to print) is checked anew
            hit = None
        if hit is not None:
            return hit
    try:
        verdict = check_step(step, options)
    except MemoryError:
        return crash_verdict(_info(step), Reason.OUT_OF_MEMORY, f"ran out of memory ({cap})",
                             time.perf_counter() - started)
    except RecursionError:
        return crash_verdict(_info(step), Reason.TOO_DEEP, "expression too deeply nested to check",
                             time.perf_counter() - started)
    if cache is not None:
        try:
            cache.put(step, options, verdict)  # as we go: a run killed later keeps this verdict
        except Exception:
            pass
    return verdict


@dataclass
class _File:
    """The parent's view of one file in progress."""

    infos: tuple[StepInfo, ...] | None = None  # known once a worker has parsed it
    title: str = ""
    source: str = ""
    verdicts: dict[int, Verdict] = field(default_factory=dict)
    error: FileError | None = None


@dataclass
class _Worker:
    process: multiprocessing.process.BaseProcess
    conn: Connection
    task: tuple[int, int, frozenset[int] | None] | None = None  # (file index, first step, selection)
    deadline: float = 0.0
    started: float = 0.0  # when the task was given
    cpu_at_start: float | None = None  # the worker's CPU seconds then (None: not readable here)
    position: int | None = None  # the step it is checking, once the file is parsed


def default_jobs(sources: list[tuple[str, bytes]] | None = None) -> int:
    """Workers for this work: one per core, but no more than files, and one for a small run
    (a second worker would spend more warming its own SymPy cache than it saves)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if sources is None:
        return max(1, cores)
    if sum(len(data) for _, data in sources) < SMALL_RUN_BYTES:
        return 1
    return max(1, min(cores, len(sources)))


def run_files(sources: list[tuple[str, bytes]], options: Options, jobs: int = 1,
              cache: VerdictCache | None = None,
              on_parsed: Callable[[int], None] | None = None,
              on_done: Callable[[Verdict], None] | None = None,
              only: dict[int, frozenset[int]] | None = None) -> list[FileResult]:
    """Every file read and checked by `jobs` workers; results in the order of `sources`.

    `on_parsed(number of steps)` is called as each file is read, `on_done(verdict)` as each
    verdict arrives; `only` maps a file's index to the step numbers to check (others are skipped)."""
    if not sources:
        return []
    # Imported before forking, once, so that no worker imports them again (SymPy alone is ~0.3 s).
    import sympy  # noqa: F401

    import klproof.check.engine
    import klproof.check.numeric
    import klproof.parse.file  # noqa: F401

    context = multiprocessing.get_context("fork")
    files = [_File() for _ in sources]
    only = only or {}
    # Biggest files first: the last task to start is a short one, so no worker idles long at the end.
    queue: list[tuple] = [(-len(data), i, 0) for i, (_, data) in enumerate(sources)]
    heapq.heapify(queue)
    workers: list[_Worker] = []
    parent_pid = os.getpid()

    def spawn() -> _Worker:
        parent, child = context.Pipe()
        others = [parent] + [w.conn for w in workers]
        process = context.Process(target=_serve, args=(child, others, parent_pid, options, sources, cache),
                                  daemon=True)
        process.start()
        child.close()
        return _Worker(process, parent)

    def give(worker: _Worker) -> None:
        _, index, first = heapq.heappop(queue)
        worker.task, worker.position = (index, first, only.get(index)), None
        worker.started = time.monotonic()
        worker.deadline = worker.started + options.timeout
        worker.cpu_at_start = _cpu_seconds(_pid(worker))
        worker.conn.send(worker.task)

    def starved(worker: _Worker) -> bool:
        """Whether a worker still reading its file has had less CPU than the time limit (a busy shared
        machine, not a slow file): then its deadline moves, up to READ_WALL_FACTOR times the limit."""
        if worker.position is not None or files[_task(worker)[0]].infos is not None or worker.cpu_at_start is None:
            return False
        used = (_cpu_seconds(_pid(worker)) or 0.0) - worker.cpu_at_start
        now = time.monotonic()
        if used >= options.timeout or now - worker.started >= READ_WALL_FACTOR * options.timeout:
            return False
        worker.deadline = min(now + max(0.1, options.timeout - used), worker.started + READ_WALL_FACTOR * options.timeout)
        return True

    def settle(worker: _Worker, reason: Reason | None, what: str) -> None:
        """The worker overran (reason TIMEOUT) or died: charge it to the file or to its step, go on."""
        index, first, _ = _task(worker)
        state = files[index]
        if state.infos is None:
            state.error = FileError("reading the file " + (f"took longer than {options.timeout:g} s"
                                                           if reason is Reason.TIMEOUT else what),
                                    hint="a number tower or a huge expression? simplify the file or split it"
                                    + ("; or raise --timeout" if reason is Reason.TIMEOUT else ""))
        else:
            position = _next_position(state, worker.position if worker.position is not None else first,
                                      only.get(index))
            if position is not None:
                info = state.infos[position]
                verdict = (timeout_verdict(info, options.timeout) if reason is Reason.TIMEOUT
                           else crash_verdict(info, Reason.CRASH, what, time.monotonic() - worker.deadline
                                              + options.timeout))
                record(state, position, verdict)
                if _next_position(state, position + 1, only.get(index)) is not None:
                    heapq.heappush(queue, (-len(sources[index][1]), index, position + 1))
        worker.task = None
        _replace(workers, worker, spawn)

    def record(state: _File, position: int, verdict: Verdict) -> None:
        state.verdicts[position] = verdict
        if on_done:
            on_done(verdict)

    # Workers never collect the parent's objects: freezing them keeps the children's garbage
    # collector from touching, and so copying, every inherited page.
    gc.freeze()
    try:
        for _ in range(max(1, min(jobs, len(sources)))):
            workers.append(spawn())
        while queue or any(w.task is not None for w in workers):
            for worker in workers:
                if worker.task is None and queue:
                    give(worker)
            busy = [w for w in workers if w.task is not None]
            ready = wait([w.conn for w in busy], timeout=max(0.0, min(w.deadline for w in busy) - time.monotonic()))
            for worker in busy:
                if worker.conn in ready:
                    try:
                        message = worker.conn.recv()
                    except (EOFError, OSError):  # killed: by the OS for memory, or by its own CPU cap
                        settle(worker, Reason.CRASH, "the checking process died (out of memory or CPU time?)")
                        continue
                    _receive(worker, message, files, record, on_parsed, options)
                elif time.monotonic() >= worker.deadline and not starved(worker):
                    settle(worker, Reason.TIMEOUT, "")
    finally:
        for worker in workers:
            _stop(worker)
        gc.unfreeze()
    return [FileResult(error=f.error) if f.error else
            FileResult(title=f.title, source=f.source, verdicts=tuple(f.verdicts[k] for k in sorted(f.verdicts)))
            for f in files]


def _receive(worker: _Worker, message: tuple, files: list[_File], record, on_parsed, options: Options) -> None:
    index, first, selection = _task(worker)
    state = files[index]
    kind = message[0]
    worker.deadline = time.monotonic() + options.timeout  # every message starts the next step's clock
    if kind == "error":
        state.error, worker.task = message[1], None
    elif kind == "parsed":
        if state.infos is None:
            state.title, state.source, state.infos = message[1], message[2], message[3]
            if on_parsed:
                on_parsed(sum(1 for i in state.infos if selection is None or i.number in selection))
        worker.position = _next_position(state, first, selection)
    elif kind == "verdict":
        _, position, verdict = message
        record(state, position, verdict)
        worker.position = _next_position(state, position + 1, selection)
    else:  # "done": the worker is free
        worker.task = None


def _cpu_seconds(pid: int) -> float | None:
    """CPU seconds (user + system) that process `pid` has used, from /proc; None where there is no /proc."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS
    except (OSError, ValueError, IndexError):
        return None


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _next_position(state: _File, start: int, selection: frozenset[int] | None) -> int | None:
    """The first step at or after `start` that is still to be checked."""
    infos = state.infos or ()
    for position in range(start, len(infos)):
        if selection is None or infos[position].number in selection:
            return position
    return None


def _task(worker: _Worker) -> tuple[int, int, frozenset[int] | None]:
    assert worker.task is not None, "only a busy worker is asked about its task"
    return worker.task


def _pid(worker: _Worker) -> int:
    assert worker.process.pid is not None, "workers are started when they are made"
    return worker.process.pid


def _replace(workers: list[_Worker], worker: _Worker, spawn: Callable[[], _Worker]) -> None:
    _stop(worker, kill=True)
    fresh = spawn()
    worker.process, worker.conn = fresh.process, fresh.conn


def _stop(worker: _Worker, kill: bool = False) -> None:
    try:
        if kill:
            worker.process.kill()
        else:
            worker.conn.send(None)
    except (OSError, ValueError):
        pass
    worker.process.join(timeout=1 if not kill else 5)
    if worker.process.is_alive():
        worker.process.kill()
        worker.process.join()
    worker.conn.close()


class Overrun(Exception):
    """A bounded call did not finish in time (its process was killed), or its process died."""


def _serve_call(conn: Connection, parent: Connection, parent_pid: int, func: Callable, args: tuple,
                timeout: float) -> None:
    parent.close()
    _die_with_parent(parent_pid)
    _limit_memory()
    _limit_cpu(timeout + CPU_SLACK_SECONDS)
    try:
        result = (True, func(*args))
    except BaseException as exc:  # report any failure to the parent instead of dying silently
        result = (False, f"{type(exc).__name__}: {exc}"[:300])
    conn.send(result)


def call_bounded(func: Callable, args: tuple, timeout: float):
    """func(*args) in a forked worker under the same time and memory limits as a step.

    Returns its result; raises Overrun when it takes longer than `timeout`
    seconds (the worker is killed) or the worker dies, and RuntimeError with the
    message of an exception raised inside it.
    """
    import sympy  # noqa: F401 - imported before forking so that the worker starts warm

    context = multiprocessing.get_context("fork")
    parent, child = context.Pipe()
    process = context.Process(target=_serve_call, args=(child, parent, os.getpid(), func, args, timeout), daemon=True)
    process.start()
    child.close()
    worker = _Worker(process, parent)
    try:
        if not parent.poll(timeout):
            raise Overrun(f"stopped after {timeout:g} s")
        try:
            ok, value = parent.recv()
        except (EOFError, OSError):
            raise Overrun("the checking process died") from None
    finally:
        _stop(worker, kill=True)
    if not ok:
        raise RuntimeError(value)
    return value
