"""The records that flow through the pipeline: documents, drops and item errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .slots import pickled_by_fields


@pickled_by_fields
@dataclass(slots=True)
class Drop:
    """Why one paragraph (or document) was removed."""

    reason: str
    detail: str = ""
    twin: str | None = None  # id of the kept twin, for duplicates
    twin_line: int | None = None  # its line (for a paragraph twin)
    twin_file: str | None = None
    similarity: float | None = None
    twin_run: str | None = None  # the earlier run of an indexed twin (--index)


@pickled_by_fields
@dataclass(slots=True)
class Document:
    """One document: a text file, an HTML page, or one JSONL record."""

    id: str
    source: str  # path of the input file, relative to the input root, '/'-separated
    paragraphs: list[str]  # stripped of surrounding white space, never empty
    lines: list[int]  # 1-based line of each paragraph in the file (or in the record's text)
    record: int | None = None  # 1-based line of the record in a JSONL file
    metadata: dict[str, Any] = field(default_factory=dict)  # other fields, passed through
    separator: str = "\n"  # what joins kept paragraphs in a JSONL text field
    drops: dict[int, Drop] = field(default_factory=dict)  # paragraph index -> why it went
    html: bytes | None = None  # a page still to extract (paragraphs are empty until then)
    # the page's blocks were decided by the HTML extractor (html_extract): the text classifier
    # leaves them as they are
    decided: bool = False
    strict_json: bool = True  # False: the record needed the standard library's JSON (NaN, big ints)

    def kept(self) -> list[int]:
        if not self.drops:
            return list(range(len(self.paragraphs)))
        return [i for i in range(len(self.paragraphs)) if i not in self.drops]

    def kept_text(self) -> str:
        return "\n".join(self.paragraphs[i] for i in self.kept())

    def where(self, i: int) -> str:
        if self.record is not None:
            return f"{self.source}:{self.record} (paragraph {i + 1})"
        return f"{self.source}:{self.lines[i]}"


@pickled_by_fields
@dataclass(slots=True)
class ItemError:
    """An input item that could not be processed; the run goes on without it."""

    file: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.message}"


def split_paragraphs(text: str) -> tuple[list[str], list[int], str]:
    """Non-blank lines of `text`, stripped, with their 1-based line numbers.

    Lines end at \\r\\n, \\r or \\n. Also returns the separator to rejoin kept
    paragraphs with: a blank line if the text separates paragraphs that way.
    """
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    stripped = [line.strip() for line in text.split("\n")]
    paras = [s for s in stripped if s]
    lines = [n for n, s in enumerate(stripped, 1) if s] if len(paras) < len(stripped) \
        else list(range(1, len(stripped) + 1))
    blank_gaps = sum(1 for a, b in zip(lines, lines[1:]) if b - a > 1)
    sep = "\n\n" if paras and blank_gaps * 2 >= len(paras) - 1 > 0 else "\n"
    return paras, lines, sep
