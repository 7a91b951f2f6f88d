"""The Dask engine gives byte-identical output to the local engine."""

from __future__ import annotations

import json
import random

import pytest
from conftest import SEEDS, prose, read_report, tree_bytes, write

distributed = pytest.importorskip("distributed")

from cleaner.pipeline import clean_corpus  # noqa: E402


def generated_corpus(root, docs: int = 3000, seed: int = 7) -> None:
    """JSONL shards and text files; some documents are edited copies of others."""
    rnd = random.Random(seed)
    texts = []
    for i in range(docs):
        if i > 50 and rnd.random() < 0.1:
            words = texts[rnd.randrange(i - 50, i)].split(" ")
            for _ in range(rnd.randint(0, 4)):
                words[rnd.randrange(len(words))] = "changed"
            texts.append(" ".join(words))
        else:
            texts.append("\n".join(prose(10 * i + k, 2) for k in range(rnd.randint(2, 5))) +
                         ("\nAdvertisement" if rnd.random() < 0.3 else ""))
    per_file = 400
    for f in range(0, docs - 200, per_file):
        write(root, f"shard-{f // per_file:03d}.jsonl",
              "".join(json.dumps({"id": f"doc{i}", "text": texts[i]}) + "\n" for i in range(f, min(f + per_file, docs - 200))))
    for i in range(docs - 200, docs):
        write(root, f"txt/{i}.txt", texts[i])


def test_dask_local_cluster_matches_local_engine_on_the_seeds(tmp_path):
    local = clean_corpus(SEEDS, tmp_path / "local", workers=2)
    dask = clean_corpus(SEEDS, tmp_path / "dask", engine="dask", workers=2)
    assert tree_bytes(tmp_path / "local") == tree_bytes(tmp_path / "dask")
    assert (tmp_path / "local.report/removed.jsonl").read_bytes() == (tmp_path / "dask.report/removed.jsonl").read_bytes()
    assert local.engine["name"] == "local" and dask.engine["name"] == "dask" and dask.engine["workers"] == 2


def test_dask_on_an_existing_scheduler_matches_on_a_generated_corpus(tmp_path):
    src = tmp_path / "in"
    generated_corpus(src)
    clean_corpus(src, tmp_path / "local", workers=2)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        rep = clean_corpus(src, tmp_path / "dask", engine="dask", scheduler=cluster.scheduler_address)
    assert rep.engine["scheduler"] == cluster.scheduler_address
    assert tree_bytes(tmp_path / "local") == tree_bytes(tmp_path / "dask")
    assert (tmp_path / "local.report/removed.jsonl").read_bytes() == (tmp_path / "dask.report/removed.jsonl").read_bytes()
    local = read_report(tmp_path / "local.report")
    assert local["documents"]["removed"].get("near-duplicate-document", 0) > 50
    assert set(rep.timings) >= {"map", "reduce", "write"}


def test_scheduler_without_dask_engine_is_refused(cli, tmp_path):
    r = cli(SEEDS, tmp_path / "o", "--scheduler", "tcp://127.0.0.1:1")
    assert r.code == 2 and "--scheduler goes with --engine dask" in r.err


def test_unreachable_scheduler_is_a_clear_error(cli, tmp_path):
    r = cli(SEEDS, tmp_path / "o", "--engine", "dask", "--scheduler", "tcp://127.0.0.1:9")
    assert r.code == 2 and "cannot reach the Dask scheduler" in r.err
