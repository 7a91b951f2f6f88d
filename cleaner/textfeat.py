"""Paragraph features for many documents at once, from arrays over their characters.

The classifier needs a few dozen counts per paragraph (characters, words, capitals,
digits, punctuation, separators, sentence ends, the script...). Computed one
paragraph at a time with regular expressions they cost ~200 µs a paragraph; here
the paragraphs of a whole batch are joined, encoded once, decoded to code points
with numpy, classified through lookup tables, and counted per paragraph with
`bincount`: a few dozen passes over the batch's characters, whatever the number
of paragraphs.

Nothing here depends on English or on spaces between words:

- lengths are in characters and in *units*, word equivalents: a run of letters of a
  script written without spaces (Han, kana, Thai, Lao, Khmer, Myanmar, Tibetan)
  counts by its characters (`SPACELESS_UNIT` characters a unit), any other run of
  word characters is one unit;
- sentence ends include the full stops of other scripts (。 ！ ？ । ॥ ۔ ؟ ။ ። ։ ...);
- capitals count only in cased scripts (the share is over words of cased scripts).

Function words (stopword density) come from the stoplists of jusText (100 languages;
a trafilatura dependency), through the dedup tokenizer's 64-bit token hashes: the
document's language is the stoplist that covers most of its words (see `languages`).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .ragged import offsets_of, ranges, sorted_unique

# character classes
C_OTHER, C_SPACE, C_UPPER, C_LETTER, C_MARK, C_DIGIT, C_NUMBER, C_PUNCT, C_SYMBOL = range(9)
_CAT_CLASS = {"Zs": C_SPACE, "Lu": C_UPPER, "Lt": C_UPPER, "Ll": C_LETTER, "Lm": C_LETTER, "Lo": C_LETTER,
              "Mn": C_MARK, "Mc": C_MARK, "Me": C_MARK, "Nd": C_DIGIT, "Nl": C_NUMBER, "No": C_NUMBER,
              "Pc": C_PUNCT, "Pd": C_PUNCT, "Ps": C_PUNCT, "Pe": C_PUNCT, "Pi": C_PUNCT, "Pf": C_PUNCT,
              "Po": C_PUNCT, "Sm": C_SYMBOL, "Sc": C_SYMBOL, "Sk": C_SYMBOL, "So": C_SYMBOL}

# scripts (by Unicode block ranges; enough to tell how a text is written)
SCRIPTS = ("other", "latin", "greek", "cyrillic", "armenian", "hebrew", "arabic", "indic", "thai", "lao",
           "tibetan", "myanmar", "georgian", "hangul", "ethiopic", "khmer", "han", "kana", "emoji")
_S = {name: i for i, name in enumerate(SCRIPTS)}
_RANGES = (
    (0x0041, 0x024F, "latin"), (0x1E00, 0x1EFF, "latin"), (0x2C60, 0x2C7F, "latin"), (0xA720, 0xA7FF, "latin"),
    (0xFF21, 0xFF5A, "latin"), (0x0370, 0x03FF, "greek"), (0x1F00, 0x1FFF, "greek"),
    (0x0400, 0x052F, "cyrillic"), (0x1C80, 0x1C8F, "cyrillic"), (0x2DE0, 0x2DFF, "cyrillic"),
    (0xA640, 0xA69F, "cyrillic"), (0x0530, 0x058F, "armenian"), (0x0590, 0x05FF, "hebrew"),
    (0xFB1D, 0xFB4F, "hebrew"), (0x0600, 0x08FF, "arabic"), (0xFB50, 0xFDFF, "arabic"),
    (0xFE70, 0xFEFF, "arabic"), (0x0900, 0x0DFF, "indic"), (0x0E00, 0x0E7F, "thai"), (0x0E80, 0x0EFF, "lao"),
    (0x0F00, 0x0FFF, "tibetan"), (0x1000, 0x109F, "myanmar"), (0xAA60, 0xAA7F, "myanmar"),
    (0x10A0, 0x10FF, "georgian"), (0x1100, 0x11FF, "hangul"), (0x3130, 0x318F, "hangul"),
    (0xAC00, 0xD7AF, "hangul"), (0x1200, 0x139F, "ethiopic"), (0x1780, 0x17FF, "khmer"),
    (0x19E0, 0x19FF, "khmer"), (0x2E80, 0x2FDF, "han"), (0x3005, 0x3007, "han"), (0x3021, 0x3029, "han"),
    (0x3400, 0x4DBF, "han"), (0x4E00, 0x9FFF, "han"), (0xF900, 0xFAFF, "han"), (0x3040, 0x30FF, "kana"),
    (0x31F0, 0x31FF, "kana"), (0xFF66, 0xFF9F, "kana"), (0x2600, 0x27BF, "emoji"), (0x2B00, 0x2BFF, "emoji"),
)
_ASTRAL = ((0x1F000, 0x1FAFF, "emoji"), (0x20000, 0x3FFFF, "han"), (0x1B000, 0x1B16F, "kana"))
# Scripts written without spaces between words, and how many of their letters make a word
# (Chinese averages ~1.5-2 characters a word, Japanese a little more; Thai, Lao, Khmer and
# Burmese words run ~3-6 letters with their marks).
SPACELESS_UNIT = {"han": 1.7, "kana": 2.0, "thai": 4.0, "lao": 4.0, "khmer": 4.0, "myanmar": 4.0, "tibetan": 4.0}
CASED = ("latin", "greek", "cyrillic", "armenian", "georgian")

# full stops of the world's scripts (a sentence end anywhere in a paragraph)
_STOPS = ".!?…。！？｡।॥۔؟။።፧։܀"
# what a paragraph that ends a sentence (or a clause leading into the next) ends with
_TERMINAL = _STOPS + ":;\"”'’)]」』）"
_CLOSERS = "\"”'’)]」』）»"
_SEPARATORS = "|•·»›/\\–—-"
_LIST_MARKS = "*+•·▪►|>-–—"


def _kernels():  # noqa: ANN202
    """The compiled kernels (cleaner/_textstats.c), or None when they were not built."""
    import os

    if os.environ.get("CLEANER_NUMPY_ONLY"):
        return None
    try:
        from . import _textstats
    except ImportError:
        return None
    return _textstats


@lru_cache(maxsize=1)
def tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Class, script and punctuation flags of every code point of the Basic Multilingual
    Plane (flags: bit 0 full stop, 1 terminal, 2 separator, 3 list mark, 4 closer,
    5 connector inside words: ' ’ _ -). Code points above it follow `_astral`."""
    cls = np.zeros(0x10000, dtype=np.uint8)
    for cp in range(0x10000):
        cls[cp] = _CAT_CLASS.get(unicodedata.category(chr(cp)), C_OTHER)
    cls[ord("\t")] = C_SPACE
    scr = np.zeros(0x10000, dtype=np.uint8)
    for lo, hi, name in _RANGES:
        scr[lo:hi + 1] = _S[name]
    # Latin block: letters only (digits and ASCII punctuation have no script)
    scr[:0x41] = 0
    for cp in range(0x41, 0x250):
        if not chr(cp).isalpha():
            scr[cp] = 0
    flags = np.zeros(0x10000, dtype=np.uint8)
    for bit, chars in enumerate((_STOPS, _TERMINAL, _SEPARATORS, _LIST_MARKS, _CLOSERS, "'’_-")):
        for ch in chars:
            flags[ord(ch)] |= 1 << bit
    return cls, scr, flags


def _astral(cp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Class and script above the BMP, by fixed ranges (the compiled kernel uses the same):
    emoji and pictographs are symbols, the CJK extensions and kana supplements letters."""
    c = np.full(len(cp), C_OTHER, dtype=np.uint8)
    s = np.zeros(len(cp), dtype=np.uint8)
    for lo, hi, name in _ASTRAL:
        m = (cp >= lo) & (cp <= hi)
        c[m] = C_SYMBOL if name == "emoji" else C_LETTER
        s[m] = _S[name]
    return c, s


# columns of the per-paragraph count matrix (both implementations fill the same)
COUNTS = ("chars", "letters", "upper", "digits", "punct", "symbols", "spaces", "words", "plain_words",
          "cap_words", "cased_words", "digit_words", "long_words", "word_chars", "separators", "sentences",
          "terminal", "heading_start", "list_item", "emoji", "handles", "hashtags", "slashes", "spaceless",
          "colon_early")
_K = {name: i for i, name in enumerate(COUNTS)}
_FLAGS = frozenset(("terminal", "heading_start", "list_item", "colon_early"))
# a colon this early in a paragraph makes it a label ("Weight: 3 kg", "Posted by: ...")
COLON_EARLY = 40
_SPACELESS_IDS = np.array([_S[s] for s in SPACELESS_UNIT], dtype=np.int64)
_UNIT_WEIGHTS = np.array([1.0 / SPACELESS_UNIT[s] for s in SPACELESS_UNIT])
_CASED_IDS = np.array([_S[s] for s in CASED], dtype=np.int64)


@dataclass(slots=True)
class CharStats:
    """Per-paragraph counts of a batch: `counts` (paragraphs, len(COUNTS)) int64 and
    `script_letters` (paragraphs, len(SCRIPTS)) int64."""

    counts: np.ndarray
    script_letters: np.ndarray

    def __getattr__(self, name: str) -> np.ndarray:
        if name in _K:
            col = self.counts[:, _K[name]]
            return col != 0 if name in _FLAGS else col
        raise AttributeError(name)

    @property
    def units(self) -> np.ndarray:
        """Word equivalents: plain words plus letters of spaceless scripts by their unit."""
        return self.counts[:, _K["plain_words"]] + self.script_letters[:, _SPACELESS_IDS] @ _UNIT_WEIGHTS

    @property
    def script(self) -> np.ndarray:
        sl = self.script_letters.copy()
        sl[:, 0] = 0
        return np.where(sl.sum(axis=1) > 0, sl.argmax(axis=1), 0)


def char_stats(paragraphs: list[str], compiled: bool = True) -> CharStats:
    """Counts for each paragraph (see COUNTS), in C when the kernel is built."""
    n = len(paragraphs)
    cls_t, scr_t, flag_t = tables()
    if compiled:
        kern = _kernels()
        if kern is not None:
            counts = np.zeros((n, len(COUNTS)), dtype=np.int64)
            script_letters = np.zeros((n, len(SCRIPTS)), dtype=np.int64)
            kern.char_stats(paragraphs, cls_t, scr_t, flag_t, counts, script_letters)
            return CharStats(counts, script_letters)
    if n <= _NUMPY_BLOCK:
        return _char_stats_numpy(paragraphs, cls_t, scr_t, flag_t)
    # in blocks: the passes over a block's characters then stay in the processor's caches
    parts = [_char_stats_numpy(paragraphs[a:a + _NUMPY_BLOCK], cls_t, scr_t, flag_t)
             for a in range(0, n, _NUMPY_BLOCK)]
    return CharStats(np.concatenate([p.counts for p in parts]), np.concatenate([p.script_letters for p in parts]))


_NUMPY_BLOCK = 2048


def _char_stats_numpy(paragraphs: list[str], cls_t: np.ndarray, scr_t: np.ndarray, flag_t: np.ndarray) -> CharStats:
    n = len(paragraphs)
    lengths = np.fromiter((len(p) for p in paragraphs), dtype=np.int64, count=n)
    cp = np.frombuffer("".join(paragraphs).encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.int64)
    m = len(cp)
    counts = np.zeros((n, len(COUNTS)), dtype=np.int64)
    script_letters = np.zeros((n, len(SCRIPTS)), dtype=np.int64)
    if m == 0:
        return CharStats(counts, script_letters)
    bmp = cp < 0x10000
    cpb = np.where(bmp, cp, 0)
    cls, scr, flags = cls_t[cpb], scr_t[cpb], flag_t[cpb]
    if not bmp.all():
        hi = np.flatnonzero(~bmp)
        cls[hi], scr[hi] = _astral(cp[hi])
        flags[hi] = 0
    pid = np.repeat(np.arange(n, dtype=np.int64), lengths)
    pstart = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    is_first = np.zeros(m, dtype=bool)
    is_last = np.zeros(m, dtype=bool)
    ne = lengths > 0
    is_first[pstart[ne]] = True
    is_last[(pstart + lengths - 1)[ne]] = True
    pos = np.arange(m) - pstart[pid]

    def count(mask: np.ndarray) -> np.ndarray:
        return np.bincount(pid[mask], minlength=n)

    def shift_prev(x: np.ndarray, fill: object) -> np.ndarray:  # value of the previous character
        out = np.empty_like(x)
        out[1:] = x[:-1]
        out[0] = fill
        out[is_first] = fill
        return out

    def shift_next(x: np.ndarray, fill: object, k: int = 1) -> np.ndarray:
        out = np.full_like(x, fill)
        out[:m - k] = x[k:]
        # past the paragraph's end
        out[pos + k >= lengths[pid]] = fill
        return out

    letter = (cls == C_UPPER) | (cls == C_LETTER)
    digit = cls == C_DIGIT
    alnum = letter | digit | (cls == C_NUMBER)
    wordc = alnum | (cls == C_MARK) | ((flags & 32) != 0)
    sl_letter = (letter | (cls == C_MARK)) & np.isin(scr, _SPACELESS_IDS)
    cased_letter = letter & np.isin(scr, _CASED_IDS)
    start = wordc & ~shift_prev(wordc, False)
    run = np.cumsum(start) - 1
    nruns = int(start.sum())
    w = np.flatnonzero(wordc)
    rw = run[w]

    def run_any(mask: np.ndarray) -> np.ndarray:
        return np.bincount(rw[mask[w]], minlength=nruns) > 0

    r_alnum, r_digit, r_sl, r_cased = run_any(alnum), run_any(digit), run_any(sl_letter), run_any(cased_letter)
    r_len = np.bincount(rw, minlength=nruns)
    r_cap = cls[np.flatnonzero(start)] == C_UPPER
    r_para = pid[np.flatnonzero(start)]

    def per_run(mask: np.ndarray) -> np.ndarray:
        return np.bincount(r_para[mask], minlength=n)

    K = _K
    counts[:, K["chars"]] = lengths
    counts[:, K["letters"]] = count(letter)
    counts[:, K["upper"]] = count(cls == C_UPPER)
    counts[:, K["digits"]] = count(digit)
    counts[:, K["punct"]] = count(cls == C_PUNCT)
    counts[:, K["symbols"]] = count(cls == C_SYMBOL)
    counts[:, K["spaces"]] = count(cls == C_SPACE)
    counts[:, K["words"]] = per_run(r_alnum)
    counts[:, K["plain_words"]] = per_run(r_alnum & ~r_sl)
    counts[:, K["cap_words"]] = per_run(r_alnum & r_cap & r_cased)
    counts[:, K["cased_words"]] = per_run(r_alnum & r_cased)
    counts[:, K["digit_words"]] = per_run(r_alnum & r_digit)
    counts[:, K["long_words"]] = per_run(r_alnum & (r_len >= 3))
    counts[:, K["word_chars"]] = count(wordc)
    space = cls == C_SPACE
    prev_space = shift_prev(space, True)
    next_space = shift_next(space, True)
    counts[:, K["separators"]] = count(((flags & 4) != 0) & prev_space & next_space)
    stop = (flags & 1) != 0
    latin_stop = stop & ((cp < 0x80) | (cp == 0x2026))
    next_cls = shift_next(cls, C_OTHER)
    next2_cls = shift_next(cls, C_OTHER, 2)
    next2_cased = shift_next(np.isin(scr, _CASED_IDS), False, 2)
    has_next = ~is_last
    sent = latin_stop & (next_cls == C_SPACE) & ((next2_cls == C_UPPER) | (next2_cls == C_DIGIT)
                                                   | (~next2_cased & (next2_cls == C_LETTER)))
    sent |= stop & ~latin_stop & has_next
    counts[:, K["sentences"]] = count(sent)
    first = pstart[ne]
    last = (pstart + lengths - 1)[ne]
    counts[ne, K["terminal"]] = (flags[last] & 2) != 0
    counts[ne, K["heading_start"]] = (cls[first] == C_UPPER) | (cls[first] == C_DIGIT) | np.isin(
        cp[first], [34, 39, 0x201C, 0x2018, 0xAB])
    L = lengths[ne]

    def at(k: int) -> tuple[np.ndarray, np.ndarray]:
        ok = L > k
        idx = np.minimum(first + k, m - 1)
        return ok, idx

    ok1, i1 = at(1)
    ok2, i2 = at(2)
    ok3, i3 = at(3)
    dot = (cp == 46) | (cp == 41)
    mark1 = ((flags[first] & 8) != 0) & ok1 & (cls[i1] == C_SPACE)
    num1 = (cls[first] == C_DIGIT) & ok2 & dot[i1] & (cls[i2] == C_SPACE)
    num2 = (cls[first] == C_DIGIT) & ok3 & (cls[i1] == C_DIGIT) & dot[i2] & (cls[i3] == C_SPACE)
    counts[ne, K["list_item"]] = mark1 | num1 | num2
    counts[:, K["emoji"]] = count(scr == _S["emoji"])
    prev_wordish = shift_prev(wordc | (cp == 46), False)
    next_word = shift_next(wordc, False)
    counts[:, K["handles"]] = count((cp == 64) & ~prev_wordish & next_word)
    prev_tagish = shift_prev(wordc | (cp == 38), False)
    counts[:, K["hashtags"]] = count((cp == 35) & ~prev_tagish & shift_next(letter, False))
    counts[:, K["slashes"]] = count(cp == 47)
    counts[:, K["spaceless"]] = count(sl_letter)
    counts[:, K["colon_early"]] = count(((cp == 58) | (cp == 0xFF1A)) & (pos < COLON_EARLY)) > 0
    lm = letter | (cls == C_MARK)
    np.add.at(script_letters, (pid[lm], scr[lm].astype(np.int64)), 1)
    return CharStats(counts, script_letters)


# --- function words ---------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Stoplists:
    """Function words of many languages as token hashes (the dedup tokenizer's).

    `hashes`: every word of every list, sorted unique; a token is looked up there once
    (lookup_stopwords) and its position serves the rest. `langs`: per hash, a bit per
    language whose list has the word ((len(hashes), LANG_WORDS) uint64).
    `det_*`: the DETECT_TOP most frequent words of each list (jusText's lists are in
    order of frequency), which tell the languages apart: det_of[k] is hashes[k]'s row
    (-1: none), whose languages are det_langs[det_offsets[row]:det_offsets[row + 1]]."""

    names: tuple[str, ...]
    det_of: np.ndarray
    det_offsets: np.ndarray
    det_langs: np.ndarray
    hashes: np.ndarray
    langs: np.ndarray
    # a bit per value of a hash's low BLOOM_BITS bits: a token whose bit is clear is no
    # function word (most content words), so only the rest is looked up in `hashes`
    bloom: np.ndarray
    # with the compiled kernels: a hash table of `hashes` (find_sorted), in place of the two
    slots: np.ndarray | None = None


BLOOM_BITS = 22
LANG_WORDS = 2  # uint64 words of language bits per hash: up to 128 lists
# Words per language used to recognise it; the density uses the whole list.
DETECT_TOP = 64
# Tokens of a document looked at to recognise its language (a sample is enough).
DETECT_TOKENS = 400


def _justext_lists() -> dict[str, str]:
    """jusText's stoplists (100 languages, from Wikipedia), by language name: each file's
    text, a word per line in order of frequency."""
    from importlib import resources

    out: dict[str, str] = {}
    try:
        folder = resources.files("justext").joinpath("stoplists")
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if entry.name.endswith(".txt"):
                out[entry.name[:-4]] = entry.read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError, NotADirectoryError):
        pass
    return out


def _hash_words(words: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Token hash of each (lower-case) word the tokenizer keeps whole, and which words those
    are. The words as one newline-joined text: one tokenizer pass, not one per word."""
    from .minhash import tokenize_joined

    tok = tokenize_joined("\n".join(words).encode("utf-8", "surrogatepass"))
    single = tok.counts == 1  # a stopword the tokenizer splits ("don't") cannot be looked up
    return tok.hashes[tok.starts()[single]], np.flatnonzero(single)


@lru_cache(maxsize=1)
def stoplists() -> Stoplists:
    from .textutil import stoplists as own_lists

    lists = _justext_lists()
    lists.pop("Simple_English", None)  # English again, in a shorter list
    if not lists:  # jusText comes with trafilatura; without it, the short lists that ship here
        lists = {k: "\n".join(sorted(v)) for k, v in own_lists().items()}
    names = tuple(sorted(lists))
    if len(names) > 64 * LANG_WORDS:
        raise ValueError(f"{len(names)} stoplists: at most {64 * LANG_WORDS} fit the language bits")
    # each list lower-cased as a whole (the same as word by word: lower-casing keeps the
    # whitespace between words) and de-duplicated in its order (of frequency); built at every
    # process start, ~180k words, so without a Python loop per word
    per = [list(dict.fromkeys(lists[name].lower().split())) for name in names]
    sizes = np.array([len(w) for w in per], dtype=np.int64)
    words = [w for ws in per for w in ws]
    h, kept = _hash_words(words)
    lg = np.repeat(np.arange(len(names), dtype=np.int64), sizes)[kept]
    rank = np.arange(len(words), dtype=np.int64) - np.repeat(offsets_of(sizes)[:-1], sizes)
    tp = (rank < DETECT_TOP)[kept]
    uniq = sorted_unique(h)
    at = np.searchsorted(uniq, h)
    langs = np.zeros((len(uniq), LANG_WORDS), dtype=np.uint64)
    np.bitwise_or.at(langs, (at, lg >> 6), np.left_shift(np.uint64(1), (lg & 63).astype(np.uint64)))
    da, dl = at[tp], lg[tp]
    order = np.lexsort((dl, da))
    da, dl = da[order], dl[order]
    rows, start = np.unique(da, return_index=True)
    det_of = np.full(len(uniq), -1, dtype=np.int64)
    det_of[rows] = np.arange(len(rows))
    bloom = np.zeros(1 << BLOOM_BITS, dtype=bool)
    bloom[(uniq & np.uint64((1 << BLOOM_BITS) - 1)).astype(np.int64)] = True
    slots = None
    k = _kernels()
    if k is not None:
        slots = np.full(max(2, 1 << (2 * len(uniq) - 1).bit_length()), -1, dtype=np.int64)
        none = np.zeros(0, np.uint64)
        k.find_sorted(uniq, slots, none, none.view(np.int64), none.view(np.uint8))  # fills the table
    return Stoplists(names, det_of, np.append(start, len(da)).astype(np.int64), dl, uniq, langs, bloom, slots)


def _lookup(sorted_arr: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions of x in sorted_arr, and whether each is there."""
    if len(sorted_arr) == 0:
        return np.zeros(len(x), dtype=np.int64), np.zeros(len(x), dtype=bool)
    pos = np.minimum(np.searchsorted(sorted_arr, x), len(sorted_arr) - 1)
    return pos, sorted_arr[pos] == x


def lookup_stopwords(token_hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the tokens in stoplists().hashes (0 where absent) and hits: by its hash
    table (compiled), else a binary search past the bloom filter."""
    sl = stoplists()
    n = len(token_hashes)
    k = _kernels() if sl.slots is not None else None
    if k is not None:
        pos = np.empty(n, dtype=np.int64)
        hit = np.empty(n, dtype=bool)
        k.find_sorted(sl.hashes, sl.slots, np.ascontiguousarray(token_hashes, dtype=np.uint64), pos, hit.view(np.uint8))
        return pos, hit
    pos = np.zeros(n, dtype=np.int64)
    hit = np.zeros(n, dtype=bool)
    maybe = np.flatnonzero(sl.bloom[(token_hashes & np.uint64((1 << BLOOM_BITS) - 1)).astype(np.int64)])
    if len(maybe):
        p, h = _lookup(sl.hashes, token_hashes[maybe])
        pos[maybe], hit[maybe] = np.where(h, p, 0), h
    return pos, hit


def function_words(token_hashes: np.ndarray, token_para: np.ndarray, para_doc: np.ndarray, ndocs: int,
                   min_density: float, found: tuple[np.ndarray, np.ndarray] | None = None
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The language of each document (index into stoplists().names; -1 when no list
    covers `min_density` of its tokens), each paragraph's tokens that are function
    words of its document's language, and each document's share of such tokens.

    The language is the one whose most frequent words occur most often in the first
    DETECT_TOKENS tokens of the document (ties: the first name). `found`: the tokens'
    lookup in stoplists().hashes, when already made (lookup_stopwords)."""
    sl = stoplists()
    npara = len(para_doc)
    nl = len(sl.names)
    none = (np.full(ndocs, -1, dtype=np.int64), np.zeros(npara, dtype=np.int64), np.zeros(ndocs))
    if nl == 0 or len(token_hashes) == 0:
        return none
    pos, hit = found if found is not None else lookup_stopwords(token_hashes)
    tdoc = para_doc[token_para]
    first_tok = np.searchsorted(tdoc, np.arange(ndocs))
    sample = hit & ((np.arange(len(tdoc)) - first_tok[tdoc]) < DETECT_TOKENS)
    row = sl.det_of[pos[sample]]
    u = row[row >= 0]
    sizes = sl.det_offsets[u + 1] - sl.det_offsets[u]
    langs = sl.det_langs[ranges(sl.det_offsets[u], sizes)]
    hit_doc = np.repeat(tdoc[sample][row >= 0], sizes)
    totals = np.bincount(hit_doc * nl + langs, minlength=ndocs * nl).reshape(ndocs, nl)
    best = totals.argmax(axis=1)
    best = np.where(totals.max(axis=1) > 0, best, -1)
    # function words of the document's language, over all its tokens
    tl = best[tdoc]
    cand = np.flatnonzero(hit & (tl >= 0))
    member = np.zeros(len(token_hashes), dtype=bool)
    if len(cand):
        lc = tl[cand]
        bits = sl.langs[pos[cand], lc >> 6] >> (lc & 63).astype(np.uint64)
        member[cand] = (bits & np.uint64(1)).astype(bool)
    per_doc = np.bincount(tdoc[member], minlength=ndocs)
    share = per_doc / np.maximum(np.bincount(tdoc, minlength=ndocs), 1)
    lang = np.where((best >= 0) & (share >= min_density), best, -1)
    member &= lang[tdoc] >= 0
    counts = np.bincount(token_para[member], minlength=npara).astype(np.int64)
    return lang, counts, np.where(lang >= 0, share, 0.0)


# --- the own features of a batch -----------------------------------------------------------

OWN_FEATURES = (
    "log_chars", "log_units", "stop", "stop_x_log_units", "no_stoplist", "terminal", "heading_start",
    "list_item", "urls", "social", "caps_share", "upper_share", "digit_share", "punct_per_char",
    "symbol_per_char", "separators", "log_sentences", "units_le_3", "units_le_8", "units_le_15",
    "word_length", "weak_hits", "spaceless_share", "colon", "link_share",
)


_STOP, _STOP_X, _NO_STOP, _LOG_UNITS = (OWN_FEATURES.index(c) for c in
                                        ("stop", "stop_x_log_units", "no_stoplist", "log_units"))


def set_language_columns(own: np.ndarray, stops: np.ndarray, tokens: np.ndarray, has_lang: np.ndarray) -> None:
    """The own features that depend on the document's language, in place."""
    stop = np.where(has_lang, stops / np.maximum(tokens, 1), 0.0)
    own[:, _STOP] = stop
    own[:, _STOP_X] = stop * own[:, _LOG_UNITS]
    own[:, _NO_STOP] = (~has_lang).astype(float)


@dataclass(slots=True)
class Batch:
    """Paragraphs of many documents and what the classifier knows of each from its text."""

    paragraphs: list[str]
    doc_start: np.ndarray  # int64, ndocs + 1: paragraphs of document d are doc_start[d]:doc_start[d+1]
    para_doc: np.ndarray  # int64 per paragraph
    stats: CharStats
    tokens: np.ndarray  # tokens per paragraph (dedup tokenizer)
    token_hashes: np.ndarray  # uint64, all tokens in order
    token_lengths: np.ndarray  # bytes of each token
    lang: np.ndarray  # per document: stoplist index or -1
    stops: np.ndarray  # per paragraph: function words of its document's language
    urls: np.ndarray  # per paragraph
    link_words: np.ndarray  # words inside links
    token_stop: np.ndarray  # int32 per token: its place in stoplists().hashes, -1 if no function word
    hits: list[tuple]  # per paragraph: the pattern hits (rules.Hit)
    timeouts: list  # (paragraph, RuleTimeout)
    own: np.ndarray  # (paragraphs, len(OWN_FEATURES))

    @property
    def ndocs(self) -> int:
        return len(self.doc_start) - 1


def build_batch(docs: list[list[str]], rules, min_density: float = 0.05) -> Batch:
    """Features of every paragraph of `docs` (lists of paragraphs)."""
    from .minhash import tokenize, tokenize_joined
    from .textutil import URL_HINT, URL_RE, WORD_RE

    sizes = np.array([len(d) for d in docs], dtype=np.int64)
    doc_start = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
    paragraphs = [p for d in docs for p in d]
    n = len(paragraphs)
    para_doc = np.repeat(np.arange(len(docs), dtype=np.int64), sizes)
    st = char_stats(paragraphs)
    # lower-cased once, for the tokens and the rules: one str.lower() of the batch's text
    # is what lower() of each paragraph gives (a newline ends a word for the casing rules
    # too, Greek final sigma included) at a fraction of the cost of a call per paragraph
    joined = "\n".join(paragraphs)
    if n and joined.count("\n") == n - 1:
        low = joined.lower()
        tok = tokenize_joined(low.encode("utf-8", "surrogatepass"))
        lower: list[str] | None = low.split("\n")
    else:  # a paragraph that holds a newline (API input): one at a time
        low, lower = None, None
        tok = tokenize(paragraphs)
    token_para = np.repeat(np.arange(n, dtype=np.int64), tok.counts)
    stop_lookup = lookup_stopwords(tok.hashes)
    lang, stops, _ = function_words(tok.hashes, token_para, para_doc, len(docs), min_density, stop_lookup)
    urls = np.zeros(n, dtype=np.int64)
    link_words = np.zeros(n, dtype=np.int64)
    for i in np.flatnonzero(st.slashes > 0).tolist() + [i for i, p in enumerate(paragraphs) if "www" in p]:
        if urls[i]:
            continue
        p = paragraphs[i]
        found = URL_RE.findall(p) if URL_HINT.search(p) else None
        if found:
            urls[i] = len(found)
            link_words[i] = max(len(WORD_RE.findall(p)) - len(WORD_RE.findall(URL_RE.sub(" ", p))), 0)
    hits, timeouts = rules.match_many(paragraphs, st.words, lower, low)
    w = np.maximum(st.words, 1).astype(float)
    tokens = tok.counts.astype(np.int64)
    has_lang = lang[para_doc] >= 0
    log_units = np.log1p(st.units)
    weak = np.zeros(n)
    for i in [i for i, hs in enumerate(hits) if hs]:
        weak[i] = sum(1 for h in hits[i] if not h.decisive)
    colon = st.colon_early.astype(float)
    own = np.column_stack([
        np.log1p(st.chars), log_units, np.zeros(n), np.zeros(n), np.zeros(n),
        st.terminal.astype(float), st.heading_start.astype(float), st.list_item.astype(float),
        np.minimum(urls, 3).astype(float), np.minimum(st.emoji + st.handles + st.hashtags, 3).astype(float),
        st.cap_words / np.maximum(st.cased_words, 1), st.upper / np.maximum(st.letters, 1), st.digit_words / w,
        st.punct / np.maximum(st.chars, 1), st.symbols / np.maximum(st.chars, 1),
        np.minimum(st.separators, 5).astype(float), np.log1p(st.sentences), (st.units <= 3).astype(float),
        (st.units <= 8).astype(float), (st.units <= 15).astype(float),
        np.clip(st.word_chars / w, 2.0, 12.0), np.minimum(weak, 3), st.spaceless / np.maximum(st.letters, 1), colon,
        link_words / w,
    ]) if n else np.zeros((0, len(OWN_FEATURES)))
    set_language_columns(own, stops, tokens, has_lang)
    return Batch(paragraphs, doc_start, para_doc, st, tokens, tok.hashes, tok.lengths, lang, stops, urls,
                 link_words, np.where(stop_lookup[1], stop_lookup[0], -1).astype(np.int32), hits, timeouts, own)


class ContentIndex:
    """The content words of a batch grouped by (word, document), sorted once: the overlap of
    every paragraph with any choice of core paragraphs is then a few bincounts (the sort was
    most of content_overlap, and the context stages ask for it once each)."""

    __slots__ = ("n", "para", "group", "distinct")

    def __init__(self, word_hashes: np.ndarray, words_per_para: np.ndarray, para_doc: np.ndarray) -> None:
        n = self.n = len(words_per_para)
        h = word_hashes
        p = np.repeat(np.arange(n, dtype=np.int64), words_per_para)
        d = para_doc[p]
        # by word, then paragraph (the words come in paragraph order, and a stable sort keeps
        # it): each word's (document, paragraph) pairs are then consecutive and in order
        order = np.argsort(h, kind="stable")
        h, p, d = h[order], p[order], d[order]
        # distinct (word, paragraph)
        new = np.ones(len(h), dtype=bool)
        new[1:] = (h[1:] != h[:-1]) | (p[1:] != p[:-1])
        h, p, d = h[new], p[new], d[new]
        # groups: (word, document)
        grp = np.ones(len(h), dtype=bool)
        grp[1:] = (h[1:] != h[:-1]) | (d[1:] != d[:-1])
        self.para = p
        self.group = np.cumsum(grp) - 1
        self.distinct = np.bincount(p, minlength=n)

    def overlap(self, core: np.ndarray) -> np.ndarray:
        """Per paragraph: the share of its distinct content words found in another *core*
        paragraph of its document (core: bool per paragraph)."""
        if len(self.para) == 0:
            return np.zeros(self.n)
        p, gid = self.para, self.group
        c = core[p].astype(np.int64)
        core_count = np.bincount(gid, weights=c)[gid]
        found = (core_count - c) >= 1
        return np.bincount(p, weights=found.astype(float), minlength=self.n) / np.maximum(self.distinct, 1)


def content_overlap(word_hashes: np.ndarray, words_per_para: np.ndarray, para_doc: np.ndarray,
                    core: np.ndarray) -> np.ndarray:
    """Per paragraph: the share of its distinct content words (3+ bytes, a function word of no language) found in
    another *core* paragraph of its document (core: bool per paragraph). Teasers, menus
    and sidebars rarely share words with the text they sit beside."""
    return ContentIndex(word_hashes, words_per_para, para_doc).overlap(core)
