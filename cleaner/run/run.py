"""A run of `clean INPUT_DIR OUTPUT_DIR`: discover -> map -> reduce -> write -> report.

Map (per input file or part, on the executor): read, DocumentCleaner's per-document
steps, keys and signatures; documents go to a spill in the work folder. Reduce
(in this process): the corpus-wide decisions (dedup/corpus.py). Write (per map
unit, on the executor): the final decision per document, the cleaned files
(atomically) and the audit. Report: report.json, summary.txt, removed.jsonl.
"""

from __future__ import annotations

import gc
import json
import os
import pickle
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import formats
from ..config import Config, ConfigError, load_config_file
from ..dedup.corpus import Decisions, reduce
from ..dedup.sets import SetStore
from ..discover import Skipped, discover
from ..document import ItemError
from ..pool import Failure
from ..readers import InputFile
from ..report import Report, RunOutcome
from ..writers import TEMP_MARK, ShardWriter, atomic_writer, remove_stale_temp
from . import resume
from .executor import Executor, executor_for
from .map import map_file
from .tasks import MapResult, MapTask, WriteResult, WriteTask
from .write import write_file

ProgressFn = Callable[[str, int, int], None]

# Tasks that fail the same way this many times are given up (the rest of a part is reported).
MAX_ATTEMPTS = 4


class RunError(Exception):
    """The run cannot start (bad paths, refused output); one line for the user."""


class Interrupted(Exception):
    """Ctrl-C: the message says what was finished."""


def default_report_dir(output: str | Path) -> Path:
    out = Path(output)
    return out.parent / (out.name + ".report")


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
        inside = resume.is_inside
        if not self.input.exists():
            raise RunError(f"input {self.input} does not exist")
        if not self.input.is_dir():
            raise RunError(f"input {self.input} is not a directory")
        if self.output.exists() and not self.output.is_dir():
            raise RunError(f"output {self.output} exists and is not a directory")
        if inside(self.output, self.input):
            raise RunError(f"output {self.output} is inside input {self.input}; choose a directory outside it")
        if inside(self.input, self.output):
            raise RunError(f"input {self.input} is inside output {self.output}; choose another output")
        assert self.report_dir is not None
        if inside(self.report_dir, self.output):
            raise RunError(f"report directory {self.report_dir} is inside output {self.output}; "
                           "OUTPUT_DIR holds corpus files only")
        if inside(self.report_dir, self.input):
            raise RunError(f"report directory {self.report_dir} is inside input {self.input}")

    def execute(self) -> Report:
        self.executor: Executor | None = None
        try:
            from ..dask_engine import DaskUnavailable

            try:
                self.executor = executor_for(self.cfg)
            except DaskUnavailable as e:
                raise RunError(str(e)) from None
            return self._execute()
        except KeyboardInterrupt:
            remove_stale_temp(self.output)
            remove_stale_temp(self.work)
            raise Interrupted(f"interrupted during {self.phase}; finished files are in place and no partial "
                              "file was left; run the same command again to resume") from None
        finally:
            if self.executor is not None:
                self.executor.close()

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
        ident = resume.identity(cfg, self.input, self.output)
        again = resume.resumable(ident, self.work, self.report_dir)
        existing = list(self.output.iterdir()) if self.output.is_dir() else []
        if any(TEMP_MARK not in p.name for p in existing) and not (self.overwrite or again):
            raise RunError(f"output {self.output} is not empty; pass --overwrite to replace its files")
        if not again and self.work.exists():
            shutil.rmtree(self.work)
        self.work.mkdir(parents=True, exist_ok=True)
        (self.work / "manifest.json").write_text(json.dumps(ident))
        self.output.mkdir(parents=True, exist_ok=True)
        remove_stale_temp(self.output)
        remove_stale_temp(self.work)

        self.phase = "reading"
        t = time.perf_counter()
        tasks, results = self._map(files, again)
        timings["map"] = time.perf_counter() - t

        self.phase = "deduplication"
        t = time.perf_counter()
        ok = [r for r in results if r.fatal is None or r.ndocs]
        spills = {r.index: tasks[r.index].spill for r in ok}
        dec = self._reduce(ok, spills)
        timings["reduce"] = time.perf_counter() - t

        self.phase = "writing"
        t = time.perf_counter()
        wtasks, wres, shards = self._write(files, tasks, ok, spills, dec)
        timings["write"] = time.perf_counter() - t

        self.phase = "report"
        t = time.perf_counter()
        outputs = shards if shards is not None else sorted(o for w in wres for o in w.outputs)
        self.report_dir.mkdir(parents=True, exist_ok=True)
        with atomic_writer(str(self.report_dir / "removed.jsonl")) as out:
            for w in wres:
                piece = self.work / "audit" / f"{w.index:06d}.jsonl"
                if piece.exists():
                    with open(piece, "rb") as fh:
                        shutil.copyfileobj(fh, out)
        resume.remove_stale_outputs(self.output, self.report_dir, outputs)
        timings["report"] = time.perf_counter() - t
        timings["total"] = time.perf_counter() - t_start
        report = Report.build(RunOutcome(
            input=str(self.input), output=str(self.output.resolve()), report_dir=str(self.report_dir), cfg=cfg,
            engine=self.executor.describe() if self.executor else {}, files=files, skipped=skipped,
            results=results, written=wres, clusters=dec.clusters, timings=timings, failures=self.failures,
            tracebacks=self.tracebacks, outputs=outputs))
        report.save(self.report_dir)
        with atomic_writer(self.report_dir / "run.json") as fh:
            fh.write(json.dumps(ident).encode())
        shutil.rmtree(self.work, ignore_errors=True)
        return report

    # --- the phases -----------------------------------------------------------------------

    def _map(self, files: list[InputFile], again: bool) -> tuple[list[MapTask], list[MapResult]]:
        tasks: list[MapTask] = []
        for fi, f in enumerate(files):
            for k, part in enumerate(formats.of(f).plan(f)):
                tasks.append(MapTask(len(tasks), fi, f, self.cfg, str(self.work / f"map-{fi:06d}-{k:04d}.pkl"), part))
        results: list[MapResult] = []
        todo: list[MapTask] = []
        for task in tasks:
            done = resume.cached(task) if again else None
            if done is not None:
                results.append(done)
            else:
                todo.append(task)
        results.extend(r for r in self._run_tasks("read", map_file, todo, len(tasks), len(results),
                                                  self._retry_map) if r is not None)
        results.sort(key=lambda r: r.index)
        return tasks, results

    def _reduce(self, ok: list[MapResult], spills: dict[int, str]) -> Decisions:
        # The reduce makes millions of short-lived objects (pair lists) and holds few cycles;
        # the cyclic collector's full passes over the map results cost seconds at 200k docs.
        gc_was_on = gc.isenabled()
        gc.disable()
        try:
            return reduce(ok, self.cfg, SetStore(spills), self.executor.find_buckets if self.executor else None)
        finally:
            if gc_was_on:
                gc.enable()

    def _write(self, files: list[InputFile], tasks: list[MapTask], ok: list[MapResult], spills: dict[int, str],
               dec: Decisions) -> tuple[list[WriteTask], list[WriteResult], list[str] | None]:
        cfg = self.cfg
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
        return wtasks, wres, shards

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

    # --- failures -------------------------------------------------------------------------

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

        assert self.executor is not None
        return self.executor.run(fn, tasks, retry, self._on_failure, on_done)


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


__all__ = ["Interrupted", "Run", "RunError", "Skipped", "clean_corpus", "default_report_dir"]
