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

import gc
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from .config import Config
from .dedup.inner import FileKeys, repeats_inside
from .document import Document, Drop, ItemError


def _classifier(rules: Any, explain: bool, model: str | None) -> Any:
    from .boilerplate import Classifier, Model

    return Classifier(rules, explain=explain, model=Model.load(model) if model else None)


# Documents stripped in one batch of the classifier (features and stages run over a
# batch's paragraphs at once); a batch runs under --doc-timeout, and one that runs out
# of time is stripped again document by document.
STRIP_BATCH_DOCS = 256
STRIP_BATCH_CHARS = 2_000_000


@contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while a batch is stripped: the batch makes a drop and
    a detail for each of up to hundreds of thousands of lines, and the collector's passes
    over everything alive were a tenth of the stage's time. A batch is bounded
    (STRIP_BATCH_*) and makes next to no cycles: reference counting frees the rest.
    Extracting one page likewise (about 5 % of the HTML path's time, Dragnet's pages)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


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
        from .html_extract import HtmlExtractor, HtmlModel
        from .rules import RuleSet

        self.cfg = cfg
        self.rules = RuleSet.build(cfg.rules, cfg.default_rules, cfg.regex_timeout)
        self.classifier = _classifier(self.rules, explain, cfg.model)
        self.html = HtmlExtractor(model=HtmlModel.load(cfg.html_model) if cfg.html_model else None,
                                  rules=self.rules, explain=True)
        # CPU seconds of the classifier deciding documents again (after their repeats, after
        # corpus-wide drops): the run counts them as the stage `settle`, not as the step that
        # asked for them
        self.settle_cpu = 0.0

    @classmethod
    def get(cls, cfg: Config, explain: bool = False) -> DocumentCleaner:
        key = (cfg.fingerprint(), explain)
        dc = cls._cache.get(key)
        if dc is None:
            dc = cls._cache[key] = DocumentCleaner(cfg, explain)
        return dc

    def extract(self, doc: Document) -> None:
        """A page's blocks from its HTML (html_extract: trafilatura as evidence, the page's
        structure, a boosted-tree model). When stripping, every block is a paragraph and the
        extractor's decision is the document's (each block it drops is in doc.drops with its
        reason); without, the document is the blocks it keeps. Other documents have theirs."""
        if doc.html is None:
            return
        # one page at a time, as a batch is stripped (_gc_paused): the parse and
        # trafilatura's passes make tens of thousands of short-lived objects, few cycles
        with _gc_paused():
            page = self.html.clean_page(doc.html)
        doc.html = None
        if self.cfg.strip:
            doc.paragraphs = [b.shown for b in page.blocks]
            doc.drops = {i: Drop(page.reasons[i] or "", page.details[i] or "")
                         for i in range(len(page.blocks)) if not page.keep[i]}
            doc.decided = True
        else:
            doc.paragraphs = [b.shown for b, k in zip(page.blocks, page.keep) if k]
        # the line where each block starts in the page's text (a <pre> block keeps its lines)
        doc.lines = list(range(1, len(doc.paragraphs) + 1))
        if any(b.raw is not None for b in page.blocks):
            line = 1
            for i, p in enumerate(doc.paragraphs):
                doc.lines[i] = line
                line += p.count("\n") + 1

    def strip_many(self, docs: Sequence[Document]) -> tuple[Any, list[Any], list[list[ItemError]]]:
        """Boilerplate of many documents at once: marks what goes in each doc.drops;
        returns the features of their paragraphs (one batch, for `settle_many`), the
        classifier's verdicts (None for pages the HTML extractor decided) and each
        document's pattern timeouts. Nothing without stripping (features None)."""
        if not self.cfg.strip:
            return None, [None] * len(docs), [[] for _ in docs]
        clf = self.classifier
        with _gc_paused():
            # a page the HTML extractor decided needs no text features (it is not decided again)
            feats, timeouts = clf.features_many([d.paragraphs if not d.decided else [] for d in docs])
            todo = [k for k, d in enumerate(docs) if not d.decided]
            verdicts: list[Any] = [None] * len(docs)
            if todo:
                sub = feats if len(todo) == len(docs) else feats.subset(todo)
                for k, v in zip(todo, clf.settle_many(sub, None, [docs[k].lines for k in todo])):
                    verdicts[k] = v
                    docs[k].drops.update(v.drops)
        errors: list[list[ItemError]] = [[] for _ in docs]
        for d, _, t in timeouts:
            errors[d].append(ItemError(docs[d].source, str(t), docs[d].record))
        return feats, verdicts, errors

    def strip(self, doc: Document) -> tuple[Any, Any, list[ItemError]]:
        """`strip_many` for one document."""
        feats, verdicts, errors = self.strip_many([doc])
        return feats, verdicts[0], errors[0]

    def repeats(self, docs: list[Document], feats: Any = None,
                verdicts: dict[int, Any] | None = None) -> FileKeys:
        """Repeats inside each document (marked in doc.drops, with --dedup), and the
        keys and signatures of the kept text for the corpus-wide steps. With `feats`
        (strip_many's features of these documents), a document that lost repeats is
        decided again first, so the keys are those of the text it keeps: a run on the
        output must find the same duplicates (idempotence). `verdicts` receives, by
        document, the classifier's verdict of that second decision."""
        settle = None
        if feats is not None and self.cfg.strip and self.cfg.dedup:
            def settle(ds: list[Document]) -> set[int]:
                return self._settle_repeats(ds, feats, verdicts)
        return repeats_inside(docs, self.cfg, self.cfg.dedup, settle)

    def _settle_repeats(self, docs: list[Document], feats: Any, seen: dict[int, Any] | None = None) -> set[int]:
        """Decide again, with their repeats gone, the documents that lost some; marks what
        else goes in doc.drops and returns the documents that lost more."""
        redo = [k for k, d in enumerate(docs)
                if not d.decided and any(x.twin is not None for x in d.drops.values())]
        if not redo:
            return set()
        verdicts = self._decide_again(feats, redo, [dict(docs[k].drops) for k in redo], docs)
        changed = set()
        for k, v in zip(redo, verdicts):
            if seen is not None:
                seen[k] = v
            new = {i: d for i, d in v.drops.items() if i not in docs[k].drops}
            if new:
                docs[k].drops.update(new)
                changed.add(k)
        return changed

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
            # nothing new since strip and `repeats` settled this document: its decision stands
            # (and the HTML extractor's decision on a page stands whatever dedup takes from it)
            if self.cfg.strip and feats is not None and not doc.decided and corpus_drops[k]:
                redo.append(k)
        if redo:
            verdicts = self._decide_again(feats, redo, [forced_of[k] for k in redo], docs)
            for k, v in zip(redo, verdicts):
                drops = {i: forced_of[k].get(i) or d for i, d in v.drops.items()}
                out[k] = Decision(drops, [i for i in range(len(docs[k].paragraphs)) if i not in drops], verdict=v)
        return out

    def _decide_again(self, feats: Any, redo: list[int], forced: list[dict[int, Drop]],
                      docs: Sequence[Document]) -> list[Any]:
        """The classifier's settled verdicts on the documents `redo` with `forced` drops,
        timed into settle_cpu."""
        t = time.process_time()
        verdicts = self.classifier.settle_many(feats.subset(redo), forced, [docs[k].lines for k in redo])
        self.settle_cpu += time.process_time() - t
        return verdicts

    def settle(self, doc: Document, feats: Any, corpus_drops: Mapping[int, Drop]) -> Decision:
        return self.settle_many([doc], feats, [corpus_drops])[0]

    def clean(self, doc: Document) -> Decision:
        """All the per-document steps for a document on its own (no corpus around it)."""
        self.extract(doc)
        feats, verdict, errors = self.strip(doc)
        # the scores shown (--explain, the API's infos) are those of the last decision a run
        # makes on the document: strip's, or the one once its repeats went (deciding once more
        # here, with everything removed standing in as bad context, could drop more than
        # `clean` does)
        settled: dict[int, Any] = {}
        if self.cfg.dedup:
            self.repeats([doc], feats, settled)
        dec = self.settle(doc, feats, {})
        dec.verdict = settled.get(0)
        if feats is not None and (dec.verdict or verdict) is not None:
            from .boilerplate import infos_of

            dec.infos = infos_of(feats, dec.verdict or verdict)
        dec.errors = errors
        return dec
