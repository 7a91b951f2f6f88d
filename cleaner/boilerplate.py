"""Paragraph classifier: features, pattern hits, a small linear model and context decide keep/drop.

Each paragraph gets features from its own text (`paragraph_features`, the
costly part, cached in the spill): length, share of function words, terminal
punctuation, capitalisation, digits, punctuation, separators, links, handles,
emoji, list markers and the hits of the pattern library.

The decision (`Classifier.decide`, cheap) runs in stages, each a logistic
regression whose weights ship in `cleaner/data/model.json` (trained on a dev
set by `bench/train.py`, reproducible with `make train`):

1. the *own* stage scores each paragraph from its own features;
2. the *context* stages score it again from its own score, the scores of its
   neighbours (jusText-style smoothing: a short or uncertain paragraph takes
   the class of what surrounds it), where it sits relative to the article text
   (before all of it, after all of it: head and tail blocks of junk go as a
   block), its lexical overlap with the document's core, and whether it looks
   like a heading of the text that follows.

Rules stay on top of the model: a decisive pattern hit (an ad label, a
comment prompt, a share bar...) removes the paragraph with that reason; a
block marker (a comment section, "More from ...", a pitch) after the last
stretch of article text cuts what follows it; an embedded post takes the
paragraph before it along when that one carries emoji, handles or hashtags.

`Classifier.settle` repeats the decision on what is kept until nothing more
goes, so cleaning the output again removes nothing.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import regex

from . import reasons as R
from .document import Drop
from .gbdt import Stage
from .gbdt import sigmoid as _sigmoid
from .rules import Hit, RuleSet, RuleTimeout
from .rules import decide as decide_hits
from .textutil import EMOJI_RE, HANDLE_RE, HASHTAG_RE, URL_RE, WORD_RE, stoplists

GOOD, NEARGOOD, SHORT, BAD = "good", "neargood", "short", "bad"

_LIST_MARKER = regex.compile(r"^\s*(?:[*+•·▪►|>-]|\d{1,2}[.)])\s")
_TERMINAL = regex.compile(r"[.!?…:;\"”'’)\]]\s*$")
_PUNCT = regex.compile(r"\p{P}")
# A word (as WORD_RE finds them) that starts with a capital; one that contains a digit.
_CAP_WORD = regex.compile(r"(?<![\p{L}\p{N}\p{M}'’_-])\p{Lu}")
_DIGIT_WORD = regex.compile(r"(?<![\p{L}\p{N}\p{M}'’_-])[\p{L}\p{M}'’_-]*\p{Nd}")
_SEPS = regex.compile(r"(?:^|\s)[|•·»›/\\–—-](?=\s|$)")
_SENTENCE_END = regex.compile(r"[.!?…][\"”’')\]]?\s+(?=[\"“‘']?\p{Lu})")


@dataclass(slots=True)
class Params:
    """Thresholds of the rules around the model (see README, "How boilerplate is found")."""

    # A paragraph is "article text" (an anchor that stops block cutting) when it is
    # kept, this long, and shares this share of its content words with the core.
    anchor_words: int = 20
    anchor_overlap: float = 0.35
    # A block marker is not the end of the article when the model keeps more than
    # this share (of the kept words before it) after it.
    block_after_share: float = 1.0
    heading_max_words: int = 14
    # In a run of at least list_run list items of which most go, items of up to
    # list_item_words words go too (a menu entry next to the headline).
    list_run: int = 3
    list_item_words: int = 4
    # Documents where function words make up less than this are in a language
    # without a stoplist; stopword density is then not used.
    min_doc_stop_density: float = 0.05
    # Core paragraphs (for the overlap feature): own-stage probability at least this.
    core_prob: float = 0.5


@lru_cache(maxsize=1)
def _lang_table() -> tuple[tuple[str, ...], dict[str, int]]:
    lists = stoplists()
    langs = tuple(sorted(lists))
    table: dict[str, int] = {}
    for bit, lang in enumerate(langs):
        for w in lists[lang]:
            table[w] = table.get(w, 0) | (1 << bit)
    return langs, table


@dataclass(slots=True)
class ParaFeat:
    """What the classifier knows of one paragraph from its text alone."""

    words: int
    chars: int
    stops: tuple[int, ...]  # function words per language (order of _lang_table)
    urls: int
    social: int
    list_item: bool
    terminal: bool
    heading_start: bool
    hits: tuple[Hit, ...]
    vocab: frozenset[str]  # stemmed words of 3+ letters
    caps: int = 0  # words that start with a capital letter
    digits: int = 0  # words with a digit
    punct: int = 0  # punctuation characters
    seps: int = 0  # free-standing separators ("|", "•", "»", "/", "-" between spaces)
    sentences: int = 0  # sentence ends followed by a capital
    link_words: int = 0  # words inside links


def _stem(w: str) -> str:
    if w.endswith("'s"):
        w = w[:-2]
    if len(w) > 4 and w.endswith("s") and not w.endswith("ss"):
        w = w[:-1]
    return w


def paragraph_features(text: str, rules: RuleSet) -> tuple[ParaFeat, list[RuleTimeout]]:
    langs, table = _lang_table()
    toks = WORD_RE.findall(text.lower().replace("’", "'"))
    masks = Counter(table[w] for w in toks if w in table)
    stops = tuple(sum(c for m, c in masks.items() if m >> b & 1) for b in range(len(langs)))
    urls = len(URL_RE.findall(text)) if ("/" in text or "www" in text) else 0
    social = len(EMOJI_RE.findall(text)) + len(HANDLE_RE.findall(text)) + len(HASHTAG_RE.findall(text))
    hits, timeouts = rules.match(text, len(toks))
    first = text[:1]
    return ParaFeat(
        words=len(toks), chars=len(text), stops=stops, urls=urls, social=social,
        list_item=bool(_LIST_MARKER.match(text)), terminal=bool(_TERMINAL.search(text)),
        heading_start=first.isupper() or first.isdigit() or first in "\"“'‘",
        hits=tuple(hits), vocab=frozenset(_stem(w) for w in set(toks) if len(w) > 2),
        caps=len(_CAP_WORD.findall(text)), digits=len(_DIGIT_WORD.findall(text)),
        punct=len(_PUNCT.findall(text)), seps=len(_SEPS.findall(text)),
        sentences=len(_SENTENCE_END.findall(text)),
        link_words=len(toks) - len(WORD_RE.findall(URL_RE.sub(" ", text))) if urls else 0,
    ), timeouts


# --- the model --------------------------------------------------------------------------

OWN_FEATURES = (
    "log_words", "log_chars", "stop", "stop_x_log_words", "no_stoplist", "terminal", "heading_start",
    "list_item", "urls", "social", "caps_share", "digit_share", "punct_per_char", "separators",
    "log_sentences", "words_le_3", "words_le_8", "words_le_15", "word_length", "weak_hits",
)
CONTEXT_FEATURES = (
    "own", "prev", "next", "mean_2", "mean_6", "first", "last", "before_text", "after_text",
    "inside_text", "position", "overlap", "short_x_mean_2", "short_x_prev", "short_x_next",
    "heading_before_text", "after_marker", "doc_text_share", "log_paragraphs",
)
EDGE_SCORE = -3.0  # the score of the space beyond the document's edges
# settle() stops after this many rounds (each removes something; real documents need 1-3).
SETTLE_ROUNDS = 32
# Paragraphs of one document whose drop detail names the features that decided it.
MAX_EXPLAINED = 20_000
SCORE_CLIP = 8.0


@dataclass(slots=True)
class Model:
    """An own stage, context stages, and the probability from which a paragraph is kept."""

    own: Stage
    context: list[Stage]
    threshold: float = 0.5
    meta: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"version": 1, "threshold": round(self.threshold, 4), "own": self.own.to_json(),
                "context": [s.to_json() for s in self.context], "meta": self.meta}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Model:
        own = Stage.from_json(d["own"])
        ctx = [Stage.from_json(s) for s in d["context"]]
        if own.features != OWN_FEATURES or any(s.features != CONTEXT_FEATURES + OWN_FEATURES for s in ctx):
            raise ValueError("model features do not match this version of cleaner; run `make train`")
        return cls(own, ctx, float(d["threshold"]), dict(d.get("meta", {})))

    @classmethod
    def load(cls, path: str | Path | None = None) -> Model:
        if path is None:
            return default_model()
        return cls.from_json(json.loads(Path(path).read_text(encoding="utf-8")))


@lru_cache(maxsize=1)
def default_model() -> Model:
    raw = resources.files("cleaner").joinpath("data/model.json").read_text(encoding="utf-8")
    return Model.from_json(json.loads(raw))


def _static_row(f: ParaFeat) -> tuple[float, ...]:
    """The OWN_FEATURES that do not depend on the document's stoplist, in order, with
    placeholders (0.0) at the stop columns (2, 3, 4)."""
    w = max(f.words, 1)
    return (
        math.log1p(f.words), math.log1p(f.chars), 0.0, 0.0, 0.0, float(f.terminal),
        float(f.heading_start), float(f.list_item), float(min(f.urls, 3)), float(min(f.social, 3)),
        f.caps / w, f.digits / w, f.punct / max(f.chars, 1), float(min(f.seps, 5)),
        math.log1p(f.sentences), float(f.words <= 3), float(f.words <= 8), float(f.words <= 15),
        min(max(f.chars / w, 2.0), 12.0), float(min(len(f.hits), 3)),
    )


def own_matrix(feats: Sequence[ParaFeat], best: int, use_stop: bool,
               cache: dict[int, tuple[float, ...]] | None = None) -> np.ndarray:
    """One row of OWN_FEATURES per paragraph (`best`: index of the document's stoplist).
    `cache` keeps the rows of paragraphs across the passes of one settle."""
    if cache is None:
        rows = [_static_row(f) for f in feats]
    else:
        rows = []
        for f in feats:
            r = cache.get(id(f))
            if r is None:
                r = cache[id(f)] = _static_row(f)
            rows.append(r)
    x = np.array(rows, dtype=float).reshape(len(feats), len(OWN_FEATURES))
    if use_stop and len(feats):
        stops = np.array([f.stops[best] if f.stops else 0 for f in feats], dtype=float)
        words = np.array([max(f.words, 1) for f in feats], dtype=float)
        stop = stops / words
        x[:, 2] = stop
        x[:, 3] = stop * x[:, 0]
    elif len(feats):
        x[:, 4] = 1.0
    return x


def _window_mean(s: np.ndarray, k: int, edge: float = EDGE_SCORE) -> np.ndarray:
    """Mean of the k values on each side (not the paragraph's own), past the edges `edge`."""
    n = len(s)
    pad = np.concatenate([np.full(k, edge), s, np.full(k, edge)])
    c = np.concatenate([[0.0], np.cumsum(pad)])
    total = c[2 * k + 1:2 * k + 1 + n] - c[:n]
    return (total - s) / (2 * k)


def context_matrix(scores: np.ndarray, feats: Sequence[ParaFeat], overlap: np.ndarray,
                   heading_like: np.ndarray, after_marker: np.ndarray) -> np.ndarray:
    """One row of CONTEXT_FEATURES per paragraph, from the previous stage's logits."""
    n = len(feats)
    if n == 0:
        return np.zeros((0, len(CONTEXT_FEATURES)))
    s = np.clip(scores, -SCORE_CLIP, SCORE_CLIP)
    prev = np.concatenate([[EDGE_SCORE], s[:-1]])
    nxt = np.concatenate([s[1:], [EDGE_SCORE]])
    m2, m6 = _window_mean(s, 2), _window_mean(s, 6)
    words = np.array([f.words for f in feats], dtype=float)
    good_words = np.where(s > 0, words, 0.0)
    total = good_words.sum()
    before = np.concatenate([[0.0], np.cumsum(good_words)[:-1]])
    after = total - before - good_words
    if total > 0:
        before, after = before / total, after / total
    first = np.zeros(n)
    first[0] = 1.0
    last = np.zeros(n)
    last[-1] = 1.0
    short = (words <= 8).astype(float)
    pos = np.arange(n) / max(n - 1, 1)
    doc_share = np.full(n, total / max(words.sum(), 1.0))
    return np.column_stack([
        s, prev, nxt, m2, m6, first, last, (before == 0).astype(float), (after == 0).astype(float),
        np.minimum(before, after), pos, overlap, short * m2, short * prev, short * nxt,
        heading_like * (nxt > 0), after_marker, doc_share, np.full(n, math.log1p(n)),
    ])


_LABELS = {
    "log_words": "length", "log_chars": "length", "stop": "function words", "stop_x_log_words": "function words",
    "no_stoplist": "no stoplist", "terminal": "sentence end", "heading_start": "capital start",
    "list_item": "list marker", "urls": "links", "social": "handles/emoji", "caps_share": "capitalised words",
    "digit_share": "digits", "punct_per_char": "punctuation", "separators": "separators",
    "log_sentences": "sentences", "words_le_3": "very short", "words_le_8": "short", "words_le_15": "short",
    "word_length": "word length", "weak_hits": "pattern hits", "own": "own text", "prev": "previous paragraph",
    "next": "next paragraph", "mean_2": "neighbours", "mean_6": "surroundings", "first": "first line",
    "last": "last line", "before_text": "before the article", "after_text": "after the article",
    "inside_text": "inside the article", "position": "position", "overlap": "topic overlap",
    "short_x_mean_2": "short among neighbours", "short_x_prev": "short after", "short_x_next": "short before",
    "heading_before_text": "heading", "after_marker": "after a block marker", "doc_text_share": "document",
    "log_paragraphs": "document length",
}


def feature_label(name: str) -> str:
    return _LABELS.get(name, name)


@dataclass(slots=True)
class ParaInfo:
    """Features and decision of one paragraph (what --explain shows)."""

    feat: ParaFeat
    stop: float = 0.0
    overlap: float = 0.0
    initial: str = ""  # class from the own stage: good (p >= 0.5) or bad
    final: str = ""
    reason: str | None = None
    detail: str = ""
    hit: Hit | None = None  # the pattern hit that decides, if any
    own_prob: float = 0.0
    prob: float = 0.0  # final probability of being article text
    ruled: bool = False  # decided by a rule or forced (the model's scores are not used)
    # main terms of the last stage: (feature, its value, what it added to the log-odds)
    contributions: list[tuple[str, float, float]] = field(default_factory=list)

    def feature_dict(self) -> dict[str, object]:
        f = self.feat
        return {"words": f.words, "chars": f.chars, "stop": round(self.stop, 3),
                "overlap": round(self.overlap, 3), "urls": f.urls, "social": f.social,
                "list": f.list_item, "class": self.initial, "own": round(self.own_prob, 3),
                "prob": round(self.prob, 3), "ruled": self.ruled, "rules": [h.rule for h in f.hits],
                "top": [(name, round(x, 3), round(v, 2)) for name, x, v in self.contributions]}


class Classifier:
    """Decides, for the paragraphs of one document, which are boilerplate."""

    def __init__(self, rules: RuleSet, params: Params | None = None, model: Model | None = None,
                 explain: bool = False) -> None:
        self.rules = rules
        self.p = params or Params()
        self.model = model or default_model()
        self.explain = explain  # keep feature contributions of every paragraph, not only dropped ones
        self._cache: dict[str, ParaFeat] = {}

    # Paragraphs recur (menus, footers, the same line on every page of a site): features
    # depend on the text alone, so they are kept for this many distinct paragraphs.
    CACHE_SIZE = 100_000

    def features(self, paragraphs: Sequence[str]) -> tuple[list[ParaFeat], list[RuleTimeout]]:
        feats, timeouts = [], []
        cache = self._cache
        for t in paragraphs:
            f = cache.get(t)
            if f is None:
                f, tos = paragraph_features(t, self.rules)
                if tos:
                    timeouts.extend(tos)
                elif len(t) < 2000:
                    if len(cache) >= self.CACHE_SIZE:
                        cache.clear()
                    cache[t] = f
            feats.append(f)
        return feats, timeouts

    def classify(self, paragraphs: Sequence[str]) -> list[ParaInfo]:
        """Features and decision in one call (for --explain and tests)."""
        return self.settle(self.features(paragraphs)[0])

    # --- pieces shared with training (bench/train.py) -------------------------------------

    def language(self, feats: Sequence[ParaFeat]) -> tuple[int, bool, frozenset[str]]:
        """The document's stoplist: its index, whether it is used, its words."""
        langs, _ = _lang_table()
        if not langs:
            return 0, False, frozenset()
        if not feats:
            return 0, False, stoplists()[langs[0]]
        totals = np.array([f.stops for f in feats], dtype=np.int64).reshape(len(feats), -1).sum(axis=0).tolist()
        best = max(range(len(langs)), key=lambda b: (totals[b], -b))
        total_words = sum(f.words for f in feats) or 1
        use = totals[best] / total_words >= self.p.min_doc_stop_density
        return best, use, stoplists()[langs[best]]

    def overlap(self, feats: Sequence[ParaFeat], core: Sequence[int], stopset: frozenset[str]) -> np.ndarray:
        """Share of each paragraph's content words found in the core (leave-one-out)."""
        content = [f.vocab - stopset for f in feats]
        counts: Counter[str] = Counter()
        for i in core:
            counts.update(content[i])
        core_set = set(core)
        out = np.zeros(len(feats))
        if len(core) >= 2:
            for i, c in enumerate(content):
                if c:
                    own = 1 if i in core_set else 0
                    out[i] = sum(1 for w in c if counts[w] - own >= 1) / len(c)
        return out

    @staticmethod
    def mostly_links(f: ParaFeat) -> bool:
        """Links and hardly a word besides (a link list, a bare URL)."""
        return f.urls > 0 and f.words - f.link_words <= f.urls + 3

    def ruled_out(self, feats: Sequence[ParaFeat]) -> np.ndarray:
        """Paragraphs that rules remove whatever the model says (pattern hits, link lists)."""
        return np.array([decide_hits(f.hits) is not None or self.mostly_links(f) for f in feats], dtype=bool)

    def heading_like(self, f: ParaFeat) -> bool:
        return (0 < f.words <= self.p.heading_max_words and not f.list_item and not f.urls
                and f.heading_start and not f.hits)

    def stage_inputs(self, feats: Sequence[ParaFeat], blocked: np.ndarray,
                     cache: dict[int, tuple[float, ...]] | None = None
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Own features, own logits, overlap, heading flags and the marker flag of a document.

        `blocked` marks paragraphs that are bad whatever the model says (forced,
        pattern hits); their own logit is set to the edge score."""
        best, use_stop, stopset = self.language(feats)
        x1 = own_matrix(feats, best, use_stop, cache)
        s1 = self.model.own.logits(x1) if len(feats) else np.zeros(0)
        s1 = np.where(blocked, EDGE_SCORE, s1)
        core = [i for i in range(len(feats)) if s1[i] >= math.log(self.p.core_prob / (1 - self.p.core_prob))]
        ov = self.overlap(feats, core, stopset)
        heading = np.array([self.heading_like(f) for f in feats], dtype=float)
        marker = np.zeros(len(feats))
        seen = False
        for i, f in enumerate(feats):
            if seen:
                marker[i] = 1.0
            if any(h.block and h.decisive for h in f.hits):
                seen = True
        return x1, s1, ov, heading, marker

    def scores(self, feats: Sequence[ParaFeat], blocked: np.ndarray,
               cache: dict[int, tuple[float, ...]] | None = None
               ) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
        """Logits of every stage, the last stage's input rows, and the overlap feature."""
        x1, s, ov, heading, marker = self.stage_inputs(feats, blocked, cache)
        out = [s]
        x = x1
        for st in self.model.context:
            x = np.hstack([context_matrix(s, feats, ov, heading, marker), x1])
            s = np.where(blocked, EDGE_SCORE, st.logits(x))
            out.append(s)
        return out, x, ov

    # --- the decision ----------------------------------------------------------------------

    def decide(self, feats: Sequence[ParaFeat], forced: Mapping[int, Drop] | None = None,
               lines: Sequence[int] | None = None, cache: dict[int, tuple[float, ...]] | None = None
               ) -> list[ParaInfo]:
        """One pass of the decision. `forced` paragraphs (duplicates, templates)
        are bad whatever their features and count as bad context. `lines` name
        the paragraphs in details (their line numbers; default: position)."""
        p = self.p
        line = (lambda i: lines[i]) if lines is not None else (lambda i: i + 1)
        forced = forced or {}
        n = len(feats)
        infos = [ParaInfo(f) for f in feats]
        if n == 0:
            return infos
        best, use_stop, stopset = self.language(feats)
        blocked = np.zeros(n, dtype=bool)
        for i, (f, info) in enumerate(zip(feats, infos)):
            info.stop = f.stops[best] / f.words if f.words and use_stop else 0.0
            info.hit = decide_hits(f.hits)
            if i in forced:
                info.reason, info.detail = forced[i].reason, forced[i].detail
            elif info.hit is not None:
                info.reason, info.detail = info.hit.reason, f"rule {info.hit.rule}"
            elif self.mostly_links(f):
                info.reason, info.detail = R.LOW_CONTENT, "mostly links"
            blocked[i] = info.ruled = info.reason is not None

        stages, x, ov = self.scores(feats, blocked, cache)
        own_p, prob = _sigmoid(stages[0]), _sigmoid(stages[-1])
        last = self.model.context[-1] if self.model.context else self.model.own
        keep = prob >= self.model.threshold
        # what moved the score, for the dropped ones (details) or all of them (--explain)
        show = np.flatnonzero(~blocked) if self.explain else np.flatnonzero(~blocked & ~keep)
        if len(show) > MAX_EXPLAINED and not self.explain:
            # a document of a million lines: its first ones get details, all get the score
            for i in show[MAX_EXPLAINED:].tolist():
                infos[i].reason = R.LOW_CONTENT
                infos[i].detail = f"score {prob[i]:.2f} < {self.model.threshold:.2f}"
            show = show[:MAX_EXPLAINED]
        contrib = last.contributions(x[show])
        for i, info in enumerate(infos):
            info.own_prob, info.prob, info.overlap = float(own_p[i]), float(prob[i]), float(ov[i])
            info.initial = GOOD if own_p[i] >= 0.5 else BAD
        if len(show):
            sign = np.where(keep[show], 1.0, -1.0)[:, None]
            tops = np.argsort(contrib * sign, axis=1, kind="stable")[:, ::-1][:, :4]
            top_c = np.take_along_axis(contrib, tops, axis=1)
            top_x = np.take_along_axis(x[show], tops, axis=1)
            why_of: dict[tuple[int, ...], str] = {}
            thr = self.model.threshold
            for row, i in enumerate(show.tolist()):
                order, c = tops[row].tolist(), top_c[row].tolist()
                if self.explain or not keep[i]:
                    xs = top_x[row].tolist()
                    infos[i].contributions = [(last.features[j], xs[k], c[k]) for k, j in enumerate(order)]
                if not keep[i]:
                    negs = tuple(j for k, j in enumerate(order[:3]) if c[k] < 0)
                    why = why_of.get(negs)
                    if why is None:
                        why = why_of[negs] = ", ".join(dict.fromkeys(feature_label(last.features[j])
                                                                     for j in negs)) or "low score"
                    infos[i].reason = R.LOW_CONTENT
                    infos[i].detail = f"score {prob[i]:.2f} < {thr:.2f} ({why})"

        # a run of list items that is mostly boilerplate (a menu) takes its short items along
        i = 0
        while i < n:
            j = i
            while j < n and feats[j].list_item:
                j += 1
            if j - i >= p.list_run:
                gone = sum(1 for k in range(i, j) if infos[k].reason is not None)
                if 2 * gone > j - i:
                    for k in range(i, j):
                        if infos[k].reason is None and feats[k].words <= p.list_item_words:
                            infos[k].reason = R.LOW_CONTENT
                            infos[k].detail = f"short item of a list that is mostly boilerplate (from line {line(i)})"
            i = max(j, i + 1)

        # block cut: a block marker after the start of the article cuts what follows it,
        # unless article text comes back after it (long, and on the topic of what came before)
        cut = self._block_start(infos, forced, stopset)
        if cut is not None:
            for i in range(cut + 1, n):
                if infos[i].reason is None or infos[i].reason == R.LOW_CONTENT:
                    infos[i].reason = R.TAIL_BLOCK
                    infos[i].detail = f"after the block marker on line {line(cut)}"

        # an embedded post takes along the paragraph before it if that looks social
        for i in range(1, n):
            prev = infos[i - 1]
            if infos[i].reason == R.SOCIAL and prev.reason is None and prev.feat.social and prev.feat.words <= 80:
                prev.reason = R.SOCIAL
                prev.detail = f"social markers, before the embed on line {line(i)}"

        for info in infos:
            info.final = GOOD if info.reason is None else BAD
        return infos

    def _block_start(self, infos: Sequence[ParaInfo], forced: Mapping[int, Drop],
                     stopset: frozenset[str]) -> int | None:
        """The block marker from which the rest of the document is boilerplate, if any."""
        p = self.p

        def anchor(i: int) -> bool:
            info = infos[i]
            return info.reason is None and info.feat.words >= p.anchor_words and info.prob >= 0.5

        n = len(infos)
        start = next((i for i in range(n) if anchor(i)), None)
        if start is None:
            return None
        vocab: set[str] = set()
        i = start
        while i < n:
            info = infos[i]
            if i not in forced and info.hit is not None and info.hit.block:
                back = None
                for j in range(i + 1, n):
                    if anchor(j):
                        c = infos[j].feat.vocab - stopset
                        if c and len(c & vocab) / len(c) >= p.anchor_overlap:
                            back = j
                words_before = sum(infos[j].feat.words for j in range(i) if infos[j].reason is None)
                words_after = sum(infos[j].feat.words for j in range(i + 1, n) if infos[j].reason is None)
                if back is None and words_after < p.block_after_share * words_before:
                    return i
                if back is None:  # more text after the marker than before: not the end of the article
                    back = i
                for j in range(i, back + 1):
                    if infos[j].reason is None:
                        vocab |= infos[j].feat.vocab - stopset
                i = back + 1
                continue
            if info.reason is None:
                vocab |= info.feat.vocab - stopset
            i += 1
        return None

    def settle(self, feats: Sequence[ParaFeat], forced: Mapping[int, Drop] | None = None,
               lines: Sequence[int] | None = None) -> list[ParaInfo]:
        """Decide, then decide again on what is kept until nothing more goes.

        The result is a fixed point: deciding on the kept paragraphs alone
        keeps them all, which makes cleaning idempotent.
        """
        cache: dict[int, tuple[float, ...]] = {}
        infos = self.decide(feats, forced, lines, cache)
        kept = [i for i, info in enumerate(infos) if info.reason is None]
        if lines is None:
            lines = [i + 1 for i in range(len(feats))]
        for _ in range(min(len(feats), SETTLE_ROUNDS)):
            sub = self.decide([feats[i] for i in kept], None, [lines[i] for i in kept], cache)
            gone = [(k, s) for k, s in zip(kept, sub) if s.reason is not None]
            if not gone:
                for k, s in zip(kept, sub):
                    infos[k] = s
                break
            for k, s in gone:
                s.detail = (s.detail + "; " if s.detail else "") + "once the rest was removed"
                infos[k] = s
            kept = [k for k in kept if infos[k].reason is None]
        return infos
