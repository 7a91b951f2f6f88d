"""The map phase: one task reads its units (small files, or a part of a large file), takes
each document through DocumentCleaner's extract, strip and repeats steps, and spills the
documents to the work folder; a compact summary per unit (MapResult) goes back for the reduce."""

from __future__ import annotations

import time
from itertools import chain
from typing import Any

import numpy as np

from .. import formats, storage
from ..config import Config
from ..dedup.inner import FileKeys
from ..dedup.sets import write_set_store
from ..document import Document, ItemError
from ..document_cleaner import STRIP_BATCH_CHARS, STRIP_BATCH_DOCS, DocumentCleaner
from ..pool import DocTimeout, beat, time_limit
from ..ragged import offsets_of
from ..readers import ReadError
from .tasks import MapResult, MapTask, TaskResult, Unit, save_spill

_I32 = np.int32


def _summarise(results: list[MapResult], docs_of: list[list[Document]], fk: FileKeys) -> TaskResult:
    """What the reduce needs of the units' documents, as arrays over all of them (the
    parent takes each unit's share as views: TaskResult.unpack)."""
    every = [d for docs in docs_of for d in docs]
    kept_all = [d.kept() for d in every]
    n_kept = np.array([len(k) for k in kept_all], dtype=np.int64)
    unit_docs = np.array([len(docs) for docs in docs_of], dtype=np.int64)
    doc_base = offsets_of(unit_docs)
    doc_unit = np.repeat(np.arange(len(docs_of)), unit_docs)
    unit_rows = np.bincount(doc_unit, weights=n_kept, minlength=len(docs_of)).astype(np.int64)
    row_base = offsets_of(unit_rows)
    pos_in_unit = np.arange(len(every)) - np.repeat(doc_base[:-1], unit_docs)
    if len(fk.p_key) != int(n_kept.sum()):
        raise AssertionError("paragraph keys out of step with the kept paragraphs")
    arrays: dict[str, np.ndarray] = {
        "doc_kept": n_kept.astype(_I32),
        "doc_chars": np.array([sum(len(d.paragraphs[i]) for i in k) + max(len(k) - 1, 0)
                               for d, k in zip(every, kept_all)], dtype=np.int64),
        "doc_key": np.array([fk.doc_key[p] if k else 0 for p, k in enumerate(kept_all)], dtype=np.uint64),
        "p_doc": np.repeat(pos_in_unit, n_kept).astype(_I32),
        "p_idx": np.fromiter(chain.from_iterable(kept_all), dtype=_I32, count=int(n_kept.sum())),
        "p_key": fk.p_key,
        "p_words": fk.p_words.astype(_I32),
        "p_line": np.array([d.lines[i] for d, k in zip(every, kept_all) for i in k], dtype=_I32),
    }
    has_sigs = fk.doc_sig is not None
    no_sigs = np.zeros((0, 0), np.uint32)
    para_rows = fk.para_rows if fk.para_sigs is not None else np.zeros(0, np.int64)
    para_unit = np.searchsorted(row_base, para_rows, side="right") - 1
    unit_paras = np.bincount(para_unit, minlength=len(docs_of)).astype(np.int64)
    arrays["sigs"] = fk.doc_sig if fk.doc_sig is not None else no_sigs
    arrays["para_rows"] = (para_rows - row_base[para_unit]).astype(_I32)
    arrays["para_sigs"] = fk.para_sigs if fk.para_sigs is not None else no_sigs
    para_base = offsets_of(unit_paras)
    for k, (res, docs) in enumerate(zip(results, docs_of)):
        res.ids = [d.id for d in docs]
        res.paragraphs = sum(len(d.paragraphs) for d in docs)
        res.chars = sum(len(x) for d in docs for x in d.paragraphs)
        res.store_docs, res.store_paras = int(doc_base[k]), int(para_base[k])
    counts = np.stack([unit_docs, unit_rows, unit_paras, (unit_docs > 0) * has_sigs], axis=1).astype(np.int64)
    return TaskResult(results, arrays, counts.reshape(-1, 4))


def _read_unit(u: Unit, k: int, cfg: Config, dc: DocumentCleaner, res: MapResult, docs: list[Document]) -> None:
    """Read one unit and extract each page, under --doc-timeout; a document that fails is
    reported and left out. A file that cannot be read is `fatal`."""
    f = u.file
    try:
        res.stamp = storage.stamp(f.path)
    except OSError:
        pass
    t_extract = 0.0
    t0 = time.process_time()
    beat(k, None)
    # a page's extraction runs under the limit; so does a text document's turn here when
    # stripping (its stripping goes in batches, each under the limit too); plain text
    # without stripping has no per-document work to time
    limit = cfg.doc_timeout if cfg.strip else None
    try:
        for item in formats.of(f).read(f, cfg, u.part, u.skip, res.not_documents):
            if isinstance(item, ItemError):
                res.errors.append(item)
                continue
            doc = item
            beat(k, doc.record)
            t2 = time.process_time()
            try:
                if doc.html is None and limit is None:
                    dc.extract(doc)
                else:
                    with time_limit(cfg.doc_timeout):
                        dc.extract(doc)
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
                t_extract += time.process_time() - t2
            docs.append(doc)
    except ReadError as e:
        res.fatal = ItemError(f.rel, str(e), e.line)
    except OSError as e:
        res.fatal = ItemError(f.rel, f"cannot read: {e.strerror or e}")
    except (MemoryError, RecursionError) as e:
        res.fatal = ItemError(f.rel, f"cannot read: {type(e).__name__}")
    res.seconds = {"read": time.process_time() - t0 - t_extract, "extract": t_extract, "strip": 0.0}


def _batches(docs: list[Document]) -> list[tuple[int, int]]:
    """Consecutive runs of documents stripped together (STRIP_BATCH_DOCS, STRIP_BATCH_CHARS)."""
    out, lo, chars = [], 0, 0
    for i, d in enumerate(docs):
        chars += sum(len(p) for p in d.paragraphs)
        if i + 1 - lo >= STRIP_BATCH_DOCS or chars >= STRIP_BATCH_CHARS:
            out.append((lo, i + 1))
            lo, chars = i + 1, 0
    if lo < len(docs):
        out.append((lo, len(docs)))
    return out


def _strip_task(cfg: Config, dc: DocumentCleaner, results: list[MapResult], docs_of: list[list[Document]]
                ) -> Any:
    """Boilerplate of all the task's documents (small files strip together), a batch at a
    time, each batch under --doc-timeout; a batch that runs out of time is stripped again a
    document at a time, and a document that still does is reported and left out (removed
    from docs_of). Returns the features of the documents left, in order (None without
    stripping)."""
    from ..boilerplate import Features

    if not cfg.strip:
        return None
    t0 = time.process_time()
    every = [(k, d) for k, docs in enumerate(docs_of) for d in docs]
    ok = [True] * len(every)
    parts: list[Any] = []
    where: list[int] = []  # for each stripped document (in order), its index in `every`

    def run(idx: list[int]) -> None:
        feats, _, errs = dc.strip_many([every[i][1] for i in idx])
        for i, e in zip(idx, errs):
            results[every[i][0]].errors.extend(e)
        parts.append(feats)
        where.extend(idx)

    for lo, hi in _batches([d for _, d in every]):
        idx = list(range(lo, hi))
        beat(every[lo][0], every[lo][1].record if hi - lo == 1 else None)
        saved = [dict(every[i][1].drops) for i in idx]
        try:
            with time_limit(cfg.doc_timeout):
                run(idx)
            continue
        except DocTimeout:
            for i, drops in zip(idx, saved):  # as they were before the batch
                every[i][1].drops = drops
        for i in idx:
            k, doc = every[i]
            beat(k, doc.record)
            try:
                with time_limit(cfg.doc_timeout):
                    run([i])
            except DocTimeout:
                ok[i] = False
                results[k].errors.append(ItemError(results[k].rel, f"took longer than --doc-timeout "
                                                   f"({cfg.doc_timeout:g}s) to clean; left out", doc.record))
            except (MemoryError, RecursionError) as e:
                ok[i] = False
                results[k].errors.append(ItemError(results[k].rel, f"{type(e).__name__} while cleaning; left out",
                                                   doc.record))
    feats = Features.concat(parts)
    pos = {i: j for j, i in enumerate(where)}  # stripped document -> its place in feats
    at: list[int] = []
    start = 0
    for k, docs in enumerate(docs_of):
        mine = [i for i in range(start, start + len(docs)) if ok[i]]
        docs_of[k] = [every[i][1] for i in mine]
        at += [pos[i] for i in mine]
        start += len(docs)
    if at != list(range(len(feats))):  # a batch was redone a document at a time, or one left out
        feats = feats.subset(at) if at else Features.empty()
    if results:
        results[0].seconds["strip"] = time.process_time() - t0  # task-wide stages are counted on the first unit
    return feats


def map_task(task: MapTask) -> TaskResult:
    """Read the units of one task and do the per-document work (runs in a worker): one
    pass of repeats and signatures over all their documents, one spill, one set store."""
    cfg = task.cfg
    storage.use(cfg.storage)
    dc = DocumentCleaner.get(cfg)
    t0 = time.process_time()
    results: list[MapResult] = []
    docs_of: list[list[Document]] = []
    for k, u in enumerate(task.units):
        res = MapResult(u.index, u.file.rel, u.file_index, task.index)
        docs: list[Document] = []
        _read_unit(u, k, cfg, dc, res, docs)
        results.append(res)
        docs_of.append(docs)
    feats = _strip_task(cfg, dc, results, docs_of)
    t3 = time.process_time()
    s3 = dc.settle_cpu
    fk = dc.repeats([d for docs in docs_of for d in docs], feats)  # each step is per document: all at once
    packed = _summarise(results, docs_of, fk)
    t4 = time.process_time()
    first = results[0].seconds if results else {}
    settle = dc.settle_cpu - s3  # the documents that lost repeats, decided again
    first["signatures"] = t4 - t3 - settle  # task-wide stages are counted on its first unit
    if settle:
        first["settle"] = first.get("settle", 0.0) + settle
    try:
        if cfg.dedup:  # before the spill: a spill on disk means its stores are complete (--resume)
            write_set_store(task.spill, fk)
        save_spill(task.spill, packed, docs_of, feats)
    except OSError as e:
        for res in results:
            res.fatal = ItemError(res.rel, f"cannot write the work file {task.spill}: {e.strerror or e}")
        packed = _summarise(results, [[] for _ in results], FileKeys.empty())
        packed.spill_failed = True
    first["spill"] = time.process_time() - t4
    first["total"] = time.process_time() - t0
    return packed
