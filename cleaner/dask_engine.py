"""The Dask engine: the same pipeline on a dask.distributed cluster.

Map and write phases run as Dask tasks (one per file or file part, as with
the process pool); band grouping for LSH is a hash shuffle on the cluster
((band, key) -> item rows sent by key to the task that groups them); the
survivor clustering runs on the client. Workers read the
input and write spills, outputs and audits to the same paths as the client,
so on a real cluster INPUT_DIR, OUTPUT_DIR and the report folder must be on
storage every worker sees: a shared mount, or URLs of object storage
(storage.py; the storage options travel in the tasks' Config). The output is
byte-identical to the local engine.

Differences from the local engine: per-document time limits need the main
thread of a process and Dask runs tasks in worker threads, so --doc-timeout
does not interrupt a document here (Dask's own worker restarts handle hung
or dying workers, but without skipping the document).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .pool import Failure


class DaskUnavailable(RuntimeError):
    """dask.distributed is not installed or the scheduler cannot be reached."""


def _split(keys: np.ndarray, idx: np.ndarray, parts: int) -> list[np.ndarray]:
    """(band, key, item) rows of a chunk of items, split by destination (key modulo parts)."""
    n, bands = keys.shape
    band = np.broadcast_to(np.arange(bands, dtype=np.uint64)[None, :], (n, bands)).ravel()
    key = keys.ravel()
    item = np.repeat(idx.astype(np.uint64), bands)
    rows = np.stack([band, key, item], axis=1)
    dest = (key % np.uint64(parts)).astype(np.int64)
    order = np.argsort(dest, kind="stable")
    bounds = np.searchsorted(dest[order], np.arange(parts + 1))
    return [rows[order[bounds[p]:bounds[p + 1]]] for p in range(parts)]


def _piece(split: list[np.ndarray], p: int) -> np.ndarray:
    return split[p]


def _group(pieces: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The shared buckets among the rows sent to one destination: (members, sizes)."""
    rows = np.concatenate(pieces) if pieces else np.zeros((0, 3), dtype=np.uint64)
    if len(rows) < 2:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    order = np.lexsort((rows[:, 2], rows[:, 1], rows[:, 0]))
    r = rows[order]
    start = np.concatenate(([True], (r[1:, 0] != r[:-1, 0]) | (r[1:, 1] != r[:-1, 1])))
    run_id = np.cumsum(start) - 1
    run_len = np.bincount(run_id)
    shared = run_len[run_id] >= 2
    return r[shared, 2].astype(np.int64), run_len[run_len >= 2].astype(np.int64)


class DaskEngine:
    """A dask.distributed client, to an existing scheduler or a LocalCluster it starts."""

    def __init__(self, scheduler: str | None, workers: int, max_memory: int | None = None) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise DaskUnavailable("--engine dask needs dask.distributed: pip install 'cleaner[dask]'") from None
        self.cluster: Any = None
        try:
            if scheduler:
                self.client = Client(scheduler, timeout="10s")
            else:
                self.cluster = LocalCluster(n_workers=max(1, workers), threads_per_worker=1, processes=True,
                                            dashboard_address=None,
                                            memory_limit=max_memory if max_memory else "auto")
                self.client = Client(self.cluster)
        except OSError as e:
            raise DaskUnavailable(f"cannot reach the Dask scheduler {scheduler or '(local)'}: {e}") from None

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()

    def describe(self) -> dict[str, Any]:
        info = self.client.scheduler_info()
        return {"name": "dask", "scheduler": info.get("address"), "workers": len(info.get("workers", {}))}

    def nworkers(self) -> int:
        return max(1, len(self.client.scheduler_info().get("workers", {})))

    def run(self, fn: Callable[[Any], Any], tasks: list[Any], on_failure: Callable[[Failure], None],
            on_done: Callable[[int, Any], None]) -> list[Any]:
        from distributed import as_completed

        futures = self.client.map(fn, tasks, pure=False)
        where = {f.key: i for i, f in enumerate(futures)}
        results: list[Any] = [None] * len(tasks)
        for fut in as_completed(futures):
            i = where[fut.key]
            try:
                results[i] = fut.result()
            except Exception as e:  # the task raised on the worker, or the worker died for good
                on_failure(Failure(tasks[i], None, f"Dask task failed: {type(e).__name__}: {e}"))
            on_done(i, results[i])
        return results

    def find_buckets(self, keys: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The band buckets shared by two or more items (members, offsets): a hash
        shuffle on the cluster, (band, key) -> item rows sent to a destination by
        key, then grouped there. The same buckets as the local engine finds."""
        import dask

        empty = (np.zeros(0, dtype=np.int64), np.zeros(1, dtype=np.int64))
        if len(idx) < 2:
            return empty
        parts = 2 * self.nworkers()
        chunks = [c for c in np.array_split(np.arange(len(idx)), max(1, min(4 * self.nworkers(), len(idx) // 20000 + 1)))
                  if len(c)]
        splits = [dask.delayed(_split)(keys[c], idx[c], parts) for c in chunks]
        groups = [dask.delayed(_group)([dask.delayed(_piece)(sp, p) for sp in splits]) for p in range(parts)]
        found = dask.compute(*groups)
        members = [m for m, _ in found if len(m)]
        sizes = [z for _, z in found if len(z)]
        if not members:
            return empty
        sz = np.concatenate(sizes)
        return np.concatenate(members), np.concatenate(([0], np.cumsum(sz))).astype(np.int64)
