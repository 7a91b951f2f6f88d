"""Where tasks run: in this process (--workers 0), in worker processes, or on a Dask cluster.

The phases hand an executor a function and its tasks; the executor reports each
finished task (on_done) and each task whose worker died or hung (on_failure),
and asks `retry` for a task without the document it failed on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from ..config import Config
from ..dedup.lsh import BucketFinder
from ..pool import Failure, Pool, start_forkserver

Retry = Callable[[Any, Any, str], Any]
OnFailure = Callable[[Failure], None]
OnDone = Callable[[int, Any], None]


class Executor(Protocol):
    @property
    def find_buckets(self) -> BucketFinder | None:
        """How the reduce groups band keys (None: in this process)."""

    def run(self, fn: Callable[[Any], Any], tasks: list[Any], retry: Retry, on_failure: OnFailure,
            on_done: OnDone) -> list[Any]:
        """fn(task) for each task; results in task order (None for a task given up)."""

    def describe(self) -> dict[str, Any]:
        """What the report says of the engine."""

    def close(self) -> None: ...


class Inline:
    """Everything in this process, one task after the other: no crash isolation, and an
    exception in a task stops the run."""

    find_buckets: BucketFinder | None = None

    def run(self, fn: Callable[[Any], Any], tasks: list[Any], retry: Retry, on_failure: OnFailure,
            on_done: OnDone) -> list[Any]:
        out = []
        for i, task in enumerate(tasks):
            out.append(fn(task))
            on_done(i, out[-1])
        return out

    def describe(self) -> dict[str, Any]:
        return {}

    def close(self) -> None:
        pass


class Processes:
    """Worker processes with a time limit per document (pool.py); a pool per phase."""

    find_buckets: BucketFinder | None = None

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        start_forkserver(early=True)  # its set-up runs while the run discovers and plans its work

    def run(self, fn: Callable[[Any], Any], tasks: list[Any], retry: Retry, on_failure: OnFailure,
            on_done: OnDone) -> list[Any]:
        with Pool(min(self.cfg.workers, len(tasks)), self.cfg.doc_timeout, self.cfg.max_memory or None) as pool:
            return pool.run(fn, tasks, retry, on_failure, on_done)

    def describe(self) -> dict[str, Any]:
        return {}

    def close(self) -> None:
        pass


class Dask:
    """A dask.distributed cluster (dask_engine.py); the reduce groups band keys there too."""

    def __init__(self, cfg: Config) -> None:
        from ..dask_engine import DaskEngine

        self.engine = DaskEngine(cfg.scheduler, cfg.workers or 1, cfg.max_memory or None)
        self.find_buckets: BucketFinder | None = self.engine.find_buckets

    def run(self, fn: Callable[[Any], Any], tasks: list[Any], retry: Retry, on_failure: OnFailure,
            on_done: OnDone) -> list[Any]:
        return self.engine.run(fn, tasks, on_failure, on_done)

    def describe(self) -> dict[str, Any]:
        return self.engine.describe()

    def close(self) -> None:
        self.engine.close()


def executor_for(cfg: Config) -> Executor:
    """Raises dask_engine.DaskUnavailable when --engine dask cannot start."""
    if cfg.engine == "dask":
        return Dask(cfg)
    return Inline() if cfg.workers == 0 else Processes(cfg)
