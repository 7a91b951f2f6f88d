"""LSH banding, candidate verification and survivor clustering for MinHash dedup.

Candidates come from banding signatures (rows per band chosen so that pairs
at the threshold are found with high probability). Items are visited in
priority order and each one is compared with the earlier survivors it shares
a band bucket with: it joins the first it is really similar to (estimate
first, exact Jaccard when the estimate is near the threshold), or becomes a
survivor itself. So a cluster is a survivor and the items that joined it,
and a chain A~B~C never removes C unless C itself resembles a survivor.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

# Estimates further than this below the threshold are not checked exactly:
# with 128 permutations the estimate's standard deviation is at most 0.045.
VERIFY_MARGIN = 0.2


@lru_cache(maxsize=64)
def choose_bands(threshold: float, num_perm: int, min_recall: float = 0.995) -> tuple[int, int]:
    """(bands, rows) with bands*rows <= num_perm that find a pair at exactly
    `threshold` with probability >= min_recall, with as many rows as possible
    (fewer false candidates). Falls back to one row per band."""
    best = (num_perm, 1)
    for rows in range(1, num_perm + 1):
        bands = num_perm // rows
        if bands < 1:
            break
        p = 1.0 - (1.0 - threshold ** rows) ** bands
        if p >= min_recall:
            best = (bands, rows)
    return best


def candidate_probability(j: float, bands: int, rows: int) -> float:
    return 1.0 - (1.0 - j ** rows) ** bands


_BAND_MULT = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93,
                       0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53, 0x94D049BB133111EB, 0xBF58476D1CE4E5B9],
                      dtype=np.uint64)


def band_keys(sigs: np.ndarray, bands: int, rows: int, compiled: bool = True) -> np.ndarray:
    """One 64-bit key per (item, band); equal bands give equal keys."""
    from .. import minhash as mh

    n = len(sigs)
    if compiled and mh._speedups is not None and sigs.dtype == np.uint32 and sigs.ndim == 2:
        out = np.empty((n, bands), dtype=np.uint64)
        mh._speedups.band_keys(np.ascontiguousarray(sigs), bands, rows, _BAND_MULT, out)
        return out
    block = np.ascontiguousarray(sigs[:, :bands * rows], dtype=np.uint32)
    cols: np.ndarray
    if rows % 2 == 0:
        # two 32-bit values at a time
        cols = block.view(np.uint64).reshape(n, bands, rows // 2)
    else:
        cols = block.reshape(n, bands, rows)
    acc = np.broadcast_to(np.arange(1, bands + 1, dtype=np.uint64)[None, :], (n, bands)).copy()
    tmp = np.empty_like(acc)
    for r in range(cols.shape[2]):
        acc ^= cols[:, :, r]
        acc *= _BAND_MULT[r % 8]
        np.right_shift(acc, np.uint64(29), out=tmp)
        acc ^= tmp
    return acc


@dataclass(slots=True)
class Assignment:
    """Result of clustering: for each item, its survivor (itself if kept)."""

    survivor: np.ndarray  # int64, survivor[i] == i for kept items
    similarity: np.ndarray  # float64, similarity to the survivor (1.0 for survivors)
    exact_checks: int = 0
    candidate_pairs: int = 0  # bucket pairs compared (a pair once per band bucket it shares)
    index_bytes: int = 0  # signatures, band keys and shared buckets held while clustering

    def cluster_sizes(self) -> dict[int, int]:
        removed = np.flatnonzero(self.survivor != np.arange(len(self.survivor)))
        sizes: dict[int, int] = {}
        for s in self.survivor[removed].tolist():
            sizes[s] = sizes.get(s, 1) + 1
        return sizes


# In a band bucket shared by more items than this (a template, a tiny vocabulary),
# an item is compared with the first ones only (in priority order).
MAX_BUCKET = 256

Buckets = tuple[np.ndarray, np.ndarray]  # members of every shared bucket (item ids) and their offsets
BucketFinder = Callable[[np.ndarray, np.ndarray], Buckets]


def _band_runs(k: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    # not a stable sort: each bucket's members are put in rank order later (_in_rank_order)
    order = np.argsort(k)
    ks = k[order]
    start = np.concatenate(([True], ks[1:] != ks[:-1]))
    run_id = np.cumsum(start) - 1
    run_len = np.bincount(run_id)
    shared = run_len[run_id] >= 2
    if not shared.any():
        return None
    return idx[order[shared]], run_len[run_len >= 2]


def local_buckets(keys: np.ndarray, idx: np.ndarray) -> Buckets:
    """The band buckets shared by two or more items, from band keys (keys[r] are
    the keys of item idx[r]), in this process (dask_engine does it on a cluster).
    Bands are sorted in threads (numpy releases the GIL while sorting)."""
    from concurrent.futures import ThreadPoolExecutor

    cols = [np.ascontiguousarray(keys[:, b]) for b in range(keys.shape[1])]
    with ThreadPoolExecutor(max_workers=min(4, max(1, len(cols)))) as ex:
        runs = [r for r in ex.map(lambda c: _band_runs(c, idx), cols) if r is not None]
    if not runs:
        return np.zeros(0, dtype=np.int64), np.zeros(1, dtype=np.int64)
    sz = np.concatenate([r[1] for r in runs])
    return (np.concatenate([r[0] for r in runs]).astype(np.int64),
            np.concatenate(([0], np.cumsum(sz))).astype(np.int64))


def _in_rank_order(buckets: Buckets, rank: np.ndarray) -> np.ndarray:
    """The members of each bucket (buckets stay in order) sorted by rank."""
    members, offsets = buckets
    bucket_of = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
    return members[np.argsort(bucket_of * len(rank) + rank[members])]  # ranks are below len(rank)


def _bucket_pairs(buckets: Buckets, rank: np.ndarray, cap: int) -> tuple[np.ndarray, int]:
    """(earlier, later) item pairs that share a bucket, earlier meaning lower rank,
    sorted and unique, and how many there are with repeats (close_bucket_pairs)."""
    members, offsets = buckets
    m = _in_rank_order(buckets, rank)
    bucket_of = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
    pos = np.arange(len(m)) - offsets[bucket_of]
    count = np.minimum(pos, cap)  # partners before this member in its bucket
    later = np.repeat(m, count)
    first = np.repeat(offsets[bucket_of], count)
    within = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
    earlier = m[first + within]
    from ..minhash import sorted_unique

    n = int(max(members.max(), 0)) + 1
    packed = sorted_unique(earlier * n + later)
    return np.stack([packed // n, packed % n], axis=1), len(later)


def close_bucket_pairs(buckets: Buckets, rank: np.ndarray, sigs: np.ndarray, min_agree: int,
                       cap: int = MAX_BUCKET, compiled: bool = True) -> tuple[np.ndarray, int]:
    """(earlier, later) item pairs, earlier meaning lower rank, that share a band
    bucket and whose signatures agree in at least `min_agree` slots (sorted,
    unique), and how many bucket pairs were compared (a pair once per bucket it
    shares). In a bucket of more than `cap` items, each item is paired with the
    first `cap`. Compiled, the far pairs are dropped as they are found, so the
    many candidates of a large corpus are never materialised."""
    from .. import minhash as mh

    members, offsets = buckets
    if len(members) == 0:
        return np.zeros((0, 2), dtype=np.int64), 0
    if compiled and mh._speedups is not None and sigs.dtype == np.uint32:
        found, raw = mh._speedups.bucket_close_pairs(_in_rank_order(buckets, rank),
                                                     np.ascontiguousarray(offsets, dtype=np.int64),
                                                     np.ascontiguousarray(sigs), min_agree, cap)
        pairs = np.frombuffer(found, dtype=np.int64).reshape(-1, 2)
        n = len(rank)
        packed = mh.sorted_unique(pairs[:, 0] * n + pairs[:, 1])
        return np.stack([packed // n, packed % n], axis=1), int(raw)
    pairs, raw = _bucket_pairs(buckets, rank, cap)
    return pairs[mh.agreement(sigs, pairs) >= min_agree], raw


def cluster(sigs: np.ndarray, threshold: float, priority: Sequence[int] | np.ndarray,
            exact: Callable[[int, int], float] | None = None,
            valid: np.ndarray | None = None, min_recall: float = 0.995,
            find_buckets: BucketFinder = local_buckets,
            exact_many: Callable[[np.ndarray], np.ndarray] | None = None, settled: int = 0,
            groups: np.ndarray | None = None, distinct: Callable[[int, int], bool] | None = None) -> Assignment:
    """Near-duplicate clusters with exactly one survivor each.

    priority: lower is kept first (sorted path order, or -length for --keep longest).
    exact(i, j): true Jaccard of items i and j; without it the estimate decides.
    exact_many(pairs): the same for an array of pairs at once, instead of `exact`
    (every pair that may need it is computed in one call, vectorised).
    find_buckets(keys, idx): the shared band buckets (the Dask engine groups band
    keys on its cluster; the result is the same).
    settled: the first items in priority order that are survivors already (--index: paragraphs
    its runs compared with each other and kept), so pairs of two of them need no check.
    groups: pairs of items of one group are not compared (the corpus step leaves the paragraphs
    of one document to the step inside documents, which sees their text).
    distinct(i, j): pairs it calls distinct are never joined, however similar (inner's
    templated facts that substitute words).

    Items that share a band bucket are candidates; pairs whose signature
    estimate is VERIFY_MARGIN or more below the threshold are dropped. An
    estimate 4 standard deviations above the threshold is trusted; any other
    pair is checked exactly. Items go in priority order; each is checked
    against the earlier items it shares a bucket with that are still
    survivors, most preferred first, and joins the first whose similarity (exact when `exact`
    is given) reaches the threshold, or becomes a survivor itself. So a chain
    A~B~C never removes C unless C itself resembles a survivor, and the work
    is linear in the candidate pairs.
    """
    n = len(sigs)
    survivor = np.arange(n)
    sim = np.ones(n)
    if n < 2:
        return Assignment(survivor, sim)
    bands, rows = choose_bands(threshold, sigs.shape[1], min_recall)
    idx = np.arange(n) if valid is None else np.flatnonzero(valid)
    prio = np.asarray(priority)
    rank = np.empty(n, dtype=np.int64)
    rank[np.lexsort((np.arange(n), prio))] = np.arange(n)
    keys = band_keys(sigs if valid is None else sigs[idx], bands, rows)
    buckets = find_buckets(keys, idx)
    index_bytes = sigs.nbytes + keys.nbytes + buckets[0].nbytes + buckets[1].nbytes
    del keys
    width = sigs.shape[1]
    floor = threshold - VERIFY_MARGIN
    # the fewest equal slots whose estimate (slots / width) reaches the floor
    min_agree = next((k for k in range(width + 1) if k / width >= floor), width + 1)
    pairs, compared = close_bucket_pairs(buckets, rank, sigs, min_agree)
    del buckets
    if settled:
        pairs = pairs[rank[pairs[:, 1]] >= settled]
    if groups is not None and len(pairs):
        pairs = pairs[groups[pairs[:, 0]] != groups[pairs[:, 1]]]
    from ..minhash import agreement

    est = agreement(sigs, pairs) / width
    checks = 0
    # an estimate this far above the threshold (4 standard deviations of the
    # estimate at the threshold) is taken as it is; the rest is checked exactly
    sure = threshold + 4.0 * float(np.sqrt(threshold * (1.0 - threshold) / width))
    known = np.full(len(pairs), np.nan)
    if exact_many is not None:
        need = est < sure
        if need.any():
            known[need] = exact_many(pairs[need])
    check = exact is not None or exact_many is not None
    alive = np.ones(n, dtype=bool)
    # Items in priority order (by the rank of the later item of each pair, then of the
    # earlier one): when an item comes up, every item before it has settled, so the
    # connected components of the pair graph need not be formed.
    order = np.lexsort((rank[pairs[:, 0]], rank[pairs[:, 1]]))
    current, joined = -1, False
    for (s_, m), e, x in zip(pairs[order].tolist(), est[order].tolist(), known[order].tolist()):
        if m != current:
            current, joined = m, False
        if joined or not alive[s_]:
            continue
        if check and e < sure:
            j = x if exact_many is not None else exact(m, s_)  # type: ignore[misc]
            checks += 1
        else:
            j = e
        if j >= threshold and (distinct is None or not distinct(m, s_)):
            survivor[m], sim[m], alive[m], joined = s_, j, False, True
    return Assignment(survivor, sim, checks, compared, index_bytes)
