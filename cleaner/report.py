"""The run report: counts per reason and per file, errors, clusters, timings."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from . import storage
from .escape import deep, name_bytes, one_line, printable
from .minhash import _speedups
from .writers import atomic_writer

if TYPE_CHECKING:
    from .config import Config
    from .discover import Skipped
    from .document import ItemError
    from .readers import InputFile
    from .run.tasks import MapResult, WriteResult


@dataclass
class RunOutcome:
    """What a finished run hands the report."""

    input: str
    output: str  # resolved
    report_dir: str
    cfg: Config
    engine: dict[str, Any]  # what the executor says of itself (Dask: scheduler, workers)
    files: list[InputFile]
    skipped: list[Skipped]
    results: list[MapResult]
    written: list[WriteResult]
    clusters: dict[str, Any]
    timings: dict[str, float]  # per phase, then "report" and "total"
    failures: list[ItemError]
    tracebacks: list[str]
    outputs: list[str]  # files written, relative to the output root


@dataclass
class Report:
    """What a run did. `report.json` holds all of it; `ok` says whether nothing failed."""

    input: str
    output: str
    report_dir: str
    config: dict[str, Any]
    engine: dict[str, Any]
    files: dict[str, Any]
    documents: dict[str, Any]
    paragraphs: dict[str, Any]
    chars: dict[str, int]
    per_file: list[dict[str, Any]]
    errors: list[str]
    skipped: list[dict[str, str]]
    clusters: dict[str, Any]
    timings: dict[str, float]
    outputs: list[str] = field(default_factory=list)
    tracebacks: list[str] = field(default_factory=list)  # internal errors, for bug reports
    # file names that are not valid UTF-8, as the report shows them (escaped) -> their bytes in hex
    undecodable_names: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors

    @classmethod
    def build(cls, o: RunOutcome) -> Report:
        from . import __version__

        files, skipped, results, wres, failures = o.files, o.skipped, o.results, o.written, o.failures
        items: list[tuple[str, int, str]] = []
        for r in results:
            for e in r.errors:
                items.append((e.file, e.line or 0, str(e)))
            if r.fatal is not None:
                items.append((r.fatal.file, r.fatal.line or 0,
                              str(r.fatal) + ("" if r.ndocs else " (file skipped)")))
        for w in wres:
            if w.error is not None:
                items.append((w.error.file, 0, str(w.error)))
        for e in failures or ():
            items.append((e.file, e.line or 0, str(e)))
        errors = [printable(msg) for _, _, msg in sorted(items)]
        para_reasons: Counter[str] = Counter()
        doc_reasons: Counter[str] = Counter()
        by_file: dict[int, WriteResult] = {}
        parts: Counter[int] = Counter(w.file_index for w in wres)
        for w in wres:
            if parts[w.file_index] == 1:  # most files: one unit, nothing to add up
                by_file[w.file_index] = w
                continue
            agg = by_file.get(w.file_index)
            if agg is None:
                agg = by_file[w.file_index] = type(w)(w.file_index, w.file_index)
            agg.docs_in += w.docs_in
            agg.docs_out += w.docs_out
            agg.paras_in += w.paras_in
            agg.paras_out += w.paras_out
            agg.chars_in += w.chars_in
            agg.chars_out += w.chars_out
            agg.para_reasons.update(w.para_reasons)
            agg.doc_reasons.update(w.doc_reasons)
            agg.seconds += w.seconds
            agg.settle_seconds += w.settle_seconds
            agg.outputs = agg.outputs + w.outputs
            agg.error = agg.error or w.error
        failed_files = {r.file_index for r in results if r.fatal is not None} | \
                       {w.file_index for w in wres if w.error is not None} | {e.file for e in failures or ()}
        stage: dict[str, float] = {}
        for r in results:
            for k, v in r.seconds.items():
                if k != "total":
                    stage[k] = stage.get(k, 0.0) + v
        # WARC records that are not pages (requests, metadata, images): read, not documents
        not_docs: dict[int, Counter[str]] = {}
        for r in results:
            if r.not_documents:
                not_docs.setdefault(r.file_index, Counter()).update(r.not_documents)
        per_file = []
        for fi, f in enumerate(files):
            wr = by_file.get(fi)
            failed = fi in failed_files or f.rel in failed_files
            row: dict[str, Any] = {"file": printable(f.rel), "outputs": [printable(o) for o in wr.outputs] if wr else [],
                                   "status": "error" if failed else "ok"}
            if wr is not None:
                para_reasons.update(wr.para_reasons)
                doc_reasons.update(wr.doc_reasons)
                removed = wr.para_reasons + wr.doc_reasons if wr.doc_reasons else +wr.para_reasons
                row.update(documents=wr.docs_in, documents_kept=wr.docs_out, paragraphs=wr.paras_in,
                           paragraphs_kept=wr.paras_out, chars=wr.chars_in, chars_kept=wr.chars_out,
                           removed=dict(sorted(removed.items())))
                stage["write"] = stage.get("write", 0.0) + wr.seconds
                if wr.settle_seconds:
                    stage["settle"] = stage.get("settle", 0.0) + wr.settle_seconds
            if fi in not_docs:
                row["records_not_documents"] = dict(sorted(not_docs[fi].items()))
            per_file.append(row)
        docs_in = sum(w.docs_in for w in wres)
        docs_out = sum(w.docs_out for w in wres)
        timings: dict[str, Any] = {k: v for k, v in o.timings.items() if k not in ("report", "total")}
        timings["stages_cpu"] = {k: round(v, 3) for k, v in sorted(stage.items())}
        timings.update((k, o.timings[k]) for k in ("report", "total") if k in o.timings)
        return cls(
            input=o.input, output=o.output, report_dir=o.report_dir, config=o.cfg.as_dict(),
            engine={"name": "local", "workers": o.cfg.workers, "version": __version__,
                    "minhash_kernels": "compiled" if _speedups is not None else "numpy", **o.engine},
            files={"found": len(files), "written": len(o.outputs),
                   "failed": sum(1 for row in per_file if row["status"] == "error"),
                   "skipped": len(skipped)},
            documents={"read": docs_in, "kept": docs_out, "removed": dict(sorted(doc_reasons.items())),

                       "warc_records_not_documents": dict(sorted(sum(not_docs.values(), Counter()).items()))},
            paragraphs={"read": sum(w.paras_in for w in wres), "kept": sum(w.paras_out for w in wres),
                        "removed": dict(sorted(para_reasons.items()))},
            chars={"read": sum(w.chars_in for w in wres), "kept": sum(w.chars_out for w in wres)},
            per_file=per_file, errors=errors,
            skipped=[{"file": printable(s.rel), "reason": s.reason} for s in skipped],
            clusters=o.clusters, timings={k: (round(v, 3) if isinstance(v, float) else v)
                                          for k, v in timings.items()},
            outputs=[printable(x) for x in o.outputs], tracebacks=[printable(t) for t in o.tracebacks],
            undecodable_names=_undecodable([f.rel for f in files] + [s.rel for s in skipped] + o.outputs),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "input": self.input, "output": self.output, "report_dir": self.report_dir,
            "ok": self.ok, "engine": self.engine, "files": self.files, "documents": self.documents,
            "paragraphs": self.paragraphs, "chars": self.chars, "clusters": self.clusters,
            "timings": self.timings, "errors": self.errors, "skipped": self.skipped,
            "per_file": self.per_file, "outputs": self.outputs, "config": self.config,
            "tracebacks": self.tracebacks,
            **({"undecodable_names": self.undecodable_names} if self.undecodable_names else {}),
        }

    def save(self, directory: str | Path) -> None:
        d = storage.path(directory)
        data = self.as_dict()
        try:  # orjson: the per-file rows of 20,000 small files took the standard library ~0.5 s
            text = orjson.dumps(data, option=orjson.OPT_INDENT_2)
        except (TypeError, orjson.JSONEncodeError):  # what orjson refuses: the standard library's text
            try:
                text = json.dumps(data, indent=2, ensure_ascii=False).encode("utf-8")
            except UnicodeEncodeError:  # a lone surrogate not escaped in build (a record id in the config...)
                text = json.dumps(deep(data), indent=2, ensure_ascii=False).encode("utf-8")
        with atomic_writer(d / "report.json") as fh:
            fh.write(text + b"\n")
        with atomic_writer(d / "summary.txt") as fh:
            fh.write(("\n".join(self.summary_lines()) + "\n").encode("utf-8"))

    def summary_rows(self) -> list[tuple[str, str]]:
        rows = [
            ("files", f"{self.files['found']} read, {self.files['written']} written, "
                      f"{self.files['failed']} failed, {self.files['skipped']} skipped"),
            ("documents", f"{self.documents['kept']:,} of {self.documents['read']:,} kept"),
            ("paragraphs", f"{self.paragraphs['kept']:,} of {self.paragraphs['read']:,} kept"),
            ("characters", f"{self.chars['kept']:,} of {self.chars['read']:,} kept"
                           + (f" ({100 * self.chars['kept'] / self.chars['read']:.1f}%)" if self.chars['read'] else "")),
        ]
        for reason, n in sorted(self.documents["removed"].items(), key=lambda kv: (-kv[1], kv[0])):
            rows.append((f"  document: {reason}", f"{n:,}"))
        for reason, n in sorted(self.paragraphs["removed"].items(), key=lambda kv: (-kv[1], kv[0])):
            rows.append((f"  paragraph: {reason}", f"{n:,}"))
        rows.append(("errors", str(len(self.errors))))
        rows.append(("time", f"{self.timings.get('total', 0.0):.2f} s"))
        return rows

    def summary_lines(self) -> list[str]:
        rows = self.summary_rows()
        width = max(len(k) for k, _ in rows)
        lines = [f"{k.ljust(width)}  {v}" for k, v in rows]
        lines.append(f"{'report'.ljust(width)}  {one_line(self.report_dir)}/report.json, removed.jsonl")
        for e in self.errors[:20]:
            lines.append(f"error: {one_line(e)}")
        if len(self.errors) > 20:
            lines.append(f"... and {len(self.errors) - 20} more errors in report.json")
        return lines


def _undecodable(names: list[str]) -> dict[str, str]:
    out = {}
    for name in names:
        raw = name_bytes(name)
        if raw is not None:
            out[printable(name)] = raw.hex()
    return dict(sorted(out.items()))
