"""One document through the per-document steps: extract -> strip -> repeats inside -> settle.

`clean` (its map and write phases), `Cleaner.clean_text/clean_html` and `clean
explain` all clean a document with DocumentCleaner, so they give it the same
decisions. In a run, the corpus-wide steps (site templates, duplicates across
documents) come between `repeats` and `settle`; outside a run there are none.

The boilerplate classifier (boilerplate.py) is reached through two calls only,
`features(paragraphs)` and `settle(feats, forced, lines)` of the object made by
`_boilerplate_model`: another classifier with those two calls fits there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from .config import Config
from .dedup.inner import FileKeys, repeats_inside
from .document import Document, Drop, ItemError, split_paragraphs


class BoilerplateModel(Protocol):
    """What DocumentCleaner needs of a boilerplate classifier."""

    def features(self, paragraphs: Sequence[str]) -> tuple[list[Any], list[Any]]:
        """Per-paragraph features (kept in the spill between phases) and pattern timeouts."""

    def settle(self, feats: Sequence[Any], forced: Mapping[int, Drop] | None = None,
               lines: Sequence[int] | None = None) -> list[Any]:
        """Per paragraph, its decision (`.reason` None to keep, `.detail`); `forced` ones go."""


def _boilerplate_model(rules: Any, explain: bool) -> BoilerplateModel:
    from .boilerplate import Classifier

    return Classifier(rules, explain=explain)


# An HTML page falls back on its whole text when what is kept of trafilatura's
# extraction is under PAGE_TEXT_WORDS words and the classifier keeps more than
# PAGE_TEXT_RATIO times as many of the whole text: trafilatura then found (next
# to) nothing. On the dragnet dev set that is 5 of 346 pages, HTML F1 0.919 ->
# 0.921; without the word limit (22 pages) F1 goes down to 0.918: on pages
# trafilatura got right, the whole text adds comments and teasers the classifier keeps.
PAGE_TEXT_WORDS = 50
PAGE_TEXT_RATIO = 2.0


def _kept_words(paragraphs: list[str], infos: list[Any]) -> int:
    return sum(len(p.split()) for p, info in zip(paragraphs, infos) if info.reason is None)


def strip_document(doc: Document, model: BoilerplateModel, whole_text: Callable[[bytes], str]
                   ) -> tuple[list[Any], list[Any], list[Any]]:
    """Features and keep/drop decisions of a document's paragraphs, and pattern
    timeouts. An extracted page (with doc.page_html) is cleaned from its whole
    text (whole_text(html)) instead when next to nothing is kept of trafilatura's
    extraction (PAGE_TEXT_WORDS, PAGE_TEXT_RATIO)."""
    feats, timeouts = model.features(doc.paragraphs)
    infos = model.settle(feats, None, doc.lines)
    html, doc.page_html = doc.page_html, None
    if html is not None and (kept := _kept_words(doc.paragraphs, infos)) < PAGE_TEXT_WORDS:
        paras, lines, _ = split_paragraphs(whole_text(html))
        if sum(len(p.split()) for p in paras) > PAGE_TEXT_RATIO * kept:  # else it cannot win
            feats2, timeouts2 = model.features(paras)
            infos2 = model.settle(feats2, None, lines)
            if _kept_words(paras, infos2) > PAGE_TEXT_RATIO * kept:
                doc.paragraphs, doc.lines, doc.from_page_text = paras, lines, True
                feats, infos, timeouts = feats2, infos2, timeouts + timeouts2
    return feats, infos, timeouts


@dataclass(slots=True)
class Decision:
    """What becomes of one document's paragraphs."""

    drops: dict[int, Drop]  # paragraph index -> why it goes
    kept: list[int]
    infos: list[Any] = field(default_factory=list)  # the classifier's last word per paragraph (when stripping)
    errors: list[ItemError] = field(default_factory=list)  # pattern timeouts


class DocumentCleaner:
    """The per-document steps with one config; built once per process (`get`)."""

    _cache: dict[tuple[str, bool], DocumentCleaner] = {}

    def __init__(self, cfg: Config, explain: bool = False) -> None:
        from .extract import Extractor
        from .rules import RuleSet

        self.cfg = cfg
        self.rules = RuleSet.build(cfg.rules, cfg.default_rules, cfg.regex_timeout)
        self.boilerplate = _boilerplate_model(self.rules, explain)
        self.extractor = Extractor()

    @classmethod
    def get(cls, cfg: Config, explain: bool = False) -> DocumentCleaner:
        key = (cfg.fingerprint(), explain)
        dc = cls._cache.get(key)
        if dc is None:
            dc = cls._cache[key] = DocumentCleaner(cfg, explain)
        return dc

    def extract(self, doc: Document) -> None:
        """A page's paragraphs from its HTML (trafilatura); other documents have theirs."""
        if doc.html is None:
            return
        text = self.extractor(doc.html)
        # when stripping, the HTML stays for strip's fallback on the page's whole text
        doc.page_html = doc.html if self.cfg.strip else None
        doc.html = None
        doc.paragraphs, doc.lines, _ = split_paragraphs(text or "")

    def strip(self, doc: Document) -> tuple[list[Any] | None, list[Any], list[ItemError]]:
        """Boilerplate: marks what goes in doc.drops; returns the features (for
        `settle`), the classifier's decisions, and pattern timeouts. Nothing without
        stripping (features None)."""
        if not self.cfg.strip:
            return None, [], []
        feats, infos, timeouts = strip_document(doc, self.boilerplate, self.extractor.whole_text)
        errors = [ItemError(doc.source, str(to), doc.record) for to in timeouts]
        for i, info in enumerate(infos):
            if info.reason is not None:
                doc.drops[i] = Drop(info.reason, info.detail)
        return feats, infos, errors

    def repeats(self, docs: list[Document]) -> FileKeys:
        """Repeats inside each document (marked in doc.drops, with --dedup), and the
        keys and signatures of the kept text for the corpus-wide steps."""
        return repeats_inside(docs, self.cfg, self.cfg.dedup)

    def settle(self, doc: Document, feats: list[Any] | None, corpus_drops: Mapping[int, Drop]) -> Decision:
        """The final decision, once repeats (and, in a run, corpus-wide drops) are known."""
        # Everything removed before stays removed (also what the classifier dropped): with
        # templates and duplicates gone the context changes, and a paragraph kept only now
        # would have escaped the duplicate checks.
        forced = dict(doc.drops)
        forced.update(corpus_drops)
        infos: list[Any] = []
        # nothing new since strip settled this document: its decision stands
        changed = bool(corpus_drops) or any(d.twin is not None for d in doc.drops.values())
        if self.cfg.strip and feats is not None and changed:
            infos = self.boilerplate.settle(feats, forced, doc.lines)
            drops = {i: forced.get(i) or Drop(info.reason, info.detail)
                     for i, info in enumerate(infos) if info.reason is not None}
        else:
            drops = forced
        return Decision(drops, [i for i in range(len(doc.paragraphs)) if i not in drops], infos)

    def clean(self, doc: Document) -> Decision:
        """All the per-document steps for a document on its own (no corpus around it)."""
        self.extract(doc)
        feats, infos, errors = self.strip(doc)
        if self.cfg.dedup:
            self.repeats([doc])
        dec = self.settle(doc, feats, {})
        dec.infos = dec.infos or infos
        dec.errors = errors
        return dec
