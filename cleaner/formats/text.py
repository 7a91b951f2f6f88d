"""Plain text files (.txt, .md): one document each, a paragraph per non-blank line; the output
is the file with the removed lines cut out (its blank lines, indentation and line breaks kept)."""

from __future__ import annotations

from typing import Any

from .. import compression
from ..document import Document, split_record
from ..escape import printable
from ..readers import InputFile, Part, ReadError, decode_text, read_bytes
from .base import Format, Kept, write_lines


class Text(Format):
    name = "text"
    extensions = frozenset({".txt", ".md", ".text", ".markdown"})
    one_document = True

    def output_name(self, rel: str, compressed: str | None) -> str:
        # t.txt.gz -> t.txt: the output is never compressed
        return compression.split_suffix(rel)[0] if compressed else rel

    def read(self, f: InputFile, cfg: Any, part: Part | None = None, skip: frozenset[int] = frozenset(),
             counts: dict[str, int] | None = None) -> list[Document]:
        text = decode_text(read_bytes(f, cfg.max_bytes, cfg.max_ratio), cfg.encoding)
        paras, lines, gaps = split_record(text)
        if not paras:
            raise ReadError("empty file" if not text else "no text (white space only)")
        return [Document(id=printable(f.rel), source=f.rel, paragraphs=paras, lines=lines, gaps=gaps)]

    def write(self, path: str, f: InputFile, docs: Kept, text_field: str, part: Part | None = None) -> None:
        write_lines(path, docs)
