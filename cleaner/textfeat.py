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


@lru_cache(maxsize=1)
def _tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Class and script of every code point of the Basic Multilingual Plane, and
    flags for the few punctuation sets above (bit 0 stop, 1 terminal, 2 separator,
    3 list mark, 4 closer, 5 apostrophe/connector inside words)."""
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
    """Class and script of code points above the BMP (rare: emoji, CJK extensions)."""
    u, inv = np.unique(cp, return_inverse=True)
    c = np.array([_CAT_CLASS.get(unicodedata.category(chr(int(x))), C_OTHER) for x in u], dtype=np.uint8)
    s = np.zeros(len(u), dtype=np.uint8)
    for lo, hi, name in _ASTRAL:
        s[(u >= lo) & (u <= hi)] = _S[name]
    return c[inv], s[inv]


@dataclass(slots=True)
class CharStats:
    """Per-paragraph counts of a batch (arrays of one value per paragraph)."""

    chars: np.ndarray  # code points
    letters: np.ndarray
    upper: np.ndarray  # upper-case letters
    digits: np.ndarray
    punct: np.ndarray
    symbols: np.ndarray
    spaces: np.ndarray
    words: np.ndarray  # runs of word characters that hold a letter or digit
    units: np.ndarray  # word equivalents (spaceless scripts by their letters)
    cap_words: np.ndarray  # words that start with an upper-case letter
    cased_words: np.ndarray  # words of a cased script
    digit_words: np.ndarray  # words with a digit
    long_words: np.ndarray  # words of 3+ characters
    word_chars: np.ndarray  # characters inside words
    separators: np.ndarray  # free-standing separators (" | ", " • ", " - "...)
    sentences: np.ndarray  # full stops inside the paragraph (not counting its end)
    terminal: np.ndarray  # bool: ends like a sentence or clause
    heading_start: np.ndarray  # bool: starts with a capital, digit or quote
    list_item: np.ndarray  # bool: starts with a list marker ("* ", "- ", "1. ", "2) ")
    emoji: np.ndarray
    handles: np.ndarray  # @name
    hashtags: np.ndarray  # #tag
    slashes: np.ndarray  # "/" characters (a cheap test for links)
    script: np.ndarray  # the paragraph's main script (index in SCRIPTS; 0: none)
    spaceless: np.ndarray  # letters of scripts written without spaces
    script_letters: np.ndarray  # (paragraphs, len(SCRIPTS)) letters per script


def char_stats(paragraphs: list[str]) -> CharStats:
    """Counts for each paragraph (paragraphs hold no newline)."""
    n = len(paragraphs)
    raw = "\n".join(paragraphs).encode("utf-8", "surrogatepass")
    b = np.frombuffer(raw + b"\0\0\0\0", dtype=np.uint8)
    nb = len(raw)
    lead = np.flatnonzero((b[:nb] & 0xC0) != 0x80)
    b0 = b[lead].astype(np.int64)
    b1 = (b[lead + 1] & 0x3F).astype(np.int64)
    b2 = (b[lead + 2] & 0x3F).astype(np.int64)
    b3 = (b[lead + 3] & 0x3F).astype(np.int64)
    cp = np.where(b0 < 0x80, b0,
                  np.where(b0 < 0xE0, ((b0 & 0x1F) << 6) | b1,
                           np.where(b0 < 0xF0, ((b0 & 0x0F) << 12) | (b1 << 6) | b2,
                                    ((b0 & 0x07) << 18) | (b1 << 12) | (b2 << 6) | b3)))
    cls_t, scr_t, flag_t = _tables()
    bmp = cp < 0x10000
    cpb = np.where(bmp, cp, 0)
    cls = cls_t[cpb]
    scr = scr_t[cpb]
    flags = flag_t[cpb]
    if not bmp.all():
        hi = np.flatnonzero(~bmp)
        cls[hi], scr[hi] = _astral(cp[hi])
        flags[hi] = 0
    nl = cp == 10
    pid = np.cumsum(nl)  # paragraph of each character; a newline belongs to the next one
    m = len(cp)
    real = ~nl

    def count(mask: np.ndarray) -> np.ndarray:
        return np.bincount(pid[mask], minlength=n).astype(np.int64)

    letter = (cls == C_UPPER) | (cls == C_LETTER)
    alnum = letter | (cls == C_DIGIT) | (cls == C_NUMBER)
    wordc = alnum | (cls == C_MARK) | ((flags & 32) != 0)
    # words: runs of word characters with a letter or digit (a run of only "-" or "'" is not one)
    prev_word = np.concatenate(([False], wordc[:-1]))
    start = wordc & ~prev_word
    run = np.cumsum(start) - 1  # run id of each word character (valid where wordc)
    nruns = int(start.sum())
    run_alnum = np.bincount(run[wordc & alnum], minlength=nruns) > 0
    run_len = np.bincount(run[wordc], minlength=nruns)
    run_para = pid[start]
    is_spaceless_script = np.zeros(len(SCRIPTS), dtype=bool)
    unit_weight = np.zeros(len(SCRIPTS))
    for name, k in SPACELESS_UNIT.items():
        is_spaceless_script[_S[name]] = True
        unit_weight[_S[name]] = 1.0 / k
    sl_letter = (letter | (cls == C_MARK)) & is_spaceless_script[scr]
    run_spaceless = np.bincount(run[wordc & sl_letter], minlength=nruns) > 0
    # first letter of each run: upper-case?  digits in it?  a cased script?
    first_char = np.flatnonzero(start)
    run_cap = cls[first_char] == C_UPPER
    run_digit = np.bincount(run[wordc & (cls == C_DIGIT)], minlength=nruns) > 0
    cased_ids = np.array([_S[s] for s in CASED])
    run_cased = np.bincount(run[wordc & letter & np.isin(scr, cased_ids)], minlength=nruns) > 0
    words_mask = run_alnum

    def per_run(mask: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        return np.bincount(run_para[mask], weights=None if weights is None else weights[mask],
                           minlength=n)

    words = per_run(words_mask).astype(np.int64)
    plain_runs = per_run(words_mask & ~run_spaceless)
    sl_units = np.bincount(pid[sl_letter], weights=unit_weight[scr[sl_letter]], minlength=n)
    units = plain_runs + sl_units

    # neighbours of each character inside its paragraph
    prev_cls = np.concatenate(([C_SPACE], cls[:-1]))
    next_cls = np.concatenate((cls[1:], [C_SPACE]))
    prev_nl = np.concatenate(([True], nl[:-1]))
    next_nl = np.concatenate((nl[1:], [True]))
    prev_space = (prev_cls == C_SPACE) | prev_nl
    next_space = (next_cls == C_SPACE) | next_nl
    sep = ((flags & 4) != 0) & prev_space & next_space & real

    # sentence ends inside the paragraph: a full stop (and closers) followed by a space and
    # a capital, a quote or a digit; in scripts without capitals (or spaces), any full stop
    # that is not the paragraph's last character
    stop = ((flags & 1) != 0) & real
    nxt2_cls = np.concatenate((cls[2:], [C_SPACE, C_SPACE]))
    cased_next = np.isin(np.concatenate((scr[2:], [0, 0])), cased_ids)
    latin_stop = stop & ((cp < 0x80) | (cp == 0x2026))
    sent_cased = latin_stop & (next_cls == C_SPACE) & ~next_nl & ((nxt2_cls == C_UPPER) | (nxt2_cls == C_DIGIT)
                                                                  | ~cased_next & ((nxt2_cls == C_LETTER)))
    sent_other = stop & ~latin_stop & ~next_nl
    sentences = count(sent_cased | sent_other)

    # first and last character of each paragraph
    para_first = np.concatenate(([0], np.flatnonzero(nl) + 1))
    para_last = np.concatenate((np.flatnonzero(nl) - 1, [m - 1]))
    nonempty = para_last >= para_first
    pf = np.minimum(para_first, max(m - 1, 0))
    pl = np.maximum(para_last, 0)
    if m == 0:
        z = np.zeros(n, dtype=np.int64)
        zb = np.zeros(n, dtype=bool)
        return CharStats(z, z, z, z, z, z, z, z, np.zeros(n), z, z, z, z, z, z, z, zb, zb, zb, z, z, z, z, z,
                         np.zeros(n, dtype=np.int64), np.zeros((n, len(SCRIPTS)), dtype=np.int64))
    last_flags = flags[pl]
    terminal = nonempty & ((last_flags & 2) != 0)
    first_cls = cls[pf]
    heading_start = nonempty & ((first_cls == C_UPPER) | (first_cls == C_DIGIT) | np.isin(cp[pf], [34, 39, 0x201C, 0x2018, 0xAB]))
    # list markers: "* x", "- x", "• x"; "1. x", "12) x"
    second = np.minimum(pf + 1, m - 1)
    third = np.minimum(pf + 2, m - 1)
    fourth = np.minimum(pf + 3, m - 1)
    mark1 = ((flags[pf] & 8) != 0) & (cls[second] == C_SPACE) & (pf + 1 <= para_last)
    dot_paren = np.isin(cp, [46, 41])
    num1 = (cls[pf] == C_DIGIT) & dot_paren[second] & (cls[third] == C_SPACE) & (pf + 2 <= para_last)
    num2 = (cls[pf] == C_DIGIT) & (cls[second] == C_DIGIT) & dot_paren[third] & (cls[fourth] == C_SPACE) \
        & (pf + 3 <= para_last)
    list_item = nonempty & (mark1 | num1 | num2)

    emoji = count((scr == _S["emoji"]) | ((cp >= 0x1F1E6) & (cp <= 0x1F1FF)))
    at = cp == 64
    hashc = cp == 35
    prev_wordish = np.concatenate(([False], wordc[:-1] | (cp[:-1] == 46)))
    next_word = np.concatenate((wordc[1:], [False])) & ~next_nl
    next_letter = np.concatenate((letter[1:], [False])) & ~next_nl
    handles = count(at & ~prev_wordish & next_word)
    hashtags = count(hashc & ~np.concatenate(([False], wordc[:-1] | (cp[:-1] == 38))) & next_letter)

    script_letters = np.zeros((n, len(SCRIPTS)), dtype=np.int64)
    lmask = letter | (cls == C_MARK)
    if lmask.any():
        np.add.at(script_letters, (pid[lmask], scr[lmask].astype(np.int64)), 1)
    script_letters[:, 0] = 0
    main_script = np.where(script_letters.sum(axis=1) > 0, script_letters.argmax(axis=1), 0)
    long_runs = words_mask & (run_len >= 3)
    return CharStats(
        chars=count(real), letters=count(letter), upper=count(cls == C_UPPER), digits=count(cls == C_DIGIT),
        punct=count((cls == C_PUNCT) & real), symbols=count(cls == C_SYMBOL), spaces=count(cls == C_SPACE),
        words=words, units=units, cap_words=per_run(words_mask & run_cap & run_cased).astype(np.int64),
        cased_words=per_run(words_mask & run_cased).astype(np.int64),
        digit_words=per_run(words_mask & run_digit).astype(np.int64),
        long_words=per_run(long_runs).astype(np.int64),
        word_chars=count(wordc & real), separators=count(sep), sentences=sentences, terminal=terminal,
        heading_start=heading_start, list_item=list_item, emoji=emoji, handles=handles, hashtags=hashtags,
        slashes=count(cp == 47), script=main_script.astype(np.int64), spaceless=count(sl_letter),
        script_letters=script_letters,
    )


# --- function words ---------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Stoplists:
    """Function words of many languages as token hashes (the dedup tokenizer's): `hashes`
    sorted and unique; the languages of hashes[k] are langs[offsets[k]:offsets[k + 1]]."""

    names: tuple[str, ...]
    hashes: np.ndarray  # uint64
    offsets: np.ndarray  # int64, len(hashes) + 1
    langs: np.ndarray  # int64 language indices


def _justext_lists() -> dict[str, list[str]]:
    """jusText's stoplists (100 languages, from Wikipedia), by language name."""
    from importlib import resources

    out: dict[str, list[str]] = {}
    try:
        folder = resources.files("justext").joinpath("stoplists")
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if entry.name.endswith(".txt"):
                words = entry.read_text(encoding="utf-8").split()
                out[entry.name[:-4]] = words
    except (ModuleNotFoundError, FileNotFoundError, NotADirectoryError):
        pass
    return out


@lru_cache(maxsize=1)
def stoplists() -> Stoplists:
    from .minhash import tokenize
    from .textutil import stoplists as own_lists

    lists = _justext_lists()
    if not lists:  # jusText comes with trafilatura; without it, the short lists that ship here
        lists = {k: sorted(v) for k, v in own_lists().items()}
    names = tuple(sorted(lists))
    words: list[str] = []
    lang_of: list[int] = []
    for i, name in enumerate(names):
        for w in lists[name]:
            words.append(w)
            lang_of.append(i)
    tok = tokenize(words)
    single = tok.counts == 1  # a stopword the tokenizer splits ("don't") cannot be looked up
    first = tok.starts()[single]
    h = tok.hashes[first]
    lg = np.asarray(lang_of, dtype=np.int64)[single]
    order = np.lexsort((lg, h))
    h, lg = h[order], lg[order]
    keep = np.ones(len(h), dtype=bool)
    keep[1:] = (h[1:] != h[:-1]) | (lg[1:] != lg[:-1])
    h, lg = h[keep], lg[keep]
    uniq, start = np.unique(h, return_index=True)
    offsets = np.append(start, len(h)).astype(np.int64)
    return Stoplists(names, uniq, offsets, lg)


def _ranges(starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Concatenated aranges [starts[i], starts[i] + sizes[i])."""
    total = int(sizes.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    rep = np.repeat(starts - np.concatenate(([0], np.cumsum(sizes)[:-1])), sizes)
    return np.arange(total, dtype=np.int64) + rep


def function_words(token_hashes: np.ndarray, token_para: np.ndarray, para_doc: np.ndarray, ndocs: int,
                   min_density: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The language of each document (index into stoplists().names, -1: none covers at
    least `min_density` of its tokens), and per paragraph its tokens that are function
    words of its document's language; also each document's share of such tokens."""
    sl = stoplists()
    npara = len(para_doc)
    if len(sl.hashes) == 0 or len(token_hashes) == 0:
        return np.full(ndocs, -1, dtype=np.int64), np.zeros(npara, dtype=np.int64), np.zeros(ndocs)
    pos = np.searchsorted(sl.hashes, token_hashes)
    pos = np.minimum(pos, len(sl.hashes) - 1)
    hit = sl.hashes[pos] == token_hashes
    u = pos[hit]
    hp = token_para[hit]
    sizes = sl.offsets[u + 1] - sl.offsets[u]
    langs = sl.langs[_ranges(sl.offsets[u], sizes)]
    hit_para = np.repeat(hp, sizes)
    hit_doc = para_doc[hit_para]
    nl = len(sl.names)
    totals = np.bincount(hit_doc * nl + langs, minlength=ndocs * nl).reshape(ndocs, nl)
    tokens_per_doc = np.bincount(para_doc[token_para], minlength=ndocs)
    best = totals.argmax(axis=1)  # ties: the first language in name order
    share = totals[np.arange(ndocs), best] / np.maximum(tokens_per_doc, 1)
    lang = np.where(share >= min_density, best, -1)
    counts = np.bincount(hit_para[langs == lang[hit_doc]], minlength=npara).astype(np.int64)
    return lang, counts, np.where(lang >= 0, share, 0.0)
