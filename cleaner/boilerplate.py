"""Paragraph classifier: which paragraphs of a document are boilerplate, and why.

Features come from `textfeat` (the paragraph's own text: length, function words of
the document's language, sentence ends, capitals, digits, separators, links,
pattern hits...), computed for many documents at once. Three stages of boosted
trees, whose weights ship in `cleaner/data/model.json` (`make train`), then score:

1. the *own* stage gives each paragraph a score from its own features;
2. the *document* stage tells, from the document's shape (its share of short lines,
   the runs of them at its head and tail, navigation and legal lines, the own
   scores), whether the document is a whole page's text (`p_dump`) or text that is
   already extracted, or clean;
3. the *context* stage scores each paragraph again from its own score, its
   neighbours', where it sits relative to the document's text (before all of it,
   after all of it, between), its words shared with the document's core, and the
   document's `p_dump`.

First, do no harm: removing a line of content costs more than keeping a line of
junk. A paragraph goes only with positive evidence: a decisive pattern hit, or a
probability of being text under a threshold that depends on the document. In a
whole-page dump (menus, footers, sidebars all around the text) the threshold is
`t_dump`; in text that looks extracted or clean it is `t_clean`, much lower, so a
short line of a recipe, a spec table or a list stays unless the model is sure.

Rules stay on top of the model: a decisive hit (an ad label, a comment prompt, a
share bar) removes the paragraph with that reason; a block marker after the start
of the article ("More from ...", a subscription pitch, a newsletter box) cuts what
follows it unless article text on the same topic comes back; an embedded post takes
the paragraph before it along when that one carries emoji, handles or hashtags.
`settle` repeats the decision on what is kept until nothing more goes, which makes
cleaning idempotent.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from . import reasons as R
from . import textfeat as TF
from .document import Drop
from .gbdt import Stage
from .gbdt import sigmoid as _sigmoid
from .ragged import ranges, sorted_unique
from .rules import Hit, RuleSet, RuleTimeout
from .rules import decide as decide_hits

OWN_FEATURES = TF.OWN_FEATURES
DOC_FEATURES = (
    "doc_text_share", "log_paragraphs", "doc_short_share", "doc_mean_own", "doc_chrome", "doc_head_run",
    "doc_tail_run", "doc_unit_mean_own", "doc_list_share", "doc_stop", "doc_log_units",
)
CONTEXT_FEATURES = (
    "own", "prev", "next", "mean_2", "mean_6", "first", "last", "before_text", "after_text", "inside_text",
    "position", "short_x_mean_2", "short_x_prev", "short_x_next", "heading_before_text", "after_marker",
    "short_run", "run_at_head", "run_at_tail", "overlap", "p_dump", "dist_core", "between_core",
    "units_rel_max",
) + DOC_FEATURES

# The final score: (1 - w) * the context stage's logit + w * the second context stage's. Held out
# (stripping alone, 5 folds by site, t_clean 0.03 / t_dump 0.25; bench/README, sessions 17-18):
# w = 1 raised Dragnet whole page text 0.871 -> 0.875 but wcxb-dev gold lost 0.28 -> 0.40 % of its
# words; w = 0.5 (refitted): Dragnet 0.871 -> 0.874, WCXB whole page text 0.813 -> 0.816, gold
# 0.28 -> 0.27 % (15 -> 14 documents over 5 %), the extracted inputs within 0.001.
SECOND_WEIGHT = 0.5
EDGE_SCORE = -3.0  # the score of the space beyond the document's edges (and of ruled-out paragraphs)
SCORE_CLIP = 8.0
# settle() stops after this many rounds (each removes something; real documents need 1-3).
SETTLE_ROUNDS = 32
# Paragraphs of one document whose drop detail names the features that decided it.
MAX_EXPLAINED = 20_000
# Reasons of decisive hits that are a page's chrome (menus, footers, consent, share bars).
CHROME = frozenset((R.NAVIGATION, R.LEGAL, R.COOKIE, R.SHARE, R.NEWSLETTER))


@dataclass(slots=True)
class Params:
    """Thresholds of the rules around the model (see README, "How boilerplate is found")."""

    # A paragraph is "article text" (an anchor that stops block cutting) when it is
    # kept, this long (units), likely text, and shares this share of its words with the core.
    anchor_units: float = 20.0
    anchor_overlap: float = 0.35
    heading_max_units: float = 14.0
    # "short" lines for the neighbour features and for runs at the head and tail
    short_units: float = 8.0
    run_units: float = 5.0
    # core paragraphs (for the overlap features): own score >= 0 and this long
    core_units: float = 8.0
    # Documents where function words make up less than this are in a language without a
    # stoplist; the density is then not used (and the model sees `no_stoplist`).
    min_doc_stop_density: float = 0.05


# --- the model ----------------------------------------------------------------------------------

@dataclass(slots=True)
class Model:
    """The stages and the thresholds: a paragraph is kept from probability
    t_clean + (t_dump - t_clean) * p_dump of being text. `second` (optional: a model of
    version 2 has none) is a context stage over the first context stage's scores."""

    own: Stage
    doc: Stage
    context: Stage
    t_clean: float = 0.05
    t_dump: float = 0.35
    meta: dict[str, Any] = field(default_factory=dict)
    second: Stage | None = None

    def threshold(self, p_dump: np.ndarray) -> np.ndarray:
        return self.t_clean + (self.t_dump - self.t_clean) * p_dump

    def to_json(self) -> dict[str, Any]:
        out = {"version": 3 if self.second is not None else 2, "t_clean": round(self.t_clean, 4),
               "t_dump": round(self.t_dump, 4), "own": self.own.to_json(), "doc": self.doc.to_json(),
               "context": self.context.to_json()}
        if self.second is not None:
            out["second"] = self.second.to_json()
        return {**out, "meta": self.meta}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Model:
        if d.get("version") not in (2, 3):
            raise ValueError("model from another version of cleaner; run `make train`")
        own, doc, ctx = Stage.from_json(d["own"]), Stage.from_json(d["doc"]), Stage.from_json(d["context"])
        second = Stage.from_json(d["second"]) if d.get("version") == 3 else None
        if own.features != OWN_FEATURES or doc.features != DOC_FEATURES or \
                ctx.features != CONTEXT_FEATURES + OWN_FEATURES or \
                (second is not None and second.features != ctx.features):
            raise ValueError("model features do not match this version of cleaner; run `make train`")
        return cls(own, doc, ctx, float(d["t_clean"]), float(d["t_dump"]), dict(d.get("meta", {})), second)

    @classmethod
    def load(cls, path: str | Path | None = None) -> Model:
        if path is None:
            return default_model()
        return cls.from_json(json.loads(Path(path).read_text(encoding="utf-8")))


@lru_cache(maxsize=1)
def default_model() -> Model:
    raw = resources.files("cleaner").joinpath("data/model.json").read_text(encoding="utf-8")
    return Model.from_json(json.loads(raw))


# --- features of documents -----------------------------------------------------------------------

@dataclass(slots=True)
class Features:
    """What the classifier knows of the paragraphs of one or more documents (a batch):
    arrays over paragraphs, documents at doc_start[d]:doc_start[d + 1]."""

    doc_start: np.ndarray  # int64, ndocs + 1
    own: np.ndarray  # (paragraphs, len(OWN_FEATURES))
    units: np.ndarray  # word equivalents
    words: np.ndarray
    list_item: np.ndarray  # bool
    heading_start: np.ndarray  # bool
    urls: np.ndarray
    social: np.ndarray  # emoji + handles + hashtags
    lang: np.ndarray  # per document: stoplist index, -1 none
    hits: list[tuple[Hit, ...]]
    chrome: np.ndarray  # bool: removed by a rule of a page-chrome reason (CHROME)
    marker: np.ndarray  # bool: removed by a rule that opens a block of boilerplate
    tok_counts: np.ndarray  # tokens per paragraph (the dedup tokenizer's)
    tok_hashes: np.ndarray  # uint64, every token, paragraph after paragraph
    tok_lengths: np.ndarray  # uint16, bytes of each (capped)
    tok_stop: np.ndarray  # int32: the token's place in textfeat.stoplists().hashes, -1 if no function word

    @property
    def ndocs(self) -> int:
        return len(self.doc_start) - 1

    def __len__(self) -> int:
        return len(self.units)

    def para_doc(self) -> np.ndarray:
        return np.repeat(np.arange(self.ndocs, dtype=np.int64), np.diff(self.doc_start))

    def tok_start(self) -> np.ndarray:
        return np.concatenate(([0], np.cumsum(self.tok_counts))).astype(np.int64)

    def content(self) -> tuple[np.ndarray, np.ndarray]:
        """The content words (3+ bytes, a function word of no language): their hashes, and how
        many per paragraph (textfeat.content_overlap compares them)."""
        cw = (self.tok_lengths >= 3) & (self.tok_stop < 0)
        tpara = np.repeat(np.arange(len(self.tok_counts), dtype=np.int64), self.tok_counts)
        return self.tok_hashes[cw], np.bincount(tpara[cw], minlength=len(self.tok_counts)).astype(np.int64)

    def select(self, rows: np.ndarray, doc_sizes: np.ndarray, min_density: float = 0.05) -> Features:
        """The paragraphs `rows` (in order), grouped into documents of doc_sizes paragraphs.
        Each document's language is recognised again from its paragraphs here, as a new run
        on these paragraphs alone would recognise it (what settle's fixed point needs)."""
        rows = np.asarray(rows, dtype=np.int64)
        ts = self.tok_start()
        tc = self.tok_counts[rows]
        tidx = ranges(ts[rows], tc)
        sizes = np.asarray(doc_sizes, dtype=np.int64)
        f = Features(np.concatenate(([0], np.cumsum(sizes))).astype(np.int64), self.own[rows].copy(),
                     self.units[rows], self.words[rows], self.list_item[rows], self.heading_start[rows],
                     self.urls[rows], self.social[rows], np.full(len(sizes), -1, dtype=np.int64),
                     [self.hits[i] for i in rows.tolist()], self.chrome[rows], self.marker[rows],
                     tc, self.tok_hashes[tidx], self.tok_lengths[tidx], self.tok_stop[tidx])
        f.relanguage(min_density)
        return f

    def relanguage(self, min_density: float) -> None:
        """Recognise each document's language from its tokens, and set the own features that
        depend on it (textfeat.build_batch computes the same on a fresh batch)."""
        tpara = np.repeat(np.arange(len(self.tok_counts), dtype=np.int64), self.tok_counts)
        # the tokens' stoplist lookup is kept from the batch: no second search
        found = (np.maximum(self.tok_stop, 0).astype(np.int64), self.tok_stop >= 0)
        lang, stops, _ = TF.function_words(self.tok_hashes, tpara, self.para_doc(), self.ndocs, min_density, found)
        self.lang = lang
        TF.set_language_columns(self.own, stops, self.tok_counts, lang[self.para_doc()] >= 0)

    def docs(self, d0: int, d1: int) -> Features:
        """Documents d0..d1-1, whole (contiguous: slices, no copies)."""
        lo, hi = int(self.doc_start[d0]), int(self.doc_start[d1])
        ts = self.tok_start()
        a, b = int(ts[lo]), int(ts[hi])
        return Features(self.doc_start[d0:d1 + 1] - lo, self.own[lo:hi], self.units[lo:hi], self.words[lo:hi],
                        self.list_item[lo:hi], self.heading_start[lo:hi], self.urls[lo:hi], self.social[lo:hi],
                        self.lang[d0:d1], self.hits[lo:hi], self.chrome[lo:hi], self.marker[lo:hi],
                        self.tok_counts[lo:hi], self.tok_hashes[a:b], self.tok_lengths[a:b], self.tok_stop[a:b])

    def subset(self, which: Sequence[int]) -> Features:
        """The documents `which`, whole, in that order."""
        w = np.asarray(which, dtype=np.int64)
        if len(w) == 0:
            return Features.empty()
        # gathered at once (a Features per document joined cost a cumsum of the batch each)
        sizes = self.doc_start[w + 1] - self.doc_start[w]
        rows = ranges(self.doc_start[w], sizes)
        tc = self.tok_counts[rows]
        tidx = ranges(self.tok_start()[rows], tc)
        return Features(np.concatenate(([0], np.cumsum(sizes))).astype(np.int64), self.own[rows],
                        self.units[rows], self.words[rows], self.list_item[rows], self.heading_start[rows],
                        self.urls[rows], self.social[rows], self.lang[w], [self.hits[i] for i in rows.tolist()],
                        self.chrome[rows], self.marker[rows], tc,
                        self.tok_hashes[tidx], self.tok_lengths[tidx], self.tok_stop[tidx])

    @staticmethod
    def concat(parts: Sequence[Features]) -> Features:
        if not parts:
            return Features.empty()
        sizes = np.concatenate([np.diff(p.doc_start) for p in parts])
        return Features(
            np.concatenate(([0], np.cumsum(sizes))).astype(np.int64),
            np.concatenate([p.own for p in parts]).reshape(-1, len(OWN_FEATURES)),
            np.concatenate([p.units for p in parts]), np.concatenate([p.words for p in parts]),
            np.concatenate([p.list_item for p in parts]), np.concatenate([p.heading_start for p in parts]),
            np.concatenate([p.urls for p in parts]), np.concatenate([p.social for p in parts]),
            np.concatenate([p.lang for p in parts]), [h for p in parts for h in p.hits],
            np.concatenate([p.chrome for p in parts]), np.concatenate([p.marker for p in parts]),
            np.concatenate([p.tok_counts for p in parts]), np.concatenate([p.tok_hashes for p in parts]),
            np.concatenate([p.tok_lengths for p in parts]), np.concatenate([p.tok_stop for p in parts]))

    @staticmethod
    def empty() -> Features:
        z = np.zeros(0, dtype=np.int64)
        return Features(np.zeros(1, dtype=np.int64), np.zeros((0, len(OWN_FEATURES))), np.zeros(0), z,
                        z.astype(bool), z.astype(bool), z, z, z, [], z.astype(bool), z.astype(bool),
                        z, z.astype(np.uint64), z.astype(np.uint16), z.astype(np.int32))


def features_of(docs: Sequence[Sequence[str]], rules: RuleSet, min_density: float = 0.05
                ) -> tuple[Features, list[tuple[int, int, RuleTimeout]]]:
    """Features of many documents' paragraphs, and pattern timeouts (document, paragraph, timeout)."""
    b = TF.build_batch([list(d) for d in docs], rules, min_density)
    st = b.stats
    decided = [decide_hits(hs) if hs else None for hs in b.hits]
    # a late rule's line is not context (rules.Rule.late)
    chrome = np.array([h is not None and not h.late and h.reason in CHROME for h in decided], dtype=bool)
    # a block marker: the paragraph goes by a rule that opens a block ("More from ...", a pitch)
    marker = np.array([h is not None and not h.late and h.block for h in decided], dtype=bool)
    f = Features(b.doc_start, b.own, st.units, st.words, st.list_item, st.heading_start, b.urls,
                 (st.emoji + st.handles + st.hashtags).astype(np.int64), b.lang, b.hits, chrome, marker,
                 b.tokens, b.token_hashes, np.minimum(b.token_lengths, 65535).astype(np.uint16), b.token_stop)
    pd = b.para_doc
    timeouts = [(int(pd[i]), int(i - b.doc_start[pd[i]]), t) for i, t in b.timeouts]
    return f, timeouts


# --- stage inputs (shared with training: bench/train.py) --------------------------------------------

def _seg_shift(x: np.ndarray, start: np.ndarray, doc: np.ndarray, k: int, edge: float) -> np.ndarray:
    """x shifted by k within each document (k > 0: the value k before), `edge` outside."""
    n = len(x)
    idx = np.arange(n) - k
    ok = (idx >= start[doc]) & (idx < start[doc + 1])
    out = np.full(n, edge)
    out[ok] = x[idx[ok]]
    return out


def _seg_window_mean(x: np.ndarray, start: np.ndarray, doc: np.ndarray, k: int, edge: float) -> np.ndarray:
    """Mean of the k values on each side (not the paragraph's own), `edge` past the document's ends."""
    n = len(x)
    c = np.concatenate(([0.0], np.cumsum(x)))
    i = np.arange(n)
    lo = np.maximum(i - k, start[doc])
    hi = np.minimum(i + k + 1, start[doc + 1])
    outside = (2 * k + 1) - (hi - lo)
    return (c[hi] - c[lo] - x + outside * edge) / (2 * k)


def _runs(flag: np.ndarray, doc: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Runs of equal `flag` inside documents: run id per paragraph, and per run its length,
    first and last paragraph."""
    n = len(flag)
    brk = np.ones(n, dtype=bool)
    brk[1:] = (flag[1:] != flag[:-1]) | (doc[1:] != doc[:-1])
    run_id = np.cumsum(brk) - 1
    first = np.flatnonzero(brk)
    last = np.append(first[1:] - 1, n - 1)
    return run_id, np.bincount(run_id), first, last


def doc_matrix(f: Features, s: np.ndarray, p: Params) -> np.ndarray:
    """One row of DOC_FEATURES per document, from the own-stage scores s (ruled out: EDGE_SCORE)."""
    start, nd = f.doc_start, f.ndocs
    doc = f.para_doc()
    n = len(s)
    s = np.clip(s, -SCORE_CLIP, SCORE_CLIP)
    units = f.units
    cnt = np.diff(start).astype(float)
    c1 = np.maximum(cnt, 1)
    tot = np.bincount(doc, weights=units, minlength=nd)
    good = np.where(s > 0, units, 0.0)
    sh = units <= p.run_units
    head = np.zeros(nd)
    tail = np.zeros(nd)
    if n:
        run_id, run_len, _, _ = _runs(sh, doc)
        ne = start[1:] > start[:-1]
        hd, tl = start[:-1][ne], start[1:][ne] - 1
        head[ne] = np.where(sh[hd], run_len[run_id[hd]], 0)
        tail[ne] = np.where(sh[tl], run_len[run_id[tl]], 0)
    own_p = _sigmoid(s)
    stop = f.own[:, OWN_FEATURES.index("stop")] if n else np.zeros(0)
    return np.column_stack([
        np.bincount(doc, weights=good, minlength=nd) / np.maximum(tot, 1e-9), np.log1p(cnt),
        np.bincount(doc, weights=sh.astype(float), minlength=nd) / c1,
        np.bincount(doc, weights=own_p, minlength=nd) / c1,
        np.log1p(np.bincount(doc, weights=f.chrome.astype(float), minlength=nd)), np.log1p(head), np.log1p(tail),
        np.bincount(doc, weights=own_p * units, minlength=nd) / np.maximum(tot, 1e-9),
        np.bincount(doc, weights=f.list_item.astype(float), minlength=nd) / c1,
        np.bincount(doc, weights=stop * units, minlength=nd) / np.maximum(tot, 1e-9),
        np.log1p(tot),
    ]).reshape(nd, len(DOC_FEATURES))


def context_matrix(f: Features, s: np.ndarray, p_dump: np.ndarray, dmat: np.ndarray, p: Params,
                   content: TF.ContentIndex | None = None, own: np.ndarray | None = None) -> np.ndarray:
    """One row of CONTEXT_FEATURES per paragraph, from the scores s of the paragraphs (the own
    stage's, or the context stage's for the second one), then the columns of `own` if given
    (one matrix written once: the batch's rows are tens of MB). `content`: the batch's
    ContentIndex, if the caller has it."""
    start = f.doc_start
    doc = f.para_doc()
    n = len(s)
    if n == 0:
        return np.zeros((0, len(CONTEXT_FEATURES) + (own.shape[1] if own is not None else 0)))
    s = np.clip(s, -SCORE_CLIP, SCORE_CLIP)
    units = f.units
    i = np.arange(n)
    a, e = start[doc], start[doc + 1]
    cnt = (e - a).astype(float)
    prev = _seg_shift(s, start, doc, 1, EDGE_SCORE)
    nxt = _seg_shift(s, start, doc, -1, EDGE_SCORE)
    good = np.where(s > 0, units, 0.0)
    cg = np.concatenate(([0.0], np.cumsum(good)))
    before = cg[i] - cg[a]
    total = cg[e] - cg[a]
    after = total - before - good
    short = (units <= p.short_units).astype(float)
    heading = ((units <= p.heading_max_units) & ~f.list_item & (f.urls == 0) & f.heading_start).astype(float)
    cm = np.concatenate(([0], np.cumsum(f.marker)))
    after_marker = ((cm[i] - cm[a]) > 0).astype(float)
    sh = units <= p.run_units
    run_id, run_len, run_first, run_last = _runs(sh, doc)
    core = (s >= 0) & (units >= p.core_units)
    if content is None:
        content = TF.ContentIndex(*f.content(), doc)
    ov = content.overlap(core)
    big = 10 ** 6
    last_core = np.maximum.accumulate(np.where(core, i, -big))
    next_core = np.minimum.accumulate(np.where(core, i, big)[::-1])[::-1]
    d_prev = np.where(last_core >= a, i - last_core, big)
    d_next = np.where(next_core < e, next_core - i, big)
    umax = np.maximum.reduceat(units, np.minimum(start[:-1], n - 1))[doc]
    mean_2 = _seg_window_mean(s, start, doc, 2, EDGE_SCORE)
    cols = [
        s, prev, nxt, mean_2, _seg_window_mean(s, start, doc, 6, EDGE_SCORE),
        (i == a).astype(float), (i == e - 1).astype(float), (before == 0).astype(float), (after == 0).astype(float),
        np.minimum(before, after) / np.maximum(total, 1e-9), (i - a) / np.maximum(cnt - 1, 1),
        short * mean_2, short * prev, short * nxt,
        heading * (nxt > 0), after_marker, np.log1p(np.where(sh, run_len[run_id], 0)),
        (sh & (run_first[run_id] == a)).astype(float), (sh & (run_last[run_id] == e - 1)).astype(float),
        ov, p_dump[doc], np.log1p(np.minimum(np.minimum(d_prev, d_next), 1000)),
        ((d_prev < big) & (d_next < big)).astype(float), units / np.maximum(umax, 1), dmat[doc],
    ]
    width = sum(c.shape[1] if c.ndim == 2 else 1 for c in cols)
    out = np.empty((n, width + (own.shape[1] if own is not None else 0)))
    j = 0
    for c in cols:
        if c.ndim == 2:
            out[:, j:j + c.shape[1]] = c
            j += c.shape[1]
        else:
            out[:, j] = c
            j += 1
    if own is not None:
        out[:, j:] = own
    return out


# --- decisions ---------------------------------------------------------------------------------------

_LABELS = {
    "log_chars": "length", "log_units": "length", "stop": "function words", "stop_x_log_units": "function words",
    "no_stoplist": "no stoplist", "terminal": "sentence end", "heading_start": "capital start",
    "list_item": "list marker", "urls": "links", "social": "handles/emoji", "caps_share": "capitalised words",
    "upper_share": "capitals", "digit_share": "digits", "punct_per_char": "punctuation",
    "symbol_per_char": "symbols", "separators": "separators", "log_sentences": "sentences",
    "units_le_3": "very short", "units_le_8": "short", "units_le_15": "short", "word_length": "word length",
    "weak_hits": "pattern hits", "spaceless_share": "script", "colon": "label", "link_share": "links",
    "own": "own text", "prev": "previous paragraph", "next": "next paragraph", "mean_2": "neighbours",
    "mean_6": "surroundings", "first": "first line", "last": "last line", "before_text": "before the article",
    "after_text": "after the article", "inside_text": "inside the article", "position": "position",
    "short_x_mean_2": "short among neighbours", "short_x_prev": "short after", "short_x_next": "short before",
    "heading_before_text": "heading", "after_marker": "after a block marker", "short_run": "run of short lines",
    "run_at_head": "head of the page", "run_at_tail": "foot of the page", "overlap": "topic overlap",
    "p_dump": "whole-page text", "dist_core": "far from the text", "between_core": "inside the article",
    "units_rel_max": "length", "doc_text_share": "document", "log_paragraphs": "document length",
    "doc_short_share": "document", "doc_mean_own": "document", "doc_chrome": "page chrome",
    "doc_head_run": "page head", "doc_tail_run": "page foot", "doc_unit_mean_own": "document",
    "doc_list_share": "document", "doc_stop": "document", "doc_log_units": "document length",
}


def feature_label(name: str) -> str:
    return _LABELS.get(name, name)


def _top_columns(v: np.ndarray, k: int) -> np.ndarray:
    """Per row of v, the columns of its k largest values, largest first, and of equal
    values the later column first: the first k of a reversed stable argsort, by k
    passes of argmax (the sort of every row's 60 columns cost more than all the rest)."""
    v = v.copy()
    n, m = v.shape
    k = min(k, m)
    out = np.empty((n, k), dtype=np.int64)
    rows = np.arange(n)
    for c in range(k):
        j = m - 1 - np.argmax(v[:, ::-1], axis=1)
        out[:, c] = j
        v[rows, j] = -np.inf
    return out


@dataclass(slots=True)
class _TopFeatures:
    """The four features that moved each scored paragraph most (rows of a batch): their
    indices, contributions to the logit and values."""

    names: Sequence[str]
    order: np.ndarray
    c: np.ndarray
    x: np.ndarray


class Contributions(MutableMapping[int, list[tuple[str, float, float]]]):
    """Per paragraph of a document: [(feature, value, contribution)] of the features that
    moved its score most. Read by --explain and the API only, so each paragraph's list
    is built when it is asked for (a run drops hundreds of thousands of lines)."""

    __slots__ = ("_top", "_row", "_own")

    def __init__(self, top: _TopFeatures | None = None, row: dict[int, int] | None = None) -> None:
        self._top = top
        self._row = row or {}  # paragraph -> its row in `top`
        self._own: dict[int, list[tuple[str, float, float]]] = {}  # set later (settle_many)

    def __contains__(self, i: object) -> bool:  # without building the list, as Mapping's would
        return i in self._own or i in self._row

    def __getitem__(self, i: int) -> list[tuple[str, float, float]]:
        if i in self._own:
            return self._own[i]
        r, t = self._row[i], self._top
        assert t is not None
        return [(t.names[j], x, c) for j, x, c in zip(t.order[r].tolist(), t.x[r].tolist(), t.c[r].tolist())]

    def __setitem__(self, i: int, value: list[tuple[str, float, float]]) -> None:
        self._row.pop(i, None)
        self._own[i] = value

    def __delitem__(self, i: int) -> None:
        if self._own.pop(i, None) is None:
            del self._row[i]

    def __iter__(self) -> Iterator[int]:
        return iter(sorted(self._row.keys() | self._own.keys()))

    def __len__(self) -> int:
        return len(self._row.keys() | self._own.keys())


@dataclass(slots=True)
class Verdict:
    """The decision for one document: what goes and why, and the scores behind it."""

    drops: dict[int, Drop]
    prob: np.ndarray  # final probability of being text (per paragraph; 0 for ruled-out ones)
    own_prob: np.ndarray
    p_dump: float
    threshold: float
    ruled: np.ndarray  # bool: decided by a rule or forced (the model's scores are not used)
    contributions: Contributions = field(default_factory=lambda: Contributions())

    def kept(self) -> list[int]:
        return [i for i in range(len(self.prob)) if i not in self.drops]


@dataclass(slots=True)
class ParaInfo:
    """One paragraph's decision, for --explain and tests (Classifier.classify)."""

    reason: str | None
    detail: str
    prob: float
    own_prob: float
    ruled: bool
    hits: tuple[Hit, ...]
    words: int
    contributions: list[tuple[str, float, float]]
    threshold: float = 0.0  # the document's keep threshold
    p_dump: float = 0.0  # the document stage's probability that it is a whole page's text

    def feature_dict(self) -> dict[str, object]:
        return {"words": self.words, "own": round(self.own_prob, 3), "prob": round(self.prob, 3),
                "threshold": round(self.threshold, 3), "p_dump": round(self.p_dump, 3),
                "ruled": self.ruled, "rules": [h.rule for h in self.hits],
                "top": [(name, round(x, 3), round(v, 2)) for name, x, v in self.contributions]}


class Classifier:
    """Decides, for the paragraphs of documents, which are boilerplate."""

    def __init__(self, rules: RuleSet, params: Params | None = None, model: Model | None = None,
                 explain: bool = False) -> None:
        self.rules = rules
        self.p = params or Params()
        self.model = model or default_model()
        self.explain = explain  # keep feature contributions of every paragraph, not only dropped ones

    # -- features -------------------------------------------------------------------------------------

    def features_many(self, docs: Sequence[Sequence[str]]) -> tuple[Features, list[tuple[int, int, RuleTimeout]]]:
        return features_of(docs, self.rules, self.p.min_doc_stop_density)

    def features(self, paragraphs: Sequence[str]) -> tuple[Features, list[RuleTimeout]]:
        f, t = self.features_many([paragraphs])
        return f, [x for _, _, x in t]

    # -- scores ------------------------------------------------------------------------------------------

    def _contributions(self, xs: Sequence[np.ndarray]) -> np.ndarray:
        """Per feature, what it added to the final logit of each row of scores()' rows (xs:
        those of the context stage, then of the second one if the model has it)."""
        m = self.model
        if m.second is None:
            return m.context.contributions(xs[0])
        return (1 - SECOND_WEIGHT) * m.context.contributions(xs[0]) + \
            SECOND_WEIGHT * m.second.contributions(xs[1])

    def scores(self, f: Features, blocked: np.ndarray, content: TF.ContentIndex | None = None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[np.ndarray, ...]]:
        """Own scores, p_dump per document, final logits, and the context stages' input rows
        (one matrix per stage: kept apart, as joining them copied hundreds of MB a batch)."""
        m = self.model
        s1 = m.own.logits(f.own) if len(f) else np.zeros(0)
        s1 = np.where(blocked, EDGE_SCORE, s1)
        dmat = doc_matrix(f, s1, self.p)
        p_dump = _sigmoid(m.doc.logits(dmat)) if f.ndocs else np.zeros(0)
        if not len(f):
            x = np.zeros((0, len(m.context.features)))
            return s1, p_dump, np.zeros(0), (x, x) if m.second is not None else (x,)
        if content is None:
            content = TF.ContentIndex(*f.content(), f.para_doc())
        x = context_matrix(f, s1, p_dump, dmat, self.p, content, own=f.own)
        s2 = np.where(blocked, EDGE_SCORE, m.context.logits(x))
        if m.second is None:
            return s1, p_dump, s2, (x,)
        # the second context stage reads the neighbours' context scores instead of their own
        # scores; the score is the mean of both stages (SECOND_WEIGHT)
        x2 = context_matrix(f, s2, p_dump, dmat, self.p, content, own=f.own)
        s3 = (1 - SECOND_WEIGHT) * s2 + SECOND_WEIGHT * m.second.logits(x2)
        return s1, p_dump, np.where(blocked, EDGE_SCORE, s3), (x, x2)

    # -- one pass ----------------------------------------------------------------------------------------

    def decide_many(self, f: Features, forced: Sequence[Mapping[int, Drop]] | None = None,
                    lines: Sequence[Sequence[int]] | None = None) -> list[Verdict]:
        """One pass of the decision over a batch. `forced` paragraphs (duplicates,
        templates) go whatever their features and count as bad context; `lines`
        name paragraphs in details (default: position + 1)."""
        n, nd = len(f), f.ndocs
        doc = f.para_doc()
        start = f.doc_start
        forced = forced or [{}] * nd
        reason: list[str | None] = [None] * n
        detail: list[str] = [""] * n
        blocked = np.zeros(n, dtype=bool)
        hit_of: dict[int, Hit] = {}
        late: dict[int, Hit] = {}
        for d in range(nd):
            for i, drop in forced[d].items():
                g = int(start[d]) + i
                reason[g], detail[g] = drop.reason, drop.detail
                blocked[g] = True
        hits = f.hits
        for g in [g for g, hs in enumerate(hits) if hs]:
            if not blocked[g]:
                h = decide_hits(hits[g])
                if h is not None and h.late:
                    late[g] = h
                elif h is not None:
                    hit_of[g] = h
                    reason[g], detail[g] = h.reason, f"rule {h.rule}"
                    blocked[g] = True
        content = f.content()
        s1, p_dump, s2, xs = self.scores(f, blocked, TF.ContentIndex(*content, doc) if n else None)
        own_p, prob = _sigmoid(s1), _sigmoid(s2)
        thr = self.model.threshold(p_dump)
        thr_p = thr[doc] if n else np.zeros(0)
        keep = (prob >= thr_p) & ~blocked

        def line(d: int, i: int) -> int:
            return int(lines[d][i]) if lines is not None else i + 1

        # A short line between two paragraphs of article text (rule-dropped lines between them
        # aside) stays whatever its score: nothing in its position says junk, and what the model
        # drops there is a heading or a one-line paragraph of the article ("Construction
        # Timeline" before an advert). On both dev sets' text inputs it changed no F1 by 0.0005.
        if n:
            anchor = keep & (f.units >= self.p.anchor_units) & (prob >= 0.5)
            at = np.arange(n)
            # the nearest paragraph not ruled out before and after each one (-1 / n: none)
            before = np.concatenate(([-1], np.maximum.accumulate(np.where(blocked, -1, at))[:-1]))
            after = np.concatenate((np.minimum.accumulate(np.where(blocked, n, at)[::-1])[::-1][1:], [n]))
            inside = (before >= start[doc]) & (after < start[doc + 1])
            keep |= (~blocked & (f.units <= self.p.heading_max_units) & inside
                     & anchor[np.clip(before, 0, n - 1)] & anchor[np.clip(after, 0, n - 1)])
        # A document the model would empty is not emptied on its doubt alone (as an HTML page
        # keeps trafilatura's lines): what no rule, repeat or block cut takes stays. A record of
        # one word ("Tokyo") went as low-content; on the dev sets' text inputs (shipped model)
        # the documents it emptied were pages with a few lines of gold: WCXB whole page text
        # 11 -> 2 emptied (F1 0.826 -> 0.828), boilerpipe output 7 -> 0, Dragnet whole page
        # text 4 -> 0 (0.895 -> 0.896); no row lower, gold unchanged.
        if n:
            kept_docs = np.zeros(nd, dtype=bool)
            kept_docs[doc[keep]] = True
            keep |= ~blocked & ~kept_docs[doc]
        # what moved the score, for the dropped ones (details) or all of them (--explain)
        low = np.flatnonzero(~blocked & ~keep)
        show = np.flatnonzero(~blocked) if self.explain else low[:MAX_EXPLAINED]
        top: _TopFeatures | None = None
        if len(show):
            last = self.model.context
            contrib = self._contributions([x[show] for x in xs])
            x = xs[0]  # (the first context stage's rows show the values)
            sign = np.where(keep[show], 1.0, -1.0)[:, None]
            tops = _top_columns(contrib * sign, 4)
            top = _TopFeatures(last.features, tops, np.take_along_axis(contrib, tops, axis=1),
                               np.take_along_axis(x[show], tops, axis=1))
            # a dropped paragraph's detail names the (up to) three features that pulled it
            # down most; the documents of a batch share a handful of such triples
            rows = np.flatnonzero(~keep[show])
            key = np.where(top.c[rows, :3] < 0, tops[rows, :3], -1)
            combos, which = np.unique(key, axis=0, return_inverse=True)
            whys = [", ".join(dict.fromkeys(feature_label(last.features[j]) for j in combo if j >= 0)) or "low score"
                    for combo in combos.tolist()]
            gs = show[rows]
            for g, pr, th, k in zip(gs.tolist(), prob[gs].tolist(), thr_p[gs].tolist(), which.reshape(-1).tolist()):
                reason[g] = R.LOW_CONTENT
                detail[g] = f"score {pr:.2f} < {th:.2f} ({whys[k]})"
        if not self.explain and len(low) > MAX_EXPLAINED:
            rest = low[MAX_EXPLAINED:]
            for g, pr, th in zip(rest.tolist(), prob[rest].tolist(), thr_p[rest].tolist()):
                reason[g] = R.LOW_CONTENT
                detail[g] = f"score {pr:.2f} < {th:.2f}"

        # block cut: a block marker after the start of the article cuts what follows it,
        # unless article text comes back after it (long, and on the topic of what came before)
        markers = f.marker
        marked_docs = sorted_unique(doc[markers]) if n else np.zeros(0, dtype=np.int64)
        if len(marked_docs):
            cw_hashes, cw_counts = content
            ts = np.concatenate(([0], np.cumsum(cw_counts))).astype(np.int64)
            for d in marked_docs.tolist():
                lo, hi = int(start[d]), int(start[d + 1])
                cut = self._block_start(f, lo, hi, markers, reason, prob, cw_hashes, ts, set(forced[d]))
                if cut is not None:
                    for g in range(cut + 1, hi):
                        if reason[g] is None or reason[g] == R.LOW_CONTENT:
                            reason[g] = R.TAIL_BLOCK
                            detail[g] = f"after the block marker on line {line(d, cut - lo)}"

        # an embedded post takes along the paragraph before it if that looks social
        for g in sorted(k for k, h in hit_of.items() if h.reason == R.SOCIAL):
            d = int(doc[g])
            if g > start[d] and reason[g - 1] is None and f.social[g - 1] > 0 and f.words[g - 1] <= 80:
                reason[g - 1] = R.SOCIAL
                detail[g - 1] = f"social markers, before the embed on line {line(d, g - int(start[d]))}"

        # late rules last: their lines were context like any other for the decisions above
        for g, h in late.items():
            if reason[g] is None or reason[g] == R.LOW_CONTENT:
                reason[g], detail[g] = h.reason, f"rule {h.rule}, after the classifier (a late rule)"
                blocked[g] = True
        gone = [g for g, r in enumerate(reason) if r is not None]
        gone_at = np.searchsorted(np.asarray(gone, dtype=np.int64), start).tolist() if n else [0] * (nd + 1)
        show_at = np.searchsorted(show, start).tolist() if top is not None else None
        starts = start.tolist()
        out = []
        for d in range(nd):
            lo, hi = starts[d], starts[d + 1]
            fd = forced[d]
            drops = {g - lo: fd[g - lo] if g - lo in fd else Drop(reason[g] or "", detail[g])
                     for g in gone[gone_at[d]:gone_at[d + 1]]}
            contributions = Contributions()
            if show_at is not None and show_at[d] < show_at[d + 1]:
                a, b = show_at[d], show_at[d + 1]
                contributions = Contributions(top, dict(zip((show[a:b] - lo).tolist(), range(a, b))))
            out.append(Verdict(drops, prob[lo:hi], own_p[lo:hi], float(p_dump[d]) if nd else 0.0,
                               float(thr[d]) if nd else 0.0, blocked[lo:hi], contributions))
        return out

    def _block_start(self, f: Features, lo: int, hi: int, markers: np.ndarray, reason: list[str | None],
                     prob: np.ndarray, cw_hashes: np.ndarray, ts: np.ndarray, forced: set[int]) -> int | None:
        """The block marker from which the rest of the document is boilerplate, if any: the
        first (from the first anchor of article text on) with less text kept after it than
        before and no anchor after it on the topic of the text before it. A marker that is
        not the end skips to the last such anchor."""
        p = self.p
        units = f.units[lo:hi]
        free = np.fromiter((r is None for r in reason[lo:hi]), dtype=bool, count=hi - lo)
        anchors = np.flatnonzero(free & (units >= p.anchor_units) & (prob[lo:hi] >= 0.5)).tolist()
        if not anchors:
            return None
        begin = anchors[0]
        marks = [g for g in np.flatnonzero(markers[lo:hi]).tolist() if g >= begin and g not in forced]
        if not marks:
            return None
        units_l, free_l = units.tolist(), free.tolist()
        off = (ts[lo:hi + 1] - ts[lo]).tolist()
        words = cw_hashes[int(ts[lo]):int(ts[hi])]
        free_word = np.repeat(free, np.diff(off))

        def vocab(q: int) -> set[int]:
            return set(words[off[q]:off[q + 1]].tolist())

        # the content words of the kept paragraphs from `begin` up to the marker looked at
        seen: set[int] = set()
        upto = begin
        pos = begin
        for g in marks:
            if g < pos:
                continue
            seen.update(words[off[upto]:off[g]][free_word[off[upto]:off[g]]].tolist())
            upto = g
            back = None
            for q in anchors[bisect_right(anchors, g):]:
                c = vocab(q)
                if c and len(c & seen) / len(c) >= p.anchor_overlap:
                    back = q
            kept_before = sum(float(units_l[q]) for q in range(g) if free_l[q])
            kept_after = sum(float(units_l[q]) for q in range(g + 1, hi - lo) if free_l[q])
            if back is None and kept_after < kept_before:
                return lo + g
            pos = (g if back is None else back) + 1  # more text after the marker than before: not the end
        return None

    # -- the fixed point -------------------------------------------------------------------------------

    def settle_many(self, f: Features, forced: Sequence[Mapping[int, Drop]] | None = None,
                    lines: Sequence[Sequence[int]] | None = None) -> list[Verdict]:
        """Decide, then decide again on what each document keeps until nothing more goes.

        The result is a fixed point: deciding on the kept paragraphs alone keeps them
        all, which makes cleaning idempotent."""
        nd = f.ndocs
        sizes = np.diff(f.doc_start)
        lines = lines if lines is not None else [list(range(1, int(k) + 1)) for k in sizes]
        verdicts = self.decide_many(f, forced, lines)
        kept = [v.kept() for v in verdicts]
        active = [d for d in range(nd) if len(kept[d]) < sizes[d]]
        for _ in range(SETTLE_ROUNDS):
            if not active:
                break
            rows = np.concatenate([f.doc_start[d] + np.asarray(kept[d], dtype=np.int64) for d in active]) \
                if active else np.zeros(0, dtype=np.int64)
            sub = f.select(rows, np.array([len(kept[d]) for d in active]), self.p.min_doc_stop_density)
            subv = self.decide_many(sub, None, [[lines[d][i] for i in kept[d]] for d in active])
            still = []
            for d, sv in zip(active, subv):
                v = verdicts[d]
                gone = {kept[d][i]: drop for i, drop in sv.drops.items()}
                if not gone:
                    # the kept paragraphs' scores as they stand on their own
                    for i, k in enumerate(kept[d]):
                        v.prob[k], v.own_prob[k] = sv.prob[i], sv.own_prob[i]
                        if i in sv.contributions:
                            v.contributions[k] = sv.contributions[i]
                    v.p_dump, v.threshold = sv.p_dump, sv.threshold
                    continue
                for i, drop in sv.drops.items():
                    drop.detail = (drop.detail + "; " if drop.detail else "") + "once the rest was removed"
                    v.drops[kept[d][i]] = drop
                    if i in sv.contributions:
                        v.contributions[kept[d][i]] = sv.contributions[i]
                kept[d] = [k for k in kept[d] if k not in gone]
                still.append(d)
            active = still
        return verdicts

    def settle(self, f: Features, forced: Mapping[int, Drop] | None = None,
               lines: Sequence[int] | None = None) -> Verdict:
        return self.settle_many(f, [forced or {}], [list(lines)] if lines is not None else None)[0]

    def classify(self, paragraphs: Sequence[str]) -> list[ParaInfo]:
        """Features and decision of one document, one ParaInfo per paragraph (--explain, tests)."""
        if not paragraphs:
            return []
        f, _ = self.features(paragraphs)
        v = self.settle(f)
        return infos_of(f, v)


def infos_of(f: Features, v: Verdict) -> list[ParaInfo]:
    """Per-paragraph view of one document's verdict."""
    out = []
    for i in range(len(v.prob)):
        d = v.drops.get(i)
        out.append(ParaInfo(d.reason if d else None, d.detail if d else "", float(v.prob[i]), float(v.own_prob[i]),
                            bool(v.ruled[i]), f.hits[i], int(f.words[i]), v.contributions.get(i, []),
                            v.threshold, v.p_dump))
    return out


ParaFeat = Features  # the old name, for the pipeline's spill type hints
