"""The input formats, one module each (text, html, jsonl, parquet, warc), and their registry.

A new format is a Format subclass (formats/base.py) in its own module, listed in FORMATS.
"""

from __future__ import annotations

import os

from .. import compression
from ..readers import InputFile
from .base import Format
from .html import Html
from .jsonl import Jsonl
from .parquet import Parquet
from .text import Text
from .warc import Warc

FORMATS: tuple[Format, ...] = (Text(), Html(), Jsonl(), Parquet(), Warc())
_BY_NAME = {fmt.name: fmt for fmt in FORMATS}


def recognise(name: str) -> tuple[Format, str | None] | None:
    """The format and compression of a file name, or None if it is not supported."""
    base, comp = compression.split_suffix(name)
    ext = os.path.splitext(base.lower())[1]
    return next(((fmt, comp) for fmt in FORMATS if fmt.recognise(ext, comp)), None)


def input_file(rel: str, path: str) -> InputFile | None:
    """The InputFile for a path (rel: relative to the input root), or None if unsupported."""
    found = recognise(rel.rsplit("/", 1)[-1])
    if found is None:
        return None
    fmt, comp = found
    return InputFile(rel, path, fmt.name, comp, fmt.output_name(rel, comp))


def of(f: InputFile) -> Format:
    return _BY_NAME[f.kind]


__all__ = ["FORMATS", "Format", "input_file", "of", "recognise"]
