"""Parquet files: a document per row, its text in column --text-field; every other column keeps its type."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from .. import readers, storage, writers
from ..document import Document, ItemError
from ..readers import InputFile, Part, ReadError
from .base import COPIES_FIELD, Format, Kept, kept_text
from .jsonl import record_document


def plan_parquet_parts(f: InputFile, rows_per_part: int | None = None) -> list[Part]:
    """Row-group ranges [start, end) of a Parquet file (readers.PARQUET_PART_ROWS rows
    each), first_line = first row (1-based)."""
    rows_per_part = rows_per_part or readers.PARQUET_PART_ROWS
    try:
        import pyarrow.parquet as pq

        with readers._open_file(f.path) as fh:
            stamp = readers.stamp_of(fh)
            md = pq.ParquetFile(fh).metadata
    except Exception:
        return [Part(0, None, 1)]  # the reader reports the error
    parts, start, rows, first = [], 0, 0, 1
    for g in range(md.num_row_groups):
        rows += md.row_group(g).num_rows
        if rows >= rows_per_part or g == md.num_row_groups - 1:
            parts.append(Part(start, g + 1, first))
            first += rows
            start, rows = g + 1, 0
    if len(parts) > 1:  # the row groups of this file only
        parts = [replace(p, stamp=stamp) for p in parts]
    return parts or [Part(0, 0, 1)]


def iter_parquet(f: InputFile, max_bytes: int, text_field: str, id_field: str, part: Part | None = None,
                 skip: frozenset[int] = frozenset()) -> Iterator[Document | ItemError]:
    """Rows of a Parquet file (or of a range of its row groups) as documents; the
    text is column `text_field`, every column is kept in the document's metadata."""
    part = part or Part(0, None, 1)
    with readers._open_file(f.path) as fh, readers.unchanged(fh, part):
        yield from _rows(fh, f, max_bytes, text_field, id_field, part, skip)


def _rows(fh: Any, f: InputFile, max_bytes: int, text_field: str, id_field: str, part: Part,
          skip: frozenset[int]) -> Iterator[Document | ItemError]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(fh)
        names = pf.schema_arrow.names
    except (pa.ArrowException, OSError, ValueError) as e:
        raise ReadError(f"not a readable Parquet file: {_one_line(e)}") from None
    if text_field not in names:
        raise ReadError(f"no column {text_field!r} (see --text-field); columns: {', '.join(names)}")
    _check_text_type(pf.schema_arrow.field(text_field).type, text_field)
    end = pf.metadata.num_row_groups if part.end is None else part.end
    n = part.first_line - 1
    errors = (pa.ArrowException, OSError, ValueError)
    for g in range(part.start, end):
        try:
            table = pf.read_row_group(g)
        except errors as e:
            raise _bad_group(g, e, n) from None
        for batch in table.to_batches(max_chunksize=4096):
            try:
                cols = batch.to_pydict()
            except errors as e:  # a value Arrow reads but cannot convert
                raise _bad_group(g, e, n) from None
            keys = list(cols)
            for k in range(batch.num_rows):
                n += 1
                if n in skip:
                    continue
                rec = {c: cols[c][k] for c in keys}
                text = rec.get(text_field)
                if isinstance(text, str) and len(text) > max_bytes:
                    yield ItemError(f.rel, f"text longer than --max-bytes ({max_bytes:,}); skipped", n)
                    continue
                try:
                    yield record_document(rec, f, n, text_field, id_field, "column")
                except ReadError as e:
                    yield ItemError(f.rel, str(e), e.line)


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split())  # Arrow's messages run over several lines


def _bad_group(g: int, e: BaseException, n: int) -> ReadError:
    return ReadError(f"cannot read row group {g}: {_one_line(e)} (after row {n})", n + 1)


def _check_text_type(t: Any, text_field: str) -> None:
    """The text column holds strings (or is dictionary-encoded strings); a column of another
    type is one error for the file, not one per row."""
    import pyarrow as pa

    if pa.types.is_dictionary(t):
        t = t.value_type
    is_view = getattr(pa.types, "is_string_view", lambda _: False)
    if not (pa.types.is_string(t) or pa.types.is_large_string(t) or is_view(t)):
        raise ReadError(f"column {text_field!r} is of type {t}, expected strings (see --text-field)")


def write_like_source(path: str, src: InputFile, docs: Kept, text_field: str, part: Part | None = None) -> None:
    """The source table (or the row groups of `part`) with removed rows left out
    and the text column replaced; every other column keeps its type."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    first = 1
    # a file object, not the path: pyarrow cannot open a path that is not valid UTF-8
    with readers._open_file(src.path) as source:
        try:
            if part is not None and (part.start or part.end is not None):
                pf = pq.ParquetFile(source)
                end = pf.metadata.num_row_groups if part.end is None else part.end
                table = pf.read_row_groups(list(range(part.start, end)))
                first = part.first_line
            else:
                table = pq.read_table(source)
        except (pa.ArrowException, OSError, ValueError):
            # a bad row group (reported by the reader, which stopped there): the groups read before it
            table, first = _groups_holding(source, part or Part(), max((d.record or 1) for d, _ in docs))
    rows = [doc.record - first for doc, _ in docs if doc.record is not None]
    texts = [kept_text(doc, kept) for doc, kept in docs]
    table = table.take(pa.array(rows, type=pa.int64()))
    col = table.schema.get_field_index(text_field)
    table = table.set_column(col, table.schema.field(col).with_type(pa.string()), pa.array(texts, pa.string()))
    if docs and COPIES_FIELD in docs[0][0].metadata:  # --annotate
        copies = pa.array([doc.metadata[COPIES_FIELD] for doc, _ in docs], pa.int64())
        at = table.schema.get_field_index(COPIES_FIELD)
        table = table.append_column(COPIES_FIELD, copies) if at < 0 else \
            table.set_column(at, pa.field(COPIES_FIELD, pa.int64()), copies)
    with writers.atomic_writer(path) as fh:
        pq.write_table(table, fh)


def _groups_holding(source: Any, part: Part, last_row: int) -> tuple[Any, int]:
    """The row groups of `part` up to the one holding row `last_row` (1-based), and the
    first row of the first of them."""
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(source)
    rows, groups = part.first_line - 1, []
    for g in range(part.start, pf.metadata.num_row_groups if part.end is None else part.end):
        groups.append(g)
        rows += pf.metadata.row_group(g).num_rows
        if rows >= last_row:
            break
    return pf.read_row_groups(groups), part.first_line


class Parquet(Format):
    name = "parquet"
    extensions = frozenset({".parquet"})
    compressible = False  # compressed inside
    rereads_input = True  # the output is the input table without the removed rows: every column keeps its type

    def plan(self, f: InputFile) -> list[Part]:
        return plan_parquet_parts(f)

    def read(self, f: InputFile, cfg: Any, part: Part | None = None, skip: frozenset[int] = frozenset(),
             counts: dict[str, int] | None = None) -> Iterator[Document | ItemError]:
        return iter_parquet(f, cfg.max_bytes, cfg.text_field, cfg.id_field, part, skip)

    def write(self, path: str, f: InputFile, docs: Kept, text_field: str, part: Part | None = None) -> None:
        write_like_source(path, f, docs, text_field, part)

    def record(self, doc: Document, kept: list[int], text_field: str) -> dict[str, Any]:
        rec = dict(doc.metadata)
        rec[text_field] = kept_text(doc, kept)
        return rec

    def part_suffix(self, f: InputFile) -> str:
        return ".parquet"

    def join(self, final: Path, parts: list[Path]) -> None:
        import pyarrow.parquet as pq

        with writers.atomic_writer(final) as fh:
            writer = None
            for p in parts:
                with storage.open_read(p) as part:  # a file object: pyarrow cannot open a path that is not UTF-8
                    table = pq.read_table(part)
                if writer is None:
                    writer = pq.ParquetWriter(fh, table.schema)
                writer.write_table(table)
            if writer is not None:
                writer.close()
