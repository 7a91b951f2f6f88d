"""WARC files (.warc, .arc; warcio decompresses them): a page per HTML response record, written as JSONL."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from typing import IO, Any

from .. import compression, readers
from ..document import Document, ItemError
from ..escape import printable
from ..readers import InputFile, Part, ReadError
from .base import Format, Kept
from .jsonl import write_records


class _Source:
    """The (decompressed) bytes warcio reads, counted, with decompression errors as ReadError:
    warcio takes an EOFError for the end of the file, which would hide a truncated .warc.gz."""

    def __init__(self, fh: IO[bytes], f: InputFile) -> None:
        self.fh = fh
        self.f = f
        self.pos = 0

    def read(self, size: int = -1) -> bytes:
        try:
            # read1: what is there, not a full block, so that the records before a break come out first
            data = self.fh.read1(size) if size > 0 else self.fh.read()  # type: ignore[attr-defined]
        except ReadError:
            raise
        except Exception as e:
            if compression.is_error(e):
                raise readers.decompress_error(self.f, e) from None
            raise
        self.pos += len(data)
        return data

    def tell(self) -> int:
        return self.pos


def _check_start(fh: IO[bytes], f: InputFile) -> None:
    """A .warc starts with a WARC record (an .arc with its file description): warcio reads
    any text as ARC records, so a file that is no archive would go through unnoticed."""
    try:
        head = fh.peek(64)[:64].lstrip(b"\r\n")  # type: ignore[attr-defined]
    except Exception as e:
        if compression.is_error(e):
            raise readers.decompress_error(f, e) from None
        raise
    if not head:
        raise ReadError("empty file")
    if not head.startswith((b"WARC/", b"filedesc://")):
        raise ReadError(f"not a WARC file: it starts with {head[:24]!r}")


def _body_or_error(rec: Any, f: InputFile, n: int, max_bytes: int) -> Document | ItemError | None:
    """The page of an HTML response, an error, or None for a response with an empty body."""
    body = rec.content_stream().read(max_bytes + 1)
    if len(body) > max_bytes:
        return ItemError(f.rel, f"record larger than --max-bytes ({max_bytes:,}); skipped", n)
    url = rec.rec_headers.get_header("WARC-Target-URI") or ""
    meta = {"url": url, "warc_record_id": rec.rec_headers.get_header("WARC-Record-ID"),
            "warc_date": rec.rec_headers.get_header("WARC-Date")}
    if not body.strip():
        return None
    return Document(id=url or f"{printable(f.rel)}:{n}", source=f.rel, paragraphs=[], lines=[], record=n,
                    metadata=meta, html=body)


def _check_complete(rec: Any, n: int) -> None:
    """A record whose content is shorter than its Content-Length says: the file ends inside it."""
    if rec.format == "warc":
        declared = rec.rec_headers.get_header("Content-Length")
        if declared is None or not declared.strip().isdigit():
            raise ReadError(f"record {n} has no valid Content-Length ({declared!r}): cut short in its headers?", n)
    while rec.raw_stream.read(1 << 16):  # what warcio would skip before the next record
        pass
    missing = getattr(rec.raw_stream, "limit", 0)
    if missing:
        raise ReadError(f"record {n} is cut short: the file ends {missing:,} bytes before its end", n)


def iter_warc(f: InputFile, max_bytes: int, skip: frozenset[int] = frozenset(),
              counts: dict[str, int] | None = None, max_ratio: int = 200) -> Iterator[Document | ItemError]:
    """HTML response records of a WARC file, as pages to extract; id = target URI.

    Other records (requests, metadata, non-HTML responses) are counted in `counts`. A
    file that breaks off (a truncated record, corrupt compression, something that is
    not a record) raises ReadError with the record where it broke, after the pages
    before it. The file is decompressed here (bounded, as every input), not by warcio.
    """
    try:
        from warcio.archiveiterator import ArchiveIterator
    except ImportError:
        raise ReadError("reading WARC files needs warcio: pip install warcio") from None
    counts = counts if counts is not None else {}
    n = 0
    try:
        with readers.open_binary(f, max_ratio) as fh, readers.unchanged(fh):
            _check_start(fh, f)
            src = _Source(fh, f)
            archive = ArchiveIterator(src)
            records = iter(archive)
            while True:
                warned = archive.err_count
                try:
                    # warcio prints its warnings on stderr: they become errors of the record instead
                    with contextlib.redirect_stderr(io.StringIO()):
                        rec = next(records)
                except StopIteration:
                    rec = None
                if archive.err_count > warned:  # found while skipping to the next record
                    yield ItemError(f.rel, f"record {n} is not followed by the blank lines that end a record "
                                           "(is its Content-Length wrong?)", n)
                if rec is None:
                    break
                n += 1
                item: Document | ItemError | None = None
                if rec.rec_type != "response" or rec.http_headers is None:
                    counts["not a response"] = counts.get("not a response", 0) + 1
                elif "html" not in (rec.http_headers.get_header("Content-Type") or "").lower():
                    counts["not HTML"] = counts.get("not HTML", 0) + 1
                elif not (status := (rec.http_headers.get_statuscode() or "").strip()).startswith("2"):
                    # redirects, not-found and server error pages: what the crawl was sent, not a page
                    key = f"HTTP status {status[:1]}xx" if status[:1].isdigit() else "no HTTP status"
                    counts[key] = counts.get(key, 0) + 1
                elif n not in skip:
                    item = _body_or_error(rec, f, n, max_bytes)
                    if item is None:  # 200 with nothing in it (a crawl fetch that got no page)
                        counts["empty body"] = counts.get("empty body", 0) + 1
                _check_complete(rec, n)
                if item is not None:
                    yield item
            if archive.offset < src.pos:  # warcio stops quietly when the file ends inside a record's headers
                raise ReadError(f"record {n + 1} is cut short in its headers", n + 1)
    except ReadError as e:
        if not n and e.line is None:  # before the first record: not an archive, empty, not decompressible
            raise
        where = f" (after record {n})" if "record" not in str(e) else ""
        raise ReadError(f"{e}{where}", e.line or n + 1) from None
    except (MemoryError, RecursionError):
        raise
    except OSError:
        raise
    except Exception as e:  # warcio's own errors, and its parsers' on what they did not expect
        msg = " ".join(str(e).split())[:200]
        if type(e).__name__ == "ArchiveLoadFailed":  # "Invalid WARC record, first line: ..."
            raise ReadError(f"record {n + 1}: {msg}", n + 1) from None
        raise ReadError(f"record {n + 1} is malformed or cut short ({type(e).__name__}: {msg})", n + 1) from None


class Warc(Format):
    """crawl.warc.gz -> crawl.jsonl.gz: records keep their id, URL, record id and date."""

    name = "warc"
    extensions = frozenset({".warc", ".arc"})

    def output_name(self, rel: str, compressed: str | None) -> str:
        base = compression.split_suffix(rel)[0] if compressed else rel
        return base[: base.rfind(".")] + ".jsonl" + compression.OUTPUT_SUFFIX.get(compressed or "", "")

    def read(self, f: InputFile, cfg: Any, part: Part | None = None, skip: frozenset[int] = frozenset(),
             counts: dict[str, int] | None = None) -> Iterator[Document | ItemError]:
        return iter_warc(f, cfg.max_bytes, skip, counts, cfg.max_ratio)

    def write(self, path: str, f: InputFile, docs: Kept, text_field: str, part: Part | None = None) -> None:
        write_records(path, self, docs, text_field)

