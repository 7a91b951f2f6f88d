"""Writing files atomically (temp file + rename), JSON lines, and the part-NNNNN shards of
--output-format jsonl*/parquet. Each format writes its own files (cleaner/formats/)."""

from __future__ import annotations

import itertools
import json
import math
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import orjson

from . import compression, escape, storage

TEMP_MARK = storage.TEMP_MARK


_counter = itertools.count()


def _temp_name(parent: str, name: str) -> str:
    """A hidden name for `name` in `parent` that no other process of this run uses."""
    return os.path.join(parent, f".{name[:80]}.{os.getpid()}-{next(_counter)}{TEMP_MARK}")


def _open_temp(path: str) -> tuple[int, str]:
    """A new temp file next to `path`, with the mode the umask gives new files (mkstemp
    would make it 0600, and costs more: a folder of small files writes one per file)."""
    parent, name = os.path.split(path)
    while True:
        tmp = _temp_name(parent, name)
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666), tmp
        except FileExistsError:  # left by an earlier process with the same id
            continue
        except FileNotFoundError:  # the folder is new (checked only then: a syscall less per file)
            os.makedirs(parent or ".", exist_ok=True)


def _is_temp(name: str) -> bool:
    return name.startswith(".") and name.endswith(TEMP_MARK)


def _open_new(path: str) -> tuple[int, str | None]:
    """A new file for `path`, and the temp name to rename to `path` when it is complete
    (None in a staging folder, whose files nobody sees until it is renamed: a rename less
    per file)."""
    if _is_temp(os.path.basename(os.path.dirname(path))):
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666), None
    return _open_temp(path)


def _discard(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


@contextmanager
def atomic_writer(path: str | Path) -> Iterator[IO[bytes]]:
    """A binary file handle whose content appears at `path` only if the block
    completes; on any error the temp file is removed and `path` is untouched."""
    if storage.is_url(path):  # an object of remote storage: sent whole once complete
        with storage.upload(path) as fh:
            yield fh
        return
    path = os.fspath(path)
    fd, tmp = _open_new(path)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
        if tmp is not None:
            os.replace(tmp, path)
    except BaseException:
        _discard(tmp or path)
        raise


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def write_bytes(path: str, data: bytes) -> None:
    """atomic_writer for a file whose content is all in memory (a small text file), with
    plain os calls: a folder of 20,000 small files paid ~25 us a file for the file object."""
    if storage.is_url(path):
        with storage.upload(path) as fh:
            fh.write(data)
        return
    fd, tmp = _open_new(path)
    try:
        try:
            _write_all(fd, data)
        finally:
            os.close(fd)
        if tmp is not None:
            os.replace(tmp, path)
    except BaseException:
        _discard(tmp or path)
        raise


class Staging:
    """Where a write task puts files whose folder does not exist yet: into a hidden staging
    folder beside it, renamed into place once the task's files are written (one rename per
    folder, not one per file: on ext4 a rename costs about what creating the file does, the
    larger part of writing a folder of small .txt files). A folder that exists, or that
    another task made meanwhile, gets its files by one atomic rename each, as before."""

    def __init__(self) -> None:
        self.dirs: dict[str, str | None] = {}  # final folder -> its staging folder (None: write in place)

    def place(self, path: str) -> str:
        """Where to write the file that goes to `path` (atomic_writer then does the rest)."""
        if storage.is_url(path):  # an object is uploaded whole: nothing to stage
            return path
        parent, name = os.path.split(path)
        stage = self.dirs.get(parent, "")
        if stage == "":
            stage = None
            if parent and not os.path.isdir(parent):
                up, base = os.path.split(parent)
                try:
                    os.makedirs(up or ".", exist_ok=True)
                    while True:
                        stage = _temp_name(up, base)
                        try:
                            os.mkdir(stage)
                            break
                        except FileExistsError:  # left by an earlier process with the same id
                            continue
                except OSError:  # written in place, where the error shows with the file's name
                    stage = None
            self.dirs[parent] = stage
        return path if stage is None else os.path.join(stage, name)

    def commit(self) -> dict[str, OSError]:
        """Every staging folder into place; returns the files that could not be placed
        (final path -> error; they are gone)."""
        failed: dict[str, OSError] = {}
        for final, stage in self.dirs.items():
            if stage is None:
                continue
            try:
                os.rename(stage, final)  # fails if the folder exists (and is not empty) now
                continue
            except OSError:
                pass
            names = sorted(os.listdir(stage))
            try:
                os.makedirs(final, exist_ok=True)
            except OSError as e:  # the folder's name is taken by a file: none of them can go in
                failed.update((os.path.join(final, name), e) for name in names)
                names = []
            for name in names:
                try:
                    os.replace(os.path.join(stage, name), os.path.join(final, name))
                except OSError as e:
                    failed[os.path.join(final, name)] = e
            shutil.rmtree(stage, ignore_errors=True)
        self.dirs.clear()
        return failed

    def abort(self) -> None:
        for stage in self.dirs.values():
            if stage is not None:
                shutil.rmtree(stage, ignore_errors=True)
        self.dirs.clear()


def remove_stale_temp(root: str | Path) -> int:
    """Delete temp files (and staging folders) an interrupted run left behind; returns how many."""
    if storage.is_url(root):
        return storage.remove_stale_temp(root)
    n = 0
    for dirpath, dirs, names in os.walk(root):
        for name in names:
            if _is_temp(name):
                try:
                    os.unlink(os.path.join(dirpath, name))
                    n += 1
                except OSError:
                    pass
        for name in [d for d in dirs if _is_temp(d)]:
            dirs.remove(name)
            shutil.rmtree(os.path.join(dirpath, name), ignore_errors=True)
            n += 1
    return n


def _non_finite(rec: object) -> bool:
    """Whether a NaN or an infinity is anywhere in the record (no recursion: records nest deep)."""
    stack = [rec]
    while stack:
        x = stack.pop()
        if isinstance(x, float):
            if not math.isfinite(x):
                return True
        elif isinstance(x, dict):
            stack.extend(x.values())
        elif isinstance(x, (list, tuple)):
            stack.extend(x)
    return False


def json_line(rec: object, fast: bool = True) -> bytes:
    """One compact JSON line, UTF-8. orjson when it can say the same thing; the
    standard library for what orjson would change or refuse (NaN, integers over
    64 bits, lone surrogates, which stay escaped)."""
    if fast:
        try:
            out = orjson.dumps(rec)
            if b"null" not in out or not _non_finite(rec):  # orjson writes NaN and infinities as null
                return out + b"\n"
        except (TypeError, orjson.JSONEncodeError):
            pass
    try:
        return json.dumps(rec, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"
    except UnicodeEncodeError:
        return json.dumps(rec, separators=(",", ":")).encode("ascii") + b"\n"


def audit_line(rec: dict[str, Any]) -> bytes:
    """A line of the audit (removed.jsonl): as json_line, but strict UTF-8 JSON that any parser
    reads: lone surrogates (an undecodable byte of a file name, an escape in a JSONL record)
    are escaped as text (escape.printable), not as JSON escapes that strict parsers refuse."""
    try:
        return orjson.dumps(rec) + b"\n"
    except (TypeError, orjson.JSONEncodeError):
        return json_line(escape.deep(rec))


def utf8(s: str) -> bytes:
    """Text for a UTF-8 output (a .txt file): lone surrogates, which UTF-8 cannot carry, as U+FFFD."""
    try:
        return s.encode("utf-8")
    except UnicodeEncodeError:
        return escape.replace_surrogates(s).encode("utf-8")


OUTPUT_FORMATS = ("same", "txt", "jsonl", "jsonl.gz", "jsonl.zst", "parquet")


def _jsonable(v: Any) -> Any:
    return str(v) if not isinstance(v, (str, int, float, bool, type(None), list, dict)) else v


class ShardWriter:
    """Records into part-00000.jsonl[.gz|.zst] / part-00000.parquet, `shard_size` per file."""

    def __init__(self, root: Path, fmt: str, shard_size: int) -> None:
        self.root = root
        self.fmt = fmt
        self.shard_size = shard_size
        self.buffer: list[dict[str, Any]] = []
        self.count = 0
        self.written: list[str] = []
        self._ctx: Any = None
        self._fh: Any = None

    def _name(self) -> str:
        return f"part-{len(self.written):05d}.{self.fmt}"

    def add(self, rec: dict[str, Any]) -> None:
        if self.fmt == "parquet":
            self.buffer.append(rec)
        else:
            if self._fh is None:
                name = self._name()
                self._ctx = _ShardFile(self.root / name)
                self._fh = self._ctx.open()
                self.written.append(name)
            self._fh.write(json_line({k: _jsonable(v) for k, v in rec.items()}))
        self.count += 1
        if self.count == self.shard_size:
            self.flush()

    def flush(self) -> None:
        if self.fmt == "parquet":
            if self.buffer:
                name = self._name()
                _write_parquet_records(self.root / name, self.buffer)
                self.written.append(name)
                self.buffer = []
        elif self._ctx is not None:
            self._ctx.close()
            self._ctx = self._fh = None
        self.count = 0

    def abort(self) -> None:
        if self._ctx is not None:
            self._ctx.close(ok=False)
            self._ctx = self._fh = None


class _ShardFile:
    def __init__(self, path: Path) -> None:
        self.path = path

    def open(self) -> IO[bytes]:
        self._aw = atomic_writer(self.path)
        raw = self._aw.__enter__()
        self._cw = compression.compressing(raw, compression.of_name(self.path.name))
        return self._cw.__enter__()

    def close(self, ok: bool = True) -> None:
        exc: tuple[Any, Any, Any] = (None, None, None) if ok else (RuntimeError, RuntimeError("aborted"), None)
        try:
            self._cw.__exit__(*exc)
        finally:
            try:
                self._aw.__exit__(*exc)
            except RuntimeError:
                pass


def _write_parquet_records(path: Path, records: list[dict[str, Any]]) -> None:
    import pyarrow.parquet as pq

    try:
        table = _records_table(records)
    except UnicodeEncodeError:  # Arrow strings are UTF-8: lone surrogates (from JSON escapes) as U+FFFD
        table = _records_table(escape.deep(records, escape.replace_surrogates))
    with atomic_writer(path) as fh:
        pq.write_table(table, fh)


def _records_table(records: list[dict[str, Any]]) -> Any:
    import pyarrow as pa

    try:
        return pa.Table.from_struct_array(pa.array(records))
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        # fields of different types across inputs: keep them as JSON text
        keys = list(dict.fromkeys(k for r in records for k in r))
        return pa.table({k: pa.array([None if r.get(k) is None else
                                      (r[k] if isinstance(r[k], str) else json.dumps(_jsonable(r[k]), default=str))
                                      for r in records], pa.string()) for k in keys})
