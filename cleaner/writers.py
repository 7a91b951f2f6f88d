"""Writing cleaned files atomically (temp file + rename), in the input's format."""

from __future__ import annotations

import gzip
import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from .document import Document
from .readers import InputFile

TEMP_MARK = ".cleaner-tmp"


def _file_mode() -> int:
    """Mode for new files under the current umask (mkstemp would make them 0600)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


_MODE = _file_mode()


@contextmanager
def atomic_writer(path: str | Path) -> Iterator[IO[bytes]]:
    """A binary file handle whose content appears at `path` only if the block
    completes; on any error the temp file is removed and `path` is untouched."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:80]}.", suffix=TEMP_MARK, dir=path.parent)
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, _MODE)
        with os.fdopen(fd, "wb") as fh:
            yield fh
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def remove_stale_temp(root: str | Path) -> int:
    """Delete temp files an interrupted run left behind; returns how many."""
    n = 0
    for dirpath, _, names in os.walk(root):
        for name in names:
            if name.startswith(".") and name.endswith(TEMP_MARK):
                try:
                    os.unlink(os.path.join(dirpath, name))
                    n += 1
                except OSError:
                    pass
    return n


def json_line(rec: object) -> bytes:
    """One JSON line, UTF-8; lone surrogates (from \\ud800-style escapes) stay escaped."""
    try:
        return json.dumps(rec, ensure_ascii=False).encode("utf-8") + b"\n"
    except UnicodeEncodeError:
        return json.dumps(rec).encode("ascii") + b"\n"


@contextmanager
def _compressed(fh: IO[bytes], name: str) -> Iterator[IO[bytes]]:
    lower = name.lower()
    if lower.endswith(".gz"):
        # mtime=0 and no file name in the header: same input, same bytes
        with gzip.GzipFile(filename="", mode="wb", fileobj=fh, mtime=0) as gz:
            yield gz  # type: ignore[misc]
    elif lower.endswith((".zst", ".zstd")):
        import zstandard

        with zstandard.ZstdCompressor(level=3).stream_writer(fh, closefd=False) as z:
            yield z
    else:
        yield fh


def write_output(path: str, src: InputFile, docs: Sequence[tuple[Document, list[int]]], text_field: str) -> None:
    """Write the kept paragraphs of `docs` to `path` in the input file's format."""
    with atomic_writer(path) as raw, _compressed(raw, path if src.kind == "jsonl" else "") as fh:
        if src.kind == "jsonl":
            for doc, kept in docs:
                rec = dict(doc.metadata)
                rec[text_field] = doc.separator.join(doc.paragraphs[i] for i in kept)
                fh.write(json_line(rec))
        else:
            for doc, kept in docs:
                for i in kept:
                    fh.write(doc.paragraphs[i].encode("utf-8") + b"\n")
