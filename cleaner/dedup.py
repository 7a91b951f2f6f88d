"""LSH banding, candidate verification and survivor clustering for MinHash dedup.

Candidates come from banding signatures (rows per band chosen so that pairs
at the threshold are found with high probability). Candidates only group
items into components (union-find); inside a component, items are visited
in priority order and each one is compared with the component's survivors so
far: it joins the first survivor it is really similar to (estimate first,
exact Jaccard when the estimate is near the threshold), or becomes a survivor
itself. So a chain A~B~C never removes C unless C itself resembles a survivor.
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


def band_keys(sigs: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """One 64-bit key per (item, band); equal bands give equal keys."""
    n = len(sigs)
    keys = np.zeros((n, bands), dtype=np.uint64)
    for b in range(bands):
        block = sigs[:, b * rows:(b + 1) * rows].astype(np.uint64)
        acc = np.full(n, ((b + 1) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF, dtype=np.uint64)
        for r in range(rows):
            acc ^= block[:, r] + _BAND_MULT[r % 8] + (acc << np.uint64(6)) + (acc >> np.uint64(2))
        keys[:, b] = acc
    return keys


def candidate_pairs(sigs: np.ndarray, bands: int, rows: int, valid: np.ndarray | None = None) -> np.ndarray:
    """Pairs (i, j), i < j, that share a band bucket. Within a bucket only the
    pairs of its first member with the others are listed (enough to connect
    the bucket). `valid` masks out items without a signature."""
    idx = np.arange(len(sigs)) if valid is None else np.flatnonzero(valid)
    if len(idx) < 2:
        return np.zeros((0, 2), dtype=np.int64)
    return _pairs_from_keys(band_keys(sigs[idx], bands, rows), idx)


def components(n: int, pairs: np.ndarray) -> list[np.ndarray]:
    """Connected components (of size >= 2) of the pair graph, by union-find."""
    parent = np.arange(n)

    def find(x: int) -> int:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    for a, b in pairs.tolist():
        ra, rb = find(a), find(b)
        if ra != rb:
            if ra < rb:
                parent[rb] = ra
            else:
                parent[ra] = rb
    involved = np.unique(pairs) if len(pairs) else np.zeros(0, dtype=np.int64)
    roots = np.array([find(int(x)) for x in involved], dtype=np.int64)
    groups: dict[int, list[int]] = {}
    for x, r in zip(involved.tolist(), roots.tolist()):
        groups.setdefault(r, []).append(x)
    return [np.array(g) for _, g in sorted(groups.items()) if len(g) > 1]


@dataclass(slots=True)
class Assignment:
    """Result of clustering: for each item, its survivor (itself if kept)."""

    survivor: np.ndarray  # int64, survivor[i] == i for kept items
    similarity: np.ndarray  # float64, similarity to the survivor (1.0 for survivors)
    exact_checks: int = 0
    candidate_pairs: int = 0

    def cluster_sizes(self) -> dict[int, int]:
        removed = np.flatnonzero(self.survivor != np.arange(len(self.survivor)))
        sizes: dict[int, int] = {}
        for s in self.survivor[removed].tolist():
            sizes[s] = sizes.get(s, 1) + 1
        return sizes


# A band bucket shared by more survivors than this is not discriminating (a
# template, a tiny vocabulary); a new item is compared with its first ones only.
MAX_BUCKET = 256


PairFinder = Callable[[np.ndarray, np.ndarray], np.ndarray]


def local_pairs(keys: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Candidate pairs from band keys, in this process (see dask_engine for a cluster)."""
    return _pairs_from_keys(keys, idx)


def cluster(sigs: np.ndarray, threshold: float, priority: Sequence[int] | np.ndarray,
            exact: Callable[[int, int], float] | None = None,
            valid: np.ndarray | None = None, min_recall: float = 0.995,
            find_pairs: PairFinder = local_pairs,
            prepare: Callable[[np.ndarray], None] | None = None) -> Assignment:
    """Near-duplicate clusters with exactly one survivor each.

    priority: lower is kept first (sorted path order, or -length for --keep longest).
    exact(i, j): true Jaccard of items i and j; without it the estimate decides.
    find_pairs(keys, idx): candidate pairs from the band keys of items idx (the
    Dask engine groups band keys on its cluster; the result is the same).
    prepare(items): called once with every item that may need an exact check,
    so their texts can be loaded in one pass.

    Candidate pairs (items sharing a band bucket) are grouped into components
    by union-find. Inside a component, items go in priority order; each is
    compared only with the survivors it shares a bucket with, most preferred
    first, and joins the first whose similarity reaches the threshold, or
    becomes a survivor. The work is linear in the candidates, not quadratic in
    the component.
    """
    n = len(sigs)
    survivor = np.arange(n)
    sim = np.ones(n)
    if n < 2:
        return Assignment(survivor, sim)
    bands, rows = choose_bands(threshold, sigs.shape[1], min_recall)
    idx = np.arange(n) if valid is None else np.flatnonzero(valid)
    keys = band_keys(sigs[idx], bands, rows)
    row_of = np.full(n, -1, dtype=np.int64)
    row_of[idx] = np.arange(len(idx))
    pairs = find_pairs(keys, idx)
    prio = np.asarray(priority)
    checks = 0
    floor = threshold - VERIFY_MARGIN
    width = sigs.shape[1]
    if prepare is not None and exact is not None and len(pairs):
        close = (sigs[pairs[:, 0]] == sigs[pairs[:, 1]]).mean(axis=1) >= floor
        prepare(np.unique(pairs[close]))
    for comp in components(n, pairs):
        members = comp[np.lexsort((comp, prio[comp]))]
        buckets: list[dict[int, list[int]]] = [{} for _ in range(bands)]
        for m in members.tolist():
            mkeys = keys[row_of[m]].tolist()
            seen: set[int] = set()
            cands: list[int] = []
            for b, k in enumerate(mkeys):
                for s_ in buckets[b].get(k, ())[:MAX_BUCKET]:
                    if s_ not in seen:
                        seen.add(s_)
                        cands.append(s_)
            joined = False
            if cands:
                cands.sort(key=lambda x: (prio[x], x))
                same = np.count_nonzero(sigs[cands] == sigs[m], axis=1)
                for s_, e in zip(cands, (same / width).tolist()):
                    if e < floor:
                        continue
                    if exact is not None:
                        j = exact(m, s_)
                        checks += 1
                    else:
                        j = e
                    if j >= threshold:
                        survivor[m] = s_
                        sim[m] = j
                        joined = True
                        break
            if not joined:
                for b, k in enumerate(mkeys):
                    buckets[b].setdefault(k, []).append(m)
    return Assignment(survivor, sim, checks, len(pairs))


def _pairs_from_keys(keys: np.ndarray, idx: np.ndarray) -> np.ndarray:
    out = []
    for b in range(keys.shape[1]):
        k = keys[:, b]
        order = np.argsort(k, kind="stable")
        ks = k[order]
        same = ks[1:] == ks[:-1]
        if not same.any():
            continue
        run_start = np.concatenate(([True], ~same))
        starts = np.maximum.accumulate(np.where(run_start, np.arange(len(ks)), 0))
        members = np.flatnonzero(~run_start)
        out.append(np.stack([idx[order[starts[members]]], idx[order[members]]], axis=1))
    if not out:
        return np.zeros((0, 2), dtype=np.int64)
    pairs = np.concatenate(out)
    pairs.sort(axis=1)
    return np.unique(pairs, axis=0)
