"""HTML pages (.html, .htm): one document each, its paragraphs extracted later (DocumentCleaner)."""

from __future__ import annotations

import codecs
from typing import Any

from .. import compression
from ..document import Document
from ..escape import printable
from ..readers import InputFile, Part, ReadError, read_bytes
from .text import Text


class Html(Text):
    """Written as text: a/b.html(.gz) -> a/b.txt."""

    name = "html"
    extensions = frozenset({".html", ".htm", ".xhtml"})

    def output_name(self, rel: str, compressed: str | None) -> str:
        stem = compression.split_suffix(rel)[0] if compressed else rel
        return stem[: stem.rfind(".")] + ".txt"

    def read(self, f: InputFile, cfg: Any, part: Part | None = None, skip: frozenset[int] = frozenset(),
             counts: dict[str, int] | None = None) -> list[Document]:
        """The page, to be extracted by the caller (under its time limit)."""
        data = read_bytes(f, cfg.max_bytes, cfg.max_ratio)
        if not data.strip():
            raise ReadError("empty file" if not data else "no text (white space only)")
        if b"\x00" in data[:65536] and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            raise ReadError("binary file (NUL bytes), not HTML")
        return [Document(id=printable(f.rel), source=f.rel, paragraphs=[], lines=[], html=data)]
