"""Compressed files (gzip, zstd): which suffixes mean what, bounded reading, deterministic writing."""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, Any

# File name suffix -> compression; the only list of them.
SUFFIXES = {".gz": "gz", ".zst": "zst", ".zstd": "zst"}
# What a compressed output is named with.
OUTPUT_SUFFIX = {"gz": ".gz", "zst": ".zst"}
NAMES = {"gz": "gzip", "zst": "zstd"}

# Below this many decompressed bytes the expansion ratio is not checked.
BOMB_CHECK_FROM = 8 * 1024 * 1024


def split_suffix(name: str) -> tuple[str, str | None]:
    """("a/b.jsonl", "gz") for "a/b.jsonl.gz"; (name, None) when not compressed."""
    lower = name.lower()
    for ext, comp in SUFFIXES.items():
        if lower.endswith(ext):
            return name[: -len(ext)], comp
    return name, None


def of_name(name: str) -> str | None:
    return split_suffix(name)[1]


class _Bounded(io.RawIOBase):
    """A decompressed stream that refuses to grow past `limit` bytes (gzip bombs)."""

    def __init__(self, inner: IO[bytes], limit: int, what: str, error: Callable[[str], Exception]) -> None:
        self.inner = inner
        self.limit = limit
        self.what = what
        self.error = error
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        data = self.inner.read(len(b))
        n = len(data)
        self.count += n
        if self.count > self.limit:
            raise self.error(f"decompresses to more than {self.limit:,} bytes ({self.what}); "
                            "a compression bomb? (see --max-ratio)")
        b[:n] = data
        return n

    def close(self) -> None:
        self.inner.close()
        super().close()


class _Gunzip(io.RawIOBase):
    """gzip decompression that hands out everything before a truncation or
    corruption, then raises (GzipFile loses the last block it was reading)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.d = zlib.decompressobj(wbits=31)
        self.pending = b""
        self.done = False
        self.started = False

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        while not self.pending and not self.done:
            chunk = self.raw.read(1 << 16)
            if not chunk:
                self.done = True
                if self.started and not self.d.eof:
                    if self.pending:
                        break
                    raise EOFError("compressed file ended before the end-of-stream marker")
                break
            self.started = True
            data = chunk
            while data:
                self.pending += self.d.decompress(data)
                data = b""
                if self.d.eof and self.d.unused_data:
                    data = self.d.unused_data
                    if not data.strip(b"\0"):
                        break
                    self.d = zlib.decompressobj(wbits=31)
        n = min(len(b), len(self.pending))
        b[:n] = self.pending[:n]
        self.pending = self.pending[n:]
        return n

    def close(self) -> None:
        self.raw.close()
        super().close()


def decompressing(raw: IO[bytes], compression: str, size: int, max_ratio: int,
                  error: Callable[[str], Exception]) -> IO[bytes]:
    """A buffered reader of the decompressed content of `raw` (`size` bytes on disk),
    which raises error(message) past max_ratio times that size (from BOMB_CHECK_FROM)."""
    inner: IO[bytes]
    if compression == "gz":
        inner = _Gunzip(raw)  # type: ignore[assignment]
    else:
        import zstandard

        inner = zstandard.ZstdDecompressor().stream_reader(raw, closefd=True)
    limit = max(BOMB_CHECK_FROM, max_ratio * size)
    return io.BufferedReader(_Bounded(inner, limit, f"{max_ratio}x its {size:,} bytes", error), 1 << 20)


ERRORS: tuple[type[BaseException], ...] = (EOFError, zlib.error, gzip.BadGzipFile)


def is_error(e: BaseException) -> bool:
    """A decompression error (corrupt or truncated data) of either library."""
    return isinstance(e, ERRORS) or type(e).__module__.startswith("zstandard")


@contextmanager
def compressing(fh: IO[bytes], compression: str | None) -> Iterator[IO[bytes]]:
    """Writes to `fh`, compressed; the same input gives the same bytes."""
    if compression == "gz":
        # mtime=0 and no file name in the header
        with gzip.GzipFile(filename="", mode="wb", fileobj=fh, mtime=0) as gz:
            yield gz  # type: ignore[misc]
    elif compression == "zst":
        import zstandard

        with zstandard.ZstdCompressor(level=3).stream_writer(fh, closefd=False) as z:
            yield z
    else:
        yield fh
