"""datasketch used plainly: MinHash.update per shingle, MinHashLSH(threshold=0.8) with its defaults.

    python bench/_datasketch_plain.py SHARDS OUT

Documents are read in sorted shard order; each one is queried against the
LSH index of the documents kept so far: with a hit it is removed (its twin is
the earliest kept hit), otherwise it is kept and inserted. Shingles are word
5-grams with the benchmark's tokeniser (bench/gen_corpus.py), one
``update`` call per shingle. Writes OUT/kept.jsonl and OUT/removed.jsonl
(``{"id", "twin"}``).
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from datasketch import MinHash, MinHashLSH

TOKEN_RE = re.compile("[0-9a-z_\u00c0-\u1fff\u2070-\u2fff\u3040-\U0010ffff]+")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("shards", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--threshold", type=float, default=0.8)
    ap.add_argument("--num-perm", type=int, default=128)
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    lsh = MinHashLSH(threshold=a.threshold, num_perm=a.num_perm)
    order: dict[str, int] = {}
    with open(a.out / "kept.jsonl", "w", encoding="utf-8") as kept, \
            open(a.out / "removed.jsonl", "w", encoding="utf-8") as removed:
        for shard in sorted(a.shards.glob("*.jsonl")):
            with open(shard, encoding="utf-8") as fh:
                for line in fh:
                    rec = json.loads(line)
                    toks = TOKEN_RE.findall(rec["text"].lower())
                    m = MinHash(num_perm=a.num_perm)
                    if len(toks) < 5:
                        m.update(" ".join(toks).encode("utf-8"))
                    else:
                        for i in range(len(toks) - 4):
                            m.update(" ".join(toks[i:i + 5]).encode("utf-8"))
                    hits = lsh.query(m)
                    if hits:
                        twin = min(hits, key=order.__getitem__)
                        removed.write(json.dumps({"id": rec["id"], "twin": twin}) + "\n")
                    else:
                        order[rec["id"]] = len(order)
                        lsh.insert(rec["id"], m)
                        kept.write(line)


if __name__ == "__main__":
    main()
