"""Generate a JSONL corpus with planted near-duplicate documents and duplicate
paragraphs, and the exact ground truth for both.

    python bench/gen_corpus.py --dragnet ../shared/bench/dragnet --docs 20000 --out bench/out/corpus-20k

Source text: the sentences of the DragNet gold texts (``gold/*.txt``, decoded
as UTF-8 with errors="replace"; U+FFFD and control characters are dropped).
Only ~25k distinct sentences exist, so documents are not the gold texts:

* **Background documents** (not planted): 300-500 words in paragraphs of 2-6
  sentences (at least 35 words). About a third of the sentences come from one
  "topic" gold file, the rest from anywhere, in random order, and 60% of the
  sentences get one or two words replaced by a word drawn from the corpus'
  unigram distribution. So a sentence is reused across documents (realistic
  word statistics) but two unrelated documents share almost no 5-gram, and
  two paragraphs essentially never repeat by accident. Whole sentences are
  reused, though (each ~N/1,200 times for N documents), so unrelated
  paragraphs share a sentence far more often than in real text: at 20k
  documents the median word-3-gram Jaccard of cleaner's paragraph LSH
  candidates is ~0.4. ``--splice P`` splices a share P of the sentences
  from the head of one and the tail of another, which lowers that. The generator checks
  this (``--check-background``, see ``background_check``): all documents are
  MinHashed (our own 120-permutation numpy MinHash, 40 bands x 3 rows, which
  finds a pair at Jaccard 0.5 with probability 0.995 and at 0.4 with 0.93),
  every candidate pair that was not planted gets its exact Jaccard, and the
  truth file records how many exceed 0.3 / 0.5 / 0.8 and the maximum.

* **Planted near-duplicate clusters**: a source document and 1-4 copies (70%
  one copy, 20% two, 10% three or four; some copies are copies of an earlier
  copy, which makes chains; ``--max-copies 1`` plants plain source-copy
  pairs instead, as in the issue's peer corpus). Each copy has a target Jaccard drawn from: 5%
  identical text, 3% "normalised duplicate" (case and punctuation changed, so
  Jaccard 1.0 and the same normalised text), 22% in [0.88, 1.0), 40% in
  [0.72, 0.88) (dense around 0.8), 30% in [0.45, 0.72). Edits: first,
  structural ones with fixed probabilities (added header line 25%, added
  footer lines 25%, reordered paragraphs 15%, dropped paragraph 15%, a
  paragraph repeated inside the document 10%), then word edits (substitution
  by a corpus word, swap of two adjacent words, deletion, insertion; each copy
  has its own random mix) in growing batches until the exact Jaccard with the
  copy's parent reaches the target. ``--pairs`` is the number of copies; the
  truth lists every pair inside each cluster (parent-copy and siblings).

* **Planted duplicate paragraphs** (``--para-dups``, only in background
  documents, so document dedup does not interfere): an exact repeat of a
  paragraph later in the same document, a near repeat in the same document,
  an exact copy of a paragraph of another background document, and a near
  copy of one (word edits until the word-3-gram Jaccard reaches a target in
  [0.6, 1.0)).

Definitions (shared with bench/dedup.py):

* tokens: the text lower-cased (``str.lower``), then maximal runs of
  ``[0-9a-z_]`` and non-ASCII characters except U+0080-U+00BF,
  U+2000-U+206F and U+3000-U+303F. This is exactly cleaner's byte-level
  tokeniser (cleaner/minhash.py), written as a regex; the test checks it.
* shingles: the set of word k-grams (tuples of token strings); a text with
  fewer than k tokens (but at least one) has one shingle of all its tokens.
  k = 5 for documents, 3 for paragraphs (cleaner's defaults).
* Jaccard: |A & B| / |A | B| of the shingle sets, computed exactly (not
  hashed); two empty sets have Jaccard 1.0.
* a document's text is its paragraphs joined by "\\n" (no blank lines), so
  paragraph i is line i+1 of the text, as cleaner reports it.
* ``jaccard`` of a pair is on the full texts; ``jaccard_dedup`` on the texts
  after dropping paragraphs that repeat an earlier one of the same document
  exactly, or nearly (12+ tokens, word-3-gram Jaccard >= 0.8): that is what
  cleaner signs, since it removes repeats inside a document before MinHash.

Output directory: ``shards/shard-NNNNN.jsonl`` (documents in random order,
``{"id", "text"}``), ``truth.json`` and ``meta.json``. Same arguments and
seed give the same bytes.
"""

from __future__ import annotations

import argparse
import bisect
import json
import random
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

GEN_VERSION = 2

# cleaner's tokeniser as a regex (see module docstring)
TOKEN_RE = re.compile("[0-9a-z_\u00c0-\u1fff\u2070-\u2fff\u3040-\U0010ffff]+")
_CTRL_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufffd\ufeff]")
_SPACE_RE = re.compile(r"\s+")
_SENT_SPLIT = re.compile(r"(?<=[.!?])[\"'”’)]?\s+(?=[\"'“‘(]?[A-Z0-9])")
_WORD_RE = re.compile(r"^[A-Za-z][a-z]{1,14}$")


def tokens(text: str) -> list[str]:
    return TOKEN_RE.findall(text.lower())


def shingle_set(text: str, k: int = 5) -> set[tuple[str, ...]]:
    t = tokens(text)
    if not t:
        return set()
    if len(t) < k:
        return {tuple(t)}
    return {tuple(t[i:i + k]) for i in range(len(t) - k + 1)}


def jaccard_sets(a: set, b: set) -> float:
    if not a and not b:
        return 1.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


def jaccard(a: str, b: str, k: int = 5) -> float:
    return jaccard_sets(shingle_set(a, k), shingle_set(b, k))


def norm_key(text: str) -> str:
    """Paragraph identity up to case and punctuation (its token sequence)."""
    return " ".join(tokens(text))


def dedup_paragraphs(paras: list[str], near: float = 0.8, min_words: int = 12) -> list[str]:
    """Paragraphs without repeats inside the document (first stays), as cleaner signs a
    document: exact repeats (same tokens), and paragraphs of `min_words`+ tokens whose
    word-3-gram Jaccard with an earlier kept one is >= `near`."""
    seen: set[str] = set()
    kept_sets: list[set] = []
    out = []
    for p in paras:
        k = norm_key(p)
        if k and len(k) >= 10 and k in seen:
            continue
        seen.add(k)
        if len(k.split()) >= min_words:
            s3 = shingle_set(p, 3)
            if any(jaccard_sets(s3, o) >= near for o in kept_sets):
                continue
            kept_sets.append(s3)
        out.append(p)
    return out


# --- source text ----------------------------------------------------------------------

@dataclass
class Pool:
    sentences: list[str]
    by_file: list[list[int]]  # sentence indices per gold file
    words: list[str]  # vocabulary for inserted / substituted words
    cum: list[int]  # cumulative weights of words


def clean_line(s: str) -> str:
    return _SPACE_RE.sub(" ", _CTRL_RE.sub("", s)).strip()


def load_pool(dragnet: Path) -> Pool:
    files = sorted((dragnet / "gold").glob("*.txt"))
    if not files:
        raise SystemExit(f"no gold texts in {dragnet / 'gold'}")
    seen: set[str] = set()
    sentences: list[str] = []
    by_file: list[list[int]] = []
    wc: Counter[str] = Counter()
    for f in files:
        text = f.read_bytes().decode("utf-8", errors="replace")
        idx: list[int] = []
        for line in text.splitlines():
            line = clean_line(line)
            if not line:
                continue
            for s in _SENT_SPLIT.split(line):
                s = s.strip()
                toks = tokens(s)
                if not 6 <= len(toks) <= 60:
                    continue
                key = " ".join(toks)
                if key in seen:
                    continue
                seen.add(key)
                idx.append(len(sentences))
                sentences.append(s)
                wc.update(w for w in s.split() if _WORD_RE.match(w))
        if idx:
            by_file.append(idx)
    words = sorted(wc, key=lambda w: (-wc[w], w))
    cum: list[int] = []
    total = 0
    for w in words:
        total += wc[w]
        cum.append(total)
    return Pool(sentences, by_file, words, cum)


# --- documents ------------------------------------------------------------------------

FIRST = ["Anna", "James", "Maria", "David", "Sarah", "Michael", "Laura", "Peter", "Emma", "Daniel",
         "Olivia", "Thomas", "Sofia", "Robert", "Nina", "Carlos", "Hannah", "Lucas", "Grace", "Samuel"]
LAST = ["Smith", "Johnson", "Garcia", "Miller", "Brown", "Davis", "Martinez", "Wilson", "Anderson",
        "Taylor", "Moore", "Jackson", "Martin", "Lee", "Thompson", "White", "Harris", "Clark", "Lewis"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December"]
ORGS = ["Daily Ledger", "Metro Herald", "Valley Times", "Coastal Post", "Evening Courier",
        "Northern Star", "City Gazette", "Tribune Online", "Harbor News", "Summit Review"]


class Gen:
    def __init__(self, pool: Pool, rng: random.Random, splice: float = 0.0) -> None:
        self.pool = pool
        self.rng = rng
        self.splice = splice

    def word(self) -> str:
        r = self.rng.randrange(self.pool.cum[-1])
        return self.pool.words[bisect.bisect_right(self.pool.cum, r)]

    def sentence(self, topic: int) -> str:
        rng = self.rng
        if rng.random() < 0.33:
            ids = self.pool.by_file[topic]
            s = self.pool.sentences[ids[rng.randrange(len(ids))]]
        else:
            s = self.pool.sentences[rng.randrange(len(self.pool.sentences))]
        if self.splice and rng.random() < self.splice:
            # the head of this sentence and the tail of another: fewer whole sentences repeat
            w1 = s.split(" ")
            w2 = self.pool.sentences[rng.randrange(len(self.pool.sentences))].split(" ")
            s = " ".join(w1[:max(2, int(len(w1) * rng.uniform(0.3, 0.7)))]
                         + w2[int(len(w2) * rng.uniform(0.3, 0.7)):])
        if rng.random() < 0.6:
            w = s.split(" ")
            for _ in range(rng.randint(1, 2)):
                i = rng.randrange(len(w))
                w[i] = self.word()
            s = " ".join(w)
        return s

    def paragraph(self, topic: int, max_sent: int = 6) -> str:
        rng = self.rng
        n = rng.randint(2, max_sent)
        out: list[str] = []
        nwords = 0
        while len(out) < n or nwords < 35:
            s = self.sentence(topic)
            out.append(s)
            nwords += len(s.split())
            if len(out) >= 12:
                break
        return " ".join(out)

    def document(self) -> list[str]:
        rng = self.rng
        topic = rng.randrange(len(self.pool.by_file))
        target = rng.randint(300, 500)
        paras: list[str] = []
        n = 0
        while n < target:
            p = self.paragraph(topic)
            w = p.split(" ")
            if n + len(w) > target + 20 and n > 0:
                # trim the last paragraph to land in 300-500 words
                keep = max(20, target - n)
                p = " ".join(w[:keep])
                if not p.endswith((".", "!", "?")):
                    p += "."
            paras.append(p)
            n += len(p.split(" "))
        return paras

    # --- edits -------------------------------------------------------------------
    def header(self) -> str:
        rng = self.rng
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        date = f"{rng.choice(MONTHS)} {rng.randint(1, 28)}, {rng.randint(2005, 2024)}"
        return rng.choice([f"By {name} | {date}", f"Posted on {date} by {name}",
                           f"{rng.choice(ORGS)} staff report, updated {date} at {rng.randint(1, 12)}:"
                           f"{rng.randint(0, 59):02d}", f"{date} - {name}, {rng.choice(ORGS)}"])

    def footer(self) -> list[str]:
        rng = self.rng
        org = rng.choice(ORGS)
        lines = [rng.choice([f"Copyright {rng.randint(2005, 2024)} {org}. All rights reserved.",
                             f"Contact {rng.choice(FIRST).lower()}@{org.split()[0].lower()}.example "
                             f"with tips and corrections.",
                             f"This story was first published by {org} and is reproduced with "
                             f"permission (ref. {rng.randint(1000, 99999)})."])]
        if rng.random() < 0.5:
            lines.append(rng.choice(["Share this article on Facebook, Twitter or by email.",
                                     f"Read more from {org}: {self.word()} {self.word()} coverage.",
                                     f"{rng.randint(2, 300)} comments so far. Join the discussion."]))
        return lines

    def word_edit(self, paras: list[str], op: str) -> None:
        rng = self.rng
        pi = rng.randrange(len(paras))
        w = paras[pi].split(" ")
        i = rng.randrange(len(w))
        if op == "substitute":
            w[i] = self.word()
        elif op == "swap" and len(w) >= 2:
            i = min(i, len(w) - 2)
            w[i], w[i + 1] = w[i + 1], w[i]
        elif op == "delete" and len(w) >= 2:
            del w[i]
        else:  # insert (also the fallback for one-word paragraphs)
            w.insert(i, self.word())
        paras[pi] = " ".join(w)

    def normalised_variant(self, paras: list[str]) -> list[str]:
        """Same tokens (so Jaccard 1.0 and the same normalised text), other case and punctuation."""
        rng = self.rng
        out = []
        for p in paras:
            w = p.split(" ")
            for _ in range(max(1, len(w) // 15)):
                i = rng.randrange(len(w))
                if not w[i].isascii():
                    continue
                c = rng.random()
                if c < 0.4:
                    w[i] = w[i].upper()
                elif c < 0.7:
                    w[i] = w[i].rstrip(",;:") + ","
                else:
                    w[i] = w[i].capitalize()
            out.append(" ".join(w))
        return out


OPS = ("substitute", "swap", "delete", "insert")


@dataclass
class Planted:
    kind: str  # identical | normalised | edited
    target: float
    ops: dict[str, int] = field(default_factory=dict)


def make_copy(g: Gen, src: list[str], target_kind: tuple[str, float]) -> tuple[list[str], Planted]:
    rng = g.rng
    kind, target = target_kind
    pl = Planted(kind, target)
    if kind == "identical":
        return list(src), pl
    if kind == "normalised":
        return g.normalised_variant(src), pl
    paras = list(src)
    src_sh = shingle_set("\n".join(src))
    ops = pl.ops
    if rng.random() < 0.25:
        paras.insert(0, g.header())
        ops["header"] = 1
    if rng.random() < 0.25:
        paras.extend(g.footer())
        ops["footer"] = 1
    if rng.random() < 0.15 and len(paras) >= 3:
        i, j = rng.sample(range(len(paras)), 2)
        paras.insert(j, paras.pop(i))
        ops["reorder"] = 1
    if rng.random() < 0.15 and len(paras) >= 4:
        del paras[rng.randrange(len(paras))]
        ops["drop_paragraph"] = 1
    if rng.random() < 0.10:
        i = rng.randrange(len(paras))
        paras.insert(rng.randint(i + 1, len(paras)), paras[i])
        ops["repeat_paragraph"] = 1
    weights = [rng.random() + 0.1 for _ in OPS]
    j = jaccard_sets(src_sh, shingle_set("\n".join(paras)))
    n_sh = max(1, len(src_sh))
    while j > target:
        # a word edit removes up to 5 shingles of the copy's k-grams: batch by the gap
        batch = max(1, int((j - target) * n_sh / 12))
        for _ in range(batch):
            op = rng.choices(OPS, weights)[0]
            g.word_edit(paras, op)
            ops[op] = ops.get(op, 0) + 1
        j = jaccard_sets(src_sh, shingle_set("\n".join(paras)))
    return paras, pl


def copy_target(rng: random.Random) -> tuple[str, float]:
    r = rng.random()
    if r < 0.05:
        return "identical", 1.0
    if r < 0.08:
        return "normalised", 1.0
    if r < 0.30:
        return "edited", rng.uniform(0.88, 1.0)
    if r < 0.70:
        return "edited", rng.uniform(0.72, 0.88)
    return "edited", rng.uniform(0.45, 0.72)


def near_paragraph(g: Gen, p: str, target: float) -> tuple[str, float]:
    sh = shingle_set(p, 3)
    paras = [p]
    j = 1.0
    while j > target:
        g.word_edit(paras, g.rng.choice(OPS))
        j = jaccard_sets(sh, shingle_set(paras[0], 3))
    return paras[0], j


# --- background check -----------------------------------------------------------------

_M64 = (1 << 64) - 1


def _shingle_hashes(toks: list[str], vocab: dict[str, int], k: int = 5) -> np.ndarray:
    ids = np.fromiter((vocab.setdefault(t, len(vocab)) for t in toks), dtype=np.uint64, count=len(toks))
    if len(ids) == 0:
        return np.zeros(0, dtype=np.uint32)
    if len(ids) < k:
        ids = np.concatenate([ids, np.full(k - len(ids), _M64, dtype=np.uint64)])
    n = len(ids) - k + 1
    h = np.zeros(n, dtype=np.uint64)
    mults = (0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB, 0xD6E8FEB86659FD93, 0xFF51AFD7ED558CCD)
    for j in range(k):
        h = (h ^ ids[j:j + n]) * np.uint64(mults[j])
        h ^= h >> np.uint64(29)
    return np.unique((h >> np.uint64(32)).astype(np.uint32))


def background_check(texts: list[str], planted: set[tuple[int, int]], sanity: list[tuple[int, int]],
                     bands: int = 40, rows: int = 3, seed: int = 12345) -> dict:
    """Exact Jaccard of every MinHash-LSH candidate pair that was not planted.

    `sanity`: planted pairs with Jaccard >= 0.5, which the check must find as
    candidates (shows that it would see accidental pairs too)."""
    t0 = time.perf_counter()
    vocab: dict[str, int] = {}
    sets = [_shingle_hashes(tokens(t), vocab) for t in texts]
    counts = np.array([len(s) for s in sets], dtype=np.int64)
    allh = np.concatenate(sets) if sets else np.zeros(0, dtype=np.uint32)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    rs = np.random.RandomState(seed)
    nperm = bands * rows
    a = (rs.randint(0, 1 << 31, nperm).astype(np.uint32) << np.uint32(1)) | np.uint32(1)
    b = rs.randint(0, 1 << 31, nperm).astype(np.uint32)
    sig = np.full((len(texts), nperm), 0xFFFFFFFF, dtype=np.uint32)
    nonempty = np.flatnonzero(counts > 0)
    # documents in chunks so that the (perm x shingles) matrix stays small
    chunk_docs = 2000
    for c0 in range(0, len(nonempty), chunk_docs):
        docs = nonempty[c0:c0 + chunk_docs]
        s0, s1 = starts[docs[0]], starts[docs[-1]] + counts[docs[-1]]
        h = allh[s0:s1]
        seg = starts[docs] - s0
        for p in range(nperm):
            v = h * a[p] + b[p]
            v ^= v >> np.uint32(15)
            sig[docs, p] = np.minimum.reduceat(v, seg)
    cand: set[tuple[int, int]] = set()
    largest_bucket = 0
    for bnd in range(bands):
        block = sig[:, bnd * rows:(bnd + 1) * rows].astype(np.uint64)
        key = block[:, 0] | (block[:, 1] << np.uint64(32))
        key = key * np.uint64(0x9E3779B97F4A7C15) ^ block[:, 2]
        key[counts == 0] = np.arange(int((counts == 0).sum()), dtype=np.uint64) ^ np.uint64(_M64)
        order = np.argsort(key, kind="stable")
        ks = key[order]
        brk = np.flatnonzero(ks[1:] != ks[:-1]) + 1
        for grp in np.split(order, brk):
            if len(grp) < 2:
                continue
            largest_bucket = max(largest_bucket, len(grp))
            g = sorted(grp.tolist())[:200]
            for i in range(len(g)):
                for j in range(i + 1, len(g)):
                    cand.add((g[i], g[j]))
    unplanted = sorted(p for p in cand if p not in planted)
    js = []
    for i, j in unplanted:
        si, sj = sets[i], sets[j]
        inter = len(np.intersect1d(si, sj, assume_unique=True))
        union = len(si) + len(sj) - inter
        js.append(inter / union if union else 1.0)
    js_arr = np.array(js) if js else np.zeros(0)
    worst = sorted(zip(js, unplanted), reverse=True)[:5]
    return {
        "method": f"own MinHash {nperm} perms, LSH {bands} bands x {rows} rows "
                  f"(P[candidate] = {1 - (1 - 0.5 ** rows) ** bands:.4f} at J=0.5, "
                  f"{1 - (1 - 0.4 ** rows) ** bands:.4f} at J=0.4, {1 - (1 - 0.3 ** rows) ** bands:.3f} at J=0.3); "
                  "exact Jaccard (hashed 5-gram sets) of every candidate pair that was not planted",
        "documents": len(texts), "candidate_pairs": len(cand), "unplanted_candidates": len(unplanted),
        "largest_bucket": largest_bucket,
        "unplanted_ge_0.3": int((js_arr >= 0.3).sum()), "unplanted_ge_0.5": int((js_arr >= 0.5).sum()),
        "unplanted_ge_0.8": int((js_arr >= 0.8).sum()),
        "unplanted_max_jaccard": round(float(js_arr.max()), 4) if len(js_arr) else 0.0,
        "worst": [{"a": i, "b": j, "jaccard": round(x, 4)} for x, (i, j) in worst],
        "planted_pairs_ge_0.5": len(sanity),
        "planted_pairs_ge_0.5_found_as_candidates": sum(1 for p in sanity if p in cand),
        "seconds": round(time.perf_counter() - t0, 2),
    }


# --- the corpus -----------------------------------------------------------------------

def generate(dragnet: Path | None, out: Path, docs: int, pairs: int | None = None, para_dups: int | None = None,
             seed: int = 1, shard_docs: int = 2500, check_background: bool | None = None,
             pool: Pool | None = None, quiet: bool = False, splice: float = 0.0, max_copies: int = 4) -> dict:
    """Write the corpus and truth into `out`; return meta. `pool` replaces the gold texts (tests).
    `max_copies` 1 plants plain pairs (a source and one copy, no siblings or chains)."""
    t0 = time.perf_counter()
    if pool is None:
        assert dragnet is not None
        pool = load_pool(Path(dragnet))
    pairs = docs // 10 if pairs is None else pairs
    para_dups = docs // 20 if para_dups is None else para_dups
    if check_background is None:
        check_background = docs <= 50000
    rng = random.Random(seed)
    g = Gen(pool, rng, splice)

    # planted clusters: sizes until `pairs` copies are planned
    cluster_copies: list[int] = []
    planned = 0
    while planned < pairs:
        r = rng.random()
        n = 1 if r < 0.7 else 2 if r < 0.9 else rng.randint(3, 4)
        n = min(n, pairs - planned, max_copies)
        cluster_copies.append(n)
        planned += n
    n_planted_docs = sum(n + 1 for n in cluster_copies)
    if n_planted_docs > docs:
        raise SystemExit(f"--pairs {pairs} needs {n_planted_docs} documents, more than --docs {docs}")

    texts: list[list[str]] = []  # paragraphs of each document, in generation order
    clusters = []
    pair_truth = []
    for n in cluster_copies:
        members = [len(texts)]
        texts.append(g.document())
        info = []
        for _ in range(n):
            parent = members[0] if len(members) == 1 or rng.random() < 0.7 else rng.choice(members[1:])
            paras, pl = make_copy(g, texts[parent], copy_target(rng))
            members.append(len(texts))
            texts.append(paras)
            info.append({"doc": members[-1], "parent": parent, "kind": pl.kind,
                         "target": round(pl.target, 4), "ops": pl.ops})
        clusters.append({"members": members, "copies": info})
        kinds = {c["doc"]: c for c in info}
        full = {m: "\n".join(texts[m]) for m in members}
        dd = {m: "\n".join(dedup_paragraphs(texts[m])) for m in members}
        for i in range(len(members)):
            for j in range(i + 1, len(members)):
                a, b = members[i], members[j]
                rel = "parent" if kinds.get(b, {}).get("parent") == a else "sibling"
                pair_truth.append({"a": a, "b": b, "relation": rel,
                                   "kind": kinds[b]["kind"] if rel == "parent" else "derived",
                                   "jaccard": round(jaccard(full[a], full[b]), 6),
                                   "jaccard_dedup": round(jaccard(dd[a], dd[b]), 6)})
    background_start = len(texts)
    while len(texts) < docs:
        texts.append(g.document())

    # planted duplicate paragraphs, in background documents only, each document used once
    bg = list(range(background_start, docs))
    rng.shuffle(bg)
    para_truth = []
    kinds_cycle = ("inner-exact", "inner-near", "corpus-exact", "corpus-near")
    used = 0
    for t in range(para_dups):
        kind = kinds_cycle[t % 4]
        need = 1 if kind.startswith("inner") else 2
        if used + need > len(bg):
            break
        if kind.startswith("inner"):
            d = bg[used]
            src_doc, dst_doc = d, d
        else:
            src_doc, dst_doc = bg[used], bg[used + 1]
        used += need
        si = rng.randrange(len(texts[src_doc]))
        p = texts[src_doc][si]
        if kind.endswith("near"):
            q, j3 = near_paragraph(g, p, rng.uniform(0.6, 1.0))
        else:
            q, j3 = p, 1.0
        dst = texts[dst_doc]
        pos = rng.randint(si + 1, len(dst)) if src_doc == dst_doc else rng.randint(0, len(dst))
        dst.insert(pos, q)
        if src_doc == dst_doc and pos <= si:
            si += 1
        para_truth.append({"kind": kind, "doc": dst_doc, "para": pos, "src_doc": src_doc, "src_para": si,
                           "jaccard3": round(j3, 6) if kind.endswith("near") else 1.0})

    # ids, shuffled placement into shards
    id_width = max(6, len(str(docs)))
    ids = [f"d{i:0{id_width}d}" for i in range(docs)]
    order = list(range(docs))
    rng.shuffle(order)
    full_texts = ["\n".join(p) for p in texts]
    shards = out / "shards"
    shards.mkdir(parents=True, exist_ok=True)
    for old in shards.glob("*.jsonl"):
        old.unlink()
    nbytes = 0
    location = {}
    for s0 in range(0, docs, shard_docs):
        name = f"shard-{s0 // shard_docs:05d}.jsonl"
        with open(shards / name, "w", encoding="utf-8") as fh:
            for rec, i in enumerate(order[s0:s0 + shard_docs]):
                line = json.dumps({"id": ids[i], "text": full_texts[i]}, ensure_ascii=False) + "\n"
                nbytes += len(line.encode("utf-8"))
                fh.write(line)
                location[i] = (name, rec + 1)

    bgc = None
    if check_background:
        planted = {(min(p["a"], p["b"]), max(p["a"], p["b"])) for p in pair_truth}
        for pt in para_truth:
            if pt["kind"].startswith("corpus"):
                planted.add((min(pt["doc"], pt["src_doc"]), max(pt["doc"], pt["src_doc"])))
        sanity = [(min(p["a"], p["b"]), max(p["a"], p["b"])) for p in pair_truth if p["jaccard"] >= 0.5]
        bgc = background_check(full_texts, planted, sanity)

    def did(i: int) -> str:
        return ids[i]

    truth = {
        "version": GEN_VERSION,
        "definitions": {
            "tokens": "str.lower(), then runs of [0-9a-z_] and non-ASCII characters except "
                      "U+0080-U+00BF, U+2000-U+206F, U+3000-U+303F (cleaner's tokeniser)",
            "document_jaccard": "exact Jaccard of the sets of word 5-grams of the document texts",
            "jaccard_dedup": "the same after dropping paragraphs that repeat an earlier one of the document "
                             "(same tokens, or 12+ tokens and word-3-gram Jaccard >= 0.8)",
            "paragraph_jaccard3": "exact Jaccard of the sets of word 3-grams of the two paragraphs",
            "para": "0-based paragraph index = line - 1 of the document text",
        },
        "pairs": [{**p, "a": did(p["a"]), "b": did(p["b"])} for p in pair_truth],
        "clusters": [{"members": [did(m) for m in c["members"]],
                      "copies": [{**ci, "doc": did(ci["doc"]), "parent": did(ci["parent"])} for ci in c["copies"]]}
                     for c in clusters],
        "paragraphs": [{**pt, "doc": did(pt["doc"]), "src_doc": did(pt["src_doc"])} for pt in para_truth],
        "background_check": bgc,
    }
    meta = {
        "version": GEN_VERSION, "seed": seed, "docs": docs, "pairs": pairs, "para_dups": len(para_truth),
        "splice": splice, "max_copies": max_copies,
        "clusters": len(clusters), "planted_docs": n_planted_docs, "pair_count": len(pair_truth),
        "pairs_ge_0.8": sum(1 for p in pair_truth if p["jaccard"] >= 0.8),
        "shards": (docs + shard_docs - 1) // shard_docs, "shard_docs": shard_docs, "bytes": nbytes,
        "words": sum(len(t.split()) for t in full_texts), "pool_sentences": len(pool.sentences),
        "seconds": round(time.perf_counter() - t0, 2),
    }
    with open(out / "truth.json", "w", encoding="utf-8") as fh:
        json.dump(truth, fh, ensure_ascii=False, indent=1)
        fh.write("\n")
    with open(out / "meta.json", "w", encoding="utf-8") as fh:
        json.dump(meta, fh, indent=1)
        fh.write("\n")
    if not quiet:
        print(f"generated {docs:,} documents ({nbytes / 1e6:.1f} MB, {len(pair_truth):,} planted pairs, "
              f"{len(para_truth):,} planted paragraphs) in {meta['seconds']:.1f} s -> {out}", file=sys.stderr)
    return meta


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dragnet", type=Path, default=Path("../shared/bench/dragnet"))
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--docs", type=int, default=20000)
    ap.add_argument("--pairs", type=int, default=None, help="planted copies (default docs/10)")
    ap.add_argument("--para-dups", type=int, default=None, help="planted duplicate paragraphs (default docs/20)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--shard-docs", type=int, default=2500, help="documents per JSONL shard")
    ap.add_argument("--splice", type=float, default=0.0,
                    help="share of sentences spliced from two source sentences (0-1; default 0): fewer "
                         "whole sentences shared between unrelated paragraphs")
    bgc = ap.add_mutually_exclusive_group()
    bgc.add_argument("--check-background", dest="check", action="store_true", default=None,
                     help="verify that unplanted pairs are not near-duplicates (default: on up to 50k docs)")
    bgc.add_argument("--no-check-background", dest="check", action="store_false")
    ap.add_argument("--max-copies", type=int, default=4, choices=range(1, 5),
                    help="copies per planted source (default 4; 1: plain pairs, no siblings or chains)")
    a = ap.parse_args(argv)
    meta = generate(a.dragnet, a.out, a.docs, a.pairs, a.para_dups, a.seed, a.shard_docs, a.check, splice=a.splice,
                    max_copies=a.max_copies)
    print(json.dumps(meta, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
