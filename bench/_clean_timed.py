"""Run the `clean` command with timers around the reduce phase's parts.

    python bench/_clean_timed.py BREAKDOWN_JSON -- CLEAN_ARGS...

cleaner's report.json times whole phases (map, reduce, write) and the map
stages; the reduce phase runs in the main process, so this wrapper times its
parts by wrapping module functions (cleaner itself is not changed):

* ``doc_cluster``: near-duplicate documents (``dedup.cluster`` on document
  signatures), of which ``doc_buckets`` (band keys sorted into shared
  buckets), ``doc_pairs`` (the bucket pairs whose signatures are close),
  ``doc_agreement`` (signature estimates of the candidate pairs), ``doc_set_loads`` (exact shingle sets
  read from the map tasks' stores) and ``doc_exact_jaccard``; the rest of
  ``doc_cluster`` is band keys, ranks and the survivor loop;
* ``para_near``: corpus near-duplicate paragraphs (``_corpus_near_paragraphs``),
  with its ``dedup.cluster`` call split the same way (``para_*``);
* ``tmpl_*``: calls made between the two (site templates and exact corpus
  paragraph duplicates are plain numpy there, timed only as part of
  ``reduce``).

Only the main process is instrumented: with ``-j 1`` the map phase also
runs here, and its calls (inner-document dedup) are excluded by only
counting calls made while ``reduce`` runs. The overhead is one
``perf_counter`` pair per wrapped call.
"""

from __future__ import annotations

import json
import sys
import time
from collections import defaultdict

from cleaner import cli, minhash
from cleaner.dedup import corpus, lsh, sets

T: dict[str, float] = defaultdict(float)
N: dict[str, int] = defaultdict(int)
_state = {"in_reduce": False, "section": "doc"}


def _wrap(mod, name: str, label, only_reduce: bool = True):
    fn = getattr(mod, name)

    def wrapper(*args, **kwargs):
        if only_reduce and not _state["in_reduce"]:
            return fn(*args, **kwargs)
        key = label() if callable(label) else label
        t = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            T[key] += time.perf_counter() - t
            N[key] += 1

    setattr(mod, name, wrapper)


def _reduce_wrapper():
    fn = corpus.reduce

    def wrapper(*args, **kwargs):
        _state["in_reduce"] = True
        _state["section"] = "doc"
        t = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            T["reduce"] += time.perf_counter() - t
            _state["in_reduce"] = False

    corpus.reduce = wrapper
    import cleaner.run.run as run_module

    run_module.reduce = wrapper  # imported there by name


def _para_wrapper():
    fn = corpus.near_paragraphs

    def wrapper(*args, **kwargs):
        _state["section"] = "para"
        t = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            T["para_near"] += time.perf_counter() - t
            _state["section"] = "after"

    corpus.near_paragraphs = wrapper


def sec(suffix: str):
    return lambda: f"{_state['section']}_{suffix}"


def main() -> int:
    argv = sys.argv[1:]
    out = argv[0]
    assert argv[1] == "--"
    _wrap(lsh, "local_buckets", sec("buckets"))
    _wrap(lsh, "close_bucket_pairs", sec("pairs"))
    _wrap(minhash, "agreement", sec("agreement"))
    _wrap(lsh, "cluster", sec("cluster"))
    inner = lsh.cluster

    def cluster_then_templates(*args, **kwargs):
        try:
            return inner(*args, **kwargs)
        finally:
            if _state["in_reduce"] and _state["section"] == "doc":
                _state["section"] = "tmpl"  # templates and exact corpus paragraphs come next

    lsh.cluster = cluster_then_templates
    _wrap(sets.SetStore, "doc", sec("set_loads"))
    _wrap(sets.SetStore, "paragraphs", sec("set_loads"))
    _wrap(minhash, "jaccard_sets", sec("exact_jaccard"))
    _wrap(minhash, "jaccard_pairs", sec("exact_jaccard"))
    _para_wrapper()
    _reduce_wrapper()
    code = cli.main(argv[2:])
    with open(out, "w") as fh:
        json.dump({"seconds": {k: round(v, 4) for k, v in sorted(T.items())}, "calls": dict(sorted(N.items()))},
                  fh, indent=1)
    return code


if __name__ == "__main__":
    sys.exit(main())
