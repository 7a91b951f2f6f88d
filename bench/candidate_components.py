"""Size of cleaner's LSH candidate graphs on a generated corpus (a diagnostic for bench/dedup.py).

    .venv/bin/python bench/candidate_components.py bench/out/dedup/corpus-20000-p2000-s1

cleaner's ``dedup.cluster`` joins items into components by union-find over
unverified LSH candidate pairs, then walks each component comparing every
member with the component's survivors so far, so its cost grows with the
square of the component size. This prints, for documents (word 5-grams, 128
permutations) and for paragraphs of 12+ words (word 3-grams, 64
permutations), with cleaner's own signature and banding functions: the
number of candidate pairs, of components and the largest ones. It works on
the raw corpus (no boilerplate stripping, no removal of repeats), like a
``--no-strip`` run before anything is removed.
"""

from __future__ import annotations

import argparse
import glob
import json
import time

from cleaner import minhash as mh
from cleaner.dedup import candidate_pairs, choose_bands, components
from cleaner.textutil import words


def stats(label: str, texts: list[str], k: int, num_perm: int, thr: float = 0.8) -> None:
    t = time.perf_counter()
    sigs = mh.signatures(texts, k, num_perm, 1)
    b, r = choose_bands(thr, num_perm)
    pairs = candidate_pairs(sigs, b, r)
    comps = components(len(sigs), pairs)
    sizes = sorted((len(c) for c in comps), reverse=True)
    print(f"{label}: {len(texts):,} items, {b} bands x {r} rows, {len(pairs):,} candidate pairs, "
          f"{len(comps):,} components, largest {sizes[:5]}, items in components of 50+: "
          f"{sum(s for s in sizes if s >= 50):,}, sum of squared sizes {sum(s * s for s in sizes):,} "
          f"({time.perf_counter() - t:.1f} s)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", help="a directory written by gen_corpus.py")
    ap.add_argument("--min-words", type=int, default=12)
    a = ap.parse_args()
    docs, paras = [], []
    for f in sorted(glob.glob(a.corpus + "/shards/*.jsonl")):
        for line in open(f, encoding="utf-8"):
            text = json.loads(line)["text"]
            docs.append(text)
            paras.extend(p for p in text.split("\n") if len(words(p)) >= a.min_words)
    stats("documents", docs, 5, 128)
    stats("paragraphs", paras, 3, 64)


if __name__ == "__main__":
    main()
