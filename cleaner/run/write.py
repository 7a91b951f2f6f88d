"""The write phase: one task takes the documents of a map task's units from its spill,
settles each (DocumentCleaner.settle, with the reduce's drops), writes the cleaned output
in the input's format (or records for the shards) and the audit of what was removed."""

from __future__ import annotations

import os
import pickle
import time
from typing import Any

from .. import formats, storage
from .. import reasons as R
from ..document import Document, Drop, ItemError
from ..document_cleaner import Decision, DocumentCleaner
from ..formats.base import COPIES_FIELD
from ..pool import beat
from ..writers import TEMP_MARK, Staging, atomic_writer, audit_line
from .tasks import WriteResult, WriteTask, WriteUnit, load_documents


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
        if drop.twin_run is not None:
            rec["twin"]["run"] = drop.twin_run
        rec["similarity"] = drop.similarity
    return {k: v for k, v in rec.items() if v is not None}


def _final(doc: Document, dec: Decision | None, doc_drop: Drop | None, res: WriteResult,
           audit: list[dict[str, Any]]) -> list[int] | None:
    """Final decision for one document: the kept paragraph indices, or None if it goes."""
    res.docs_in += 1
    res.paras_in += len(doc.paragraphs)
    res.chars_in += sum(len(p) for p in doc.paragraphs)
    if doc_drop is not None:
        res.doc_reasons[doc_drop.reason] += 1
        audit.append(_audit(doc, None, doc_drop, "\n".join(doc.paragraphs)))
        return None
    assert dec is not None, "a document that stays has its decision"
    at_line: dict[int, int] | None = None
    for i in sorted(dec.drops):
        drop = dec.drops[i]
        res.para_reasons[drop.reason] += 1
        rec = _audit(doc, i, drop, doc.paragraphs[i])
        if drop.twin == doc.id and drop.twin_line is not None:
            # a repeat of this document whose first copy went as well (the decision made again
            # without the repeats can drop it): the audit says so, no copy is left in the output
            if at_line is None:
                at_line = {ln: k for k, ln in enumerate(doc.lines)}
            j = at_line.get(drop.twin_line)
            if j is not None and j in dec.drops:
                rec["twin"]["removed"] = dec.drops[j].reason
        audit.append(rec)
    if not dec.kept:
        res.doc_reasons[R.EMPTY_DOC] += 1
        audit.append(_audit(doc, None, Drop(R.EMPTY_DOC, "no paragraph kept"), ""))
        return None
    res.docs_out += 1
    res.paras_out += len(dec.kept)
    res.chars_out += sum(len(doc.paragraphs[i]) for i in dec.kept)
    return dec.kept


def _cannot_write(u: WriteUnit, where: str, e: OSError) -> ItemError:
    return ItemError(u.file.rel, f"cannot write {where}: {e.strerror or e}; no partial file was left")


def _write_unit(u: WriteUnit, docs: list[Document], feats: Any, task: WriteTask, dc: DocumentCleaner,
                audit: list[dict[str, Any]], records: list[tuple[int, list[dict[str, Any]]]],
                staging: Staging) -> WriteResult:
    """Final decisions for one unit (a file, or a part of a large one), then its cleaned
    output (or its records for the shards); its audit goes to `audit`."""
    t0 = time.process_time()
    cfg = task.cfg
    res = WriteResult(u.index, u.file_index)
    out_docs: list[tuple[Document, list[int]]] = []
    pdrops: dict[int, dict[int, Drop]] = {}
    for (pos, i), d in u.para_drops.items():
        pdrops.setdefault(pos, {})[i] = d
    # the documents that stay settle together (one batch of the classifier)
    live = [pos for pos in range(len(docs)) if pos not in u.doc_drops]
    sub = feats.subset(live) if feats is not None and len(live) < len(docs) else feats
    s0 = dc.settle_cpu
    decisions: dict[int, Decision] = dict(zip(live, dc.settle_many([docs[p] for p in live], sub,
                                                                   [pdrops.get(p, {}) for p in live])))
    res.settle_seconds = dc.settle_cpu - s0
    for pos, doc in enumerate(docs):
        kept = _final(doc, decisions.get(pos), u.doc_drops.get(pos), res, audit)
        if kept is not None:
            if cfg.annotate:  # a field of its record (JSONL, Parquet, WARC, the shards); text files have none
                doc.metadata = {**doc.metadata, COPIES_FIELD: u.doc_copies.get(pos, 1)}
            out_docs.append((doc, kept))
    out_fmt = cfg.output_format
    fmt = formats.of(u.file)
    final = os.path.join(task.out_root, u.file.out_rel)
    try:
        if out_docs and out_fmt == "same":
            whole = u.target == final
            fmt.write(staging.place(final) if whole else u.target, u.file, out_docs, cfg.text_field, u.part)
            res.target_written = True
            if whole:
                res.outputs = [u.file.out_rel]
        elif out_docs and out_fmt == "txt":
            res.outputs = fmt.write_txt(storage.path(task.out_root), u.file, out_docs)
        elif out_fmt not in ("same", "txt"):
            records.append((u.index, [fmt.record(d, k, cfg.text_field) for d, k in out_docs]))
    except OSError as e:
        # the file that failed if it is not the output itself (or its temp or staged name)
        where = e.filename if e.filename and not str(e.filename).startswith(os.path.dirname(u.target)) \
            and TEMP_MARK not in str(e.filename) else final
        res.error = _cannot_write(u, where, e)
    res.seconds = time.process_time() - t0 - res.settle_seconds
    return res


def write_task(task: WriteTask) -> list[WriteResult]:
    """The units of one map task: final decisions, outputs, one audit piece and one
    records file for all of them (runs in a worker)."""
    storage.use(task.cfg.storage)
    dc = DocumentCleaner.get(task.cfg)
    beat(0, None)
    docs_of, feats_of = load_documents(task.spill)
    where = {index: k for k, index in enumerate(task.spilled)}
    audit: list[dict[str, Any]] = []
    records: list[tuple[int, list[dict[str, Any]]]] = []
    results = []
    staging = Staging()
    try:
        for k, u in enumerate(task.units):
            beat(k, None)
            s = where[u.index]
            results.append(_write_unit(u, docs_of[s], feats_of[s], task, dc, audit, records, staging))
    except BaseException:
        staging.abort()
        raise
    t0 = time.process_time()
    failed = staging.commit()
    if failed:
        for u, res in zip(task.units, results):
            e = failed.get(os.path.join(task.out_root, u.file.out_rel))
            if e is not None and res.error is None:
                res.error = _cannot_write(u, os.path.join(task.out_root, u.file.out_rel), e)
                res.outputs, res.target_written = [], False
    pieces = [(task.audit_path, [audit_line(rec) for rec in audit], "the audit")]
    if task.cfg.output_format not in ("same", "txt"):
        pieces.append((task.records_path, [pickle.dumps(records, protocol=pickle.HIGHEST_PROTOCOL)], "records"))
    for path, chunks, what in pieces:
        try:
            with atomic_writer(path) as fh:
                for chunk in chunks:
                    fh.write(chunk)
        except OSError as e:
            for u, res in zip(task.units, results):
                res.error = res.error or ItemError(u.file.rel, f"cannot write {what} {path}: {e.strerror or e}")
    if results:
        results[0].seconds += time.process_time() - t0
    return results
