"""WARC files (.warc, .arc; warcio decompresses them): a page per HTML response record, written as JSONL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .. import compression, readers
from ..document import Document, ItemError
from ..readers import InputFile, Part, ReadError
from .base import Format, Kept, kept_text
from .jsonl import write_records


def iter_warc(f: InputFile, max_bytes: int, skip: frozenset[int] = frozenset(),
              counts: dict[str, int] | None = None) -> Iterator[Document | ItemError]:
    """HTML response records of a WARC file, as pages to extract; id = target URI.

    Other records (requests, metadata, non-HTML responses) are counted in `counts`.
    """
    try:
        from warcio.archiveiterator import ArchiveIterator
        from warcio.exceptions import ArchiveLoadFailed
    except ImportError:
        raise ReadError("reading WARC files needs warcio: pip install warcio") from None
    counts = counts if counts is not None else {}
    n = 0
    try:
        with readers._open_file(f.path) as fh:
            for rec in ArchiveIterator(fh):
                n += 1
                if rec.rec_type != "response" or rec.http_headers is None:
                    counts["not a response"] = counts.get("not a response", 0) + 1
                    continue
                ctype = (rec.http_headers.get_header("Content-Type") or "").lower()
                if "html" not in ctype:
                    counts["not HTML"] = counts.get("not HTML", 0) + 1
                    continue
                if n in skip:
                    continue
                body = rec.content_stream().read(max_bytes + 1)
                if len(body) > max_bytes:
                    yield ItemError(f.rel, f"record larger than --max-bytes ({max_bytes:,}); skipped", n)
                    continue
                url = rec.rec_headers.get_header("WARC-Target-URI") or ""
                meta = {"url": url, "warc_record_id": rec.rec_headers.get_header("WARC-Record-ID"),
                        "warc_date": rec.rec_headers.get_header("WARC-Date")}
                if not body.strip():
                    yield ItemError(f.rel, f"empty response body for {url}", n)
                    continue
                yield Document(id=url or f"{f.rel}:{n}", source=f.rel, paragraphs=[], lines=[], record=n,
                               metadata=meta, html=body)
    except ArchiveLoadFailed as e:
        raise ReadError(f"not a readable WARC file: {e} (after record {n})", n + 1) from None
    except compression.ERRORS as e:
        raise ReadError(f"corrupt or truncated WARC data ({type(e).__name__}: {e}) after record {n}", n + 1) from None


class Warc(Format):
    """crawl.warc.gz -> crawl.jsonl.gz: records keep their id, URL, record id and date."""

    name = "warc"
    extensions = frozenset({".warc", ".arc"})

    def output_name(self, rel: str, compressed: str | None) -> str:
        base = compression.split_suffix(rel)[0] if compressed else rel
        return base[: base.rfind(".")] + ".jsonl" + compression.OUTPUT_SUFFIX.get(compressed or "", "")

    def read(self, f: InputFile, cfg: Any, part: Part | None = None, skip: frozenset[int] = frozenset(),
             counts: dict[str, int] | None = None) -> Iterator[Document | ItemError]:
        return iter_warc(f, cfg.max_bytes, skip, counts)

    def write(self, path: str, f: InputFile, docs: Kept, text_field: str, part: Part | None = None) -> None:
        write_records(path, self, docs, text_field)

    def record(self, doc: Document, kept: list[int], text_field: str) -> dict[str, Any]:
        return {"id": doc.id, **doc.metadata, text_field: kept_text(doc, kept)}
