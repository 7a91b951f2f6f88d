"""Worker processes with a time limit per document and recovery from crashes.

Each worker runs one task at a time and tells the parent which document (of
which unit of the task) it starts ("beat"). A document that runs past its limit is first interrupted
inside the worker (SIGALRM raises DocTimeout between Python bytecodes); one
stuck in C code for longer than the limit plus a grace period gets its worker
killed. A worker that dies (killed, out of memory, crashed parser) is
replaced; its task is run again skipping the document it died on, which is
reported. So one bad document costs one document, never the run.
"""

from __future__ import annotations

import gc
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any


def kill_grace(doc_timeout: float) -> float:
    """Seconds past --doc-timeout before a worker stuck in C code is killed:
    as long as the limit itself, between 1 and 10."""
    return min(10.0, max(1.0, doc_timeout))


class DocTimeout(Exception):
    """The current document ran out of time."""


_current: Any = None  # in a worker: shared integer, the record being cleaned (-1: none)
_in_worker = False
_limit = 0.0


def beat(unit: int, record: int | None) -> None:
    """Tell the parent which unit of its task (a file, by position) and which record of
    it this worker starts (no-op outside workers). A shared integer, not a message: it
    costs nothing per document. The parent gets it back as a Failure's label."""
    if _current is not None:
        _current.value = (unit << 32) | (record or 0)


def unit_and_record(label: int) -> tuple[int, int | None]:
    """What beat() said: (unit, record), record None when not on a record."""
    return label >> 32, (label & 0xFFFFFFFF) or None


def _on_alarm(signum: int, frame: object) -> None:
    raise DocTimeout(f"took longer than {_limit:g}s")


@contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise DocTimeout in this block after `seconds` (main thread, POSIX only).

    In a worker the SIGALRM handler stays installed; elsewhere (cleaning in
    the caller's process) it is put back after the block.
    """
    global _limit
    usable = (seconds and hasattr(signal, "setitimer")
              and threading.current_thread() is threading.main_thread())
    if not usable:
        yield
        return
    _limit = float(seconds)  # type: ignore[arg-type]
    old = None if _in_worker else signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, _limit)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        if old is not None:
            signal.signal(signal.SIGALRM, old)


def _die_with_parent(alive: Connection) -> None:
    """End this worker as soon as the run's process is gone (kill -9 of `clean`), instead of
    finishing its task for nobody and then failing to send the result.

    On Linux the kernel sends SIGKILL when the process that forked this one ends (that is the
    fork server, which ends with the run); everywhere, a thread waits on a pipe whose other
    end only the run holds, and reads end-of-file when the run is gone, however it ended.
    """
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            pr_set_pdeathsig = 1
            ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):
            pass

    def watch() -> None:
        # signals stay with the main thread (the document time limit is a SIGALRM there)
        signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
        try:
            alive.recv_bytes()
        except (EOFError, OSError):
            pass
        os._exit(0)

    threading.Thread(target=watch, name="cleaner-parent-watch", daemon=True).start()


def _send(conn: Connection, msg: Any) -> bool:
    try:
        conn.send(msg)
        return True
    except (OSError, EOFError):  # the run is gone (BrokenPipeError): nobody to tell, nothing to print
        return False


# A run holds tens of thousands of small objects through a phase (documents, per-file
# results) and makes few cycles; at the default threshold (700 new objects) the cyclic
# collector walked them over and over: ~1 CPU-s of the ~6.5 of a run on 20,000 small .txt
# files (--no-strip, measured on tmpfs). 100x fewer young collections cost little memory.
GC_THRESHOLD = 100_000


@contextmanager
def fewer_collections() -> Iterator[None]:
    old = gc.get_threshold()
    gc.set_threshold(GC_THRESHOLD, *old[1:])
    try:
        yield
    finally:
        gc.set_threshold(*old)


def _worker(conn: Connection, current: Any, max_memory: int | None, alive: Connection | None = None) -> None:
    global _current, _in_worker
    gc.set_threshold(GC_THRESHOLD, *gc.get_threshold()[1:])
    if alive is not None:
        _die_with_parent(alive)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides about Ctrl-C
    if hasattr(signal, "SIGALRM"):
        signal.signal(signal.SIGALRM, _on_alarm)
    if max_memory:
        try:
            import resource

            resource.setrlimit(resource.RLIMIT_DATA, (max_memory, max_memory))
        except (ImportError, ValueError, OSError):
            pass
    _current, _in_worker = current, True
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg is None:
            return
        fn, task = msg
        reply: tuple[Any, ...]
        try:
            result = fn(task)
        except BaseException as e:  # report anything; the parent decides
            reply = ("error", f"{type(e).__name__}: {e}", traceback.format_exc())
        else:
            reply = ("done", result)
        if not _send(conn, reply):
            return


@dataclass
class _Slot:
    proc: Any
    conn: Connection
    current: Any  # shared integer: the record the worker is on
    task: Any = None
    index: int = -1
    started: float = 0.0
    last: int = -2  # last value of `current` seen, to notice progress

    @property
    def label(self) -> int | None:
        v = int(self.current.value)
        return None if v < 0 else v


@dataclass
class Failure:
    """A task whose worker died or hung on a document."""

    task: Any
    label: Any  # the document it was on (as sent with beat), or None
    message: str
    traceback: str = ""


@contextmanager
def _main_file_hidden_if_missing() -> Iterator[None]:
    """multiprocessing has a new worker run the caller's main script again by its path; a
    script read from stdin (`python - <<EOF`) has the path "<stdin>", which the worker cannot
    open, and it dies before its first task. Workers need nothing of the caller's main (their
    code is cleaner's), so such a path is hidden while one starts."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if (main is None or not isinstance(path, str) or getattr(main.__spec__, "name", None) is not None
            or os.path.exists(path)):
        yield
        return
    del main.__file__
    try:
        yield
    finally:
        main.__file__ = path


def start_forkserver(early: bool = False) -> None:
    """Start the workers' fork server (POSIX), if not running. Workers fork from it with the
    pipeline imported and set up (cleaner._forkserver: ~0.3 s of imports and ~0.5 s of
    tables, models and a first page), instead of each doing it, per phase. It starts in the
    background: called early (cli, Processes), that work overlaps the caller's own start.
    `early`: an attempt only; what fails (no usable temporary folder, no processes left) is
    met again, and reported, when the first pool starts, after the run's own checks."""
    if os.name != "posix":
        return
    from multiprocessing import forkserver

    forkserver.set_forkserver_preload(["cleaner._forkserver"])
    try:
        forkserver.ensure_running()
    except OSError:
        if not early:
            raise


class Pool:
    """Run fn(task) for each task in worker processes, results in task order.

    `retry(task, label, message)` is called when a worker dies or hangs on
    document `label`; it returns a new task that skips that document (or None
    to give the task up), and the failure is passed to `on_failure`.
    """

    def __init__(self, workers: int, doc_timeout: float | None, max_memory: int | None = None) -> None:
        self.workers = max(1, workers)
        self.doc_timeout = doc_timeout
        self.max_memory = max_memory
        self.ctx: Any = mp.get_context("forkserver" if os.name == "posix" else "spawn")
        start_forkserver()
        self.slots: list[_Slot] = []
        # the workers' lifeline: they hold the reading end, only this process the writing end
        self._alive_r, self._alive_w = self.ctx.Pipe(duplex=False)

    def _spawn(self) -> _Slot:
        parent, child = self.ctx.Pipe()
        current = self.ctx.Value("q", -1, lock=False)
        proc = self.ctx.Process(target=_worker, args=(child, current, self.max_memory, self._alive_r), daemon=True)
        with _main_file_hidden_if_missing():
            proc.start()
        child.close()
        return _Slot(proc, parent, current)

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close(kill=exc[0] is not None)

    def close(self, kill: bool = False) -> None:
        for s in self.slots:
            try:
                if kill:
                    s.proc.kill()
                else:
                    s.conn.send(None)
            except (OSError, ValueError):
                pass
        for s in self.slots:
            s.proc.join(timeout=0.5 if kill else 5)
            if s.proc.is_alive():
                s.proc.kill()
                s.proc.join()
            s.conn.close()
        self.slots = []
        self._alive_w.close()
        self._alive_r.close()

    def run(self, fn: Callable[[Any], Any], tasks: list[Any],
            retry: Callable[[Any, Any, str], Any | None],
            on_failure: Callable[[Failure], None],
            on_done: Callable[[int, Any], None] | None = None) -> list[Any]:
        results: list[Any] = [None] * len(tasks)
        pending = list(enumerate(tasks))[::-1]
        while len(self.slots) < min(self.workers, len(tasks)):
            self.slots.append(self._spawn())
        busy = 0
        kill_after = (self.doc_timeout + kill_grace(self.doc_timeout)) if self.doc_timeout else None

        def start(slot: _Slot) -> None:
            nonlocal busy
            if not pending:
                return
            slot.index, slot.task = pending.pop()
            slot.current.value = -1
            slot.started, slot.last = time.monotonic(), -1
            slot.conn.send((fn, slot.task))
            busy += 1

        def fail(slot: _Slot, message: str) -> None:
            nonlocal busy
            busy -= 1
            on_failure(Failure(slot.task, slot.label, message))
            again = retry(slot.task, slot.label, message)
            if again is not None:
                pending.append((slot.index, again))
            slot.task = None
            i = self.slots.index(slot)
            try:
                slot.proc.kill()
            except OSError:
                pass
            slot.proc.join()
            slot.conn.close()
            self.slots[i] = self._spawn()
            start(self.slots[i])

        for s in self.slots:
            start(s)
        while busy:
            ready = wait([s.conn for s in self.slots if s.task is not None] +
                         [s.proc.sentinel for s in self.slots if s.task is not None], timeout=0.5)
            now = time.monotonic()
            for s in list(self.slots):
                if s.task is None:
                    continue
                if s.current.value != s.last:  # the worker moved on to another record
                    s.last, s.started = int(s.current.value), now
                if s.conn in ready:
                    try:
                        while s.conn.poll():
                            msg = s.conn.recv()
                            if msg[0] == "done":
                                results[s.index] = msg[1]
                                if on_done:
                                    on_done(s.index, msg[1])
                                s.task = None
                                busy -= 1
                                start(s)
                                break
                            else:  # the task raised: a bug, not a bad document; give the task up
                                busy -= 1
                                on_failure(Failure(s.task, s.label, f"internal error: {msg[1]}", msg[2]))
                                s.task = None
                                start(s)
                                break
                    except (EOFError, OSError):
                        s.proc.join(timeout=5)
                        fail(s, _death(s.proc.exitcode))
                        continue
                    continue
                if s.proc.sentinel in ready:
                    s.proc.join(timeout=5)
                    fail(s, _death(s.proc.exitcode))
                elif kill_after and now - s.started > kill_after:
                    fail(s, f"no progress for {kill_after:g}s (worker killed)")
        return results


def _death(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"worker process died ({name})"
    return f"worker process exited (code {code})"
