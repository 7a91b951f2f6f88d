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
from conftest import fault_env, prose, tree_bytes, write

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


# --- two runs at once, and folders that cannot be written -----------------------------------

def clean(*args: object, env: dict[str, str] | None = None, preexec=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cleaner", *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, preexec_fn=preexec, timeout=300)


def small_corpus(src: Path, stuck: bool) -> None:
    for i in range(12):
        write(src, f"ok-{i:02d}.txt", prose(200 + i, 3) + "\n" + prose(300 + i, 3) + "\n")
    write(src, "zz.txt", ("STUCKDOC " if stuck else "") + prose(400, 3) + "\n")


@linux_only
def test_a_second_run_on_the_same_folders_is_refused_and_a_dead_runs_lock_blocks_nothing(tmp_path):
    src, out, rep = tmp_path / "in", tmp_path / "out", tmp_path / "out.report"
    small_corpus(src, stuck=True)
    first = subprocess.Popen([sys.executable, "-m", "cleaner", str(src), str(out), "-q", "--doc-timeout", "600"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             env={**os.environ, **fault_env("hang:STUCKDOC")})
    everything: set[int] = set()
    try:
        deadline = time.monotonic() + 60
        while not (rep / ".lock").exists() or not (rep / ".lock").read_text().strip():
            assert time.monotonic() < deadline and first.poll() is None, "the first run did not start"
            time.sleep(0.1)
        assert (rep / ".lock").read_text().strip() == str(first.pid)
        for args, says in (([src, out], f"another clean run (pid {first.pid}) is using the report folder {rep}"),
                           ([src, out, "--report", tmp_path / "rep2"], f"another clean run is writing into {out}"),
                           ([src, tmp_path / "out2", "--report", rep], "is using the report folder")):
            r = clean(*args, "-q")
            assert r.returncode == 2 and r.stderr.count("\n") == 1 and says in r.stderr, (args, r.stderr)
        assert not (tmp_path / "rep2").exists() and not (tmp_path / "out2").exists()  # refused: nothing written
        time.sleep(0.5)
        everything = descendants(first.pid)
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
    finally:
        for q in alive(everything | {first.pid}):
            os.kill(q, signal.SIGKILL)
    assert (rep / ".lock").read_text().strip() == str(first.pid)  # left by the dead run: blocks nothing
    small_corpus(src, stuck=False)
    r = clean(src, out, "-q")
    assert r.returncode == 0, r.stderr
    assert not (rep / ".lock").exists()
    ref = clean(src, tmp_path / "ref", "-q")
    assert ref.returncode == 0 and tree_bytes(out) == tree_bytes(tmp_path / "ref")


def test_a_report_folder_that_cannot_be_created_is_refused_before_the_work(tmp_path):
    src = tmp_path / "in"
    small_corpus(src, stuck=False)
    write(tmp_path, "a-file", "x")
    r = clean(src, tmp_path / "out", "--report", tmp_path / "a-file/rep")
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert r.stderr.startswith("clean: error: cannot create the report folder") and "a-file/rep" in r.stderr
    assert not (tmp_path / "out").exists()


def test_storage_that_takes_no_write_is_refused_before_the_work(tmp_path):
    """A full disk, as the process sees it: no file may grow (the file size limit at 0)."""
    import resource

    src = tmp_path / "in"
    small_corpus(src, stuck=False)

    def no_space() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))

    r = clean(src, tmp_path / "out", preexec=no_space)
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert r.stderr.startswith(f"clean: error: cannot write to the report folder {tmp_path / 'out.report'}: ")
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.report").exists()


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes anywhere")
def test_a_read_only_output_folder_is_refused_before_the_work(tmp_path):
    src = tmp_path / "in"
    small_corpus(src, stuck=False)
    (tmp_path / "out").mkdir()
    os.chmod(tmp_path / "out", 0o555)
    try:
        r = clean(src, tmp_path / "out", "--report", tmp_path / "rep")
    finally:
        os.chmod(tmp_path / "out", 0o755)
    assert r.returncode == 2 and "cannot write to the output folder" in r.stderr and "Permission denied" in r.stderr


def test_a_report_that_cannot_be_written_at_the_end_is_an_error_not_a_crash(cli, tmp_path, monkeypatch):
    """Storage that fills up during the run: the work is done, the outputs are in place; the
    report that does not fit is one more error (exit 1), and the same command writes it later."""
    from cleaner.report import Report

    src = tmp_path / "in"
    small_corpus(src, stuck=False)

    def full(self, directory):
        raise OSError(28, "No space left on device", str(directory) + "/report.json")

    with monkeypatch.context() as m:
        m.setattr(Report, "save", full)
        r = cli(src, tmp_path / "out", "-q", "--workers", "0")
    assert r.code == 1 and "Traceback" not in r.err
    assert "cannot write the report" in r.err and "No space left on device" in r.err, r.err
    assert (tmp_path / "out/ok-00.txt").exists() and not (tmp_path / "out.report/report.json").exists()
    r = cli(src, tmp_path / "out", "-q", "--workers", "0")
    assert r.code == 0, r.err
    assert (tmp_path / "out.report/report.json").exists()


def test_the_api_runs_workers_from_a_script_read_on_stdin(tmp_path):
    # `python - <<EOF`: multiprocessing would have each worker run the main script again from
    # the path "<stdin>", and every worker would die before its first file
    src = tmp_path / "in"
    for i in range(3):
        write(src, f"d{i}.txt", "\n\n".join(prose(10 * i + k, 4) for k in range(4)))
    script = (f"from cleaner import clean_corpus\n"
              f"r = clean_corpus({str(src)!r}, {str(tmp_path / 'out')!r}, workers=2)\n"
              f"print('ERRORS', r.errors)\n")
    r = subprocess.run([sys.executable, "-"], input=script, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "ERRORS []" in r.stdout, r.stdout + r.stderr
    assert sorted(p.name for p in (tmp_path / "out").glob("*.txt")) == ["d0.txt", "d1.txt", "d2.txt"]
