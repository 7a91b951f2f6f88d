"""What every input format provides: its names, its map tasks, reading and writing its files."""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, ClassVar

from .. import compression, storage, writers
from ..document import LINE_BREAK, Document, ItemError
from ..readers import InputFile, Part

# --annotate: the field of each output record that says how many copies the corpus had
COPIES_FIELD = "cleaner_copies"

Kept = Sequence[tuple[Document, list[int]]]  # documents with the indices of their kept paragraphs


def kept_text(doc: Document, kept: list[int]) -> str:
    """The text field of a kept record: its text with the other paragraphs cut out
    (Document.kept_text)."""
    return doc.kept_text(kept)


def write_lines(path: str | Path, docs: Kept) -> None:
    """Kept text as a plain text file (never compressed): each document's text with its removed
    paragraphs cut out (Document.kept_text: a text file's or record's blank lines and indentation
    stay; an HTML page's blocks a line each), ending in a line break."""
    text = "\n".join([doc.kept_text(kept) for doc, kept in docs if kept])
    if text:
        # the text's own line break (a file of \r\n lines ends in one too), "\n" for one line: a
        # property of the output alone, so that a second run writes the same bytes
        m = LINE_BREAK.search(text)
        text += m.group() if m else "\n"
    writers.write_bytes(str(path), writers.utf8(text) if text else b"")  # str: a Path or a RemotePath


class Format:
    """One input format. A file is recognised by its extension (after a .gz/.zst suffix
    where `compressible`), planned into map tasks, read into documents, and written
    back in the same format (--output-format same) or as records (jsonl/parquet)."""

    name: ClassVar[str]
    extensions: ClassVar[frozenset[str]]
    compressible: ClassVar[bool] = True
    one_document: ClassVar[bool] = False  # a file is one document (--output-format txt keeps its name)
    rereads_input: ClassVar[bool] = False  # write() reads the input file again (not only the documents)

    def recognise(self, ext: str, compressed: str | None) -> bool:
        return ext in self.extensions and (self.compressible or compressed is None)

    def output_name(self, rel: str, compressed: str | None) -> str:
        """Where the cleaned file goes, relative to the output root."""
        return rel

    def plan(self, f: InputFile) -> list[Part]:
        """How the file is split into map tasks."""
        return [Part()]

    def read(self, f: InputFile, cfg: Any, part: Part | None = None, skip: frozenset[int] = frozenset(),
             counts: dict[str, int] | None = None) -> Iterable[Document | ItemError]:
        """Its documents (or the part's), with the options of `cfg` (a Config); records in
        `skip` are left out; records that are not documents are counted in `counts`."""
        raise NotImplementedError

    def write(self, path: str, f: InputFile, docs: Kept, text_field: str, part: Part | None = None) -> None:
        """The kept paragraphs of `docs` to `path`, in this format (or a part of the file)."""
        raise NotImplementedError

    def record(self, doc: Document, kept: list[int], text_field: str) -> dict[str, Any]:
        """What a kept document becomes in JSONL/Parquet output (metadata: --annotate's field)."""
        return {"id": doc.id, **doc.metadata, text_field: kept_text(doc, kept)}

    def txt_name(self, f: InputFile, record: int | None) -> str:
        """With --output-format txt: record N of x.jsonl becomes x/0000000N.txt (the run has
        made out_rel the records' folder, discover.txt_folders)."""
        if self.one_document:
            return f.out_rel
        return f"{f.out_rel}/{record or 0:08d}.txt"

    def write_txt(self, out_root: Path, f: InputFile, docs: Kept) -> list[str]:
        """--output-format txt: one text file per document; returns what was written."""
        if self.one_document:
            write_lines(out_root / f.out_rel, docs)
            return [f.out_rel]
        written = []
        for doc, kept in docs:
            rel = self.txt_name(f, doc.record)
            write_lines(out_root / rel, [(doc, kept)])
            written.append(rel)
        return written

    def part_suffix(self, f: InputFile) -> str:
        """Suffix of the part files of a file written in parts: the output's own
        compression, so that parts join by concatenation."""
        base = compression.split_suffix(f.out_rel)[0]
        return ".jsonl" + f.out_rel[len(base):].lower()

    def join(self, final: Path, parts: list[Path]) -> None:
        """The parts of a file written in parts, joined in order (atomically). Compressed
        parts are complete gzip members / zstd frames: they concatenate."""
        with writers.atomic_writer(final) as out:
            for p in parts:
                with storage.open_read(p) as fh:
                    shutil.copyfileobj(fh, out, 1 << 20)

    def given_up(self, message: str, attempt: int) -> str:
        """What the report says of a file whose task was given up."""
        return f"{message}; file left out"
