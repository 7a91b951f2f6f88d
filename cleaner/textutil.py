"""Text helpers shared by features and dedup: tokens, stopwords, normalised keys."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import regex
import xxhash

WORD_RE = regex.compile(r"[\p{L}\p{N}][\p{L}\p{N}\p{M}'’_-]*")
_PUNCT_SPACE = regex.compile(r"[\p{P}\p{S}\p{Z}\s\p{Cc}\p{Cf}]+")
_TLDS = "com|org|net|edu|gov|io|co|uk|de|fr|ly|me|tv|info|biz"
URL_RE = regex.compile(r"(?i)\bhttps?://\S+|\bwww\.\S+|\b[\w-]+(?:\.[\w-]+)*\.(?:" + _TLDS + r")/\S*")
# What each alternative of URL_RE contains: a text without it has no URL. A scan for these
# literals is ~30x cheaper than URL_RE, whose last alternative retries at every word.
URL_HINT = regex.compile(r"(?i)://|www\.|\.(?:" + _TLDS + r")/")
HANDLE_RE = regex.compile(r"(?<![\w.])@\w{2,}")
HASHTAG_RE = regex.compile(r"(?<![\w&])#\p{L}[\p{L}\p{N}_]*")
EMOJI_RE = regex.compile(r"[\p{Extended_Pictographic}\p{Regional_Indicator}]")


def words(text: str) -> list[str]:
    """Lower-cased word tokens (apostrophes and inner hyphens kept)."""
    return WORD_RE.findall(text.lower())


def normalise(text: str) -> str:
    """Case-folded text with punctuation, symbols and runs of space collapsed."""
    return _PUNCT_SPACE.sub(" ", text.casefold()).strip()


def para_key(text: str) -> int:
    """64-bit hash of the normalised text: equal for paragraphs that differ
    only in case, spacing or punctuation."""
    return xxhash.xxh3_64_intdigest(normalise(text).encode("utf-8", "surrogatepass"))


@lru_cache(maxsize=1)
def stoplists() -> dict[str, frozenset[str]]:
    raw = resources.files("cleaner").joinpath("data/stopwords.txt").read_text(encoding="utf-8")
    out: dict[str, set[str]] = {}
    lang = None
    for line in raw.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            lang = line[1:-1]
            out[lang] = set()
        elif lang is not None:
            out[lang].update(w.replace("’", "'") for w in line.split())
    return {k: frozenset(v) for k, v in out.items()}


def pick_stoplist(tokens: list[str]) -> tuple[str, frozenset[str]]:
    """The language whose function words cover most of the given tokens."""
    lists = stoplists()
    best, best_hits = "en", -1
    for lang, sw in lists.items():
        hits = sum(1 for t in tokens if t in sw)
        if hits > best_hits:
            best, best_hits = lang, hits
    return best, lists[best]
