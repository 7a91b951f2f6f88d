"""The run: read -> extract -> strip -> dedup -> write -> report.

Map (per input file, in worker processes): read, extract, compute paragraph
features, decide boilerplate, drop repeats inside each document, and compute
paragraph keys and MinHash signatures; the documents go to a spill file in
the work directory, a light summary comes back. Reduce (in this process):
near-duplicate documents, site templates and cross-document duplicate
paragraphs, all in sorted path order so the first occurrence survives.
Write (per input file, in workers): the final decision per document and the
cleaned file, written atomically, plus the audit of everything removed.
"""

from __future__ import annotations

import gc
import json
import os
import pickle
import shutil
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__, formats
from . import reasons as R
from .boilerplate import ParaFeat
from .config import Config, ConfigError, load_config_file
from .dedup.inner import FileKeys
from .discover import discover
from .document import Document, Drop, ItemError
from .document_cleaner import DocumentCleaner, strip_document  # noqa: F401 - strip_document: old import path
from .pool import DocTimeout, Failure, Pool, beat, time_limit
from .readers import InputFile, Part, ReadError
from .report import Report
from .writers import TEMP_MARK, atomic_writer, json_line, remove_stale_temp

ProgressFn = Callable[[str, int, int], None]
BucketFinder = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
SPILL_VERSION = 2


# --- map ------------------------------------------------------------------------------

_I32 = np.int32


@dataclass(slots=True)
class MapResult:
    """What the corpus-wide steps need of one map task, in compact arrays
    (the texts stay in the spill). Paragraph arrays list kept paragraphs."""

    index: int  # the map task (one file, or one part of a large file)
    rel: str
    file_index: int = 0
    ids: list[str] = field(default_factory=list)  # per document
    doc_chars: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # characters kept
    doc_key: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint64))  # key of the kept text
    doc_kept: np.ndarray = field(default_factory=lambda: np.zeros(0, _I32))  # paragraphs kept
    p_doc: np.ndarray = field(default_factory=lambda: np.zeros(0, _I32))  # per kept paragraph: its document
    p_idx: np.ndarray = field(default_factory=lambda: np.zeros(0, _I32))  # its index in the document
    p_key: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint64))  # normalised key
    p_words: np.ndarray = field(default_factory=lambda: np.zeros(0, _I32))
    p_line: np.ndarray = field(default_factory=lambda: np.zeros(0, _I32))
    sigs: np.ndarray | None = None  # MinHash per document
    para_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, _I32))  # kept paragraphs with a MinHash
    para_sigs: np.ndarray | None = None  # their MinHashes
    errors: list[ItemError] = field(default_factory=list)
    fatal: ItemError | None = None
    paragraphs: int = 0
    chars: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    stamp: tuple[int, int] = (0, 0)  # input size and mtime, for --resume
    not_documents: dict[str, int] = field(default_factory=dict)  # WARC records that are not pages
    page_text_pages: int = 0  # HTML pages cleaned from their whole text (see strip_document)

    @property
    def ndocs(self) -> int:
        return len(self.ids)


@dataclass(frozen=True, slots=True)
class MapTask:
    index: int
    file_index: int
    file: InputFile
    cfg: Config
    spill: str
    part: Part = Part()
    skip: frozenset[int] = frozenset()  # record lines to leave out (they hung or crashed a worker)
    attempt: int = 0


# Fault injection for the robustness tests: CLEANER_FAULT="crash:MARK" kills the
# worker on a document whose first paragraph contains MARK, "hang:MARK" hangs it
# where no signal reaches (like a parser stuck in C code), "slow:MARK" loops in Python.
_FAULT = os.environ.get("CLEANER_FAULT", "")


def _inject_fault(doc: Document) -> None:
    kind, _, mark = _FAULT.partition(":")
    if not mark or not doc.paragraphs or mark not in doc.paragraphs[0]:
        return
    import signal

    if kind == "crash":
        os.kill(os.getpid(), signal.SIGKILL)
    elif kind == "hang":
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
        time.sleep(3600)
    elif kind == "slow":
        while True:
            pass


def _summarise(res: MapResult, docs: list[Document], fk: FileKeys) -> None:
    res.ids = [d.id for d in docs]
    kept_all = [d.kept() for d in docs]
    res.doc_kept = np.array([len(k) for k in kept_all], dtype=_I32)
    res.doc_chars = np.array([sum(len(d.paragraphs[i]) for i in k) + max(len(k) - 1, 0)
                              for d, k in zip(docs, kept_all)], dtype=np.int64)
    res.doc_key = np.array([fk.doc_key[p] if k else 0 for p, k in enumerate(kept_all)], dtype=np.uint64)
    rows = [(p, i) for p, k in enumerate(kept_all) for i in k]
    res.p_doc = np.array([p for p, _ in rows], dtype=_I32)
    res.p_idx = np.array([i for _, i in rows], dtype=_I32)
    if len(fk.p_key) != len(rows):
        raise AssertionError("paragraph keys out of step with the kept paragraphs")
    res.p_key = fk.p_key
    res.p_words = fk.p_words.astype(_I32)
    res.p_line = np.array([docs[p].lines[i] for p, i in rows], dtype=_I32)
    res.paragraphs = sum(len(d.paragraphs) for d in docs)
    res.chars = sum(len(x) for d in docs for x in d.paragraphs)
    res.page_text_pages = sum(d.from_page_text for d in docs)
    res.sigs = fk.doc_sig if docs else None
    if fk.para_sigs is not None and len(fk.para_rows):
        res.para_rows, res.para_sigs = fk.para_rows.astype(_I32), fk.para_sigs
    else:
        res.para_rows, res.para_sigs = np.zeros(0, dtype=_I32), None


def map_file(task: MapTask) -> MapResult:
    """Read one input file (or part) and do the per-document work (runs in a worker).

    Every document runs under --doc-timeout; one that fails is reported and
    left out, the others go on. A file that cannot be read at all is `fatal`.
    """

    cfg = task.cfg
    f = task.file
    dc = DocumentCleaner.get(cfg)
    res = MapResult(task.index, f.rel, task.file_index)
    try:
        st = os.stat(f.path)
        res.stamp = (st.st_size, st.st_mtime_ns)
    except OSError:
        pass
    t0 = time.process_time()
    docs: list[Document] = []
    feats_all: list[list[ParaFeat] | None] = []
    t_read = t_strip = t_extract = 0.0
    beat(None)
    try:
        it = iter(formats.of(f).read(f, cfg, task.part, task.skip, res.not_documents))
        while True:
            t1 = time.process_time()
            try:
                item = next(it)
            except StopIteration:
                break
            finally:
                t_read += time.process_time() - t1
            if isinstance(item, ItemError):
                res.errors.append(item)
                continue
            doc = item
            beat(doc.record)
            t2 = time.process_time()
            try:
                # plain text without stripping has no per-document work to time
                with time_limit(cfg.doc_timeout if cfg.strip or doc.html is not None or _FAULT else None):
                    if _FAULT:
                        _inject_fault(doc)
                    if doc.html is not None:
                        dc.extract(doc)
                        t_extract += time.process_time() - t2
                    feats, _, errs = dc.strip(doc)
            except DocTimeout:
                res.errors.append(ItemError(f.rel, f"took longer than --doc-timeout ({cfg.doc_timeout:g}s) "
                                                   "to clean; left out", doc.record))
                continue
            except (MemoryError, RecursionError) as e:
                res.errors.append(ItemError(f.rel, f"{type(e).__name__} while cleaning; left out", doc.record))
                continue
            except Exception as e:  # a parser's own exception types (lxml, trafilatura)
                if doc.html is None and doc.paragraphs:
                    raise
                res.errors.append(ItemError(f.rel, f"cannot extract text: {type(e).__name__}: {e}", doc.record))
                continue
            finally:
                t_strip += time.process_time() - t2
            res.errors.extend(errs)
            docs.append(doc)
            feats_all.append(feats)
    except ReadError as e:
        res.fatal = ItemError(f.rel, str(e), e.line)
    except OSError as e:
        res.fatal = ItemError(f.rel, f"cannot read: {e.strerror or e}")
    except (MemoryError, RecursionError) as e:
        res.fatal = ItemError(f.rel, f"cannot read: {type(e).__name__}")
    t3 = time.process_time()
    fk = dc.repeats(docs)
    _summarise(res, docs, fk)
    t4 = time.process_time()
    res.seconds = {"read": t_read, "extract": t_extract, "strip": t_strip - t_extract, "signatures": t4 - t3}
    try:
        if cfg.dedup:  # before the spill: a spill on disk means its stores are complete (--resume)
            write_set_store(task.spill, fk, res)
        with atomic_writer(task.spill) as fh:
            pickle.dump((SPILL_VERSION, res, docs, feats_all), fh, protocol=pickle.HIGHEST_PROTOCOL)
    except OSError as e:
        _summarise(res, [], FileKeys.empty())
        res.fatal = ItemError(f.rel, f"cannot write the work file {task.spill}: {e.strerror or e}")
    res.seconds["spill"] = time.process_time() - t4
    res.seconds["total"] = time.process_time() - t0
    return res


def load_spill(path: str) -> tuple[MapResult, list[Document], list[list[ParaFeat] | None]]:
    with open(path, "rb") as fh:
        version, res, docs, feats = pickle.load(fh)
    if version != SPILL_VERSION:
        raise ValueError("spill from another version")
    return res, docs, feats


# --- reduce ---------------------------------------------------------------------------

@dataclass(slots=True)
class Decisions:
    doc_drops: dict[int, dict[int, Drop]] = field(default_factory=dict)  # file index -> doc pos -> drop
    para_drops: dict[int, dict[tuple[int, int], Drop]] = field(default_factory=dict)
    clusters: dict[str, Any] = field(default_factory=dict)


class _DocJaccard:
    """Exact Jaccard of two documents (dedup.cluster's `exact`), their shingle sets
    loaded from the map tasks' stores once each: documents are large sets and the
    pairs checked are few, so one pair at a time is fastest (at 200k documents,
    0.5 s against 1.4 s for loading and sorting all needed sets at once)."""

    def __init__(self, store: _SetStore, units: np.ndarray, pos: np.ndarray) -> None:
        self.store, self.units, self.pos = store, units, pos
        self.sets: dict[int, np.ndarray] = {}

    def __call__(self, a: int, b: int) -> float:
        from . import minhash as mh

        for x in (a, b):
            if x not in self.sets:
                self.sets[x] = self.store.doc(int(self.units[x]), int(self.pos[x]))
        return mh.jaccard_sets(self.sets[a], self.sets[b])


class _ParagraphJaccard:
    """Exact Jaccard of many pairs of long paragraphs at once (dedup.cluster's
    `exact_many`): paragraph x is the index[x]-th MinHashed paragraph of unit units[x]."""

    def __init__(self, store: _SetStore, units: np.ndarray, index: np.ndarray) -> None:
        self.store, self.units, self.index = store, units, index

    def __call__(self, pairs: np.ndarray) -> np.ndarray:
        from . import minhash as mh

        items = mh.sorted_unique(pairs.ravel())
        values, offsets = self.store.paragraphs(self.units[items], self.index[items])
        return mh.jaccard_pairs(values, offsets, np.searchsorted(items, pairs))


def write_set_store(path: str, fk: FileKeys, res: MapResult) -> None:
    """The shingle hashes of a map task's documents and long paragraphs, as .npy
    files the reduce maps into memory to verify candidate pairs (it sorts and
    deduplicates the few it needs)."""
    dv, do = fk.doc_sets if fk.doc_sets is not None else (np.zeros(0, np.uint32), np.zeros(1, np.int64))
    pv, po = fk.para_sets if fk.para_sets is not None and len(fk.para_rows) \
        else (np.zeros(0, np.uint32), np.zeros(1, np.int64))
    for suffix, arr in ((".dv.npy", dv), (".do.npy", do), (".pv.npy", pv), (".po.npy", po)):
        with atomic_writer(path + suffix) as fh:
            np.save(fh, arr)


class _SetStore:
    """Exact shingle sets of documents and paragraphs, read from the map tasks' stores."""

    def __init__(self, spills: dict[int, str]) -> None:
        self.spills = spills
        self.open: dict[tuple[int, str], np.ndarray] = {}

    def _arr(self, unit: int, suffix: str) -> np.ndarray:
        a = self.open.get((unit, suffix))
        if a is None:
            # a plain view of the mapped file: slicing a np.memmap costs more than the slice
            a = self.open[(unit, suffix)] = np.load(self.spills[unit] + suffix, mmap_mode="r").view(np.ndarray)
        return a

    def doc(self, unit: int, pos: int) -> np.ndarray:
        from .minhash import sorted_unique

        off = self._arr(unit, ".do.npy")
        return sorted_unique(self._arr(unit, ".dv.npy")[off[pos]:off[pos + 1]])

    def paragraphs(self, units: np.ndarray, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Sets of many long paragraphs (index: in their unit's para_rows), in the order
        asked, as minhash.segment_sets gives them: paragraphs are small and many, so
        they are gathered all at once."""
        from . import minhash as mh

        starts, sizes = np.zeros(len(units), np.int64), np.zeros(len(units), np.int64)
        by_unit = []
        for u in np.unique(units).tolist():
            at = np.flatnonzero(units == u)
            off = self._arr(u, ".po.npy")
            starts[at], sizes[at] = off[index[at]], off[index[at] + 1] - off[index[at]]
            by_unit.append((u, at))
        offsets = np.zeros(len(units) + 1, dtype=np.int64)
        np.cumsum(sizes, out=offsets[1:])
        values = np.empty(int(offsets[-1]), dtype=np.uint32)
        for u, at in by_unit:  # each set in place, in the order asked
            values[mh._ranges(offsets[at], sizes[at])] = self._arr(u, ".pv.npy")[mh._ranges(starts[at], sizes[at])]
        return mh.segment_sets(values, offsets)


def reduce(results: list[MapResult], cfg: Config, spills: dict[int, str],
           find_buckets: BucketFinder | None = None) -> Decisions:
    """Corpus-wide decisions: near-duplicate documents, templates, repeated paragraphs.

    Documents are numbered in corpus order (gid); all steps go in that order,
    so the first occurrence is the one that stays.
    """
    from .dedup import cluster, local_buckets

    find_buckets = find_buckets or local_buckets
    dec = Decisions()
    n_of = [r.ndocs for r in results]
    offset = np.concatenate(([0], np.cumsum(n_of))).astype(np.int64)
    n = int(offset[-1])
    unit = np.repeat(np.array([r.index for r in results], dtype=np.int64), n_of)
    pos = np.concatenate([np.arange(k) for k in n_of]) if n else np.zeros(0, dtype=np.int64)
    ids = [i for r in results for i in r.ids]
    doc_key = np.concatenate([r.doc_key for r in results]) if n else np.zeros(0, np.uint64)
    alive = (np.concatenate([r.doc_kept for r in results]) > 0) if n else np.zeros(0, bool)
    rel_of = {r.index: r.rel for r in results}
    store = _SetStore(spills)

    if cfg.dedup and n:
        sigs = np.concatenate([r.sigs for r in results if r.sigs is not None])
        assert len(sigs) == n
        if cfg.keep == "longest":
            chars = np.concatenate([r.doc_chars for r in results])
            order = np.lexsort((np.arange(n), -chars))
            rank = np.empty(n, dtype=np.int64)
            rank[order] = np.arange(n)
        else:
            rank = np.arange(n)
        asg = cluster(sigs, cfg.threshold, rank, _DocJaccard(store, unit, pos), valid=alive,
                      find_buckets=find_buckets)
        sizes: Counter[int] = Counter()
        for g in np.flatnonzero(asg.survivor != np.arange(n)).tolist():
            sv = int(asg.survivor[g])
            reason = R.DUP_DOC if doc_key[g] == doc_key[sv] else R.NEAR_DUP_DOC
            dec.doc_drops.setdefault(int(unit[g]), {})[int(pos[g])] = Drop(
                reason, f"similar to {ids[sv]}", twin=ids[sv], twin_file=rel_of[int(unit[sv])],
                similarity=round(float(asg.similarity[g]), 4))
            alive[g] = False
        for size in asg.cluster_sizes().values():
            sizes[size] += 1
        dec.clusters["documents"] = {
            "clusters": int(sum(sizes.values())), "removed": int(sum((k - 1) * v for k, v in sizes.items())),
            "sizes": {str(k): v for k, v in sorted(sizes.items())},
            "candidate_pairs": asg.candidate_pairs, "exact_checks": asg.exact_checks,
            "index_bytes_per_document": round(asg.index_bytes / n, 1)}

    # kept paragraphs of the whole corpus, in order
    p_gid = np.concatenate([r.p_doc.astype(np.int64) + offset[k] for k, r in enumerate(results)]) if n \
        else np.zeros(0, np.int64)
    p_idx = np.concatenate([r.p_idx for r in results]) if n else np.zeros(0, _I32)
    p_key = np.concatenate([r.p_key for r in results]) if n else np.zeros(0, np.uint64)
    p_words = np.concatenate([r.p_words for r in results]) if n else np.zeros(0, _I32)
    p_line = np.concatenate([r.p_line for r in results]) if n else np.zeros(0, _I32)
    dropped = np.zeros(len(p_gid), dtype=bool)

    def para_drop(row: int, drop: Drop) -> None:
        g = int(p_gid[row])
        dec.para_drops.setdefault(int(unit[g]), {})[(int(pos[g]), int(p_idx[row]))] = drop
        dropped[row] = True

    live = np.flatnonzero(alive[p_gid]) if len(p_gid) else np.zeros(0, np.int64)
    # templates: a key in template_min_docs or more surviving documents
    templates = 0
    is_template = np.zeros(len(p_gid), dtype=bool)
    if cfg.strip and len(live):
        keys, gids = p_key[live], p_gid[live]
        order = np.lexsort((gids, keys))
        ks, gs = keys[order], gids[order]
        new_pair = np.ones(len(ks), dtype=bool)
        new_pair[1:] = (ks[1:] != ks[:-1]) | (gs[1:] != gs[:-1])
        uniq, ndocs = np.unique(ks[new_pair], return_counts=True)
        count = ndocs[np.searchsorted(uniq, keys)]
        for row, c in zip(live[count >= cfg.template_min_docs].tolist(),
                          count[count >= cfg.template_min_docs].tolist()):
            para_drop(row, Drop(R.TEMPLATE, f"in {c} documents"))
            is_template[row] = True
            templates += 1
    # repeats of a paragraph of an earlier document (exact, after normalising)
    if cfg.dedup and len(live):
        elig = live[(~is_template[live]) & (p_words[live] >= cfg.min_dup_words)]
        if len(elig):
            _, first_at, inverse = np.unique(p_key[elig], return_index=True, return_inverse=True)
            twin = elig[first_at[inverse]]
            repeat = (twin != elig) & (p_gid[twin] != p_gid[elig])
            for row, tw in zip(elig[repeat].tolist(), twin[repeat].tolist()):
                tg = int(p_gid[tw])
                para_drop(row, Drop(R.CORPUS_DUP_PARA, f"same as in {ids[tg]}", twin=ids[tg],
                                    twin_file=rel_of[int(unit[tg])], twin_line=int(p_line[tw]), similarity=1.0))
    dec.clusters["templates"] = templates

    if cfg.dedup:
        _corpus_near_paragraphs(results, cfg, offset, unit, pos, ids, alive, p_gid, p_idx, p_line, dropped,
                                store, dec, rel_of, find_buckets, para_drop)
    return dec


def _corpus_near_paragraphs(results: list[MapResult], cfg: Config, offset: np.ndarray, unit: np.ndarray,
                            pos: np.ndarray, ids: list[str], alive: np.ndarray, p_gid: np.ndarray,
                            p_idx: np.ndarray, p_line: np.ndarray, dropped: np.ndarray, store: _SetStore,
                            dec: Decisions, rel_of: dict[int, str], find_buckets: BucketFinder,
                            para_drop: Callable[[int, Drop], None]) -> None:
    """Near-duplicate paragraphs across documents (MinHash on word 3-grams)."""
    from .dedup import cluster

    row_base = np.concatenate(([0], np.cumsum([len(r.p_doc) for r in results]))).astype(np.int64)
    row_parts, unit_parts, index_parts, sig_parts = [], [], [], []
    for k, r in enumerate(results):
        if r.para_sigs is None or not len(r.para_rows):
            continue
        rows = r.para_rows.astype(np.int64) + row_base[k]
        ok = alive[p_gid[rows]] & ~dropped[rows]
        row_parts.append(rows[ok])  # global paragraph rows
        index_parts.append(np.flatnonzero(ok))  # their index in the unit's para_rows
        unit_parts.append(np.full(int(ok.sum()), r.index, dtype=np.int64))
        sig_parts.append(r.para_sigs if ok.all() else r.para_sigs[ok])  # most units: no copy
    items = np.concatenate(row_parts) if row_parts else np.zeros(0, dtype=np.int64)
    if len(items) < 2:
        return
    sigs = np.concatenate(sig_parts)
    del sig_parts
    asg = cluster(sigs, cfg.paragraph_threshold, np.arange(len(items)), find_buckets=find_buckets,
                  exact_many=_ParagraphJaccard(store, np.concatenate(unit_parts), np.concatenate(index_parts)))
    removed = 0
    for x in np.flatnonzero(asg.survivor != np.arange(len(items))).tolist():
        row, tw = int(items[x]), int(items[int(asg.survivor[x])])
        g, tg = int(p_gid[row]), int(p_gid[tw])
        reason = R.NEAR_DUP_PARA if tg == g else R.CORPUS_NEAR_DUP_PARA
        para_drop(row, Drop(reason, f"near a paragraph of {ids[tg]}", twin=ids[tg],
                            twin_file=rel_of[int(unit[tg])], twin_line=int(p_line[tw]),
                            similarity=round(float(asg.similarity[x]), 4)))
        removed += 1
    dec.clusters["paragraphs"] = {"removed": removed, "candidate_pairs": asg.candidate_pairs,
                                  "exact_checks": asg.exact_checks}


# --- write ----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class WriteTask:
    index: int  # the unit: map task, i.e. a file or a part of a large file
    file_index: int
    file: InputFile
    part: Part
    cfg: Config
    spill: str
    out_root: str
    target: str  # where this unit's output goes: the final file, or a part to join (several units)
    audit_path: str
    records_path: str  # --output-format jsonl*/parquet: records for the shard writer
    doc_drops: dict[int, Drop]  # doc pos -> drop
    para_drops: dict[tuple[int, int], Drop]  # (doc pos, paragraph) -> drop


@dataclass(slots=True)
class WriteResult:
    index: int  # unit
    file_index: int = 0
    docs_in: int = 0
    docs_out: int = 0
    paras_in: int = 0
    paras_out: int = 0
    chars_in: int = 0
    chars_out: int = 0
    para_reasons: Counter[str] = field(default_factory=Counter)
    doc_reasons: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    error: ItemError | None = None
    outputs: list[str] = field(default_factory=list)  # files written, relative to the output root
    target_written: bool = False  # the unit wrote its part (for the parent to join)

    @property
    def written(self) -> bool:
        return bool(self.outputs)


def _audit(doc: Document, i: int | None, drop: Drop, text: str) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "file": doc.source,
        "line": doc.lines[i] if i is not None and doc.record is None else None,
        "record": doc.record,
        "paragraph": i + 1 if i is not None and doc.record is not None else None,
        "id": doc.id,
        "level": "paragraph" if i is not None else "document",
        "reason": drop.reason,
        "detail": drop.detail,
        "text": text,
    }
    if drop.twin is not None:
        rec["twin"] = {"id": drop.twin, "file": drop.twin_file, "line": drop.twin_line}
        rec["similarity"] = drop.similarity
    return {k: v for k, v in rec.items() if v is not None}


def _final(doc: Document, feats: list[Any] | None, doc_drop: Drop | None, para_drops: dict[int, Drop],
           dc: DocumentCleaner, res: WriteResult, audit: list[dict[str, Any]]) -> list[int] | None:
    """Final decision for one document: the kept paragraph indices, or None if it goes."""
    res.docs_in += 1
    res.paras_in += len(doc.paragraphs)
    res.chars_in += sum(len(p) for p in doc.paragraphs)
    if doc_drop is not None:
        res.doc_reasons[doc_drop.reason] += 1
        audit.append(_audit(doc, None, doc_drop, "\n".join(doc.paragraphs)))
        return None
    dec = dc.settle(doc, feats, para_drops)
    for i in sorted(dec.drops):
        res.para_reasons[dec.drops[i].reason] += 1
        audit.append(_audit(doc, i, dec.drops[i], doc.paragraphs[i]))
    if not dec.kept:
        res.doc_reasons[R.EMPTY_DOC] += 1
        audit.append(_audit(doc, None, Drop(R.EMPTY_DOC, "no paragraph kept"), ""))
        return None
    res.docs_out += 1
    res.paras_out += len(dec.kept)
    res.chars_out += sum(len(doc.paragraphs[i]) for i in dec.kept)
    return dec.kept


def write_file(task: WriteTask) -> WriteResult:
    """Final decisions for one unit (a file, or a part of a large one), then its
    cleaned output and audit (runs in a worker)."""
    t0 = time.process_time()
    cfg = task.cfg
    dc = DocumentCleaner.get(cfg)
    res = WriteResult(task.index, task.file_index)
    audit: list[dict[str, Any]] = []
    out_docs: list[tuple[Document, list[int]]] = []
    beat(None)
    _, docs, feats_all = load_spill(task.spill)
    pdrops: dict[int, dict[int, Drop]] = {}
    for (pos, i), d in task.para_drops.items():
        pdrops.setdefault(pos, {})[i] = d
    for pos, (doc, feats) in enumerate(zip(docs, feats_all)):
        kept = _final(doc, feats, task.doc_drops.get(pos), pdrops.get(pos, {}), dc, res, audit)
        if kept is not None:
            out_docs.append((doc, kept))
    root = Path(task.out_root)
    out_fmt = cfg.output_format
    fmt = formats.of(task.file)
    final = str(root / task.file.out_rel)
    try:
        if out_docs and out_fmt == "same":
            fmt.write(task.target, task.file, out_docs, cfg.text_field, task.part)
            res.target_written = True
            if task.target == final:
                res.outputs = [task.file.out_rel]
        elif out_docs and out_fmt == "txt":
            res.outputs = fmt.write_txt(root, task.file, out_docs)
        elif out_fmt not in ("same", "txt"):
            with atomic_writer(task.records_path) as fh:
                pickle.dump([fmt.record(d, k, cfg.text_field) for d, k in out_docs], fh,
                            protocol=pickle.HIGHEST_PROTOCOL)
    except OSError as e:
        where = e.filename if e.filename and not str(e.filename).startswith(str(Path(task.target).parent)) \
            else final
        res.error = ItemError(task.file.rel, f"cannot write {where}: {e.strerror or e}; "
                                             "no partial file was left")
    try:
        with atomic_writer(task.audit_path) as fh:
            for rec in audit:
                fh.write(json_line(rec))
    except OSError as e:
        res.error = res.error or ItemError(task.file.rel, f"cannot write the audit {task.audit_path}: "
                                                          f"{e.strerror or e}")
    res.seconds = time.process_time() - t0
    return res


# --- the run ----------------------------------------------------------------------------

class RunError(Exception):
    """The run cannot start (bad paths, refused output); one line for the user."""


class Interrupted(Exception):
    """Ctrl-C: the message says what was finished."""


def _is_inside(child: Path, parent: Path) -> bool:
    try:
        child.resolve().relative_to(parent.resolve())
        return True
    except ValueError:
        return False


def default_report_dir(output: str | Path) -> Path:
    out = Path(output)
    return out.parent / (out.name + ".report")


# Tasks that fail the same way this many times are given up (the rest of a part is reported).
MAX_ATTEMPTS = 4


@dataclass
class Run:
    input: Path
    output: Path
    cfg: Config
    report_dir: Path | None = None
    overwrite: bool = False
    progress: ProgressFn | None = None

    def __post_init__(self) -> None:
        self.input = Path(self.input)
        self.output = Path(self.output)
        self.report_dir = Path(self.report_dir) if self.report_dir else default_report_dir(self.output)
        self.work = self.report_dir / ".work"
        self.phase = "start"
        self.failures: list[ItemError] = []
        self.tracebacks: list[str] = []

    # checks before anything is written
    def check(self) -> None:
        if not self.input.exists():
            raise RunError(f"input {self.input} does not exist")
        if not self.input.is_dir():
            raise RunError(f"input {self.input} is not a directory")
        if self.output.exists() and not self.output.is_dir():
            raise RunError(f"output {self.output} exists and is not a directory")
        if _is_inside(self.output, self.input):
            raise RunError(f"output {self.output} is inside input {self.input}; choose a directory outside it")
        if _is_inside(self.input, self.output):
            raise RunError(f"input {self.input} is inside output {self.output}; choose another output")
        assert self.report_dir is not None
        if _is_inside(self.report_dir, self.output):
            raise RunError(f"report directory {self.report_dir} is inside output {self.output}; "
                           "OUTPUT_DIR holds corpus files only")
        if _is_inside(self.report_dir, self.input):
            raise RunError(f"report directory {self.report_dir} is inside input {self.input}")

    def _identity(self) -> dict[str, Any]:
        return {"version": __version__, "fingerprint": self.cfg.fingerprint(),
                "input": str(self.input.resolve()), "output": str(self.output.resolve())}

    def _resumable(self) -> bool:
        """The work folder (or the last report) belongs to this same command."""
        assert self.report_dir is not None
        for p in (self.work / "manifest.json", self.report_dir / "run.json"):
            try:
                if json.loads(p.read_text()) == self._identity():
                    return True
            except (OSError, ValueError):
                continue
        return False

    def execute(self) -> Report:
        self.dask: Any = None
        try:
            if self.cfg.engine == "dask":
                from .dask_engine import DaskEngine, DaskUnavailable

                try:
                    self.dask = DaskEngine(self.cfg.scheduler, self.cfg.workers or 1, self.cfg.max_memory or None)
                except DaskUnavailable as e:
                    raise RunError(str(e)) from None
            return self._execute()
        except KeyboardInterrupt:
            remove_stale_temp(self.output)
            remove_stale_temp(self.work)
            raise Interrupted(f"interrupted during {self.phase}; finished files are in place and no partial "
                              "file was left; run the same command again to resume") from None
        finally:
            if self.dask is not None:
                self.dask.close()

    def _execute(self) -> Report:
        cfg = self.cfg
        self.check()
        assert self.report_dir is not None
        t_start = time.perf_counter()
        timings: dict[str, float] = {}
        self.phase = "discovery"
        files, skipped = discover(self.input, cfg.follow_symlinks,
                                  exclude=(str(self.output), str(self.report_dir)))
        timings["discover"] = time.perf_counter() - t_start
        resume = self._resumable()
        existing = list(self.output.iterdir()) if self.output.is_dir() else []
        if any(TEMP_MARK not in p.name for p in existing) and not (self.overwrite or resume):
            raise RunError(f"output {self.output} is not empty; pass --overwrite to replace its files")
        if not resume and self.work.exists():
            shutil.rmtree(self.work)
        self.work.mkdir(parents=True, exist_ok=True)
        (self.work / "manifest.json").write_text(json.dumps(self._identity()))
        self.output.mkdir(parents=True, exist_ok=True)
        remove_stale_temp(self.output)
        remove_stale_temp(self.work)

        # map
        self.phase = "reading"
        t = time.perf_counter()
        tasks: list[MapTask] = []
        for fi, f in enumerate(files):
            for k, part in enumerate(formats.of(f).plan(f)):
                i = len(tasks)
                tasks.append(MapTask(i, fi, f, cfg, str(self.work / f"map-{fi:06d}-{k:04d}.pkl"), part))
        results: list[MapResult] = []
        todo: list[MapTask] = []
        for task in tasks:
            cached = self._cached(task) if resume else None
            if cached is not None:
                results.append(cached)
            else:
                todo.append(task)
        results.extend(r for r in self._run_tasks("read", map_file, todo, len(tasks), len(results),
                                                  self._retry_map) if r is not None)
        results.sort(key=lambda r: r.index)
        timings["map"] = time.perf_counter() - t

        # reduce
        self.phase = "deduplication"
        t = time.perf_counter()
        ok = [r for r in results if r.fatal is None or r.ndocs]
        spills = {r.index: tasks[r.index].spill for r in ok}
        # The reduce makes millions of short-lived objects (pair lists) and holds few cycles;
        # the cyclic collector's full passes over the map results cost seconds at 200k docs.
        gc_was_on = gc.isenabled()
        gc.disable()
        try:
            dec = reduce(ok, cfg, spills, self.dask.find_buckets if self.dask else None)
        finally:
            if gc_was_on:
                gc.enable()
        timings["reduce"] = time.perf_counter() - t

        # write
        self.phase = "writing"
        t = time.perf_counter()
        audit_dir = self.work / "audit"
        audit_dir.mkdir(exist_ok=True)
        per_file: dict[int, list[MapResult]] = {}
        for r in ok:
            per_file.setdefault(r.file_index, []).append(r)
        wtasks = []
        for fi, rs in sorted(per_file.items()):
            final = self.output / files[fi].out_rel
            for r in rs:
                target = final if len(rs) == 1 else \
                    self.work / f"part-{r.index:06d}{formats.of(files[fi]).part_suffix(files[fi])}"
                wtasks.append(WriteTask(r.index, fi, files[fi], tasks[r.index].part, cfg, spills[r.index],
                                        str(self.output), str(target), str(audit_dir / f"{r.index:06d}.jsonl"),
                                        str(self.work / f"records-{r.index:06d}.pkl"),
                                        dec.doc_drops.get(r.index, {}), dec.para_drops.get(r.index, {})))
        wres = [w for w in self._run_tasks("write", write_file, wtasks, len(wtasks), 0, lambda *_: None)
                if w is not None]
        wres.sort(key=lambda w: w.index)
        self._join(files, per_file, wtasks, wres)
        shards = self._write_shards(wtasks, wres) if cfg.output_format not in ("same", "txt") else None
        timings["write"] = time.perf_counter() - t

        # report
        self.phase = "report"
        t = time.perf_counter()
        report = Report.build(self, files, skipped, results, wres, dec, timings, self.failures)
        report.tracebacks = self.tracebacks
        if shards is not None:
            report.outputs = shards
        report.files["written"] = len(report.outputs)
        if self.dask is not None:
            report.engine.update(self.dask.describe())
        self.report_dir.mkdir(parents=True, exist_ok=True)
        with atomic_writer(str(self.report_dir / "removed.jsonl")) as out:
            for w in wres:
                piece = audit_dir / f"{w.index:06d}.jsonl"
                if piece.exists():
                    with open(piece, "rb") as fh:
                        shutil.copyfileobj(fh, out)
        self._remove_stale_outputs(report)
        report.timings["report"] = round(time.perf_counter() - t, 3)
        report.timings["total"] = round(time.perf_counter() - t_start, 3)
        report.save(self.report_dir)
        with atomic_writer(self.report_dir / "run.json") as fh:
            fh.write(json.dumps(self._identity()).encode())
        shutil.rmtree(self.work, ignore_errors=True)
        return report

    def _join(self, files: list[InputFile], per_file: dict[int, list[MapResult]], wtasks: list[WriteTask],
              wres: list[WriteResult]) -> None:
        """Files written in parts (large JSONL or Parquet): join the parts into the output."""
        if self.cfg.output_format != "same":
            return
        by_unit = {w.index: w for w in wres}
        targets = {t.index: Path(t.target) for t in wtasks}
        for fi, rs in per_file.items():
            if len(rs) < 2:
                continue
            results = [by_unit.get(r.index) for r in rs]
            if any(w is None or w.error is not None for w in results):
                continue  # reported already; a file with a failed part is not written
            parts = [targets[r.index] for r, w in zip(rs, results) if w is not None and w.target_written]
            if not parts:
                continue
            try:
                formats.of(files[fi]).join(self.output / files[fi].out_rel, parts)
            except OSError as e:
                self.failures.append(ItemError(files[fi].rel, f"cannot write {e.filename or files[fi].out_rel}: "
                                                              f"{e.strerror or e}; no partial file was left"))
                continue
            first = by_unit[rs[0].index]
            first.outputs = [files[fi].out_rel]

    def _write_shards(self, wtasks: list[WriteTask], wres: list[WriteResult]) -> list[str]:
        """--output-format jsonl*/parquet: all kept documents, in order, into part-NNNNN files."""
        from .writers import ShardWriter

        writer = ShardWriter(self.output, self.cfg.output_format, self.cfg.shard_size)
        done = {w.index for w in wres if w.error is None}
        try:
            for task in wtasks:
                if task.index not in done or not os.path.exists(task.records_path):
                    continue
                with open(task.records_path, "rb") as fh:
                    for rec in pickle.load(fh):
                        writer.add(rec)
            writer.flush()
        except BaseException:
            writer.abort()
            raise
        return writer.written

    def _remove_stale_outputs(self, report: Report) -> None:
        """Outputs of a previous run into this folder that this run did not write."""
        assert self.report_dir is not None
        prev: set[str] = set()
        try:
            data = json.loads((self.report_dir / "report.json").read_text())
            if data.get("output") == str(self.output.resolve()):
                prev = set(data.get("outputs", []))
        except (OSError, ValueError, AttributeError):
            pass
        for rel in sorted(prev - set(report.outputs)):
            p = self.output / rel
            if p.is_file() and _is_inside(p, self.output):
                p.unlink()
                parent = p.parent
                while parent != self.output and _is_inside(parent, self.output) and not any(parent.iterdir()):
                    parent.rmdir()
                    parent = parent.parent

    def _cached(self, task: MapTask) -> MapResult | None:
        try:
            res = load_spill(task.spill)[0]
            st = os.stat(task.file.path)
        except Exception:
            return None
        return res if res.stamp == (st.st_size, st.st_mtime_ns) else None

    def _retry_map(self, task: MapTask, label: Any, message: str) -> MapTask | None:
        """After a worker died or hung on a document: run the task again without it."""
        record = label
        if record is None or record in task.skip or task.attempt + 1 >= MAX_ATTEMPTS:
            return None
        return MapTask(task.index, task.file_index, task.file, task.cfg, task.spill, task.part,
                       task.skip | {record}, task.attempt + 1)

    def _on_failure(self, f: Failure) -> None:
        task = f.task
        record = f.label if isinstance(task, MapTask) else None
        if isinstance(task, WriteTask):
            msg = f"{f.message} while writing; file left out"
        elif record is not None:
            msg = f"{f.message} while cleaning this document; left out"
        else:
            msg = formats.of(task.file).given_up(f.message, task.attempt)
        self.failures.append(ItemError(task.file.rel, msg, record))
        if f.traceback:
            self.tracebacks.append(f"{task.file.rel}:\n{f.traceback}")

    def _run_tasks(self, phase: str, fn: Callable[[Any], Any], tasks: list[Any], total: int, done: int,
                   retry: Callable[[Any, Any, str], Any]) -> list[Any]:
        prog = self.progress or (lambda *_: None)
        prog(phase, done, total)
        if not tasks:
            return []
        def on_done(_: int, __: Any) -> None:
            nonlocal done
            done += 1
            prog(phase, done, total)

        if self.dask is not None:
            return self.dask.run(fn, tasks, self._on_failure, on_done)
        if self.cfg.workers == 0:
            out = []
            for task in tasks:
                out.append(fn(task))
                done += 1
                prog(phase, done, total)
            return out

        with Pool(min(self.cfg.workers, len(tasks)), self.cfg.doc_timeout, self.cfg.max_memory or None) as pool:
            return pool.run(fn, tasks, retry, self._on_failure, on_done)


def clean_corpus(input: str | Path, output: str | Path, *, config: str | Path | None = None,
                 report: str | Path | None = None, overwrite: bool = False,
                 progress: ProgressFn | None = None, **options: Any) -> Report:
    """Clean the corpus in `input` into `output`, as the `clean` command does.

    Options are the command's long flags as keyword arguments (``threshold=0.85``,
    ``workers=4``, ``strip=False`` for --no-strip, ``dedup=False`` for --no-dedup,
    ``output_format="parquet"``); `config` is a TOML file of options that the
    keyword arguments override. Returns the report (``report.ok``, counts,
    ``report.errors``); raises RunError if the run cannot start.

        from cleaner import clean_corpus
        rep = clean_corpus("raw/", "clean/", threshold=0.85)
        print(rep.documents, rep.paragraphs["removed"])
    """
    values: dict[str, Any] = dict(load_config_file(config)) if config else {}
    report = report or values.pop("report", None)
    overwrite = overwrite or bool(values.pop("overwrite", False))
    values.pop("quiet", None)
    values.update(options)
    try:
        cfg = Config(**values).validate()
    except TypeError as e:
        raise ConfigError(str(e)) from None
    return Run(Path(input), Path(output), cfg, Path(report) if report else None, overwrite, progress).execute()
