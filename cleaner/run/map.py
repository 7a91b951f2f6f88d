"""The map phase: one task reads its units (small files, or a part of a large file), takes
each document through DocumentCleaner's extract, strip and repeats steps, and spills the
documents to the work folder; a compact summary per unit (MapResult) goes back for the reduce."""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np

from .. import formats
from ..config import Config
from ..dedup.inner import FileKeys
from ..dedup.sets import write_set_store
from ..document import Document, ItemError
from ..document_cleaner import DocumentCleaner
from ..pool import DocTimeout, beat, time_limit
from ..readers import ReadError
from .tasks import MapResult, MapTask, TaskResult, Unit, save_spill

_I32 = np.int32


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


def _read_unit(u: Unit, k: int, cfg: Config, dc: DocumentCleaner, res: MapResult,
               docs: list[Document], feats_all: list[Any]) -> None:
    """Read one unit and take each document through extract and strip, under --doc-timeout;
    a document that fails is reported and left out. A file that cannot be read is `fatal`."""
    f = u.file
    try:
        st = os.stat(f.path)
        res.stamp = (st.st_size, st.st_mtime_ns)
    except OSError:
        pass
    t_read = t_strip = t_extract = 0.0
    beat(k, None)
    try:
        it = iter(formats.of(f).read(f, cfg, u.part, u.skip, res.not_documents))
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
            beat(k, doc.record)
            t2 = time.process_time()
            try:
                # plain text without stripping has no per-document work to time
                with time_limit(cfg.doc_timeout if cfg.strip or doc.html is not None else None):
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
    res.seconds = {"read": t_read, "extract": t_extract, "strip": t_strip - t_extract}


def map_task(task: MapTask) -> TaskResult:
    """Read the units of one task and do the per-document work (runs in a worker): one
    pass of repeats and signatures over all their documents, one spill, one set store."""
    cfg = task.cfg
    dc = DocumentCleaner.get(cfg)
    t0 = time.process_time()
    results, docs_of, feats_of = [], [], []
    for k, u in enumerate(task.units):
        res = MapResult(u.index, u.file.rel, u.file_index, task.index)
        docs: list[Document] = []
        feats: list[Any] = []
        _read_unit(u, k, cfg, dc, res, docs, feats)
        results.append(res)
        docs_of.append(docs)
        feats_of.append(feats)
    t3 = time.process_time()
    every = [d for docs in docs_of for d in docs]
    fk = dc.repeats(every)  # per document, so all units' documents at once
    d0 = r0 = 0
    for res, docs in zip(results, docs_of):
        d1 = d0 + len(docs)
        r1 = r0 + sum(len(d.kept()) for d in docs)
        part, res.store_paras = fk.part(slice(d0, d1), slice(r0, r1))
        res.store_docs = d0
        _summarise(res, docs, part)
        d0, r0 = d1, r1
    t4 = time.process_time()
    first = results[0].seconds if results else {}
    first["signatures"] = t4 - t3  # task-wide stages are counted on its first unit
    try:
        if cfg.dedup:  # before the spill: a spill on disk means its stores are complete (--resume)
            write_set_store(task.spill, fk)
        packed = TaskResult.pack(results)
        save_spill(task.spill, packed, docs_of, feats_of)
    except OSError as e:
        for res in results:
            _summarise(res, [], FileKeys.empty())
            res.fatal = ItemError(res.rel, f"cannot write the work file {task.spill}: {e.strerror or e}")
        packed = TaskResult.pack(results)
        packed.spill_failed = True
    first["spill"] = time.process_time() - t4
    first["total"] = time.process_time() - t0
    return packed
