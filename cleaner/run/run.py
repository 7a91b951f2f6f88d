"""A run of `clean INPUT_DIR OUTPUT_DIR`: discover -> map -> reduce -> write -> report.

Map (per input file or part, on the executor): read, DocumentCleaner's per-document
steps, keys and signatures; documents go to a spill in the work folder. Reduce
(in this process): the corpus-wide decisions (dedup/corpus.py). Write (per map
unit, on the executor): the final decision per document, the cleaned files
(atomically) and the audit. Report: report.json, summary.txt, removed.jsonl.
"""

from __future__ import annotations

import gc
import hashlib
import json
import pickle
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .. import formats, storage
from ..config import Config, ConfigError, load_config_file
from ..dedup.corpus import Decisions, reduce
from ..dedup.sets import SetStore
from ..discover import Skipped, discover, txt_folders
from ..document import ItemError
from ..escape import printable
from ..pool import Failure, fewer_collections, unit_and_record
from ..readers import InputFile
from ..report import Report, RunOutcome
from ..writers import TEMP_MARK, ShardWriter, atomic_writer, remove_stale_temp
from . import folders, resume
from .executor import Executor, executor_for
from .index import Index, IndexRefused, para_settings, settings, survivors
from .map import map_task
from .tasks import TASK_BYTES, MapResult, MapTask, Unit, WriteResult, WriteTask, WriteUnit, plan_map_tasks
from .write import write_task

ProgressFn = Callable[[str, int, int], None]

# Tasks that fail the same way this many times are given up (the rest of a part is reported).
MAX_ATTEMPTS = 4


def _size(path: str) -> int:
    try:
        return storage.stamp(path)[0]
    except OSError:
        return 0


class RunError(Exception):
    """The run cannot start (bad paths, refused output); one line for the user."""


class Interrupted(Exception):
    """Ctrl-C: the message says what was finished."""


def default_report_dir(output: str | Path) -> Path:
    out = storage.path(output)
    if storage.is_url(out) and out.parent == out:  # a bucket: no folder beside it
        raise RunError(f"output {out} is a whole bucket: pass --report with a place for the report outside it")
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
        self.input = storage.path(self.input)
        self.output = storage.path(self.output)
        self.report_dir = storage.path(self.report_dir) if self.report_dir else default_report_dir(self.output)
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
        with fewer_collections():
            return self._execute_once()

    def _execute_once(self) -> Report:
        self.executor: Executor | None = None
        self.claim: folders.Claim | None = None
        self.index: Index | None = None
        self.store: SetStore | None = None
        try:
            from ..dask_engine import DaskUnavailable

            try:  # the environment's storage options travel with the config, to every worker
                env = storage.env_options()
            except ValueError as e:
                raise RunError(str(e)) from None
            if env:
                self.cfg = self.cfg.replace(storage={**env, **self.cfg.storage})
            storage.use(self.cfg.storage)
            try:
                self.executor = executor_for(self.cfg)
            except DaskUnavailable as e:
                raise RunError(str(e)) from None
            return self._execute()
        except storage.StorageError as e:  # remote storage refused before the work had begun
            if self.phase not in ("start", "discovery"):
                raise
            if self.claim is not None:
                self.claim.release(refused=True)
            raise RunError(str(e)) from None
        except RunError:  # refused before any work: leave nothing behind
            if self.claim is not None:
                self.claim.release(refused=True)
            raise
        except KeyboardInterrupt:
            remove_stale_temp(self.output)
            remove_stale_temp(self.work)
            raise Interrupted(f"interrupted during {self.phase}; finished files are in place and no partial "
                              "file was left; run the same command again to resume") from None
        finally:
            if self.executor is not None:
                self.executor.close()
            if self.claim is not None:
                self.claim.release()
            if self.index is not None:
                self.index.close()
            storage.forget_local_copies()

    def _execute(self) -> Report:
        cfg = self.cfg
        self.check()
        assert self.report_dir is not None
        try:  # before discovery: a second run on these folders, or storage that takes no write, is refused
            self.claim = folders.claim(self.output, self.report_dir)
        except folders.Refused as e:
            raise RunError(str(e)) from None
        t_start = time.perf_counter()
        timings: dict[str, float] = {}
        self.phase = "discovery"
        files, skipped = discover(self.input, cfg.follow_symlinks,
                                  exclude=(str(self.output), str(self.report_dir)))
        if cfg.output_format == "txt":
            files = txt_folders(files)
        timings["discover"] = time.perf_counter() - t_start
        ident = resume.identity(cfg, self.input, self.output)
        if cfg.index is not None:  # before the work: an index that cannot be used is refused now
            self._open_index(ident)
        again = resume.resumable(ident, self.work, self.report_dir)
        existing = list(self.output.iterdir()) if self.output.is_dir() else []
        if any(TEMP_MARK not in p.name for p in existing) and not (self.overwrite or again):
            raise RunError(f"output {self.output} is not empty; pass --overwrite to replace its files")
        if not again and self.work.exists():
            storage.rmtree(self.work)
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
        dec = self._reduce(ok, tasks)
        timings["reduce"] = time.perf_counter() - t

        self.phase = "writing"
        t = time.perf_counter()
        wtasks, wres, done, shards = self._write(files, tasks, results, ok, dec)
        timings["write"] = time.perf_counter() - t

        if self.index is not None:
            self.phase = "index update"
            t = time.perf_counter()
            self._add_to_index(ok, dec, wres)
            timings["index"] = time.perf_counter() - t

        self.phase = "report"
        t = time.perf_counter()
        outputs = shards if shards is not None else sorted(o for w in wres for o in w.outputs)
        unwritten: OSError | None = None  # the work is done: a report that cannot be written is one more error
        try:
            self._write_audit(wtasks, done)
        except OSError as e:
            unwritten = e
        self.failures.extend(resume.remove_stale_outputs(self.output, self.report_dir, outputs))
        timings["report"] = time.perf_counter() - t
        timings["total"] = time.perf_counter() - t_start
        report = Report.build(RunOutcome(
            input=str(self.input), output=str(self.output.resolve()), report_dir=str(self.report_dir), cfg=cfg,
            engine=self.executor.describe() if self.executor else {}, files=files, skipped=skipped,
            results=results, written=wres, clusters=dec.clusters, timings=timings, failures=self.failures,
            tracebacks=self.tracebacks, outputs=outputs))
        try:
            if unwritten is None:
                report.save(self.report_dir)
                with atomic_writer(self.report_dir / "run.json") as fh:
                    fh.write(json.dumps(ident).encode())
        except OSError as e:
            unwritten = e
        if unwritten is not None:  # the work folder stays: the same command again writes the report
            report.errors.append(printable(f"{self.report_dir}: cannot write the report "
                                           f"({unwritten.filename or ''}: {unwritten.strerror or unwritten}); "
                                           "the outputs are in place, run the same command again to write it"))
            return report
        storage.rmtree(self.work, ignore_errors=True)
        return report

    def _open_index(self, ident: dict[str, Any]) -> None:
        assert self.cfg.index is not None
        if storage.is_url(self.cfg.index):
            raise RunError(f"--index {self.cfg.index}: the index must be a local folder (it is memory-mapped "
                           "and locked)")
        # the same command gets the same run id: a run repeated after a crash finds its own part
        run = hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:16]
        try:
            self.index = Index(Path(self.cfg.index), settings(self.cfg), run, self.cfg.index_readonly,
                               self.cfg.index_exact, para_settings(self.cfg)).open()
        except IndexRefused as e:
            raise RunError(str(e)) from None

    def _add_to_index(self, ok: list[MapResult], dec: Decisions, wres: list[WriteResult]) -> None:
        """After the outputs are written: a crash before the manifest is replaced leaves the index as
        it was and the work folder for the same command to resume; one after it, a run that finds
        itself in the index (checked against the parts before its own, adding nothing)."""
        assert self.index is not None
        written = {w.index for w in wres if w.error is None}
        store = None if self.index.readonly or self.index.already else self.store  # (sets: none are added)
        part = survivors(self.index.run, ok, dec, written, self.cfg.num_perm, store, para_settings(self.cfg))
        self.store = None
        added = self.index.add(part)
        dec.clusters["index"] = {"path": str(self.index.path), "run": self.index.run,
                                 "earlier_runs": len(self.index.parts) - int(added),
                                 "added_documents": part.ndocs if added else 0}
        if self.index.with_sets:  # (absent otherwise: the report of a run without sets is as before)
            dec.clusters["index"]["exact"] = True

    def _write_audit(self, wtasks: list[WriteTask], done: set[int]) -> None:
        """removed.jsonl: the write tasks' audit pieces, in unit order (as the tasks are)."""
        assert self.report_dir is not None
        self.report_dir.mkdir(parents=True, exist_ok=True)
        with atomic_writer(str(self.report_dir / "removed.jsonl")) as out:
            for task in wtasks:
                if task.index in done and storage.exists(task.audit_path):
                    with storage.open_read(task.audit_path) as fh:
                        shutil.copyfileobj(fh, out)

    # --- the phases -----------------------------------------------------------------------

    def _map(self, files: list[InputFile], again: bool) -> tuple[list[MapTask], list[MapResult]]:
        units: list[Unit] = []
        sizes: list[int] = []
        for fi, f in enumerate(files):
            parts = formats.of(f).plan(f)
            for part in parts:
                units.append(Unit(len(units), fi, f, part))
                sizes.append(TASK_BYTES if len(parts) > 1 else _size(f.path))
        tasks = plan_map_tasks(units, sizes, self.cfg, str(self.work))
        unit_of = {u.index: u for u in units}
        results: list[MapResult] = []
        todo: list[MapTask] = []
        for task in tasks:
            before = resume.cached(task) if again else None
            if before is not None:
                results.extend(before)
            else:
                todo.append(task)
        done = len(results)
        while todo:
            again_alone: list[MapTask] = []
            for packed in self._run_tasks("read", map_task, todo, len(units), done, self._retry_map):
                if packed is not None and packed.spill_failed and len(packed) > 1:
                    # a spill too large to write (disk quota, file size limit): each file on its own,
                    # so that one large file does not take the small ones along
                    for r in packed.units:
                        k = len(tasks)
                        tasks.append(MapTask(k, (unit_of[r.index],), self.cfg, str(self.work / f"map-{k:06d}.pkl")))
                        again_alone.append(tasks[-1])
                elif packed is not None:
                    results.extend(packed.unpack())
                    done += len(packed)
            todo = again_alone
        results.sort(key=lambda r: r.index)
        return tasks, results

    def _reduce(self, ok: list[MapResult], tasks: list[MapTask]) -> Decisions:
        store = SetStore({r.index: (tasks[r.task].spill, r.store_docs, r.store_paras) for r in ok})
        # with sets the index update reads the survivors' from it; else it goes with the reduce, as
        # its mapped files do
        self.store = store if self.index is not None and self.index.with_sets else None
        # The reduce makes millions of short-lived objects (pair lists) and holds few cycles;
        # the cyclic collector's full passes over the map results cost seconds at 200k docs.
        gc_was_on = gc.isenabled()
        gc.disable()
        try:
            earlier = self.index.earlier() if self.index is not None else None
            return reduce(ok, self.cfg, store, self.executor.find_buckets if self.executor else None, earlier)
        finally:
            if gc_was_on:
                gc.enable()

    def _write(self, files: list[InputFile], tasks: list[MapTask], results: list[MapResult], ok: list[MapResult],
               dec: Decisions) -> tuple[list[WriteTask], list[WriteResult], set[int], list[str] | None]:
        cfg = self.cfg
        audit_dir = self.work / "audit"
        audit_dir.mkdir(exist_ok=True)
        per_file: dict[int, list[MapResult]] = {}
        for r in ok:
            per_file.setdefault(r.file_index, []).append(r)
        part_of = {u.index: u.part for t in tasks for u in t.units}
        spilled: dict[int, tuple[int, ...]] = {}  # per task, the units its spill holds (a retry may drop some)
        for r in results:
            spilled[r.task] = spilled.get(r.task, ()) + (r.index,)
        per_task: dict[int, list[WriteUnit]] = {}
        changed: set[int] = set()
        for r in ok:
            f = files[r.file_index]
            if self._changed_since_read(f, r, changed):
                continue
            target = self.output / f.out_rel if len(per_file[r.file_index]) == 1 else \
                self.work / f"part-{r.index:06d}{formats.of(f).part_suffix(f)}"
            per_task.setdefault(r.task, []).append(WriteUnit(
                r.index, r.file_index, f, part_of[r.index], str(target), dec.doc_drops.get(r.index, {}),
                dec.para_drops.get(r.index, {}), dec.doc_copies.get(r.index, {}) if cfg.annotate else {}))
        wtasks = [WriteTask(ti, tuple(us), spilled[ti], cfg, tasks[ti].spill,
                            str(self.output),
                            str(audit_dir / f"{ti:06d}.jsonl"), str(self.work / f"records-{ti:06d}.pkl"))
                  for ti, us in sorted(per_task.items())]
        wres: list[WriteResult] = []
        done: set[int] = set()
        for task, rs in zip(wtasks, self._run_tasks("write", write_task, wtasks, len(ok), 0, self._retry_write)):
            if rs is not None:
                wres.extend(rs)
                done.add(task.index)
        wres.sort(key=lambda w: w.index)
        self._join(files, per_file, wtasks, wres)
        shards = self._write_shards(wtasks, wres, done) if cfg.output_format not in ("same", "txt") else None
        return wtasks, wres, done, shards

    def _changed_since_read(self, f: InputFile, r: MapResult, reported: set[int]) -> bool:
        """A format whose write phase reads its input again (Parquet: the table, so that every
        column keeps its type) cannot write a file that changed after it was read: its rows
        would be other rows. Reported once per file; the file is not written."""
        if not formats.of(f).rereads_input or self.cfg.output_format != "same":
            return False
        try:
            now: tuple[int, int] | None = storage.stamp(f.path, fresh=True)
        except OSError:
            now = None
        if now == r.stamp:
            return False
        if r.file_index not in reported:
            reported.add(r.file_index)
            self.failures.append(ItemError(f.rel, "changed after it was read (its size or modification time); not "
                                                  "written: run again to clean it as it is now"))
        return True

    def _join(self, files: list[InputFile], per_file: dict[int, list[MapResult]], wtasks: list[WriteTask],
              wres: list[WriteResult]) -> None:
        """Files written in parts (large JSONL or Parquet): join the parts into the output."""
        if self.cfg.output_format != "same":
            return
        by_unit = {w.index: w for w in wres}
        targets: dict[int, Path] = {}
        for fi, rs in per_file.items():
            if len(rs) < 2:
                continue
            if not targets:
                targets = {u.index: storage.path(u.target) for t in wtasks for u in t.units}
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

    def _write_shards(self, wtasks: list[WriteTask], wres: list[WriteResult], done: set[int]) -> list[str]:
        """--output-format jsonl*/parquet: all kept documents, in order, into part-NNNNN files."""
        writer = ShardWriter(self.output, self.cfg.output_format, self.cfg.shard_size)
        fine = {w.index for w in wres if w.error is None}
        try:
            for task in wtasks:
                if task.index not in done or not storage.exists(task.records_path):
                    continue
                with storage.open_read(task.records_path) as fh:
                    for unit, records in pickle.load(fh):
                        if unit in fine:
                            for rec in records:
                                writer.add(rec)
            writer.flush()
        except BaseException:
            writer.abort()
            raise
        return writer.written

    # --- failures -------------------------------------------------------------------------

    def _retry_map(self, task: MapTask, label: Any, message: str) -> MapTask | None:
        """After a worker died or hung on a document: run the task again without it (a
        document of a file of many, or the file), or without the unit given up."""
        if label is None:
            return None
        k, record = unit_and_record(label)
        units = list(task.units)
        u = units[k]
        if record is None or record in u.skip or u.attempt + 1 >= MAX_ATTEMPTS:
            del units[k]
        else:
            units[k] = replace(u, skip=u.skip | {record}, attempt=u.attempt + 1)
        return replace(task, units=tuple(units)) if units else None

    def _retry_write(self, task: WriteTask, label: Any, message: str) -> WriteTask | None:
        """After a worker died while writing a unit: write the others again."""
        if label is None:
            return None
        units = [u for k, u in enumerate(task.units) if k != unit_and_record(label)[0]]
        return replace(task, units=tuple(units)) if units else None

    def _on_failure(self, f: Failure) -> None:
        task = f.task
        hit: list[tuple[Any, int | None]]
        if f.label is None:  # before the task's first unit: all of it is given up
            hit = [(u, None) for u in task.units]
        else:
            k, record = unit_and_record(f.label)
            hit = [(task.units[k], record)]
        for u, record in hit:
            if isinstance(task, WriteTask):
                msg = f"{f.message} while writing; file left out"
            elif record is not None:
                msg = f"{f.message} while cleaning this document; left out"
            else:
                msg = formats.of(u.file).given_up(f.message, u.attempt)
            self.failures.append(ItemError(u.file.rel, msg, record))
        if f.traceback:
            self.tracebacks.append(f"{', '.join(u.file.rel for u, _ in hit)}:\n{f.traceback}")

    def _run_tasks(self, phase: str, fn: Callable[[Any], Any], tasks: list[Any], total: int, done: int,
                   retry: Callable[[Any, Any, str], Any]) -> list[Any]:
        prog = self.progress or (lambda *_: None)
        prog(phase, done, total)
        if not tasks:
            return []

        def on_done(_: int, result: Any) -> None:
            nonlocal done
            done += len(result)  # units of the task
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
    return Run(storage.path(input), storage.path(output), cfg, storage.path(report) if report else None, overwrite,
               progress).execute()


__all__ = ["Interrupted", "Run", "RunError", "Skipped", "clean_corpus", "default_report_dir"]
