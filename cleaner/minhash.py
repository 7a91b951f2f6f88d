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

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

MAX32 = np.uint32(0xFFFFFFFF)
_U64 = np.uint64

# Polynomial base for the per-token rolling hash; odd, so it is invertible mod 2^64.
_BASE = 0x100000001B3
_BASE_INV = pow(_BASE, -1, 1 << 64)
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


class _Powers:
    """Growing tables of BASE^i and BASE^-i mod 2^64."""

    def __init__(self) -> None:
        self.pow = np.ones(1, dtype=_U64)
        self.inv = np.ones(1, dtype=_U64)

    def ensure(self, n: int) -> None:
        if len(self.pow) >= n:
            return
        size = max(n, 2 * len(self.pow), 1 << 16)
        p = np.full(size, _BASE, dtype=_U64)
        p[0] = 1
        q = np.full(size, _BASE_INV, dtype=_U64)
        q[0] = 1
        self.pow = np.cumprod(p, dtype=_U64)
        self.inv = np.cumprod(q, dtype=_U64)


_POWERS = _Powers()


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


def token_hashes(encoded: Sequence[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """64-bit hashes of the word tokens of each (lower-cased, UTF-8) text.

    Returns (hashes, counts): the hashes of all texts concatenated in order
    and the number of tokens in each text.
    """
    if not encoded:
        return np.zeros(0, dtype=_U64), np.zeros(0, dtype=np.int64)
    joined = b"\n".join(encoded)
    b = np.frombuffer(joined, dtype=np.uint8)
    n = len(b)
    lengths = np.fromiter((len(e) for e in encoded), dtype=np.int64, count=len(encoded))
    doc_starts = np.concatenate(([0], np.cumsum(lengths + 1)[:-1]))
    if n == 0:
        return np.zeros(0, dtype=_U64), np.zeros(len(encoded), dtype=np.int64)
    w = _word_mask(b)
    wi = w.view(np.int8)
    edges = np.diff(wi, prepend=np.int8(0), append=np.int8(0))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)  # exclusive
    if len(starts) == 0:
        return np.zeros(0, dtype=_U64), np.zeros(len(encoded), dtype=np.int64)
    _POWERS.ensure(n + 1)
    vals = b.astype(_U64) + _U64(1)
    vals *= _POWERS.pow[:n]
    c = np.empty(n + 1, dtype=_U64)
    c[0] = 0
    np.cumsum(vals, out=c[1:])
    h = (c[ends] - c[starts]) * _POWERS.inv[starts]
    h += (ends - starts).astype(_U64)
    h = _fmix64(h)
    doc_of = np.searchsorted(doc_starts, starts, side="right") - 1
    counts = np.bincount(doc_of, minlength=len(encoded)).astype(np.int64)
    return h, counts


def shingle_hashes(encoded: Sequence[bytes], k: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """32-bit hashes of the word k-gram shingles of each text.

    A text with fewer than k tokens (but at least one) yields one shingle of
    all its tokens, so short texts still compare. Returns (hashes, counts).
    """
    if not 1 <= k <= MAX_SHINGLE:
        raise ValueError(f"shingle size must be between 1 and {MAX_SHINGLE}")
    th, tcounts = token_hashes(encoded)
    ndocs = len(tcounts)
    if len(th) == 0:
        return np.zeros(0, dtype=np.uint32), np.zeros(ndocs, dtype=np.int64)
    tstarts = np.concatenate(([0], np.cumsum(tcounts)[:-1]))
    # Shingle j of a text starts at its token j; a text of n >= k tokens has n-k+1.
    scounts = np.where(tcounts >= k, tcounts - k + 1, np.minimum(tcounts, 1))
    total = int(scounts.sum())
    doc_of = np.repeat(np.arange(ndocs), scounts)
    first = np.concatenate(([0], np.cumsum(scounts)[:-1]))
    pos = tstarts[doc_of] + (np.arange(total) - first[doc_of])
    acc = np.zeros(total, dtype=_U64)
    last = tstarts[doc_of] + tcounts[doc_of]
    for j in range(k):
        idx = pos + j
        inside = idx < last
        term = th[np.minimum(idx, len(th) - 1)] * _U64(_GRAM_MULT[j])
        acc += np.where(inside, term, _U64(0))
    acc = _fmix64(acc)
    return (acc >> _U64(32)).astype(np.uint32), scounts.astype(np.int64)


@lru_cache(maxsize=8)
def permutations(num_perm: int = 128, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """datasketch's affine32 permutation parameters (a, b) for this seed."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


def signatures_from_hashes(hashes: np.ndarray, counts: np.ndarray, num_perm: int = 128,
                           seed: int = 1, chunk: int = 4096) -> np.ndarray:
    """MinHash signatures (uint32, one row per text) from concatenated shingle hashes.

    Rows of texts without shingles are all 0xFFFFFFFF (datasketch's empty value).
    """
    ndocs = len(counts)
    sig = np.full((ndocs, num_perm), MAX32, dtype=np.uint32)
    if len(hashes) == 0:
        return sig
    a, b = permutations(num_perm, seed)
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
    return [t.lower().encode("utf-8", "surrogatepass") for t in texts]


def signatures(texts: Sequence[str], k: int = 5, num_perm: int = 128, seed: int = 1) -> np.ndarray:
    """MinHash signatures of word k-gram shingles, one uint32 row per text."""
    h, c = shingle_hashes(encode(texts), k)
    return signatures_from_hashes(h, c, num_perm, seed)


def shingle_sets(texts: Sequence[str], k: int = 5) -> list[np.ndarray]:
    """Sorted unique shingle hashes of each text (for exact Jaccard)."""
    h, c = shingle_hashes(encode(texts), k)
    out = []
    pos = 0
    for n in c.tolist():
        out.append(np.unique(h[pos:pos + n]))
        pos += n
    return out


def jaccard_sets(a: np.ndarray, b: np.ndarray) -> float:
    """Exact Jaccard similarity of two sorted unique hash arrays."""
    if len(a) == 0 and len(b) == 0:
        return 1.0
    inter = len(np.intersect1d(a, b, assume_unique=True))
    return inter / (len(a) + len(b) - inter)


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
    """The word tokens token_hashes sees, computed byte by byte (slow; for tests)."""
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
    for byte in token:
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
