"""Literal prefilters for regular expressions: which paragraphs a pattern cannot match.

Running every pattern of the rule library on every paragraph costs ~3 µs a pattern
and paragraph (the `regex` engine tries each position), the largest part of
stripping. But a pattern like ``\\b(sponsored by|presented by)\\b`` can only match
a text that contains "sponsored by" or "presented by". `required_literals` reads
such a set off the pattern's syntax tree: a set of strings of which every match
contains at least one. Finding those strings in a whole batch of paragraphs is a
few `str.find` scans (C speed), and the pattern then runs only where one is found.

The analysis is conservative: whenever a construct is not understood (character
classes, repeats that may be empty, flags set inside the pattern, back
references...), that part gives no requirement, and a pattern with no usable
requirement runs on every paragraph, as before.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

if sys.version_info >= (3, 11):
    from re import _constants as C  # type: ignore[attr-defined]
    from re import _parser as P  # type: ignore[attr-defined]
else:  # pragma: no cover
    import sre_constants as C
    import sre_parse as P

# A requirement is worth scanning for when each of its strings has this many characters,
# or is a symbol ("©", "$", "(@"): rarer in text than any two letters.
MIN_LITERAL = 2
# Bounds on the sets built while reading a pattern (alternations multiply them).
MAX_SET = 64
MAX_LEN = 40
_SMALL_CLASS = 8


def _small(s: set[str] | None) -> set[str] | None:
    if s is None or len(s) > MAX_SET or any(len(x) > MAX_LEN for x in s):
        return None
    return s


def _shrink(req: set[str] | None) -> set[str] | None:
    """A requirement of at most MAX_SET strings implied by `req`: each string cut to
    its first m characters (a text containing a string contains its prefixes), m as
    large as the bound allows."""
    if req is None or len(req) <= MAX_SET:
        return req
    for m in range(max(len(x) for x in req), 0, -1):
        cut = {x[:m] for x in req}
        if len(cut) <= MAX_SET:
            return cut
    return None


def _concat(a: set[str], b: set[str]) -> set[str] | None:
    if len(a) * len(b) > MAX_SET:
        return None
    return _small({x + y for x in a for y in b})


def _score(req: set[str]) -> tuple[int, int]:
    """How selective a requirement is: longer shortest string first, then fewer strings."""
    return (min(len(x) for x in req), -len(req))


def _better(a: set[str] | None, b: set[str] | None) -> set[str] | None:
    if a is None or not a or "" in a:
        return b if b and "" not in b else None
    if b is None or not b or "" in b:
        return a
    return a if _score(a) >= _score(b) else b


def _class_chars(items: list) -> set[str] | None:
    chars: set[str] = set()
    for op, av in items:
        if op is C.LITERAL:
            chars.add(chr(av))
        elif op is C.RANGE and av[1] - av[0] < _SMALL_CLASS:
            chars.update(chr(c) for c in range(av[0], av[1] + 1))
        else:  # NEGATE, CATEGORY, wide ranges
            return None
        if len(chars) > _SMALL_CLASS:
            return None
    return chars


def _info(items: Sequence) -> tuple[set[str] | None, set[str] | None]:
    """(exact, required) of a sequence of parsed items: all the strings it can match
    (None: too many or unknown), and strings one of which every match contains."""
    cur: set[str] | None = {""}
    best: set[str] | None = None
    exact_all = True
    for op, av in items:
        ex, req = _item(op, av)
        if ex is not None and cur is not None:
            joined = _concat(cur, ex)
            if joined is not None:
                cur = joined
                continue
        # the run of exact items ends here: it is itself a requirement
        exact_all = False
        best = _better(best, cur)
        best = _better(best, req)
        cur = ex if ex is not None else {""}
    best = _better(best, cur)
    return (cur if exact_all else None), best


def _item(op: Any, av: Any) -> tuple[set[str] | None, set[str] | None]:
    if op is C.LITERAL:
        s = {chr(av)}
        return s, s
    if op is C.AT:
        return {""}, None
    if op in (C.ASSERT, C.ASSERT_NOT):
        return {""}, None  # lookarounds consume nothing; their content is not required here
    if op is C.IN:
        chars = _class_chars(av)
        return chars, chars
    if op is C.SUBPATTERN:
        _group, add, delete, sub = av
        if add or delete:
            return None, None
        return _info(sub)
    if op is C.BRANCH:
        _, alts = av
        exact: set[str] | None = set()
        req: set[str] | None = set()
        for alt in alts:
            ex, rq = _info(alt)
            exact = _small(exact | ex) if exact is not None and ex is not None else None
            one = _better(ex, rq) if ex is not None and "" not in ex else rq
            req = _shrink(req | one) if req is not None and one else None
        return exact, req
    if op in (C.MAX_REPEAT, C.MIN_REPEAT, getattr(C, "POSSESSIVE_REPEAT", None)):
        lo, hi, sub = av
        ex, rq = _info(sub)
        if lo == 0:
            if hi == 1 and ex is not None:
                return _small(ex | {""}), None
            return None, None
        one = _better(ex, rq) if ex is not None and "" not in ex else rq
        if lo == hi == 1:
            return ex, one
        return None, one
    return None, None


def required_literals(pattern: str) -> list[str] | None:
    """Strings one of which every match of `pattern` (case-sensitive, as written)
    contains, or None when no such set of strings of MIN_LITERAL+ characters is known."""
    try:
        parsed = P.parse(pattern, 0)
    except Exception:  # a `regex`-only construct: no prefilter
        return None
    if parsed.state.flags & (C.SRE_FLAG_IGNORECASE | C.SRE_FLAG_VERBOSE):
        return None
    exact, req = _info(list(parsed))
    req = _better(req, exact if exact is not None and "" not in exact else None)
    if not req or any("\n" in x for x in req):
        return None
    if not all(len(x) >= MIN_LITERAL or not x.isalnum() for x in req):
        return None
    return sorted(req)


def literal_matrix(literals: Sequence[str], paragraphs: Sequence[str], compiled: bool = True,
                   joined: str | None = None) -> np.ndarray:
    """(len(literals), len(paragraphs)) bool: which paragraph contains which literal
    (paragraphs hold no newline; `joined`: the paragraphs joined by newlines, if the
    caller has them). One pass over the text in C; else one `str.find` scan per literal."""
    text = "\n".join(paragraphs) if joined is None else joined
    lengths = np.fromiter((len(p) + 1 for p in paragraphs), dtype=np.int64, count=len(paragraphs))
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.int64)
    out = np.zeros((len(literals), len(paragraphs)), dtype=np.uint8)
    if not literals or not paragraphs:
        return out.astype(bool)
    if compiled:
        from .textfeat import _kernels

        kern = _kernels()
        if kern is not None:
            kern.find_literals(text, list(literals), starts, out)
            return out.view(bool)
    from bisect import bisect_right

    st = starts.tolist()
    ends = st[1:] + [len(text) + 1]
    find = text.find
    for j, lit in enumerate(literals):
        row = out[j]
        pos = find(lit)
        while pos >= 0:
            k = bisect_right(st, pos) - 1
            row[k] = 1
            pos = find(lit, ends[k])  # on in the next paragraph: one hit is enough
    return out.view(bool)
