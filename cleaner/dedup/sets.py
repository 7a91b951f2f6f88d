"""Exact shingle sets of the map tasks' documents and long paragraphs, kept on disk for the
reduce, which checks the near-duplicate candidates it cannot decide from MinHash alone."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .. import storage
from ..ragged import Ragged, offsets_of, ranges
from ..writers import atomic_writer
from .inner import FileKeys


class DocJaccard:
    """Exact Jaccard of two documents (dedup.cluster's `exact`), their shingle sets
    loaded from the map tasks' stores once each: documents are large sets and the
    pairs checked are few, so one pair at a time is fastest (at 200k documents,
    0.5 s against 1.4 s for loading and sorting all needed sets at once)."""

    def __init__(self, store: SetStore, units: np.ndarray, pos: np.ndarray,
                 indexed: Callable[[int], np.ndarray] | None = None) -> None:
        self.store, self.units, self.pos = store, units, pos
        # --index-exact: the sets of the indexed documents (unit -1), stored sorted and unique
        self.indexed = indexed
        self.sets: dict[int, np.ndarray] = {}

    def __call__(self, a: int, b: int) -> float:
        from .. import minhash as mh

        for x in (a, b):
            if x not in self.sets:
                u, p = int(self.units[x]), int(self.pos[x])
                self.sets[x] = self.indexed(p) if u < 0 and self.indexed is not None else self.store.doc(u, p)
        return mh.jaccard_sets(self.sets[a], self.sets[b])


class ParagraphJaccard:
    """Exact Jaccard of many pairs of long paragraphs at once (dedup.cluster's
    `exact_many`): paragraph x is the index[x]-th MinHashed paragraph of unit units[x]."""

    def __init__(self, store: SetStore, units: np.ndarray, index: np.ndarray,
                 indexed: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None) -> None:
        self.store, self.units, self.index = store, units, index
        # --index-exact: the sets of the indexed documents' paragraphs (unit -1, the first items)
        self.indexed = indexed

    def __call__(self, pairs: np.ndarray) -> np.ndarray:
        from .. import minhash as mh

        items = mh.sorted_unique(pairs.ravel())
        k = int(np.count_nonzero(self.units[items] < 0)) if self.indexed is not None else 0
        if k:  # the indexed ones come first
            assert self.indexed is not None
            values, offsets = self.indexed(self.index[items[:k]])
            if k < len(items):
                joined = Ragged.concat([Ragged(values, offsets),
                                        Ragged(*self.store.paragraphs(self.units[items[k:]], self.index[items[k:]]))])
                values, offsets = joined.values, joined.offsets
        else:
            values, offsets = self.store.paragraphs(self.units[items], self.index[items])
        return mh.jaccard_pairs(values, offsets, np.searchsorted(items, pairs))


def write_set_store(path: str, fk: FileKeys) -> None:
    """The shingle hashes of a map task's documents and long paragraphs, as .npy
    files the reduce maps into memory to verify candidate pairs (it sorts and
    deduplicates the few it needs)."""
    docs = fk.doc_sets if fk.doc_sets is not None else Ragged.empty()
    paras = fk.para_sets if fk.para_sets is not None and len(fk.para_rows) else Ragged.empty()
    for suffix, arr in ((".dv.npy", docs.values), (".do.npy", docs.offsets), (".pv.npy", paras.values),
                        (".po.npy", paras.offsets)):
        with atomic_writer(path + suffix) as fh:
            np.save(fh, arr)


class SetStore:
    """Exact shingle sets of documents and paragraphs, read from the map tasks' stores
    (one per task, the task's units one after the other)."""

    def __init__(self, where: dict[int, tuple[str, int, int]]) -> None:
        # unit -> (its task's store path, row of its first document, row of its first paragraph)
        self.where = where
        self.paths = sorted({p for p, _, _ in where.values()})
        number = {p: k for k, p in enumerate(self.paths)}
        size = max(where, default=-1) + 1
        self.store_of = np.zeros(size, np.int64)  # per unit, as arrays for many paragraphs at once
        self.para_base = np.zeros(size, np.int64)
        for u, (p, _, p0) in where.items():
            self.store_of[u], self.para_base[u] = number[p], p0
        self.open: dict[tuple[str, str], np.ndarray] = {}

    def _arr(self, path: str, suffix: str) -> np.ndarray:
        a = self.open.get((path, suffix))
        if a is None:
            # a plain view of the mapped file: slicing a np.memmap costs more than the slice
            a = self.open[(path, suffix)] = np.load(storage.local_copy(path + suffix), mmap_mode="r").view(np.ndarray)
        return a

    def doc(self, unit: int, pos: int) -> np.ndarray:
        from ..minhash import sorted_unique

        path, d0, _ = self.where[unit]
        off = self._arr(path, ".do.npy")
        return sorted_unique(self._arr(path, ".dv.npy")[off[d0 + pos]:off[d0 + pos + 1]])

    def docs(self, unit: int, pos: np.ndarray) -> Ragged:
        """Sets of documents `pos` of a unit, as doc() gives them one by one, gathered at once
        (what --index-exact keeps of a run's survivors)."""
        from ..minhash import segment_sets

        path, d0, _ = self.where[unit]
        off = self._arr(path, ".do.npy")
        rows = np.asarray(pos, np.int64) + d0
        starts, sizes = off[rows], off[rows + 1] - off[rows]
        values, offsets = segment_sets(self._arr(path, ".dv.npy")[ranges(starts, sizes)], offsets_of(sizes))
        return Ragged(values, offsets)

    def paragraphs(self, units: np.ndarray, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Sets of many long paragraphs (index: in their unit's para_rows), in the order
        asked, as minhash.segment_sets gives them: paragraphs are small and many, so
        they are gathered all at once."""
        from .. import minhash as mh

        stores, rows = self.store_of[units], self.para_base[units] + index
        starts, sizes = np.zeros(len(units), np.int64), np.zeros(len(units), np.int64)
        by_store = []
        for k in np.unique(stores).tolist():
            at = np.flatnonzero(stores == k)
            off = self._arr(self.paths[k], ".po.npy")
            starts[at], sizes[at] = off[rows[at]], off[rows[at] + 1] - off[rows[at]]
            by_store.append((k, at))
        offsets = offsets_of(sizes)
        values = np.empty(int(offsets[-1]), dtype=np.uint32)
        for k, at in by_store:  # each set in place, in the order asked
            values[ranges(offsets[at], sizes[at])] = \
                self._arr(self.paths[k], ".pv.npy")[ranges(starts[at], sizes[at])]
        return mh.segment_sets(values, offsets)
