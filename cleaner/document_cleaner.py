"""One document through the per-document steps: extract -> strip -> repeats inside -> settle.

`clean` (its map and write phases), `Cleaner.clean_text/clean_html` and `clean
explain` all clean a document with DocumentCleaner, so they give it the same
decisions. In a run, the corpus-wide steps (site templates, duplicates across
documents) come between `repeats` and `settle`; outside a run there are none.

The boilerplate classifier (boilerplate.py) works on batches of documents:
`features_many(paragraph lists)` and `settle_many(features, forced, lines)` of the
object made by `_classifier`; strip and settle hand it every document of a task at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .config import Config
from .dedup.inner import FileKeys, repeats_inside
from .document import Document, Drop, ItemError, split_paragraphs


def _classifier(rules: Any, explain: bool) -> Any:
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
# Documents stripped in one batch of the classifier (features and stages run over a
# batch's paragraphs at once); a batch runs under --doc-timeout, and one that runs out
# of time is stripped again document by document.
STRIP_BATCH_DOCS = 256
STRIP_BATCH_CHARS = 2_000_000


def _kept_words(paragraphs: list[str], drops: Mapping[int, Drop]) -> int:
    return sum(len(p.split()) for i, p in enumerate(paragraphs) if i not in drops)


@dataclass(slots=True)
class Decision:
    """What becomes of one document's paragraphs."""

    drops: dict[int, Drop]  # paragraph index -> why it goes
    kept: list[int]
    infos: list[Any] = field(default_factory=list)  # per paragraph, the classifier's view (--explain)
    errors: list[ItemError] = field(default_factory=list)  # pattern timeouts
    verdict: Any = None  # the classifier's last verdict on the document, if it decided again


class DocumentCleaner:
    """The per-document steps with one config; built once per process (`get`)."""

    _cache: dict[tuple[str, bool], DocumentCleaner] = {}

    def __init__(self, cfg: Config, explain: bool = False) -> None:
        from .extract import Extractor
        from .rules import RuleSet

        self.cfg = cfg
        self.rules = RuleSet.build(cfg.rules, cfg.default_rules, cfg.regex_timeout)
        self.classifier = _classifier(self.rules, explain)
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

    def strip_many(self, docs: Sequence[Document]) -> tuple[Any, list[Any], list[list[ItemError]]]:
        """Boilerplate of many documents at once: marks what goes in each doc.drops;
        returns the features of their paragraphs (one batch, for `settle_many`), the
        classifier's verdicts and each document's pattern timeouts. Nothing without
        stripping (features None)."""
        if not self.cfg.strip:
            return None, [None] * len(docs), [[] for _ in docs]
        clf = self.classifier
        feats, timeouts = clf.features_many([d.paragraphs for d in docs])
        verdicts = clf.settle_many(feats, None, [d.lines for d in docs])
        errors: list[list[ItemError]] = [[] for _ in docs]
        for d, _, t in timeouts:
            errors[d].append(ItemError(docs[d].source, str(t), docs[d].record))
        fallback = [k for k, doc in enumerate(docs) if doc.page_html is not None]
        if fallback:
            feats = self._page_text_fallback(docs, fallback, feats, verdicts, errors)
        for doc, v in zip(docs, verdicts):
            doc.drops.update(v.drops)
        return feats, verdicts, errors

    def _page_text_fallback(self, docs: Sequence[Document], which: list[int], feats: Any, verdicts: list[Any],
                            errors: list[list[ItemError]]) -> Any:
        """Pages cleaned from their whole text instead of trafilatura's extraction when
        next to nothing of that is kept (PAGE_TEXT_WORDS, PAGE_TEXT_RATIO)."""
        from .boilerplate import Features

        clf = self.classifier
        parts = [feats.docs(k, k + 1) for k in range(len(docs))]
        for k in which:
            doc = docs[k]
            html, doc.page_html = doc.page_html, None
            kept = _kept_words(doc.paragraphs, verdicts[k].drops)
            if html is None or kept >= PAGE_TEXT_WORDS:
                continue
            paras, lines, _ = split_paragraphs(self.extractor.whole_text(html))
            if sum(len(p.split()) for p in paras) <= PAGE_TEXT_RATIO * kept:  # it cannot win
                continue
            f2, t2 = clf.features_many([paras])
            v2 = clf.settle_many(f2, None, [lines])[0]
            if _kept_words(paras, v2.drops) > PAGE_TEXT_RATIO * kept:
                doc.paragraphs, doc.lines, doc.from_page_text = paras, lines, True
                parts[k], verdicts[k] = f2, v2
                errors[k].extend(ItemError(doc.source, str(t), doc.record) for _, _, t in t2)
        return Features.concat(parts)

    def strip(self, doc: Document) -> tuple[Any, Any, list[ItemError]]:
        """`strip_many` for one document."""
        feats, verdicts, errors = self.strip_many([doc])
        return feats, verdicts[0], errors[0]

    def repeats(self, docs: list[Document]) -> FileKeys:
        """Repeats inside each document (marked in doc.drops, with --dedup), and the
        keys and signatures of the kept text for the corpus-wide steps."""
        return repeats_inside(docs, self.cfg, self.cfg.dedup)

    def settle_many(self, docs: Sequence[Document], feats: Any, corpus_drops: Sequence[Mapping[int, Drop]]
                    ) -> list[Decision]:
        """The final decisions, once repeats (and, in a run, corpus-wide drops) are known;
        `feats` are strip_many's features of these documents (None without stripping)."""
        out: list[Decision] = []
        redo: list[int] = []
        forced_of: list[dict[int, Drop]] = []
        for k, doc in enumerate(docs):
            # Everything removed before stays removed (also what the classifier dropped): with
            # templates and duplicates gone the context changes, and a paragraph kept only now
            # would have escaped the duplicate checks.
            forced = dict(doc.drops)
            forced.update(corpus_drops[k])
            forced_of.append(forced)
            out.append(Decision(forced, [i for i in range(len(doc.paragraphs)) if i not in forced]))
            # nothing new since strip settled this document: its decision stands
            if self.cfg.strip and feats is not None and (
                    corpus_drops[k] or any(d.twin is not None for d in doc.drops.values())):
                redo.append(k)
        if redo:
            sub = feats.subset(redo)
            verdicts = self.classifier.settle_many(sub, [forced_of[k] for k in redo], [docs[k].lines for k in redo])
            for k, v in zip(redo, verdicts):
                drops = {i: forced_of[k].get(i) or d for i, d in v.drops.items()}
                out[k] = Decision(drops, [i for i in range(len(docs[k].paragraphs)) if i not in drops], verdict=v)
        return out

    def settle(self, doc: Document, feats: Any, corpus_drops: Mapping[int, Drop]) -> Decision:
        return self.settle_many([doc], feats, [corpus_drops])[0]

    def clean(self, doc: Document) -> Decision:
        """All the per-document steps for a document on its own (no corpus around it)."""
        self.extract(doc)
        feats, verdict, errors = self.strip(doc)
        if self.cfg.dedup:
            self.repeats([doc])
        dec = self.settle(doc, feats, {})
        if feats is not None:
            from .boilerplate import infos_of

            dec.infos = infos_of(feats, dec.verdict or verdict)
        dec.errors = errors
        return dec
