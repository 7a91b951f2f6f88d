"""The records that flow through the pipeline: documents, drops and item errors."""

from __future__ import annotations

import re
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
    drops: dict[int, Drop] = field(default_factory=dict)  # paragraph index -> why it went
    html: bytes | None = None  # a page still to extract (paragraphs are empty until then)
    # the page's blocks were decided by the HTML extractor (html_extract): the text classifier
    # leaves them as they are
    decided: bool = False
    strict_json: bool = True  # False: the record needed the standard library's JSON (NaN, big ints)
    # a record's text as it was around its paragraphs (split_record): gaps[i] is the white space
    # between paragraph i-1 and paragraph i in the text (gaps[0] is ""), so that the kept text is
    # the input with the removed paragraphs cut out; None: kept paragraphs are joined by "\n"
    gaps: list[str] | None = None

    def kept(self) -> list[int]:
        if not self.drops:
            return list(range(len(self.paragraphs)))
        return [i for i in range(len(self.paragraphs)) if i not in self.drops]

    def kept_text(self, kept: list[int] | None = None) -> str:
        """The text of the paragraphs `kept` (ascending indices; default: those not dropped).

        With `gaps` (a record's text): the input text with the other paragraphs cut out, trimmed
        of surrounding white space. Kept paragraphs keep what stood between them (line breaks,
        blank lines, the indentation and trailing white space of their lines); where paragraphs
        were cut out, each took one line-break run with it: of the runs around and between them,
        the one with the most line breaks stays (the first of equal ones), between the trailing
        white space of the kept line before and the indentation of the kept line after.
        Without `gaps` (an HTML page's blocks): the kept paragraphs, a line each.
        """
        if kept is None:
            kept = self.kept()
        paras, gaps = self.paragraphs, self.gaps
        if gaps is None:
            return "\n".join([paras[i] for i in kept])
        out: list[str] = []
        prev = -1
        for i in kept:
            if prev >= 0:
                out.append(gaps[i] if i == prev + 1 else _bridge(gaps, prev, i))
            out.append(paras[i])
            prev = i
        return "".join(out)

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


# a line break of a text file or a record (the group: split() keeps the breaks)
LINE_BREAK = re.compile(r"(\r\n|\r|\n)")


def _break_run(gap: str) -> tuple[int, int, int]:
    """Where the line-break run of a gap (its line breaks and the blank lines between them)
    starts and ends, and how many line breaks it holds."""
    spans = [m.span() for m in LINE_BREAK.finditer(gap)]
    if not spans:
        return len(gap), len(gap), 0
    return spans[0][0], spans[-1][1], len(spans)


def _bridge(gaps: list[str], a: int, b: int) -> str:
    """What joins kept paragraph a to kept paragraph b > a + 1 (paragraphs a+1 .. b-1 cut out):
    the trailing white space of a's line, the widest line-break run of gaps[a+1 .. b] (the
    first of equal ones), the indentation of b's line."""
    runs = [(g, _break_run(g)) for g in gaps[a + 1:b + 1]]
    g, (start, end, _) = max(runs, key=lambda r: r[1][2])  # max keeps the first of equal ones
    return gaps[a + 1][:runs[0][1][0]] + g[start:end] + gaps[b][runs[-1][1][1]:]


def split_record(text: str) -> tuple[list[str], list[int], list[str]]:
    """The paragraphs of a text file or a record's text: its non-blank lines (lines end at
    \\r\\n, \\r or \\n), stripped, with their 1-based line numbers; and the gaps to rebuild the
    text from them (Document.gaps): gaps[i] is text's white space between paragraph i-1 and
    paragraph i, as it is in `text` (its \\r\\n or \\r line breaks too); gaps[0] is ""."""
    pieces = LINE_BREAK.split(text)  # line, break, line, break, ..., line
    paras: list[str] = []
    lines: list[int] = []
    gaps: list[str] = []
    seen: dict[str, str] = {}  # one object per distinct gap: most are "\n" or "\n\n"
    pos = 0
    end = 0  # where the previous paragraph ended in `text`
    for k in range(0, len(pieces), 2):
        line = pieces[k]
        s = line.strip()
        if s:
            start = pos + len(line) - len(line.lstrip())
            gap = text[end:start] if paras else ""
            gaps.append(seen.setdefault(gap, gap))
            paras.append(s)
            lines.append(k // 2 + 1)
            end = start + len(s)
        pos += len(line) + (len(pieces[k + 1]) if k + 1 < len(pieces) else 0)
    return paras, lines, gaps
