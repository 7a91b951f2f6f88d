"""What the phases of a run pass each other: map and write tasks, their results, the spill.

A unit is a file, or a part of a large one: the reduce and the report see units.
A task is several units (many small files, or one part of a large file), so that
a folder of small files costs one spill and one write batch per task, not per file.
"""

from __future__ import annotations

import pickle
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import storage
from ..config import Config
from ..document import Document, Drop, ItemError
from ..readers import InputFile, Part
from ..slots import pickled_by_fields
from ..writers import atomic_writer

SPILL_VERSION = 4
_I32 = np.int32
_NONE = np.zeros(0, dtype=_I32)
_NONE.flags.writeable = False

# A map task takes consecutive units up to this many input bytes or files (a large file
# is a task of its own): few enough tasks for little overhead, enough for the workers.
TASK_BYTES = 4 * 1024 * 1024
TASK_FILES = 1000


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Unit:
    """One file or part of a file, in a task."""

    index: int  # in corpus order
    file_index: int
    file: InputFile
    part: Part = Part()
    skip: frozenset[int] = frozenset()  # record lines to leave out (they hung or crashed a worker)
    attempt: int = 0  # how often a worker died on this unit before


@pickled_by_fields
@dataclass(slots=True)
class MapResult:
    """What the corpus-wide steps need of one map task, in compact arrays
    (the texts stay in the spill). Paragraph arrays list kept paragraphs."""

    index: int  # the unit (one file, or one part of a large file)
    rel: str
    file_index: int = 0
    task: int = 0  # the map task that read it: its spill holds the unit's documents
    store_docs: int = 0  # in that task's shingle-set store: the row of the unit's first document
    store_paras: int = 0  # and of its first MinHashed paragraph
    ids: list[str] = field(default_factory=list)  # per document
    # (empty until filled: one shared empty array, not a dozen new ones per small file)
    doc_chars: np.ndarray = field(default_factory=lambda: _NONE)  # characters kept
    doc_key: np.ndarray = field(default_factory=lambda: _NONE)  # key of the kept text
    doc_kept: np.ndarray = field(default_factory=lambda: _NONE)  # paragraphs kept
    p_doc: np.ndarray = field(default_factory=lambda: _NONE)  # per kept paragraph: its document
    p_idx: np.ndarray = field(default_factory=lambda: _NONE)  # its index in the document
    p_key: np.ndarray = field(default_factory=lambda: _NONE)  # normalised key
    p_words: np.ndarray = field(default_factory=lambda: _NONE)
    p_line: np.ndarray = field(default_factory=lambda: _NONE)
    sigs: np.ndarray | None = None  # MinHash per document
    para_rows: np.ndarray = field(default_factory=lambda: _NONE)  # kept paragraphs with a MinHash
    para_sigs: np.ndarray | None = None  # their MinHashes
    errors: list[ItemError] = field(default_factory=list)
    fatal: ItemError | None = None
    paragraphs: int = 0
    chars: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    stamp: tuple[int, int] = (0, 0)  # input size and mtime, for --resume
    not_documents: dict[str, int] = field(default_factory=dict)  # WARC records that are not pages

    @property
    def ndocs(self) -> int:
        return len(self.ids)


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class MapTask:
    index: int
    units: tuple[Unit, ...]
    cfg: Config
    spill: str


def plan_map_tasks(units: list[Unit], sizes: list[int], cfg: Config, work: str) -> list[MapTask]:
    """Consecutive units batched into tasks (TASK_BYTES, TASK_FILES); a unit of
    TASK_BYTES or more (a large file, a part of one) is a task of its own."""
    tasks: list[MapTask] = []
    batch: list[Unit] = []
    nbytes = 0

    def close() -> None:
        nonlocal batch, nbytes
        if batch:
            k = len(tasks)
            tasks.append(MapTask(k, tuple(batch), cfg, f"{work}/map-{k:06d}.pkl"))
        batch, nbytes = [], 0

    for u, size in zip(units, sizes):
        alone = size >= TASK_BYTES
        if alone or nbytes + size > TASK_BYTES or len(batch) >= TASK_FILES:
            close()
        batch.append(u)
        nbytes += size
        if alone:
            close()
    close()
    return tasks


_PER_DOC = ("doc_chars", "doc_key", "doc_kept")
_PER_ROW = ("p_doc", "p_idx", "p_key", "p_words", "p_line")


@dataclass(slots=True)
class TaskResult:
    """The results of a map task's units with their arrays joined: a task of a thousand
    small files pickles a few arrays, not a dozen per file."""

    units: list[MapResult]  # without their arrays (unpack gives them theirs)
    arrays: dict[str, np.ndarray]
    counts: np.ndarray  # per unit: documents, kept paragraphs, MinHashed paragraphs, signatures or not
    spill_failed: bool = False  # the spill could not be written (its units are `fatal`)

    def __len__(self) -> int:
        return len(self.units)

    def unpack(self) -> list[MapResult]:
        offsets = np.zeros((len(self.units) + 1, 4), dtype=np.int64)
        np.cumsum(self.counts, axis=0, out=offsets[1:])
        sig_rows = np.concatenate(([0], np.cumsum(self.counts[:, 0] * self.counts[:, 3])))
        out = []
        for k, r in enumerate(self.units):
            (d0, r0, q0, _), (d1, r1, q1, _) = offsets[k], offsets[k + 1]
            for name in _PER_DOC:
                setattr(r, name, self.arrays[name][d0:d1])
            for name in _PER_ROW:
                setattr(r, name, self.arrays[name][r0:r1])
            r.sigs = self.arrays["sigs"][sig_rows[k]:sig_rows[k + 1]] if self.counts[k, 3] else None
            r.para_rows = self.arrays["para_rows"][q0:q1]
            r.para_sigs = self.arrays["para_sigs"][q0:q1] if q1 > q0 else None
            out.append(r)
        return out


def load_result(path: str) -> TaskResult:
    with storage.open_read(path) as fh:
        version, result = pickle.load(fh)
    if version != SPILL_VERSION:
        raise ValueError("spill from another version")
    return result


def load_documents(path: str) -> tuple[list[list[Document]], list[Any]]:
    """Per unit of the task: its documents and their paragraph features (None without stripping)."""
    with storage.open_read(path + ".docs") as fh:
        docs, feats = pickle.load(fh)
    if feats is None:
        return docs, [None] * len(docs)
    start = np.concatenate(([0], np.cumsum([len(d) for d in docs]))).astype(np.int64)
    return docs, [feats.docs(int(start[k]), int(start[k + 1])) for k in range(len(docs))]


def save_spill(path: str, result: TaskResult, docs: list[list[Document]], feats: Any) -> None:
    """The documents first: a result on disk means the task's spill is complete (--resume).
    `feats`: the features of all the units' documents as one batch (a task of many small
    files pickles a score of arrays, not a score per file: 20,000 files of 2.3 KB, defaults,
    one worker: spill 2.8 -> 0.8 CPU-s, the run 26.7 -> 21.1 s)."""
    with atomic_writer(path + ".docs") as fh:
        pickle.dump((docs, feats), fh, protocol=pickle.HIGHEST_PROTOCOL)
    with atomic_writer(path) as fh:
        pickle.dump((SPILL_VERSION, result), fh, protocol=pickle.HIGHEST_PROTOCOL)


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class WriteUnit:
    index: int  # the unit
    file_index: int
    file: InputFile
    part: Part
    target: str  # where this unit's output goes: the final file, or a part to join (several units)
    doc_drops: dict[int, Drop]  # doc pos -> drop
    para_drops: dict[tuple[int, int], Drop]  # (doc pos, paragraph) -> drop
    doc_copies: dict[int, int] = field(default_factory=dict)  # doc pos -> copies, where more than 1


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class WriteTask:
    """The units of one map task that are written (their documents are in its spill)."""

    index: int  # the map task
    units: tuple[WriteUnit, ...]
    spilled: tuple[int, ...]  # the units in its spill, in order
    cfg: Config
    spill: str
    out_root: str
    audit_path: str
    records_path: str  # --output-format jsonl*/parquet: records for the shard writer


@pickled_by_fields
@dataclass(slots=True)
class WriteResult:
    index: int  # unit
    file_index: int = 0
    docs_in: int = 0
    docs_out: int = 0
    doc_reasons: Counter[str] = field(default_factory=Counter)  # documents removed, per reason
    paras_in: int = 0
    paras_out: int = 0
    para_reasons: Counter[str] = field(default_factory=Counter)  # paragraphs removed, per reason
    chars_in: int = 0
    chars_out: int = 0
    seconds: float = 0.0
    settle_seconds: float = 0.0  # of which the classifier deciding documents again (stage `settle`)
    error: ItemError | None = None
    outputs: list[str] = field(default_factory=list)  # files written, relative to the output root
    target_written: bool = False  # the unit wrote its part (for the parent to join)

    @property
    def written(self) -> bool:
        return bool(self.outputs)
