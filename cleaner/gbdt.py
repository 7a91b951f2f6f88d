"""Boosted regression trees on log-odds, evaluated in numpy (the models ship as JSON).

Trees are fitted by bench/gbdt.py; this module only evaluates them, so the
package needs numpy alone to use a model.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -30, 30)))


@dataclass(slots=True)
class Stage:
    """Boosted regression trees on log-odds: a base score plus one leaf value per tree.

    Trees are complete binary trees of a fixed depth stored level by level
    (node k has children 2k+1 and 2k+2); a node sends a row right when its
    feature is above the node's threshold. Every node keeps the value the tree
    would give if it stopped there, so the change along the path can be
    credited to the feature of each split (a per-feature contribution that
    adds up to the logit, shown by --explain).
    """

    features: tuple[str, ...]
    depth: int
    base: float
    feature: np.ndarray  # (trees, nodes) int
    threshold: np.ndarray  # (trees, nodes) float
    value: np.ndarray  # (trees, nodes) float

    # rows evaluated at once: bounds the (rows, trees, nodes) temporary to a few MB
    CHUNK = 2048

    def _paths(self, xb: np.ndarray) -> list[np.ndarray]:
        """Node index per (row, tree) at each level, root to leaf, for a block of rows."""
        t, nodes = self.feature.shape
        feat_flat = self.feature.ravel()
        thr_flat = self.threshold.ravel()
        tree_base = (np.arange(t) * nodes)[None, :]
        xb = np.ascontiguousarray(xb)
        m, nf = xb.shape
        flat = xb.ravel()
        row_base = (np.arange(m) * nf)[:, None]
        idx = np.zeros((m, t), dtype=np.int64)
        levels = [idx]
        for _ in range(self.depth):
            # only the node each row is at, in every tree (1-D takes: the fast path)
            node = tree_base + idx
            go = flat.take(row_base + feat_flat.take(node)) > thr_flat.take(node)
            idx = 2 * idx + 1 + go
            levels.append(idx)
        return levels

    def logits(self, x: np.ndarray, compiled: bool = True) -> np.ndarray:
        """base + each tree's leaf value, added tree after tree (the compiled kernel adds
        in the same order: the same floats, bit for bit)."""
        x = np.ascontiguousarray(x, dtype=np.float64).reshape(len(x), -1)
        out = np.empty(len(x))
        if compiled and len(x):
            from .textfeat import _kernels

            kern = _kernels()
            if kern is not None:
                kern.tree_logits(x, np.ascontiguousarray(self.feature, dtype=np.int64),
                                 np.ascontiguousarray(self.threshold, dtype=np.float64),
                                 np.ascontiguousarray(self.value, dtype=np.float64), self.depth, float(self.base), out)
                return out
        trees = np.arange(self.feature.shape[0])[None, :]
        for a in range(0, len(x), self.CHUNK):
            leaf = self._paths(x[a:a + self.CHUNK])[-1]
            vals = self.value[trees, leaf]
            acc = np.full(len(vals), self.base)
            for t in range(vals.shape[1]):
                acc += vals[:, t]
            out[a:a + self.CHUNK] = acc
        return out

    def contributions(self, x: np.ndarray, compiled: bool = True) -> np.ndarray:
        """(rows, features): what each feature's splits added to the logit (the compiled
        kernel sums in the same order: the same floats)."""
        n, nf = len(x), len(self.features)
        out = np.zeros((n, nf))
        if compiled and n:
            from .textfeat import _kernels

            kern = _kernels()
            if kern is not None:
                kern.tree_contributions(np.ascontiguousarray(x, dtype=np.float64).reshape(n, -1),
                                        np.ascontiguousarray(self.feature, dtype=np.int64),
                                        np.ascontiguousarray(self.threshold, dtype=np.float64),
                                        np.ascontiguousarray(self.value, dtype=np.float64), self.depth, out)
                return out
        trees = np.arange(self.feature.shape[0])[None, :]
        for a in range(0, n, self.CHUNK):
            path = self._paths(x[a:a + self.CHUNK])
            m = len(path[0])
            rows = np.broadcast_to(np.arange(m)[:, None], path[0].shape)
            acc = np.zeros(m * nf)
            for p0, p1 in zip(path, path[1:]):
                delta = self.value[trees, p1] - self.value[trees, p0]
                acc += np.bincount((rows * nf + self.feature[trees, p0]).ravel(), weights=delta.ravel(),
                                   minlength=m * nf)
            out[a:a + m] = acc.reshape(m, nf)
        return out

    def to_json(self) -> dict[str, Any]:
        return {"features": list(self.features), "depth": self.depth, "base": round(self.base, 6),
                "feature": self.feature.tolist(), "threshold": [[round(float(v), 6) if math.isfinite(v) else None for v in row]
                                                  for row in self.threshold],
                "value": np.round(self.value, 6).tolist()}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Stage:
        thr = np.array([[math.inf if v is None else v for v in row] for row in d["threshold"]], dtype=float)
        return cls(tuple(d["features"]), int(d["depth"]), float(d["base"]),
                   np.array(d["feature"], dtype=np.int64), thr, np.array(d["value"], dtype=float))


