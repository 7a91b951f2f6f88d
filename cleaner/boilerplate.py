"""Paragraph classifier: features, pattern hits and context smoothing decide keep/drop.

The scheme follows jusText: each paragraph first gets a class from its own
features (good, near-good, short, bad), then short and near-good paragraphs
take the class of their neighbours, with the document edges counting as bad.
On top of that: prose that shares the vocabulary of the document's core moves
up a class; a title-like line before good text counts as a heading; pattern
hits that open a block (comment sections, "More from ...", pitches) cut what
follows them when no article text comes after; and an embedded post takes
the paragraph before it along when that one carries social markers.

Features of a paragraph depend on its text alone (`paragraph_features`, the
costly part); decisions depend on the sequence (`Classifier.decide`, cheap).
`Classifier.settle` repeats the decision on what is kept until nothing more
goes, so cleaning the output again removes nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import regex

from . import reasons as R
from .document import Drop
from .rules import Hit, RuleSet, RuleTimeout
from .rules import decide as decide_hits
from .textutil import EMOJI_RE, HANDLE_RE, HASHTAG_RE, URL_RE, stoplists, words

GOOD, NEARGOOD, SHORT, BAD = "good", "neargood", "short", "bad"

_LIST_MARKER = regex.compile(r"^\s*(?:[*+•·▪►|>-]|\d{1,2}[.)])\s")
_TERMINAL = regex.compile(r"[.!?…:;\"”'’)\]]\s*$")


@dataclass(slots=True)
class Params:
    """Thresholds of the classifier (see README, "How boilerplate is found")."""

    # jusText's defaults for English are 70/200 characters and 0.30/0.32 stopword
    # density with its 300-word list; our lists are shorter, hence the lower bounds.
    length_low: int = 70
    length_high: int = 200
    stop_low: float = 0.22
    stop_high: float = 0.30
    # A paragraph is "article text" (an anchor that stops block cutting) when it
    # is long and shares this share of its content words with the rest of the core.
    anchor_words: int = 20
    anchor_overlap: float = 0.35
    heading_max_words: int = 14
    # On-topic prose (overlap with the core) moves up one class.
    promote_words: int = 12
    promote_overlap: float = 0.25
    # Documents where function words make up less than this are in a language
    # without a stoplist; stopword density is then not used.
    min_doc_stop_density: float = 0.05


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


def _stem(w: str) -> str:
    if w.endswith("'s"):
        w = w[:-2]
    if len(w) > 4 and w.endswith("s") and not w.endswith("ss"):
        w = w[:-1]
    return w


def paragraph_features(text: str, rules: RuleSet) -> tuple[ParaFeat, list[RuleTimeout]]:
    langs, table = _lang_table()
    toks = [w.replace("’", "'") for w in words(text)]
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
        hits=tuple(hits), vocab=frozenset(_stem(w) for w in toks if len(w) > 2),
    ), timeouts


@dataclass(slots=True)
class ParaInfo:
    """Features and decision of one paragraph (what --explain shows)."""

    feat: ParaFeat
    stop: float = 0.0
    overlap: float = 0.0
    initial: str = ""
    final: str = ""
    reason: str | None = None
    detail: str = ""
    hit: Hit | None = None  # the pattern hit that decides, if any

    def feature_dict(self) -> dict[str, object]:
        f = self.feat
        return {"words": f.words, "chars": f.chars, "stop": round(self.stop, 3),
                "overlap": round(self.overlap, 3), "urls": f.urls, "social": f.social,
                "list": f.list_item, "class": self.initial,
                "rules": [h.rule for h in f.hits]}


class Classifier:
    """Decides, for the paragraphs of one document, which are boilerplate."""

    def __init__(self, rules: RuleSet, params: Params | None = None) -> None:
        self.rules = rules
        self.p = params or Params()

    def features(self, paragraphs: Sequence[str]) -> tuple[list[ParaFeat], list[RuleTimeout]]:
        feats, timeouts = [], []
        for t in paragraphs:
            f, tos = paragraph_features(t, self.rules)
            feats.append(f)
            timeouts.extend(tos)
        return feats, timeouts

    def classify(self, paragraphs: Sequence[str]) -> list[ParaInfo]:
        """Features and decision in one call (for --explain and tests)."""
        return self.settle(self.features(paragraphs)[0])

    def decide(self, feats: Sequence[ParaFeat], forced: Mapping[int, Drop] | None = None,
               lines: Sequence[int] | None = None) -> list[ParaInfo]:
        """One pass of the decision. `forced` paragraphs (duplicates, templates)
        are bad whatever their features and count as bad context. `lines` name
        the paragraphs in details (their line numbers; default: position)."""
        p = self.p
        line = (lambda i: lines[i]) if lines is not None else (lambda i: i + 1)
        forced = forced or {}
        n = len(feats)
        infos = [ParaInfo(f) for f in feats]
        langs, _ = _lang_table()
        totals = [sum(f.stops[b] for f in feats) for b in range(len(langs))]
        best = max(range(len(langs)), key=lambda b: (totals[b], -b)) if langs else 0
        total_words = sum(f.words for f in feats) or 1
        use_stop = bool(langs) and totals[best] / total_words >= p.min_doc_stop_density
        stopset = stoplists()[langs[best]] if langs else frozenset()

        # 1. classes from the paragraph alone
        for i, (f, info) in enumerate(zip(feats, infos)):
            info.stop = f.stops[best] / f.words if f.words and langs else 0.0
            hit = decide_hits(f.hits)
            info.hit = hit
            if i in forced:
                info.initial = BAD
                info.reason = forced[i].reason
                info.detail = forced[i].detail
            elif hit is not None:
                info.initial = BAD
                info.reason = hit.reason
                info.detail = f"rule {hit.rule}"
            elif f.urls and f.words <= 2 * f.urls + 3:
                info.initial = BAD
                info.reason = R.LOW_CONTENT
                info.detail = "mostly links"
            elif f.chars < p.length_low:
                info.initial = SHORT
            elif not use_stop:
                info.initial = GOOD if f.chars >= p.length_high else NEARGOOD
            elif info.stop >= p.stop_high and f.chars >= p.length_high:
                info.initial = GOOD
            elif info.stop >= p.stop_low:
                info.initial = NEARGOOD
            else:
                info.initial = BAD
                info.reason = R.LOW_CONTENT
                info.detail = f"few function words ({info.stop:.2f})"

        # A short article of medium paragraphs has no "good" one, and smoothing would
        # then drop all of it; its densest prose stands in for the missing good class.
        if not any(info.initial == GOOD for info in infos):
            for info in infos:
                if info.initial == NEARGOOD and (info.stop >= p.stop_high or not use_stop):
                    info.initial = GOOD

        # 2. lexical overlap with the document's core (leave-one-out)
        content = [f.vocab - stopset for f in feats]
        core = [i for i, info in enumerate(infos) if info.initial == GOOD]
        counts: Counter[str] = Counter()
        for i in core:
            counts.update(content[i])
        core_set = set(core)
        if len(core) >= 2:
            for i, info in enumerate(infos):
                c = content[i]
                if c:
                    own = 1 if i in core_set else 0
                    info.overlap = sum(1 for w in c if counts[w] - own >= 1) / len(c)

        # 3. on-topic prose moves up one class; a title-like line before good text is a heading
        cls = [info.initial for info in infos]
        if len(core) >= 3:
            for i, info in enumerate(infos):
                density_bad = info.reason == R.LOW_CONTENT and info.detail.startswith("few")
                if (density_bad or cls[i] == NEARGOOD) and info.feat.words >= p.promote_words \
                        and info.overlap >= p.promote_overlap:
                    cls[i] = NEARGOOD if cls[i] == BAD else GOOD
        # Headings: a title-like line before good text (past pattern junk such as an ad
        # under a subheading), or before such a heading (title + byline); no deeper.
        depth = [0] * n
        for i in range(n - 1, -1, -1):
            info = infos[i]
            if cls[i] not in (SHORT, BAD) or i in forced or info.feat.hits or not self._heading_like(info.feat):
                continue
            j = i + 1
            while j < n and j - i <= 3 and (infos[j].hit is not None or j in forced):
                j += 1
            if j < n and cls[j] == GOOD:
                depth[i] = 1
            elif j < n and depth[j] == 1:
                depth[i] = 2
            if depth[i]:
                cls[i] = NEARGOOD

        # 4. context: short paragraphs, then near-good ones, follow their neighbours
        cls = self._smooth(cls)

        # 5. block cut after the last anchor (article text) when a block marker follows it
        anchors = [i for i, info in enumerate(infos)
                   if cls[i] == GOOD and info.reason is None and info.feat.words >= p.anchor_words
                   and (len(core) < 3 or info.overlap >= p.anchor_overlap)]
        last_anchor = anchors[-1] if anchors else -1
        marker = next((i for i in range(last_anchor + 1, n)
                       if i not in forced and (h := infos[i].hit) is not None and h.block), None)
        if marker is not None:
            for i in range(marker + 1, n):
                if cls[i] != BAD or infos[i].reason is None:
                    infos[i].reason = R.TAIL_BLOCK
                    infos[i].detail = f"after the block marker on line {line(marker)}"
                cls[i] = BAD

        # 6. an embedded post takes along the paragraph before it if that looks social
        for i in range(1, n):
            prev = infos[i - 1]
            if infos[i].reason == R.SOCIAL and cls[i - 1] != BAD and prev.feat.social and prev.feat.words <= 80:
                prev.reason = R.SOCIAL
                prev.detail = f"social markers, before the embed on line {line(i)}"
                cls[i - 1] = BAD

        for i, info in enumerate(infos):
            info.final = cls[i]
            if cls[i] == BAD and info.reason is None:
                info.reason = R.LOW_CONTENT
                info.detail = f"{info.initial} paragraph among boilerplate"
            elif cls[i] != BAD:
                info.reason = None
                info.detail = ""
        return infos

    def settle(self, feats: Sequence[ParaFeat], forced: Mapping[int, Drop] | None = None,
               lines: Sequence[int] | None = None) -> list[ParaInfo]:
        """Decide, then decide again on what is kept until nothing more goes.

        The result is a fixed point: deciding on the kept paragraphs alone
        keeps them all, which makes cleaning idempotent.
        """
        infos = self.decide(feats, forced, lines)
        kept = [i for i, info in enumerate(infos) if info.reason is None]
        if lines is None:
            lines = [i + 1 for i in range(len(feats))]
        for _ in range(len(feats)):
            sub = self.decide([feats[i] for i in kept], None, [lines[i] for i in kept])
            gone = [(k, s) for k, s in zip(kept, sub) if s.reason is not None]
            if not gone:
                break
            for k, s in gone:
                s.detail = (s.detail + "; " if s.detail else "") + "once the rest was removed"
                infos[k] = s
            kept = [k for k in kept if infos[k].reason is None]
        return infos

    def _heading_like(self, f: ParaFeat) -> bool:
        return (0 < f.words <= self.p.heading_max_words and not f.list_item and not f.urls
                and f.heading_start)

    @staticmethod
    def _smooth(cls: list[str]) -> list[str]:
        n = len(cls)
        cur = list(cls)

        def neighbour(i: int, step: int, ignore_neargood: bool) -> str:
            j = i + step
            while 0 <= j < n:
                c = cur[j]
                if c in (GOOD, BAD) or (c == NEARGOOD and not ignore_neargood):
                    return c
                j += step
            return BAD

        new: dict[int, str] = {}
        for i in range(n):
            if cur[i] != SHORT:
                continue
            prev, nxt = neighbour(i, -1, True), neighbour(i, 1, True)
            if prev == nxt:
                new[i] = prev
            elif (prev == BAD and neighbour(i, -1, False) == NEARGOOD) or \
                    (nxt == BAD and neighbour(i, 1, False) == NEARGOOD):
                new[i] = GOOD
            else:
                new[i] = BAD
        for i, c in new.items():
            cur[i] = c
        new = {}
        for i in range(n):
            if cur[i] == NEARGOOD:
                both_bad = neighbour(i, -1, True) == BAD and neighbour(i, 1, True) == BAD
                new[i] = BAD if both_bad else GOOD
        for i, c in new.items():
            cur[i] = c
        return cur
