"""What the phases of a run pass each other: map and write tasks, their results, the spill."""

from __future__ import annotations

import pickle
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..config import Config
from ..document import Document, Drop, ItemError
from ..readers import InputFile, Part
from ..writers import atomic_writer

SPILL_VERSION = 2
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


def load_spill(path: str) -> tuple[MapResult, list[Document], list[Any]]:
    with open(path, "rb") as fh:
        version, res, docs, feats = pickle.load(fh)
    if version != SPILL_VERSION:
        raise ValueError("spill from another version")
    return res, docs, feats


def save_spill(path: str, res: MapResult, docs: list[Document], feats: list[Any]) -> None:
    with atomic_writer(path) as fh:
        pickle.dump((SPILL_VERSION, res, docs, feats), fh, protocol=pickle.HIGHEST_PROTOCOL)


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
