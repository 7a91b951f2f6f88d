"""The write phase: one task takes the documents of a map unit from its spill, settles each
(DocumentCleaner.settle, with the reduce's drops), writes the cleaned output in the
input's format (or records for the shards) and the audit of what was removed."""

from __future__ import annotations

import pickle
import time
from pathlib import Path
from typing import Any

from .. import formats
from .. import reasons as R
from ..document import Document, Drop, ItemError
from ..document_cleaner import DocumentCleaner
from ..pool import beat
from ..writers import atomic_writer, json_line
from .tasks import WriteResult, WriteTask, load_spill


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
