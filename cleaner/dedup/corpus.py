"""Corpus-wide decisions (the reduce): near-duplicate documents, site templates, and
paragraphs that repeat (exactly or nearly) a paragraph of an earlier document.

Documents are numbered in corpus order (gid, sorted path order); every step
goes in that order, so the first occurrence is the one that stays. The steps
run one after the other on one `Corpus` table, each recording its drops and
its own counts (in `Decisions.clusters`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from .. import reasons as R
from ..config import Config
from ..document import Drop
from ..ragged import offsets_of
from .inner import in_repeated_block
from .lsh import BucketFinder
from .sets import DocJaccard, ParagraphJaccard, SetStore

if TYPE_CHECKING:
    from ..run.index import Earlier

_I32 = np.int32


class Unit(Protocol):
    """What the reduce needs of one map unit (a file or a part of one): run/tasks.MapResult."""

    index: int
    rel: str
    ids: list[str]
    doc_chars: np.ndarray
    doc_key: np.ndarray
    doc_kept: np.ndarray
    p_doc: np.ndarray
    p_idx: np.ndarray
    p_key: np.ndarray
    p_words: np.ndarray
    p_line: np.ndarray
    sigs: np.ndarray | None
    para_rows: np.ndarray
    para_sigs: np.ndarray | None

    @property
    def ndocs(self) -> int: ...


@dataclass(slots=True)
class Decisions:
    doc_drops: dict[int, dict[int, Drop]] = field(default_factory=dict)  # unit -> doc pos -> drop
    para_drops: dict[int, dict[tuple[int, int], Drop]] = field(default_factory=dict)  # unit -> (pos, i) -> drop
    clusters: dict[str, Any] = field(default_factory=dict)  # what each step found
    doc_copies: dict[int, dict[int, int]] = field(default_factory=dict)  # unit -> doc pos -> copies (> 1)
    # unit -> doc pos: removed only after the paragraph steps (documents_made_equal), so the
    # document step still compared later documents with them (--index-exact indexes them)
    late_doc_drops: dict[int, set[int]] = field(default_factory=dict)


def _cat(parts: list[np.ndarray], dtype: Any) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0, dtype)


@dataclass
class Corpus:
    """The map units' summaries as one table of documents and one of kept paragraphs."""

    units: Sequence[Unit]
    store: SetStore
    find_buckets: BucketFinder
    dec: Decisions = field(default_factory=Decisions)
    # --index: the documents of earlier runs, the first unit (gids below `nearlier`): they
    # come first in corpus order, so they always win, and nothing is recorded for them
    earlier: Earlier | None = None

    def __post_init__(self) -> None:
        if self.earlier is not None:
            self.units = [self.earlier.unit, *self.units]
        us = self.units
        n_of = [u.ndocs for u in us]
        self.doc_base = offsets_of(n_of)  # gid of each unit's first document
        n = int(self.doc_base[-1])
        # per document (gid)
        self.unit = np.repeat(np.array([u.index for u in us], dtype=np.int64), n_of)
        self.pos = np.arange(n, dtype=np.int64) - np.repeat(self.doc_base[:-1], n_of)
        self.ids = [i for u in us for i in u.ids]
        self.doc_key = _cat([u.doc_key for u in us], np.uint64)
        self.alive = _cat([u.doc_kept for u in us], _I32) > 0
        self.rel_of = {u.index: u.rel for u in us}
        # per kept paragraph (row), in corpus order
        self.row_base = offsets_of([len(u.p_doc) for u in us])  # row of each unit's first paragraph
        rows_of = np.diff(self.row_base)
        self.p_gid = _cat([u.p_doc for u in us], _I32).astype(np.int64) + np.repeat(self.doc_base[:-1], rows_of) \
            if n else np.zeros(0, np.int64)
        self.p_idx = _cat([u.p_idx for u in us], _I32)
        self.p_key = _cat([u.p_key for u in us], np.uint64)
        self.p_words = _cat([u.p_words for u in us], _I32)
        self.p_line = _cat([u.p_line for u in us], _I32)
        self.dropped = np.zeros(len(self.p_gid), dtype=bool)
        # per document: how many copies of it the corpus had (itself and the duplicates and
        # near-duplicates removed for it), for --annotate and the report
        self.copies = np.ones(self.ndocs, dtype=np.int64)
        self.nearlier = 0
        if self.earlier is not None:
            self.nearlier = self.earlier.unit.ndocs
            self.dropped[:len(self.earlier.gone)] = self.earlier.gone

    @property
    def ndocs(self) -> int:
        return len(self.ids)

    def twin(self, gid: int, row: int | None = None) -> dict[str, Any]:
        """A drop's fields that name its twin: document gid (and its paragraph `row`). An
        indexed twin also names its run, and its line (of its first kept paragraph)."""
        if gid < self.nearlier:
            assert self.earlier is not None
            tid, tfile, run, line = self.earlier.twin(gid)
            return {"twin": tid, "twin_file": tfile, "twin_run": run,
                    "twin_line": int(self.p_line[row]) if row is not None else line}
        out: dict[str, Any] = {"twin": self.ids[gid], "twin_file": self.rel_of[int(self.unit[gid])]}
        if row is not None:
            out["twin_line"] = int(self.p_line[row])
        return out

    def drop_document(self, gid: int, drop: Drop, copy_of: int | None = None) -> None:
        """`copy_of`: the document it duplicates, which takes over its count of copies."""
        if copy_of is not None:
            self.copies[copy_of] += self.copies[gid]
        if gid >= self.nearlier:
            self.dec.doc_drops.setdefault(int(self.unit[gid]), {})[int(self.pos[gid])] = drop
        self.alive[gid] = False

    def drop_paragraph(self, row: int, drop: Drop) -> None:
        g = int(self.p_gid[row])
        if g >= self.nearlier:
            self.dec.para_drops.setdefault(int(self.unit[g]), {})[(int(self.pos[g]), int(self.p_idx[row]))] = drop
        self.dropped[row] = True

    def live_rows(self) -> np.ndarray:
        """Kept paragraphs of the documents still in the corpus."""
        return np.flatnonzero(self.alive[self.p_gid]) if len(self.p_gid) else np.zeros(0, np.int64)


def near_duplicate_documents(c: Corpus, cfg: Config) -> None:
    """MinHash LSH over the documents' kept text; a cluster keeps its first (or longest) document."""
    from .lsh import cluster

    n = c.ndocs
    sigs = np.concatenate([u.sigs for u in c.units if u.sigs is not None])
    assert len(sigs) == n
    if cfg.keep == "longest":
        chars = np.concatenate([u.doc_chars for u in c.units])
        order = np.lexsort((np.arange(n), -chars))
        rank = np.empty(n, dtype=np.int64)
        rank[order] = np.arange(n)
    else:
        rank = np.arange(n)
    if c.nearlier:  # the indexed documents first, whatever --keep says
        rank = np.where(np.arange(n) < c.nearlier, np.arange(n), rank + n)
    indexed = c.earlier.doc_set if c.earlier is not None and c.earlier.sets is not None else None
    exact = DocJaccard(c.store, c.unit, c.pos, indexed)
    if c.nearlier and indexed is None:
        exact = _estimate_for_indexed(exact, sigs, c.nearlier)
    asg = cluster(sigs, cfg.threshold, rank, exact, valid=c.alive.copy(), find_buckets=c.find_buckets)
    sizes: Counter[int] = Counter()
    for g in np.flatnonzero(asg.survivor != np.arange(n)).tolist():
        sv = int(asg.survivor[g])
        reason = R.DUP_DOC if c.doc_key[g] == c.doc_key[sv] else R.NEAR_DUP_DOC
        tw = c.twin(sv)
        c.drop_document(g, Drop(reason, f"similar to {tw['twin']}", **tw,
                                similarity=round(float(asg.similarity[g]), 4)), copy_of=sv)
    for size in asg.cluster_sizes().values():
        sizes[size] += 1
    c.dec.clusters["documents"] = {
        "clusters": int(sum(sizes.values())), "removed": int(sum((k - 1) * v for k, v in sizes.items())),
        "sizes": {str(k): v for k, v in sorted(sizes.items())},
        "candidate_pairs": asg.candidate_pairs, "exact_checks": asg.exact_checks,
        "index_bytes_per_document": round(asg.index_bytes / n, 1)}


def _estimate_for_indexed(exact: Any, sigs: np.ndarray, nearlier: int) -> Any:
    """An index without shingle sets (built without --index-exact, to stay small): a pair with
    an indexed document is decided by its MinHash estimate, the rest exactly as without --index."""
    width = sigs.shape[1]

    def check(a: int, b: int) -> float:
        if a < nearlier or b < nearlier:
            return float(np.count_nonzero(sigs[a] == sigs[b])) / width
        return float(exact(a, b))

    return check


# Words from which a paragraph found in --template-min-docs documents is a template on its
# own; a shorter one only in a pair of such lines that recurs as a pair. On wcxb-dev gold/ (1,476 sites),
# recurring labels made 0.08 % of the words before this rule.
TEMPLATE_WORDS = 6


def templates(c: Corpus, cfg: Config) -> np.ndarray:
    """Site templates: a paragraph key in template_min_docs or more surviving documents
    goes from all of them. Returns which rows are templates."""
    live = c.live_rows()
    is_template = np.zeros(len(c.p_gid), dtype=bool)
    found = 0
    if cfg.strip and len(live):
        keys, gids = c.p_key[live], c.p_gid[live]
        order = np.lexsort((gids, keys))
        ks, gs = keys[order], gids[order]
        new_pair = np.ones(len(ks), dtype=bool)
        new_pair[1:] = (ks[1:] != ks[:-1]) | (gs[1:] != gs[:-1])
        uniq, ndocs = np.unique(ks[new_pair], return_counts=True)
        count = ndocs[np.searchsorted(uniq, keys)]
        cand = np.zeros(len(c.p_gid), dtype=bool)
        # a line without words ("(", "}", "/" of code shown a token a line) has key 0, the
        # key of every such line: it recurs in every document with code, as no template
        cand[live] = (count >= cfg.template_min_docs) & (keys != 0)
        # A site's template comes in blocks (a menu, a footer) or says something (a pitch,
        # a notice); a short line that recurs alone in many documents is a label ("Pros:",
        # "Conclusion", "Key Features") of many sites' texts, not a template. So a short one
        # goes when it and its neighbour recur together, as a pair, in template_min_docs
        # documents: lines of code ("}", "return") recur everywhere, but not in one order.
        gid = c.p_gid
        pair = np.zeros(len(gid), dtype=bool)  # rows r and r + 1: candidates of one document
        pair[:-1] = cand[:-1] & cand[1:] & (gid[1:] == gid[:-1])
        at = np.flatnonzero(pair)
        block = np.zeros(len(gid), dtype=bool)
        if len(at):
            pk = c.p_key[at] * np.uint64(0x9E3779B97F4A7C15) ^ c.p_key[at + 1]
            order = np.lexsort((gid[at], pk))
            pks, pgs = pk[order], gid[at][order]
            first = np.ones(len(pks), dtype=bool)
            first[1:] = (pks[1:] != pks[:-1]) | (pgs[1:] != pgs[:-1])
            puniq, pdocs = np.unique(pks[first], return_counts=True)
            recurs = at[pdocs[np.searchsorted(puniq, pk)] >= cfg.template_min_docs]
            block[recurs] = True
            block[recurs + 1] = True
        take = cand & ((c.p_words >= TEMPLATE_WORDS) | block)
        counts = np.zeros(len(c.p_gid), dtype=np.int64)
        counts[live] = count
        for row in np.flatnonzero(take).tolist():
            c.drop_paragraph(row, Drop(R.TEMPLATE, f"in {int(counts[row])} documents"))
            is_template[row] = True
            found += 1
    earlier = int(is_template[:len(c.earlier.gone)].sum()) if c.earlier is not None else 0
    c.dec.clusters["templates"] = found - earlier
    if c.earlier is not None:  # indexed paragraphs that are template now: left as their runs wrote them
        c.dec.clusters["templates_in_index"] = earlier
        occurrences = []
        for row in np.flatnonzero(is_template[:len(c.earlier.gone)]).tolist():
            tid, tfile, run, _ = c.earlier.twin(int(c.p_gid[row]))
            occurrences.append({"run": run, "file": tfile, "id": tid, "line": int(c.p_line[row]),
                                "removed_by_its_run": bool(c.earlier.gone[row])})
        c.dec.clusters["templates_in_index_occurrences"] = occurrences
    return is_template


def repeated_paragraphs(c: Corpus, cfg: Config, is_template: np.ndarray) -> None:
    """Repeats of a paragraph of an earlier document (exact, after normalising); a short one
    only inside a repeated block, as inside a document (`in_repeated_block`)."""
    live = c.live_rows()
    if not len(live):
        return
    elig = live[(~is_template[live]) & (c.p_words[live] >= cfg.min_dup_words)]
    if not len(elig):
        return
    _, first_at, inverse = np.unique(c.p_key[elig], return_index=True, return_inverse=True)
    twin = elig[first_at[inverse]]
    repeat = (twin != elig) & (c.p_gid[twin] != c.p_gid[elig])
    of = np.full(len(c.p_gid), -1, dtype=np.int64)
    of[elig[repeat]] = twin[repeat]
    repeat &= in_repeated_block(of, c.p_gid[1:] == c.p_gid[:-1], c.p_words >= cfg.min_corpus_dup_words)[elig]
    for row, tw in zip(elig[repeat].tolist(), twin[repeat].tolist()):
        t = c.twin(int(c.p_gid[tw]), tw)
        c.drop_paragraph(row, Drop(R.CORPUS_DUP_PARA, f"same as in {t['twin']}", **t, similarity=1.0))


def near_paragraphs(c: Corpus, cfg: Config) -> None:
    """Near-duplicate paragraphs across documents (MinHash on word 3-grams)."""
    from .lsh import cluster

    with_sigs = [(k, u) for k, u in enumerate(c.units) if u.para_sigs is not None and len(u.para_rows)]
    if not with_sigs:
        return
    n_of = np.array([len(u.para_rows) for _, u in with_sigs], dtype=np.int64)
    rows = np.concatenate([u.para_rows for _, u in with_sigs]).astype(np.int64) + \
        np.repeat(c.row_base[[k for k, _ in with_sigs]], n_of)  # global paragraph rows
    ok = c.alive[c.p_gid[rows]] & ~c.dropped[rows]
    items = rows[ok]
    if len(items) < 2:
        return
    # each one's unit and its index in the unit's para_rows (where its word set is stored)
    units = np.repeat(np.array([u.index for _, u in with_sigs], dtype=np.int64), n_of)[ok]
    index = (np.arange(len(rows)) - np.repeat(offsets_of(n_of)[:-1], n_of))[ok]
    sigs = np.concatenate([u.para_sigs for _, u in with_sigs])
    if not ok.all():
        sigs = sigs[ok]
    # --index-exact: the indexed documents' paragraphs come first; their runs kept each, so each
    # stays (nothing is recorded for them) and only the batch's are compared with them
    indexed = c.earlier.paragraph_sets if c.earlier is not None and c.earlier.para_sets is not None else None
    asg = cluster(sigs, cfg.paragraph_threshold, np.arange(len(items)), find_buckets=c.find_buckets,
                  exact_many=ParagraphJaccard(c.store, units, index, indexed),
                  settled=int(np.count_nonzero(units < 0)) if indexed is not None else 0,
                  groups=c.p_gid[items])
    removed = 0
    for x in np.flatnonzero(asg.survivor != np.arange(len(items))).tolist():
        row, tw = int(items[x]), int(items[int(asg.survivor[x])])
        g, tg = int(c.p_gid[row]), int(c.p_gid[tw])
        reason = R.NEAR_DUP_PARA if tg == g else R.CORPUS_NEAR_DUP_PARA
        t = c.twin(tg, tw)
        c.drop_paragraph(row, Drop(reason, f"near a paragraph of {t['twin']}", **t,
                                   similarity=round(float(asg.similarity[x]), 4)))
        removed += 1
    c.dec.clusters["paragraphs"] = {"removed": removed, "candidate_pairs": asg.candidate_pairs,
                                    "exact_checks": asg.exact_checks}


def documents_made_equal(c: Corpus) -> None:
    """After the paragraph steps: a document that now keeps the same paragraphs as an earlier
    one is its duplicate, as a run on the output would find (cleaning again changes nothing)."""
    live = c.live_rows()
    lost = live[c.dropped[live]]
    found = 0
    if len(lost):
        rows = live[~c.dropped[live]]
        g, k = c.p_gid[rows], c.p_key[rows]
        n = c.ndocs
        cnt = np.bincount(g, minlength=n)
        start = np.searchsorted(g, np.arange(n))  # rows are in corpus order
        has = cnt > 0
        total = np.zeros(n, dtype=np.uint64)
        total[has] = np.add.reduceat(k, start[has])  # wraps around: a checksum, verified below
        first = np.zeros(n, dtype=np.uint64)
        first[has] = k[start[has]]
        changed = np.zeros(n, dtype=bool)
        changed[c.p_gid[lost]] = True
        docs = np.flatnonzero(c.alive & has)
        # groups of (paragraphs, sum and first of their keys), documents in corpus order
        order = docs[np.lexsort((docs, first[docs], total[docs], cnt[docs]))]
        new = np.ones(len(order), dtype=bool)
        new[1:] = ((cnt[order[1:]] != cnt[order[:-1]]) | (total[order[1:]] != total[order[:-1]])
                   | (first[order[1:]] != first[order[:-1]]))
        bounds = np.append(np.flatnonzero(new), len(order))
        for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
            group = order[a:b].tolist()
            if len(group) < 2 or not changed[group].any():
                continue
            kept: dict[tuple[int, ...], int] = {}
            for d in group:
                seq = tuple(k[start[d]:start[d] + cnt[d]].tolist())
                if seq in kept:
                    t = c.twin(kept[seq])
                    c.drop_document(d, Drop(R.DUP_DOC, f"the same as {t['twin']} once repeated paragraphs were "
                                            "removed", **t, similarity=1.0), copy_of=kept[seq])
                    if d >= c.nearlier:
                        found += 1
                        c.dec.late_doc_drops.setdefault(int(c.unit[d]), set()).add(int(c.pos[d]))
                else:
                    kept[seq] = d
    c.dec.clusters["documents_equal_after_paragraphs"] = found


def reduce(units: Sequence[Unit], cfg: Config, store: SetStore, find_buckets: BucketFinder | None = None,
           earlier: Earlier | None = None) -> Decisions:
    """Corpus-wide decisions over the map units (in corpus order), after the indexed documents
    of earlier runs (`earlier`, --index) if any."""
    from .lsh import local_buckets

    c = Corpus(units, store, find_buckets or local_buckets, earlier=earlier)
    if cfg.dedup and c.ndocs:
        near_duplicate_documents(c, cfg)
    is_template = templates(c, cfg)
    if cfg.dedup:
        repeated_paragraphs(c, cfg, is_template)
        near_paragraphs(c, cfg)
        documents_made_equal(c)
        for g in np.flatnonzero(c.alive & (c.copies > 1)).tolist():
            if g >= c.nearlier:
                c.dec.doc_copies.setdefault(int(c.unit[g]), {})[int(c.pos[g])] = int(c.copies[g])
    return c.dec
