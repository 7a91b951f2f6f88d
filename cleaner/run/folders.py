"""The folders a run writes to, claimed before any work: created, checked for being writable,
and locked, so that a second run on the same OUTPUT_DIR or report folder is refused instead of
writing into the same tree (and removing the other's temp files as stale).

A folder of remote storage (a URL) has nothing to create and no lock: object stores have
neither folders nor flock; it is only probed with a write.

The locks are flock(2) locks: the kernel releases them when the process ends, however it
ends (kill -9 included), so a lock left by a dead run never blocks the next one. The report
folder's lock file holds the pid of the run that holds it, for the message.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass, field
from pathlib import Path

from .. import storage
from ..writers import TEMP_MARK

try:
    import fcntl
except ImportError:  # not POSIX: no locks
    fcntl = None  # type: ignore[assignment]

LOCK_FILE = ".lock"


class Refused(Exception):
    """The run cannot start on these folders; one line for the user."""


@dataclass
class Claim:
    """The folders of a run: what it created (to remove again if it is refused) and its locks."""

    output: Path
    report_dir: Path
    created: list[Path] = field(default_factory=list)
    fds: list[int] = field(default_factory=list)
    lock_file: Path | None = None

    def release(self, refused: bool = False) -> None:
        """Drop the locks (the report folder's lock file goes first, while it is still held);
        a refused run also removes the folders it created, so that it leaves nothing behind."""
        if self.lock_file is not None:
            try:
                self.lock_file.unlink()
            except OSError:
                pass
            self.lock_file = None
        for fd in self.fds:
            os.close(fd)
        self.fds = []
        if refused:
            for d in sorted(self.created, key=lambda p: len(p.parts), reverse=True):
                try:
                    d.rmdir()
                except OSError:  # not empty, or gone
                    pass
            self.created = []


def claim(output: Path, report_dir: Path) -> Claim:
    """Create the output and report folders, lock them, and check that they take a write.
    Raises Refused (with what was created removed again) when the run cannot go on."""
    c = Claim(output, report_dir)
    folders = ((report_dir, "report folder"), (output, "output folder"))
    try:
        for d, what in folders:
            if storage.is_url(d):
                _make_remote(d, what)
            else:
                _make(c, d, what)
        if not storage.is_url(report_dir):
            _lock_report(c)
        if not storage.is_url(output):
            _lock_output(c)
        for d, what in folders:
            _probe(d, what)
    except BaseException:
        c.release(refused=True)
        raise
    return c


def _make(c: Claim, d: Path, what: str) -> None:
    missing = []
    p = d.absolute()
    while not p.exists() and p.parent != p:
        missing.append(p)
        p = p.parent
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise Refused(f"cannot create the {what} {d}: {e.strerror or e}") from None
    c.created.extend(missing)


def _make_remote(d: Path, what: str) -> None:
    """A folder of a remote file system that has folders (an object store has none to make)."""
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise Refused(f"cannot create the {what} {d}: {e.strerror or e}") from None


def _flock(fd: int) -> bool:
    """True: locked; False: another process holds it. Storage without locks (some network
    file systems) counts as locked: no lock is better than refusing every run there."""
    if fcntl is None:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
        if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return False
        return True
    return True


def _lock_report(c: Claim) -> None:
    path = c.report_dir / LOCK_FILE
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
        except OSError as e:
            raise Refused(f"cannot write to the report folder {c.report_dir}: {e.strerror or e}") from None
        if not _flock(fd):
            holder = _read_pid(fd)
            os.close(fd)
            raise Refused(f"another clean run{f' (pid {holder})' if holder else ''} is using the report folder "
                          f"{c.report_dir}; wait for it to end, or choose another --report folder")
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except OSError:
            same = False
        if same:
            break
        os.close(fd)  # the run that held it removed the file as it ended: lock the new one
    c.fds.append(fd)
    c.lock_file = path
    try:  # the pid only makes the message of a refused run clearer; the lock is the flock
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
    except OSError:
        pass


def _read_pid(fd: int) -> str:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return ""
    return text if text.isdigit() else ""


def _lock_output(c: Claim) -> None:
    """The output folder is locked as a directory (it holds corpus files only, no lock file):
    a second run with another report folder but the same OUTPUT_DIR is refused too."""
    try:
        fd = os.open(c.output, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return  # a directory that cannot be opened (not POSIX): no lock
    if not _flock(fd):
        os.close(fd)
        raise Refused(f"another clean run is writing into {c.output}; wait for it to end, or choose another "
                      "OUTPUT_DIR")
    c.fds.append(fd)


def _probe(d: Path, what: str) -> None:
    """Write a block into `d` and remove it: read-only storage, missing permissions and a full
    disk are found here, before the work, not file by file after it. (The name is a temp
    file's: if this process dies right here, the next run removes it.)"""
    if storage.is_url(d):
        why = storage.probe(d)
        if why is not None:
            raise Refused(f"cannot write to the {what} {d}: {why}")
        return
    probe = d / f".write-check.{os.getpid()}{TEMP_MARK}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0), 0o600)
        try:
            os.write(fd, b"\0" * 4096)
        finally:
            os.close(fd)
    except OSError as e:
        raise Refused(f"cannot write to the {what} {d}: {e.strerror or e}") from None
    finally:
        try:
            os.unlink(probe)
        except OSError:
            pass
