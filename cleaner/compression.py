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


class _Decompressing(io.RawIOBase):
    """Decompression that hands out everything before a truncation or corruption, then
    raises; concatenated gzip members and zstd frames are one stream, as for the gzip and
    zstd tools (a file written in parts is such a concatenation). GzipFile loses the last
    block it was reading, and zstandard's stream reader stops at the end of the first
    frame and takes a truncated frame for the end: neither says where data went missing."""

    piece = 1 << 14  # compressed bytes per call: bounds what one call makes, and what an error costs

    def __init__(self, raw: IO[bytes], new: Callable[[], Any], limit: int, what: str,
                 error: Callable[[str], Exception]) -> None:
        self.raw = raw
        self.new = new
        self.limit = limit  # decompressed bytes at most (compression bombs)
        self.what = what
        self.error = error
        self.count = 0
        self.d = new()
        self.fed = False  # the current member/frame has had data (an empty file is no stream at all)
        self.buf = memoryview(b"")
        self.pending = b""

    def readable(self) -> bool:
        return True

    def fileno(self) -> int:  # the compressed file's: for its size and mtime
        return self.raw.fileno()

    def _step(self) -> bool:
        """Decompress the next piece of input into `pending`; False at the end of the input."""
        data: Any
        if self.d.eof and self.d.unused_data:  # a member/frame ended inside the piece: the next one
            data = self.d.unused_data
            self.d, self.fed = self.new(), False
        else:
            if not self.buf:
                self.buf = memoryview(self.raw.read(1 << 16))
                if not self.buf:
                    if self.fed and not self.d.eof:
                        raise EOFError("compressed file ended before the end-of-stream marker")
                    return False
            data, self.buf = self.buf[:self.piece], self.buf[self.piece:]
            if self.d.eof:  # a member/frame ended with the piece before
                self.d, self.fed = self.new(), False
        if not self.fed and not bytes(data).strip(b"\0"):  # NUL padding after a member
            return True
        self.fed = True
        self.pending = self.d.decompress(data)
        return True

    def readinto(self, b: Any) -> int:
        while not self.pending:
            if not self._step():
                return 0
        n = min(len(b), len(self.pending))
        self.count += n
        if self.count > self.limit:
            raise self.error(f"decompresses to more than {self.limit:,} bytes ({self.what}); "
                             "a compression bomb? (see --max-ratio)")
        b[:n] = self.pending[:n]
        self.pending = self.pending[n:]
        return n

    def close(self) -> None:
        self.raw.close()
        super().close()


def _zstd() -> Any:
    import zstandard

    return zstandard.ZstdDecompressor().decompressobj()


def decompressing(raw: IO[bytes], compression: str, size: int, max_ratio: int,
                  error: Callable[[str], Exception]) -> IO[bytes]:
    """A buffered reader of the decompressed content of `raw` (`size` bytes on disk),
    which raises error(message) past max_ratio times that size (from BOMB_CHECK_FROM)."""
    limit = max(BOMB_CHECK_FROM, max_ratio * size)
    what = f"{max_ratio}x its {size:,} bytes"
    if compression == "gz":
        inner = _Decompressing(raw, lambda: zlib.decompressobj(wbits=31), limit, what, error)
    else:
        inner = _Decompressing(raw, _zstd, limit, what, error)
        inner.piece = 1 << 12  # a zstd block of 3 bytes can stand for 128 KiB: smaller pieces
    return io.BufferedReader(inner, 1 << 20)


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
