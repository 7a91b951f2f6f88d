"""Fitting the boosted trees of cleaner/gbdt.py (numpy only, deterministic); used by the training scripts."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cleaner.gbdt import Stage  # noqa: E402

_TREES, _DEPTH, _LR, LAMBDA, _MIN_HESS, BINS = 80, 3, 0.15, 1.0, 60.0, 32
if os.environ.get("CLEANER_TRAIN_HP"):  # experiments: TREES,DEPTH,LR,MIN_HESS
    _t, _d, _l, _m = os.environ["CLEANER_TRAIN_HP"].split(",")
    _TREES, _DEPTH, _LR, _MIN_HESS = int(_t), int(_d), float(_l), float(_m)


def fit_stage(x: np.ndarray, y: np.ndarray, w: np.ndarray, names: tuple[str, ...], trees: int | None = None,
              depth: int | None = None, lr: float | None = None, min_hess: float | None = None) -> Stage:
    """Gradient-boosted trees of depth DEPTH on the logistic loss (soft labels, sample weights).

    Splits are chosen on up to BINS quantile cut points per feature, by the
    second-order gain with L2 penalty LAMBDA; a split needs MIN_HESS of
    (weighted) hessian on each side."""
    TREES, DEPTH, LR, MIN_HESS = (trees or _TREES, depth or _DEPTH, lr or _LR, min_hess or _MIN_HESS)
    n, d = x.shape
    w = w / w.sum() * n
    cuts = []
    xb = np.zeros((n, d), dtype=np.int64)
    for j in range(d):
        qs = np.unique(np.quantile(x[:, j], np.linspace(0, 1, BINS + 1)[1:-1]))
        cuts.append(qs)
        xb[:, j] = np.searchsorted(qs, x[:, j], side="left")  # bin b: cuts[b-1] < x <= cuts[b]
    nb = BINS + 1
    ybar = float(np.clip((w * y).sum() / w.sum(), 1e-4, 1 - 1e-4))
    base = float(np.log(ybar / (1 - ybar)))
    f = np.full(n, base)
    nodes = 2 ** (DEPTH + 1) - 1
    feat = np.zeros((TREES, nodes), dtype=np.int64)
    thr = np.full((TREES, nodes), np.inf)
    val = np.zeros((TREES, nodes))
    for t in range(TREES):
        p = 1 / (1 + np.exp(-f))
        g, h = w * (p - y), w * p * (1 - p)
        idx = np.zeros(n, dtype=np.int64)
        for level in range(DEPTH + 1):
            first = 2 ** level - 1
            count = 2 ** level
            local = idx - first
            G = np.bincount(local, weights=g, minlength=count)
            H = np.bincount(local, weights=h, minlength=count)
            val[t, first:first + count] = -LR * G / (H + LAMBDA)
            if level == DEPTH:
                break
            best_gain = np.zeros(count)
            best_f = np.zeros(count, dtype=np.int64)
            best_b = np.full(count, -1)
            for j in range(d):
                if len(cuts[j]) == 0:
                    continue
                key = local * nb + xb[:, j]
                hg = np.bincount(key, weights=g, minlength=count * nb).reshape(count, nb)
                hh = np.bincount(key, weights=h, minlength=count * nb).reshape(count, nb)
                gl, hl = np.cumsum(hg, axis=1)[:, :-1], np.cumsum(hh, axis=1)[:, :-1]
                gr, hr = G[:, None] - gl, H[:, None] - hl
                gain = gl ** 2 / (hl + LAMBDA) + gr ** 2 / (hr + LAMBDA) - (G ** 2 / (H + LAMBDA))[:, None]
                gain[(hl < MIN_HESS) | (hr < MIN_HESS)] = 0.0
                gain = gain[:, :len(cuts[j])]
                b = gain.argmax(axis=1)
                gb = gain[np.arange(count), b]
                better = gb > best_gain + 1e-12
                best_gain[better], best_f[better], best_b[better] = gb[better], j, b[better]
            for k in range(count):
                node = first + k
                if best_b[k] >= 0:
                    feat[t, node] = best_f[k]
                    thr[t, node] = cuts[best_f[k]][best_b[k]]
            go_right = x[np.arange(n), feat[t, idx]] > thr[t, idx]
            idx = 2 * idx + 1 + go_right
        f += val[t][idx]
    # nodes no row reaches (the right child of a node that did not split) keep their parent's value
    for t in range(TREES):
        for node in range(1, nodes):
            parent = (node - 1) // 2
            if not np.isfinite(thr[t, parent]) and node == 2 * parent + 2:
                val[t, node] = val[t, parent]
    return Stage(names, DEPTH, base, feat, thr, val)
