"""Input files: what one is (InputFile, Part), opening it with bounded decompression, decoding text.

The formats (cleaner/formats/) read documents through these; the reading
thresholds (parts of large files, compression bombs) are set here.
"""

from __future__ import annotations

import codecs
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO

from . import compression, storage
from .slots import pickled_by_fields

# Uncompressed JSONL files larger than this are read in parts, in parallel.
PART_BYTES = 32 * 1024 * 1024
# Rows per task when a Parquet file is read in parts (whole row groups).
PARQUET_PART_ROWS = 50_000


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class InputFile:
    rel: str  # path relative to the input root, '/'-separated
    path: str  # path to open
    kind: str  # its format's name (cleaner/formats/): "text" | "html" | "jsonl" | "parquet" | "warc"
    compression: str | None
    out_rel: str  # where the cleaned file goes, relative to the output root


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Part:
    """The share of a file one task reads: a byte range of an uncompressed JSONL file
    (start, end) or a range of Parquet row groups; first_line: its first record (1-based).
    A file split into parts carries the stamp (size, mtime) it had when it was split."""

    start: int = 0
    end: int | None = None
    first_line: int = 1
    stamp: tuple[int, int] | None = None


class ReadError(Exception):
    """A whole file cannot be read; the message says why (and where)."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


CHANGED = "changed while it was being read (its size or modification time); run again to clean it as it is now"


_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_OPEN_FLAGS = os.O_RDONLY | _NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)


def _open_fd(path: str) -> tuple[int, os.stat_result]:
    """The file's descriptor, for reading, and its stat. What discovery found may be gone
    or replaced by the time a worker reads it: a FIFO in its place would block open() for
    ever (hence O_NONBLOCK; reads of a regular file ignore it)."""
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except FileNotFoundError:
        raise ReadError("cannot read: the file is gone (deleted or renamed since the run found it)") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ReadError("cannot read: no longer a regular file (replaced since the run found it)")
    except BaseException:
        os.close(fd)
        raise
    return fd, st


def _open_file(path: str) -> IO[bytes]:
    if storage.is_url(path):
        try:
            return storage.open_input(path)
        except FileNotFoundError:
            raise ReadError("cannot read: the object is gone (deleted or renamed since the run found it)") from None
    fd = _open_fd(path)[0]
    if _NONBLOCK:  # for the readers that get a file object (and may hand it on)
        os.set_blocking(fd, True)
    return open(fd, "rb")  # noqa: SIM115 - closed by the caller through the wrapper


def stamp_of(fh: IO[bytes]) -> tuple[int, int]:
    """(size, mtime) of an open file: what tells that it changed while it was read."""
    try:
        st = os.fstat(fh.fileno())
    except (OSError, ValueError):
        remote = storage.handle_stamp(fh)  # an object of remote storage has no descriptor
        if remote is None:
            raise
        return remote
    return st.st_size, st.st_mtime_ns


@contextmanager
def unchanged(fh: IO[bytes], part: Part | None = None) -> Iterator[None]:
    """Raise ReadError(CHANGED) if the file changes while the block reads it (a rewrite in
    place: a file replaced by rename is read whole, as it was), or if it is no longer the
    file that was split into `part`."""
    before = stamp_of(fh)
    if part is not None and part.stamp is not None and part.stamp != before:
        raise ReadError("changed since the run split it into parts; run again to clean it as it is now")
    try:
        yield
    except ReadError:
        if stamp_of(fh) != before:  # the break comes from the change
            raise ReadError(CHANGED) from None
        raise
    if stamp_of(fh) != before:
        raise ReadError(CHANGED)


def open_binary(f: InputFile, max_ratio: int = 200, offset: int = 0) -> IO[bytes]:
    """The file's (decompressed) bytes; a compressed file may not expand past max_ratio."""
    raw = _open_file(f.path)
    if offset:
        raw.seek(offset)
    if f.compression is None:
        return raw
    return compression.decompressing(raw, f.compression, stamp_of(raw)[0], max_ratio, ReadError)


def decompress_error(f: InputFile, e: BaseException) -> ReadError:
    kind = compression.NAMES.get(f.compression or "", "compressed")
    return ReadError(f"corrupt or truncated {kind} data ({type(e).__name__}: {e})")


def read_bytes(f: InputFile, max_bytes: int, max_ratio: int = 200) -> bytes:
    """The whole (decompressed) file, refusing more than max_bytes. A compressed file that
    breaks off is refused with the line (and byte) where it broke."""
    if f.compression is None and not storage.is_url(f.path):
        data = _read_plain(f.path, max_bytes)
    else:  # compressed, or an object of remote storage (read as a stream, in pieces)
        with open_binary(f, max_ratio) as fh, unchanged(fh):
            chunks: list[bytes] = []
            size = 0
            try:
                while size <= max_bytes:
                    # read1: one decompressed piece at a time, so that the position of a break is known
                    chunk = fh.read1(min(1 << 20, max_bytes + 1 - size))  # type: ignore[attr-defined]
                    if not chunk:
                        break
                    chunks.append(chunk)
                    size += len(chunk)
            except ReadError:
                raise
            except Exception as e:  # zlib, gzip and zstandard errors
                if compression.is_error(e):
                    line = sum(c.count(b"\n") for c in chunks) + 1
                    raise ReadError(f"{decompress_error(f, e)} after {size:,} bytes", line) from None
                raise
            data = b"".join(chunks)
    if len(data) > max_bytes:
        raise ReadError(f"larger than --max-bytes ({max_bytes:,} bytes{' decompressed' if f.compression else ''})")
    return data


def _read_plain(path: str, max_bytes: int) -> bytes:
    """An uncompressed file whole (up to max_bytes + 1 bytes), refused if it changes while
    read. It asks for the size fstat gives rather than for max_bytes + 1: a read of n bytes
    allocates n first, and a folder of small files paid 27 us a file for a 256 MiB buffer."""
    fd, st = _open_fd(path)
    try:
        want = min(st.st_size, max_bytes) + 1
        chunks = [os.read(fd, want)]
        size = len(chunks[0])
        # the whole file came (a short read of a regular file is its end); else it grew, or a
        # read came short before the end: the rest, bounded
        while chunks[-1] and size <= max_bytes and (size >= want or size < st.st_size):
            chunks.append(os.read(fd, min(1 << 20, max_bytes + 1 - size)))
            size += len(chunks[-1])
        after = os.fstat(fd)
    finally:
        os.close(fd)
    if (after.st_size, after.st_mtime_ns) != (st.st_size, st.st_mtime_ns):
        raise ReadError(CHANGED)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
)


def decode_text(data: bytes, encoding: str | None = None) -> str:
    """Decode file bytes: a BOM decides, else UTF-8 (or `encoding`); binary is refused."""
    if encoding is None:
        for bom, enc in _BOMS:
            if data.startswith(bom):
                encoding = enc
                break
    if encoding is None:
        if b"\x00" in data[:65536]:
            raise ReadError("binary file (NUL bytes), not text")
        encoding = "utf-8"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise ReadError(f"not valid {encoding.upper()} (byte {e.start}); "
                        f"pass --encoding if the file uses another one", line) from None
    except LookupError:
        raise ReadError(f"unknown encoding {encoding!r}") from None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise ReadError("binary content (NUL character)", line)
    return text
