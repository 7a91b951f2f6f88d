"""Strings that UTF-8 cannot carry, made writable: for the report, the audit and stderr, and for outputs.

Python hands out a file name that is not valid UTF-8 with each undecodable byte as a
lone surrogate (U+DC80..U+DCFF, "surrogateescape"), and a JSON record may carry lone
surrogates as escapes (``"\\ud800"``). Neither can be encoded as UTF-8, so writing them
as they are fails. Paths keep them (the OS turns them back into the original bytes);
what is written for people and tools gets them escaped, corpus text gets U+FFFD.
"""

from __future__ import annotations

import re
from typing import Any

_SURROGATE = re.compile("[\ud800-\udfff]")
# Line breaks and other C0 controls (not tab) in a line of stderr or summary.txt.
_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f]")


def _escape_surrogate(m: re.Match[str]) -> str:
    c = ord(m.group())
    # an undecodable byte of a file name: shown as the byte, as `ls -b` and Python's repr() do
    return f"\\x{c - 0xDC00:02x}" if 0xDC80 <= c <= 0xDCFF else f"\\u{c:04x}"


def _encodable(s: str) -> bool:
    if s.isascii():
        return True
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def printable(s: str) -> str:
    """`s` with lone surrogates escaped as text: an undecodable byte of a file name as
    ``\\xff``, another lone surrogate as ``\\ud800``. The same string when UTF-8 can carry it."""
    return s if _encodable(s) else _SURROGATE.sub(_escape_surrogate, s)


def one_line(s: str) -> str:
    """printable(s) for a line of stderr or summary.txt: line breaks and other control
    characters (a NUL, a newline in a file name) escaped too, so one message stays one line."""
    s = printable(s)
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], s) if not s.isprintable() else s


def replace_surrogates(s: str) -> str:
    """Lone surrogates as U+FFFD, for outputs that must be valid UTF-8 (text, Parquet)."""
    return s if _encodable(s) else _SURROGATE.sub("\ufffd", s)


def deep(obj: Any, fn: Any = printable) -> Any:
    """fn applied to every string (keys too) of a JSON-like structure."""
    if isinstance(obj, str):
        return fn(obj)
    if isinstance(obj, dict):
        return {deep(k, fn): deep(v, fn) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [deep(v, fn) for v in obj]
    return obj


def name_bytes(s: str) -> bytes | None:
    """The bytes of a file name that printable() had to escape (None if it did not): what
    the report keeps so that an escaped name still leads back to the file."""
    if _encodable(s):
        return None
    try:
        return s.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate no file name decodes to
        return None
