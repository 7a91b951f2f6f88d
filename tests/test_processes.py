"""The `clean` process and its workers: after kill -9 of `clean` the workers stop at once and
quietly; two runs never write into one output or report folder at the same time."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import fault_env, prose, write

linux_only = pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="reads the process table in /proc")


def _table() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, state) of every process, from /proc."""
    out = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # after "pid (command)"
        out[int(name)] = (int(fields[1]), fields[0])
    return out


def descendants(pid: int) -> set[int]:
    table = _table()
    found, todo = set(), [pid]
    while todo:
        p = todo.pop()
        for child, (ppid, _) in table.items():
            if ppid == p and child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pids: set[int]) -> set[int]:
    """Those of `pids` still running (a zombie nobody has reaped yet has stopped)."""
    table = _table()
    return {p for p in pids if p in table and table[p][1] != "Z"}


def busy_corpus(src: Path, marks: int) -> None:
    """Files that keep a worker busy until killed (fault injection: a loop on the marked document);
    each is over 4 MiB, so a task (and a worker) of its own."""
    body = "".join(prose(1000 + k, 3) + "\n" for k in range(200))
    for i in range(marks):
        write(src, f"slow-{i}.txt", f"STUCKDOC {prose(10 + i, 3)}\n" + body * (4 * 2**20 // len(body) + 1))
    for i in range(20):
        write(src, f"ok-{i:02d}.txt", prose(100 + i, 3) + "\n")


@linux_only
@pytest.mark.parametrize("fault", ["slow", "hang"])  # in Python code; where no signal reaches (C code)
def test_workers_stop_at_once_and_quietly_after_kill_9_of_clean(tmp_path, fault):
    src = tmp_path / "in"
    busy_corpus(src, 2)
    err = tmp_path / "stderr.txt"
    with open(err, "wb") as fh:
        p = subprocess.Popen([sys.executable, "-m", "cleaner", str(src), str(tmp_path / "out"), "-q", "--workers", "2",
                              "--doc-timeout", "600"], stdout=subprocess.DEVNULL, stderr=fh,
                             env={**os.environ, **fault_env(f"{fault}:STUCKDOC")})
    everything: set[int] = set()
    try:
        deadline = time.monotonic() + 60
        workers: set[int] = set()
        while time.monotonic() < deadline:  # the fork server, its workers (and the resource tracker)
            kids = descendants(p.pid)
            workers = {k for k in kids if _table().get(k, (0, ""))[0] != p.pid}
            if len(workers) >= 2:
                break
            time.sleep(0.2)
        assert len(workers) >= 2, "the workers did not start"
        time.sleep(1.0)  # on the stuck documents now
        everything = descendants(p.pid)
        os.kill(p.pid, signal.SIGKILL)  # the main process only, as the OOM killer or `kill -9 PID` does
        p.wait()
        t0 = time.monotonic()
        while alive(everything) and time.monotonic() - t0 < 5:
            time.sleep(0.1)
        left = alive(everything)
        assert not left, f"still running {time.monotonic() - t0:.1f}s after kill -9: {left}"
    finally:  # whatever this test started and is still there (after a failure)
        for q in alive(everything | descendants(p.pid) | {p.pid}):
            os.kill(q, signal.SIGKILL)
    text = err.read_text(encoding="utf-8", errors="replace")
    assert "Traceback" not in text and "Error" not in text, text


def test_a_worker_whose_parent_is_gone_exits_without_a_traceback():
    """The pipe watched by every worker: end-of-file (the run is gone) ends the worker at once,
    in the middle of a task that would otherwise run on; this works where there is no prctl."""
    code = (
        "import multiprocessing as mp, time\n"
        "from cleaner import pool\n"
        "if __name__ == '__main__':\n"
        "    ctx = mp.get_context('spawn')\n"
        "    r, w = ctx.Pipe(duplex=False)\n"
        "    a, b = ctx.Pipe()\n"
        "    cur = ctx.Value('q', -1, lock=False)\n"
        "    p = ctx.Process(target=pool._worker, args=(b, cur, None, r))\n"
        "    p.start()\n"
        "    a.send((time.sleep, 60))\n"
        "    time.sleep(1.0)\n"
        "    t = time.monotonic()\n"
        "    w.close()\n"
        "    p.join(10)\n"
        "    print(p.exitcode, round(time.monotonic() - t, 1))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    exitcode, seconds = r.stdout.split()
    assert exitcode == "0" and float(seconds) < 3
