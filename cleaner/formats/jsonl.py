"""JSON Lines (.jsonl, .ndjson): a document per record, its text in --text-field; other fields pass through."""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from typing import Any

import orjson

from .. import compression, readers, storage, writers
from ..document import Document, ItemError, split_record
from ..escape import printable
from ..readers import InputFile, Part, ReadError
from .base import Format, Kept, kept_text


def _type_name(v: Any) -> str:
    return {dict: "an object", list: "an array", int: "a number", float: "a number",
            bool: "a boolean", type(None): "null"}.get(type(v), type(v).__name__)


# 19 digits or more: a number that may not fit in 64 bits (or digits inside a string: the
# standard library reads those the same, only slower)
_LONG_NUMBER = re.compile(rb"\d{19}")


def parse_record(line: bytes, f: InputFile, n: int, text_field: str, id_field: str) -> Document:
    """One JSONL line to a document; raises ReadError (with the line) if it is not usable.

    orjson reads standard JSON fast; what it refuses (NaN, integers over 64
    bits, escaped lone surrogates, deep nesting, invalid UTF-8) goes through the
    standard library, for the same result or a precise error.
    """
    try:
        if _LONG_NUMBER.search(line):  # orjson reads an integer over 64 bits as a float: precision lost
            raise orjson.JSONDecodeError("integer over 64 bits", "", 0)
        rec = orjson.loads(line)
        strict = True
    except orjson.JSONDecodeError:
        strict = False
        try:
            s = line.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ReadError(f"record is not valid UTF-8 (byte {e.start} of the line)", n) from None
        try:
            rec = json.loads(s)
        except RecursionError:
            raise ReadError("record nested too deeply to parse", n) from None
        except ValueError as e:
            raise ReadError(f"invalid JSON: {e}", n) from None
    if not isinstance(rec, dict):
        raise ReadError(f"record is {_type_name(rec)}, expected a JSON object", n)
    doc = record_document(rec, f, n, text_field, id_field, "field")
    doc.strict_json = strict
    return doc


def record_document(rec: dict[str, Any], f: InputFile, n: int, text_field: str, id_field: str,
                    what: str = "field") -> Document:
    """A record (JSONL object, Parquet row) to a document; ReadError if its text is unusable."""
    if text_field not in rec:
        raise ReadError(f"record has no {text_field!r} {what} (see --text-field)", n)
    text = rec[text_field]
    if not isinstance(text, str):
        raise ReadError(f"{what} {text_field!r} is {_type_name(text)}, expected a string", n)
    if not text.strip():
        raise ReadError(f"{what} {text_field!r} is empty" if not text else f"{what} {text_field!r} is only white space", n)
    rid = rec.get(id_field)
    if isinstance(rid, bool) or not isinstance(rid, (str, int)) or rid == "":
        doc_id = f"{printable(f.rel)}:{n}"
    else:
        doc_id = str(rid)
    paras, lines, gaps = split_record(text)
    return Document(id=doc_id, source=f.rel, paragraphs=paras, lines=lines, record=n,
                    metadata=rec, gaps=gaps)


def plan_parts(f: InputFile, part_bytes: int | None = None) -> list[Part]:
    """Split a large uncompressed JSONL file at line ends (readers.PART_BYTES); one part otherwise."""
    part_bytes = part_bytes or readers.PART_BYTES
    if f.compression is not None:
        return [Part()]
    try:
        stamp = storage.stamp(f.path)
    except OSError:
        return [Part()]
    size = stamp[0]
    if size <= part_bytes:
        return [Part()]
    try:
        return _split(f, size, part_bytes, stamp)
    except OSError:  # gone since discovery: the reader says so
        return [Part()]


def _split(f: InputFile, size: int, part_bytes: int, stamp: tuple[int, int]) -> list[Part]:
    parts = []
    start, line = 0, 1
    with storage.open_read(f.path) as fh:
        while start < size:
            fh.seek(min(start + part_bytes, size))
            if fh.tell() < size:
                fh.readline()
            end = fh.tell()
            parts.append(Part(start, end, line, stamp))  # the parts fit this file only
            fh.seek(start)
            remaining = end - start
            while remaining:
                chunk = fh.read(min(remaining, 16 << 20))
                if not chunk:
                    break
                line += chunk.count(b"\n")
                remaining -= len(chunk)
            start = end
    return parts


def iter_jsonl(f: InputFile, max_bytes: int, text_field: str, id_field: str, part: Part | None = None,
               skip: frozenset[int] = frozenset(), max_ratio: int = 200) -> Iterator[Document | ItemError]:
    """Records of a JSONL file (or of one part); a bad record yields an ItemError and reading goes on.

    A file that cannot be opened or decompressed further raises ReadError after
    the records read so far (the line says where it broke off). Lines in `skip`
    are not parsed (records that hung or crashed a worker before).
    """
    part = part or Part()
    n = part.first_line - 1
    pos = part.start
    records = 0
    try:
        with readers.open_binary(f, max_ratio, part.start) as fh, readers.unchanged(fh, part):
            while part.end is None or pos < part.end:
                line = fh.readline(max_bytes + 1)
                if not line:
                    break
                pos += len(line)
                n += 1
                if len(line) > max_bytes and not line.endswith(b"\n"):
                    yield ItemError(f.rel, f"record longer than --max-bytes ({max_bytes:,} bytes); skipped", n)
                    while line and not line.endswith(b"\n"):
                        line = fh.readline(1 << 20)
                        pos += len(line)
                    continue
                if n == 1 and line.startswith(codecs.BOM_UTF8):
                    line = line[3:]
                if not line.strip():
                    continue
                records += 1
                if n in skip:
                    continue
                try:
                    yield parse_record(line, f, n, text_field, id_field)
                except ReadError as e:
                    yield ItemError(f.rel, str(e), e.line)
    except ReadError as e:
        raise ReadError(f"{e} (after line {n})", n + 1) from None
    except Exception as e:
        if compression.is_error(e):
            raise ReadError(str(readers.decompress_error(f, e)) + f" after line {n}", n + 1) from None
        raise
    if not records and part.start == 0 and part.end is None:  # the whole file, and nothing in it
        raise ReadError("empty file" if not pos else "no records (blank lines only)")


class Jsonl(Format):
    name = "jsonl"
    extensions = frozenset({".jsonl", ".ndjson"})

    def plan(self, f: InputFile) -> list[Part]:
        return plan_parts(f)

    def read(self, f: InputFile, cfg: Any, part: Part | None = None, skip: frozenset[int] = frozenset(),
             counts: dict[str, int] | None = None) -> Iterator[Document | ItemError]:
        return iter_jsonl(f, cfg.max_bytes, cfg.text_field, cfg.id_field, part, skip, cfg.max_ratio)

    def write(self, path: str, f: InputFile, docs: Kept, text_field: str, part: Part | None = None) -> None:
        write_records(path, self, docs, text_field)

    def record(self, doc: Document, kept: list[int], text_field: str) -> dict[str, Any]:
        rec = dict(doc.metadata)
        rec[text_field] = kept_text(doc, kept)
        return rec

    def given_up(self, message: str, attempt: int) -> str:
        # a retried task had read (and kept) the records before the one it failed on
        return f"{message}; the rest of this file after the records above was left out" if attempt \
            else super().given_up(message, attempt)


def write_records(path: str, fmt: Format, docs: Kept, text_field: str) -> None:
    """Kept documents as JSONL records, compressed as `path`'s suffix says."""
    with writers.atomic_writer(path) as raw, compression.compressing(raw, compression.of_name(path)) as fh:
        for doc, kept in docs:
            fh.write(writers.json_line(fmt.record(doc, kept, text_field), doc.strict_json))
