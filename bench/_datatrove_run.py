"""Run datatrove's MinHash dedup (4 stages, default MinhashConfig) on a folder of JSONL shards.

Runs inside the separate bench venv (.venv-bench), never with cleaner's:

    .venv-bench/bin/python bench/_datatrove_run.py SHARDS WORK --workers 2

Writes WORK/output (kept documents), WORK/removed (removed documents, each
with its `minhash_cluster_id`) and WORK/stages.json (wall seconds per stage).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.dedup import MinhashDedupSignature
from datatrove.pipeline.dedup.minhash import (
    MinhashConfig,
    MinhashDedupBuckets,
    MinhashDedupCluster,
    MinhashDedupFilter,
)
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers.jsonl import JsonlWriter


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("shards", type=Path)
    ap.add_argument("work", type=Path)
    ap.add_argument("--workers", type=int, default=1)
    a = ap.parse_args()
    shards = sorted(a.shards.glob("*.jsonl"))
    n = len(shards)
    w = a.work
    cfg = MinhashConfig()  # defaults: 5-grams, 14 buckets x 8 hashes, 64-bit xxhash
    stages = {}

    def reader():
        return JsonlReader(str(a.shards), glob_pattern="*.jsonl", text_key="text", id_key="id")

    def run(name, pipeline, tasks, workers):
        t = time.perf_counter()
        LocalPipelineExecutor(pipeline=pipeline, tasks=tasks, workers=min(workers, tasks),
                              logging_dir=str(w / "logs" / name), skip_completed=False).run()
        stages[name] = round(time.perf_counter() - t, 3)

    run("signatures", [reader(), MinhashDedupSignature(output_folder=str(w / "sigs"), config=cfg)],
        n, a.workers)
    run("buckets", [MinhashDedupBuckets(input_folder=str(w / "sigs"), output_folder=str(w / "buckets"),
                                        config=cfg)], cfg.num_buckets, a.workers)
    run("cluster", [MinhashDedupCluster(input_folder=str(w / "buckets"), output_folder=str(w / "remove_ids"),
                                        config=cfg, save_cluster_id=True)], 1, 1)
    run("filter", [reader(),
                   MinhashDedupFilter(input_folder=str(w / "remove_ids"), load_cluster_ids=True,
                                      exclusion_writer=JsonlWriter(str(w / "removed"), compression=None)),
                   JsonlWriter(str(w / "output"), compression=None)], n, a.workers)
    (w / "stages.json").write_text(json.dumps(stages))


if __name__ == "__main__":
    main()
