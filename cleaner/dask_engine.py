"""The Dask engine: the same pipeline on a dask.distributed cluster.

Map and write phases run as Dask tasks (one per file or file part, as with
the process pool); band grouping for LSH is a Dask bag fold over (band, key)
-> document; the survivor clustering runs on the client. Workers read the
input and write spills, outputs and audits to the same paths as the client,
so on a real cluster INPUT_DIR, OUTPUT_DIR and the report folder must be on
storage every worker sees. The output is byte-identical to the local engine.

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


def _local_groups(part: list[tuple[np.ndarray, np.ndarray]]) -> list[tuple[tuple[int, int], list[int]]]:
    """(band, key) -> item indices, within one partition of the bag."""
    out: dict[tuple[int, int], list[int]] = {}
    for keys, idx in part:
        for b in range(keys.shape[1]):
            for k, g in zip(keys[:, b].tolist(), idx.tolist()):
                out.setdefault((b, k), []).append(g)
    return list(out.items())


def _first(kv: tuple[Any, Any]) -> Any:
    return kv[0]


def _add(acc: list[int], kv: tuple[Any, list[int]]) -> list[int]:
    return acc + kv[1]


def _concat(a: list[int], b: list[int]) -> list[int]:
    return a + b


def _shared(kv: tuple[Any, list[int]]) -> bool:
    return len(kv[1]) > 1


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
        """The band buckets shared by two or more items (members, offsets), found by
        folding (band, key) -> item over a Dask bag; the same buckets as the local engine."""
        import dask.bag as db

        empty = (np.zeros(0, dtype=np.int64), np.zeros(1, dtype=np.int64))
        if len(idx) < 2:
            return empty
        nparts = max(1, min(4 * self.nworkers(), len(idx) // 5000 + 1))
        chunks = [c for c in np.array_split(np.arange(len(idx)), nparts) if len(c)]
        bag = db.from_sequence([[(keys[c], idx[c])] for c in chunks], npartitions=len(chunks))
        groups = (bag.map_partitions(lambda parts: _local_groups([p for sub in parts for p in sub]))
                  .foldby(_first, _add, [], _concat, [])
                  .filter(_shared))
        # in (band, key) order, members in item order, as the local engine lists them
        found = sorted(groups.compute())
        if not found:
            return empty
        members = np.array([g for _, ms in found for g in sorted(ms)], dtype=np.int64)
        sizes = [len(ms) for _, ms in found]
        return members, np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
