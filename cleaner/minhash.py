"""Word-shingle MinHash signatures, vectorised with numpy and bit-compatible with datasketch.

Text is lower-cased, split into word tokens and hashed to word 5-gram
shingles without a Python call per token or per shingle: tokens are found
on the UTF-8 bytes with a lookup table and hashed with a polynomial rolling
hash computed from prefix sums. Each shingle becomes a 32-bit value that is
fed to datasketch's default ``affine32`` permutation scheme, so a signature
here equals ``datasketch.MinHash(num_perm, seed, hashfunc=shingle_hash32)``
updated with the same shingles (see ``reference_shingles``), and can be
wrapped as a ``LeanMinHash`` and inserted into a ``MinHashLSH``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from .ragged import ranges, sorted_unique

try:  # compiled kernels (cleaner/_speedups.c), bit-identical to the numpy code below
    from . import _speedups
except ImportError:  # not built on this machine: numpy only
    _speedups = None
if os.environ.get("CLEANER_NUMPY_ONLY"):  # to compare the two (benchmarks, bug reports)
    _speedups = None

MAX32 = np.uint32(0xFFFFFFFF)
_U64 = np.uint64

# Odd multipliers that make the k-gram combination order-sensitive.
_GRAM_MULT = (
    0x9E3779B97F4A7C15,
    0xC2B2AE3D27D4EB4F,
    0x165667B19E3779F9,
    0xD6E8FEB86659FD93,
    0xFF51AFD7ED558CCD,
    0xC4CEB9FE1A85EC53,
    0x94D049BB133111EB,
    0xBF58476D1CE4E5B9,
)
MAX_SHINGLE = len(_GRAM_MULT)


def _word_table() -> np.ndarray:
    t = np.zeros(256, dtype=bool)
    for c in b"abcdefghijklmnopqrstuvwxyz0123456789_":
        t[c] = True
    t[0x80:] = True  # bytes of non-ASCII characters; punctuation among them is masked below
    return t


_WORD = _word_table()


def _fmix64(x: np.ndarray) -> np.ndarray:
    x = x ^ (x >> _U64(33))
    x = x * _U64(0xFF51AFD7ED558CCD)
    x = x ^ (x >> _U64(33))
    x = x * _U64(0xC4CEB9FE1A85EC53)
    return x ^ (x >> _U64(33))


def _fmix32(x: np.ndarray) -> np.ndarray:
    # MurmurHash3's 32-bit finalizer, as datasketch applies it before its affine permutations.
    x = x ^ (x >> np.uint32(16))
    x = x * np.uint32(0x85EBCA6B)
    x = x ^ (x >> np.uint32(13))
    x = x * np.uint32(0xC2B2AE35)
    return x ^ (x >> np.uint32(16))


def _word_mask(b: np.ndarray) -> np.ndarray:
    """True for bytes that belong to a word token."""
    w = _WORD[b]
    n = len(b)
    if n >= 2:
        # U+0080..U+00BF (C2 xx): no-break space, guillemets, inverted marks, signs.
        lead = np.flatnonzero((b[:-1] == 0xC2) & (b[1:] < 0xC0))
        w[lead] = False
        w[lead + 1] = False
    if n >= 3:
        # U+2000..U+206F (E2 80 xx, E2 81 xx): dashes, curly quotes, ellipsis, bullets;
        # U+3000..U+303F (E3 80 xx): CJK punctuation.
        lead = np.flatnonzero(((b[:-2] == 0xE2) & ((b[1:-1] == 0x80) | (b[1:-1] == 0x81)))
                              | ((b[:-2] == 0xE3) & (b[1:-1] == 0x80)))
        w[lead] = False
        w[lead + 1] = False
        w[lead + 2] = False
    return w


# Per-token hash: sum of (byte+1) * BASE^i over the token's bytes (i counted from
# the token's first byte), plus the length, through a 64-bit finalizer. Computed
# from prefix sums, over chunks of at most _CHUNK bytes cut between tokens.
_BASE = 0x100000001B3
_BASE_INV = pow(_BASE, -1, 1 << 64)
_CHUNK = 1 << 20


@lru_cache(maxsize=1)
def _powers() -> tuple[np.ndarray, np.ndarray]:
    p = np.full(_CHUNK + 1, _BASE, dtype=_U64)
    p[0] = 1
    q = np.full(_CHUNK + 1, _BASE_INV, dtype=_U64)
    q[0] = 1
    return np.cumprod(p, dtype=_U64), np.cumprod(q, dtype=_U64)


def _hash_spans(b: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """64-bit hash of each byte span b[start:end] (spans sorted, not overlapping)."""
    pw, inv = _powers()
    out = np.empty(len(starts), dtype=_U64)
    n = len(b)
    # chunk limits at span boundaries; a span longer than a chunk is hashed by its first _CHUNK bytes
    lo_span = 0
    while lo_span < len(starts):
        base = int(starts[lo_span])
        hi_span = int(np.searchsorted(ends, base + _CHUNK, side="right"))
        hi_span = max(hi_span, lo_span + 1)
        top = min(int(ends[hi_span - 1]), base + _CHUNK, n)
        seg = b[base:top].astype(_U64) + _U64(1)
        seg *= pw[:len(seg)]
        c = np.empty(len(seg) + 1, dtype=_U64)
        c[0] = 0
        np.cumsum(seg, out=c[1:])
        s_rel = starts[lo_span:hi_span] - base
        e_rel = np.minimum(ends[lo_span:hi_span], top) - base
        h = (c[e_rel] - c[s_rel]) * inv[s_rel]
        h += (ends[lo_span:hi_span] - starts[lo_span:hi_span]).astype(_U64)
        out[lo_span:hi_span] = _fmix64(h)
        lo_span = hi_span
    return out


def _tokens(encoded: Sequence[bytes]) -> Tokens:
    """The word tokens of already encoded (lower-cased UTF-8) texts, concatenated."""
    joined = b"\n".join(encoded)
    lengths = np.fromiter((len(e) for e in encoded), dtype=np.int64, count=len(encoded))
    text_starts = np.concatenate(([0], np.cumsum(lengths + 1)[:-1])).astype(np.int64)
    return _joined_tokens(joined, text_starts)


def tokenize_joined(lower_joined: bytes) -> Tokens:
    """`tokenize` of texts that hold no newline, given lower-cased, encoded (UTF-8,
    surrogatepass) and joined by newlines: one text per line."""
    text_starts = np.concatenate(([0], np.flatnonzero(np.frombuffer(lower_joined, dtype=np.uint8) == 10) + 1))
    return _joined_tokens(lower_joined, text_starts.astype(np.int64))


def _joined_tokens(joined: bytes, text_starts: np.ndarray) -> Tokens:
    if joined:
        h, starts, ends = token_spans(np.frombuffer(joined, dtype=np.uint8))
    else:
        h, starts, ends = np.zeros(0, dtype=_U64), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    # text t's tokens: from the first one at or after its first byte (the joining newline
    # ends tokens, so none spans two texts)
    first = np.searchsorted(starts, text_starts)
    counts = np.diff(first, append=len(starts)).astype(np.int64)
    return Tokens(h, (ends - starts).astype(np.int64), counts)


def token_spans(b: np.ndarray, compiled: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(hashes, starts, ends) of the word tokens of lower-cased UTF-8 bytes b."""
    if compiled and _speedups is not None:
        parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        pos = 0
        while True:
            # English text runs ~6 bytes per token with its separator; a denser text takes more rounds
            cap = max(len(b) - pos, 0) // 5 + 64
            out = np.empty(cap, dtype=_U64), np.empty(cap, dtype=np.int64), np.empty(cap, dtype=np.int64)
            n, pos = _speedups.tokens(b, *out, pos)
            parts.append((out[0][:n], out[1][:n], out[2][:n]))
            if pos >= len(b):
                break
        if len(parts) == 1:
            return parts[0][0].copy(), parts[0][1].copy(), parts[0][2].copy()
        return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
                np.concatenate([p[2] for p in parts]))
    w = _word_mask(b)
    edges = np.diff(w.view(np.int8), prepend=np.int8(0), append=np.int8(0))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)  # exclusive
    if len(starts) == 0:
        return np.zeros(0, dtype=_U64), starts, ends
    return _hash_spans(b, starts, ends), starts, ends


@dataclass(slots=True)
class Tokens:
    """The word tokens of a list of texts, concatenated: tokenize once, then take
    keys, shingles and signatures of the texts or of groups of them."""

    hashes: np.ndarray  # uint64, one per token
    lengths: np.ndarray  # int64, bytes of each token
    counts: np.ndarray  # int64, tokens of each text

    def starts(self) -> np.ndarray:
        return np.concatenate(([0], np.cumsum(self.counts)[:-1])).astype(np.int64)

    def select(self, which: Sequence[int] | np.ndarray) -> Tokens:
        """The tokens of texts `which`, in that order."""
        w = np.asarray(which, dtype=np.int64)
        if len(w) == 0:
            return Tokens(self.hashes[:0], self.lengths[:0], np.zeros(0, dtype=np.int64))
        idx = ranges(self.starts()[w], self.counts[w])
        return Tokens(self.hashes[idx], self.lengths[idx], self.counts[w])

    def grouped(self, group_sizes: Sequence[int] | np.ndarray) -> Tokens:
        """Consecutive texts joined into one per group (sizes sum to the number of texts)."""
        sizes = np.asarray(group_sizes, dtype=np.int64)
        ends = np.cumsum(sizes)
        csum = np.concatenate(([0], np.cumsum(self.counts)))
        counts = csum[ends] - csum[ends - sizes]
        return Tokens(self.hashes, self.lengths, counts.astype(np.int64))


def tokenize(texts: Sequence[str]) -> Tokens:
    """Lower-cased word tokens of each text, hashed to 64 bits."""
    if not texts:
        z = np.zeros(0, dtype=np.int64)
        return Tokens(np.zeros(0, dtype=_U64), z, z)
    return _tokens(encode(texts))


def keys_of(tok: Tokens, arrays: bool = False, compiled: bool = True) -> tuple[Any, Any]:
    """A 64-bit key per text, equal for texts that differ only in case, spacing
    or punctuation, and the length of that normalised form (bytes of its words
    plus one space between words). Texts without words get key 0. Lists, or
    (arrays=True) uint64 and int64 arrays."""
    n = len(tok.counts)
    if len(tok.hashes) == 0:
        z = np.zeros(n, dtype=np.int64)
        return (z.astype(_U64), z) if arrays else ([0] * n, [0] * n)
    counts = tok.counts
    if compiled and _speedups is not None:
        keys, norm = np.empty(n, dtype=_U64), np.empty(n, dtype=np.int64)
        _speedups.keys(np.ascontiguousarray(tok.hashes), np.ascontiguousarray(tok.lengths, dtype=np.int64),
                       np.ascontiguousarray(counts, dtype=np.int64), keys, norm, _GRAM_MULT[0])
        return (keys, norm) if arrays else (keys.tolist(), norm.tolist())
    first = tok.starts()
    text_of = np.repeat(np.arange(n), counts)
    pos = np.arange(len(tok.hashes)) - first[text_of]
    # order-sensitive: each token's hash mixed with its position in the text
    mixed = _fmix64(tok.hashes + pos.astype(_U64) * _U64(_GRAM_MULT[0]))
    sums = np.add.reduceat(np.append(mixed, _U64(0)), np.minimum(first, len(tok.hashes)))
    keys = _fmix64(sums + counts.astype(_U64))
    keys = np.where(counts > 0, keys, _U64(0))
    tok_len = np.bincount(text_of, weights=tok.lengths, minlength=n).astype(np.int64)
    norm = tok_len + np.maximum(counts - 1, 0)
    return (keys, norm) if arrays else (keys.tolist(), norm.tolist())


_GRAM_MULT_ARR = np.array(_GRAM_MULT, dtype=_U64)


def shingles_of(tok: Tokens, k: int = 5, compiled: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """32-bit hashes of the word k-gram shingles of each text, and their count per text.

    A text with fewer than k tokens (but at least one) yields one shingle of
    all its tokens, so short texts still compare.
    """
    if not 1 <= k <= MAX_SHINGLE:
        raise ValueError(f"shingle size must be between 1 and {MAX_SHINGLE}")
    th, tcounts = tok.hashes, tok.counts
    if len(th) == 0:
        return np.zeros(0, dtype=np.uint32), np.zeros(len(tcounts), dtype=np.int64)
    scounts = np.where(tcounts >= k, tcounts - k + 1, np.minimum(tcounts, 1)).astype(np.int64)
    if compiled and _speedups is not None:
        out32 = np.empty(int(scounts.sum()), dtype=np.uint32)
        _speedups.shingles(np.ascontiguousarray(th), np.ascontiguousarray(tcounts, dtype=np.int64),
                           _GRAM_MULT_ARR[:k], out32)
        return out32, scounts
    tstarts = tok.starts()
    ntok = len(th)
    # Shingle j of a text of n >= k tokens covers its tokens j..j+k-1 (n-k+1 shingles);
    # compute the k-gram sum at every token position, then keep those inside one text.
    m = max(ntok - k + 1, 0)
    acc = np.zeros(m, dtype=_U64)
    for j in range(k):
        acc += th[j:j + m] * _U64(_GRAM_MULT[j])
    long_ = tcounts >= k
    out = np.empty(int(scounts.sum()), dtype=_U64)
    out_starts = np.concatenate(([0], np.cumsum(scounts)[:-1]))
    if long_.any():
        out[ranges(out_starts[long_], scounts[long_])] = acc[ranges(tstarts[long_], scounts[long_])]
    short = (tcounts > 0) & ~long_
    if short.any():
        a, c = tstarts[short], tcounts[short]
        val = np.zeros(len(a), dtype=_U64)
        for j in range(k - 1):
            inside = j < c
            val += np.where(inside, th[np.minimum(a + j, ntok - 1)] * _U64(_GRAM_MULT[j]), _U64(0))
        out[out_starts[short]] = val
    out = _fmix64(out)
    return (out >> _U64(32)).astype(np.uint32), scounts


def shingle_hashes(encoded: Sequence[bytes], k: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """shingles_of for already encoded (lower-cased UTF-8) texts."""
    if not encoded:
        return np.zeros(0, dtype=np.uint32), np.zeros(0, dtype=np.int64)
    return shingles_of(_tokens(encoded), k)


@lru_cache(maxsize=8)
def permutations(num_perm: int = 128, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """datasketch's affine32 permutation parameters (a, b) for this seed."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


def signatures_from_hashes(hashes: np.ndarray, counts: np.ndarray, num_perm: int = 128,
                           seed: int = 1, chunk: int = 4096, compiled: bool = True) -> np.ndarray:
    """MinHash signatures (uint32, one row per text) from concatenated shingle hashes.

    Rows of texts without shingles are all 0xFFFFFFFF (datasketch's empty value).
    """
    ndocs = len(counts)
    a, b = permutations(num_perm, seed)
    if compiled and _speedups is not None:
        sig = np.empty((ndocs, num_perm), dtype=np.uint32)
        offsets = np.zeros(ndocs + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        _speedups.signatures(np.ascontiguousarray(hashes, dtype=np.uint32), offsets, a, b, sig)
        return sig
    sig = np.full((ndocs, num_perm), MAX32, dtype=np.uint32)
    if len(hashes) == 0:
        return sig
    hv = _fmix32(hashes.astype(np.uint32, copy=False))
    doc_of = np.repeat(np.arange(ndocs), counts)
    # Permutations along rows so that the per-text minimum reduces contiguous memory.
    a2, b2 = a[:, None], b[:, None]
    buf = np.empty((num_perm, min(chunk, len(hv))), dtype=np.uint32)
    for s in range(0, len(hv), chunk):
        h = hv[s:s + chunk]
        m = buf[:, :len(h)]
        np.multiply(a2, h[None, :], out=m)
        m += b2
        d = doc_of[s:s + chunk]
        seg = np.flatnonzero(np.diff(d, prepend=-1))
        mins = np.minimum.reduceat(m, seg, axis=1).T
        rows = d[seg]
        sig[rows] = np.minimum(sig[rows], mins)
    return sig


def encode(texts: Sequence[str]) -> list[bytes]:
    """Lower-cased UTF-8 of each text. str.lower() of an ASCII text is bytes.lower()
    of its encoding, which is several times faster than the Unicode lower-casing."""
    return [t.encode("ascii").lower() if t.isascii() else t.lower().encode("utf-8", "surrogatepass")
            for t in texts]


def signatures(texts: Sequence[str], k: int = 5, num_perm: int = 128, seed: int = 1) -> np.ndarray:
    """MinHash signatures of word k-gram shingles, one uint32 row per text."""
    h, c = shingle_hashes(encode(texts), k)
    return signatures_from_hashes(h, c, num_perm, seed)


def shingle_sets(texts: Sequence[str], k: int = 5) -> list[np.ndarray]:
    """Sorted unique shingle hashes of each text (for exact Jaccard)."""
    h, c = shingle_hashes(encode(texts), k)
    values, offsets = segment_sets(h, np.concatenate(([0], np.cumsum(c))).astype(np.int64))
    return [values[offsets[t]:offsets[t + 1]] for t in range(len(c))]


def segment_sets(values: np.ndarray, offsets: np.ndarray, compiled: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique uint32 values of each segment values[offsets[t]:offsets[t+1]],
    concatenated, and their offsets."""
    nseg = len(offsets) - 1
    if compiled and _speedups is not None:
        out, out_offsets = np.empty(len(values), dtype=np.uint32), np.empty(nseg + 1, dtype=np.int64)
        _speedups.segment_sets(np.ascontiguousarray(values, dtype=np.uint32),
                               np.ascontiguousarray(offsets, dtype=np.int64), out, out_offsets)
        return out[:out_offsets[-1]].copy(), out_offsets
    seg = np.repeat(np.arange(nseg, dtype=_U64), np.diff(offsets))
    key = sorted_unique((seg << _U64(32)) | values[:len(seg)].astype(_U64))
    out_offsets = np.zeros(nseg + 1, dtype=np.int64)
    np.cumsum(np.bincount((key >> _U64(32)).astype(np.int64), minlength=nseg), out=out_offsets[1:])
    return (key & _U64(MAX32)).astype(np.uint32), out_offsets


def jaccard_pairs(values: np.ndarray, offsets: np.ndarray, pairs: np.ndarray,
                  chunk_values: int = 1 << 23, compiled: bool = True) -> np.ndarray:
    """Exact Jaccard of many pairs (i, j) of sets stored as by segment_sets, in
    vectorised chunks of about `chunk_values` values: same as jaccard_sets per pair."""
    out = np.empty(len(pairs), dtype=np.float64)
    if not len(pairs):
        return out
    if compiled and _speedups is not None:
        _speedups.jaccard_pairs(np.ascontiguousarray(values, dtype=np.uint32),
                                np.ascontiguousarray(offsets, dtype=np.int64),
                                np.ascontiguousarray(pairs, dtype=np.int64), out)
        return out
    size = np.diff(offsets)
    la, lb = size[pairs[:, 0]], size[pairs[:, 1]]
    cum = np.cumsum(la + lb)
    start = 0
    while start < len(pairs):
        base = int(cum[start - 1]) if start else 0
        end = max(start + 1, int(np.searchsorted(cum, base + chunk_values, side="right")))
        p, a_n, b_n = pairs[start:end], la[start:end], lb[start:end]
        tag_a = np.repeat(np.arange(len(p), dtype=_U64), a_n) << _U64(32)
        tag_b = np.repeat(np.arange(len(p), dtype=_U64), b_n) << _U64(32)
        key_a = tag_a | values[ranges(offsets[p[:, 0]], a_n)].astype(_U64)  # sorted: pairs, then values
        key_b = tag_b | values[ranges(offsets[p[:, 1]], b_n)].astype(_U64)
        inter = np.zeros(len(p), dtype=np.int64)
        if len(key_a) and len(key_b):
            at = np.minimum(np.searchsorted(key_a, key_b), len(key_a) - 1)
            hit = key_a[at] == key_b
            inter = np.bincount((key_b[hit] >> _U64(32)).astype(np.int64), minlength=len(p))
        union = a_n + b_n - inter
        out[start:end] = np.where(union > 0, inter / np.maximum(union, 1), 1.0)
        start = end
    return out


def jaccard_sets(a: np.ndarray, b: np.ndarray) -> float:
    """Exact Jaccard similarity of two sorted unique hash arrays."""
    if len(a) == 0 and len(b) == 0:
        return 1.0
    inter = len(np.intersect1d(a, b, assume_unique=True))
    return inter / (len(a) + len(b) - inter)


def agreement(sigs: np.ndarray, pairs: np.ndarray, compiled: bool = True) -> np.ndarray:
    """Number of equal slots of signature rows pairs[k, 0] and pairs[k, 1], per pair
    (divided by the width: the Jaccard estimate)."""
    pairs = np.ascontiguousarray(pairs, dtype=np.int64).reshape(-1, 2)
    if compiled and _speedups is not None and sigs.ndim == 2 and sigs.dtype == np.uint32:
        out = np.empty(len(pairs), dtype=np.int64)
        _speedups.agreement(np.ascontiguousarray(sigs), pairs, out)
        return out
    out = np.zeros(len(pairs), dtype=np.int64)
    for a in range(0, len(pairs), 65536):
        p = pairs[a:a + 65536]
        out[a:a + len(p)] = np.count_nonzero(sigs[p[:, 0]] == sigs[p[:, 1]], axis=1)
    return out


def estimate(sig_a: np.ndarray, sig_b: np.ndarray) -> float:
    """Jaccard estimate from two signatures (fraction of equal slots)."""
    return float(np.count_nonzero(sig_a == sig_b)) / len(sig_a)


# --- scalar reference, for tests and datasketch interop -------------------------

def _scalar_fmix64(x: int) -> int:
    m = (1 << 64) - 1
    x ^= x >> 33
    x = (x * 0xFF51AFD7ED558CCD) & m
    x ^= x >> 33
    x = (x * 0xC4CEB9FE1A85EC53) & m
    return x ^ (x >> 33)


def reference_tokens(text: str) -> list[bytes]:
    """The word tokens tokenize sees, computed byte by byte (slow; for tests)."""
    b = text.lower().encode("utf-8", "surrogatepass")
    mask = _word_mask(np.frombuffer(b, dtype=np.uint8)) if b else np.zeros(0, dtype=bool)
    out, cur = [], bytearray()
    for byte, w in zip(b, mask.tolist()):
        if w:
            cur.append(byte)
        elif cur:
            out.append(bytes(cur))
            cur = bytearray()
    if cur:
        out.append(bytes(cur))
    return out


def reference_token_hash(token: bytes) -> int:
    m = (1 << 64) - 1
    h = 0
    p = 1
    for byte in token[:_CHUNK]:
        h = (h + (byte + 1) * p) & m
        p = (p * _BASE) & m
    return _scalar_fmix64((h + len(token)) & m)


def reference_shingles(text: str, k: int = 5) -> list[tuple[int, ...]]:
    """The shingles of a text as tuples of token hashes (slow; for tests)."""
    th = [reference_token_hash(t) for t in reference_tokens(text)]
    if not th:
        return []
    if len(th) < k:
        return [tuple(th)]
    return [tuple(th[i:i + k]) for i in range(len(th) - k + 1)]


def shingle_hash32(shingle: tuple[int, ...]) -> int:
    """32-bit value of one shingle; pass as datasketch's ``hashfunc``."""
    m = (1 << 64) - 1
    acc = 0
    for j, t in enumerate(shingle):
        acc = (acc + t * _GRAM_MULT[j]) & m
    return _scalar_fmix64(acc) >> 32


def to_lean_minhash(sig: np.ndarray, seed: int = 1):
    """Wrap one signature row as a datasketch LeanMinHash."""
    from datasketch import LeanMinHash

    return LeanMinHash(seed=seed, hashvalues=sig, scheme="affine32")
