"""Research loop for the text model: features of all dev documents, grouped CV, scores per input.

    python bench/research.py [--folds 5] [--sub 0.3]

Stages are stacked with out-of-fold inputs: own-stage scores of every paragraph
come from a model that did not see its site; the document stage (is this a whole
page dump?) learns from those; the context stage from both.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import pickle
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import textdata as T  # noqa: E402
from gbdt import fit_stage  # noqa: E402

from cleaner import textfeat as F  # noqa: E402
from cleaner.gbdt import Stage, sigmoid  # noqa: E402
from cleaner.rules import RuleSet  # noqa: E402
from cleaner.rules import decide as decide_hits  # noqa: E402

EDGE = -3.0


def features(docs: list[T.Doc]) -> F.Batch:
    key = hashlib.sha256((ROOT / "cleaner" / "textfeat.py").read_bytes() + str(len(docs)).encode()
                         + (ROOT / "cleaner" / "data" / "rules.toml").read_bytes()
                         + (ROOT / "cleaner" / "rules.py").read_bytes()).hexdigest()[:12]
    cfile = T.CACHE / f"batch-{key}.pkl"
    if cfile.exists():
        with open(cfile, "rb") as fh:
            return pickle.load(fh)
    t = time.time()
    b = F.build_batch([d.paragraphs for d in docs], RuleSet.build())
    print(f"features: {len(b.paragraphs)} paragraphs in {time.time() - t:.0f}s", flush=True)
    with open(cfile, "wb") as fh:
        pickle.dump(b, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return b


def seg_shift(x: np.ndarray, start: np.ndarray, doc: np.ndarray, k: int, edge: float) -> np.ndarray:
    n = len(x)
    idx = np.arange(n) - k
    ok = (idx >= start[doc]) & (idx < start[doc + 1])
    out = np.full(n, edge)
    out[ok] = x[idx[ok]]
    return out


def seg_window_mean(x: np.ndarray, start: np.ndarray, doc: np.ndarray, k: int, edge: float) -> np.ndarray:
    n = len(x)
    c = np.concatenate(([0.0], np.cumsum(x)))
    i = np.arange(n)
    lo = np.maximum(i - k, start[doc])
    hi = np.minimum(i + k + 1, start[doc + 1])
    inside = c[hi] - c[lo] - x
    outside = (2 * k + 1) - (hi - lo)
    return (inside + outside * edge) / (2 * k)


CHROME = {"navigation", "legal-footer", "cookie-notice", "share-prompt", "newsletter-prompt"}
DOC = ("doc_text_share", "log_paragraphs", "doc_short_share", "doc_mean_own", "doc_chrome", "doc_head_run",
       "doc_tail_run", "doc_unit_mean_own", "doc_list_share", "doc_stop", "doc_log_units")
CTX = ("own", "prev", "next", "mean_2", "mean_6", "first", "last", "before_text", "after_text", "inside_text",
       "position", "short_x_mean_2", "short_x_prev", "short_x_next", "heading_before_text", "after_marker",
       "short_run", "run_at_head", "run_at_tail", "overlap", "p_dump", "dist_core", "between_core",
       "units_rel_max") + DOC


def _runs(b: F.Batch, flag: np.ndarray):
    n = len(flag)
    doc = b.para_doc
    brk = np.ones(n, dtype=bool)
    brk[1:] = (flag[1:] != flag[:-1]) | (doc[1:] != doc[:-1])
    run_id = np.cumsum(brk) - 1
    run_len = np.bincount(run_id)
    run_first = np.flatnonzero(brk)
    run_last = np.append(run_first[1:] - 1, n - 1)
    return run_id, run_len, run_first, run_last


def doc_matrix(b: F.Batch, s: np.ndarray, blocked: np.ndarray) -> np.ndarray:
    """One row per document."""
    start, doc, nd = b.doc_start, b.para_doc, b.ndocs
    n = len(s)
    s = np.clip(np.where(blocked, EDGE, s), -8, 8)
    units = b.stats.units
    cnt = np.diff(start).astype(float)
    good = np.where(s > 0, units, 0.0)
    tot_units = np.bincount(doc, weights=units, minlength=nd)
    sh = units <= 5
    run_id, run_len, _, _ = _runs(b, sh)
    chrome = np.array([any(h.decisive and h.reason in CHROME for h in hs) for hs in b.hits], dtype=float)
    head = np.zeros(nd)
    tail = np.zeros(nd)
    ne = start[1:] > start[:-1]
    hd, tl = start[:-1][ne], start[1:][ne] - 1
    if n:
        head[ne] = np.where(sh[hd], run_len[run_id[hd]], 0)
        tail[ne] = np.where(sh[tl], run_len[run_id[tl]], 0)
    own_p = sigmoid(s)
    c1 = np.maximum(cnt, 1)
    stop = b.own[:, F.OWN_FEATURES.index("stop")] if n else np.zeros(0)
    return np.column_stack([
        np.bincount(doc, weights=good, minlength=nd) / np.maximum(tot_units, 1e-9), np.log1p(cnt),
        np.bincount(doc, weights=sh.astype(float), minlength=nd) / c1,
        np.bincount(doc, weights=own_p, minlength=nd) / c1,
        np.log1p(np.bincount(doc, weights=chrome, minlength=nd)), np.log1p(head), np.log1p(tail),
        np.bincount(doc, weights=own_p * units, minlength=nd) / np.maximum(tot_units, 1e-9),
        np.bincount(doc, weights=b.stats.list_item.astype(float), minlength=nd) / c1,
        np.bincount(doc, weights=stop * units, minlength=nd) / np.maximum(tot_units, 1e-9),
        np.log1p(tot_units),
    ])


def context(b: F.Batch, s: np.ndarray, blocked: np.ndarray, p_dump: np.ndarray, dmat: np.ndarray) -> np.ndarray:
    start, doc = b.doc_start, b.para_doc
    n = len(s)
    s = np.clip(np.where(blocked, EDGE, s), -8, 8)
    units = b.stats.units
    i = np.arange(n)
    a, e = start[doc], start[doc + 1]
    cnt = (e - a).astype(float)
    prev = seg_shift(s, start, doc, 1, EDGE)
    nxt = seg_shift(s, start, doc, -1, EDGE)
    m2 = seg_window_mean(s, start, doc, 2, EDGE)
    m6 = seg_window_mean(s, start, doc, 6, EDGE)
    good = np.where(s > 0, units, 0.0)
    cg = np.concatenate(([0.0], np.cumsum(good)))
    before = cg[i] - cg[a]
    total = cg[e] - cg[a]
    after = total - before - good
    short = (units <= 8).astype(float)
    heading = ((units <= 14) & ~b.stats.list_item & (b.urls == 0) & b.stats.heading_start).astype(float)
    marker_here = np.array([any(h.block and h.decisive for h in hs) for hs in b.hits], dtype=float)
    cm = np.concatenate(([0.0], np.cumsum(marker_here)))
    after_marker = ((cm[i] - cm[a]) > 0).astype(float)
    sh = units <= 5
    run_id, run_len, run_first, run_last = _runs(b, sh)
    rl = np.where(sh, run_len[run_id], 0)
    at_head = sh & (run_first[run_id] == a)
    at_tail = sh & (run_last[run_id] == e - 1)
    core = (s >= 0) & (units >= 8)
    ov = F.content_overlap(b.token_hashes, b.token_lengths, b.tokens, doc, core)
    # distance to the nearest core paragraph of the same document (in paragraphs)
    big = 10 ** 6
    last_core = np.where(core, i, -big)
    last_core = np.maximum.accumulate(last_core)
    next_core = np.where(core, i, big)
    next_core = np.minimum.accumulate(next_core[::-1])[::-1]
    d_prev = np.where(last_core >= a, i - last_core, big)
    d_next = np.where(next_core < e, next_core - i, big)
    dist = np.minimum(d_prev, d_next)
    dist_core = np.log1p(np.minimum(dist, 1000))
    between = ((d_prev < big) & (d_next < big)).astype(float)
    umax = np.maximum.reduceat(units, np.minimum(start[:-1], max(n - 1, 0)))[doc] if n else np.zeros(0)
    units_rel = units / np.maximum(umax, 1)
    return np.column_stack([
        s, prev, nxt, m2, m6, (i == a).astype(float), (i == e - 1).astype(float), (before == 0).astype(float),
        (after == 0).astype(float), np.minimum(before, after) / np.maximum(total, 1e-9),
        (i - a) / np.maximum(cnt - 1, 1), short * m2, short * prev, short * nxt, heading * (nxt > 0), after_marker,
        np.log1p(rl), at_head.astype(float), at_tail.astype(float), ov, p_dump[doc], dist_core, between, units_rel,
        dmat[doc],
    ])


def ruled(b: F.Batch) -> np.ndarray:
    out = np.zeros(len(b.paragraphs), dtype=bool)
    for i, hs in enumerate(b.hits):
        if hs and decide_hits(hs) is not None:
            out[i] = True
    return out


def folds_of(docs: list[T.Doc], k: int) -> np.ndarray:
    groups = sorted({d.group for d in docs})
    gfold = {g: int(hashlib.md5(g.encode()).hexdigest(), 16) % k for g in groups}
    return np.array([gfold[d.group] for d in docs])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--sub", type=float, default=0.3, help="share of training rows used")
    ap.add_argument("--content-weight", type=float, default=0.0, help="extra weight of content rows")
    ap.add_argument("--tag", default="r")
    ap.add_argument("--trees", type=int, default=80)
    ap.add_argument("--depth", type=int, default=3)
    ap.add_argument("--train-sets", default="wcxb,dragnet,multilingual", help="sets the models learn from")
    ap.add_argument("--set-weight", default="", help="e.g. dragnet=2: weight of a set's documents")
    a = ap.parse_args()
    docs = T.load_all() + T.load_multilingual()
    b = features(docs)
    n = len(b.paragraphs)
    y = np.concatenate([d.labels for d in docs])
    w = np.concatenate([d.weights for d in docs])
    fold_doc = folds_of(docs, a.folds)
    fold = fold_doc[b.para_doc]
    blocked = ruled(b)
    cnt = collections.Counter((d.set, d.input) for d in docs)
    inp_w = np.array([1000.0 / cnt[(d.set, d.input)] for d in docs])
    w = w * inp_w[b.para_doc] * (1 + a.content_weight * y)
    sw = {k: float(v) for k, v in (x.split("=") for x in a.set_weight.split(",") if x)}
    in_train = np.array([d.set in a.train_sets.split(",") for d in docs])
    w = w * np.array([sw.get(d.set, 1.0) for d in docs])[b.para_doc] * in_train[b.para_doc]
    rnd = np.random.default_rng(7).random(n)
    print(f"{len(docs)} docs, {n} paragraphs", flush=True)
    t = time.time()
    s_oof = np.zeros(n)
    for k in range(a.folds):
        f = T.CACHE / f"own-{a.tag}-{a.folds}-{k}-{a.sub}-{a.content_weight}-{b.own.shape[1]}.json"
        if f.exists():
            own = Stage.from_json(json.loads(f.read_text()))
        else:
            tr = (fold != k) & ~blocked & (rnd < a.sub) & (w > 0)
            own = fit_stage(b.own[tr], y[tr], w[tr], F.OWN_FEATURES)
            f.write_text(json.dumps(own.to_json()))
        te = fold == k
        s_oof[te] = own.logits(b.own[te])
    print(f"own stage: {time.time() - t:.0f}s", flush=True)
    dmat = doc_matrix(b, s_oof, blocked)
    is_dump = np.array([1.0 if d.input == "fulltext" else 0.0 for d in docs])
    p_dump = np.zeros(len(docs))
    ne = np.diff(b.doc_start) > 0
    for k in range(a.folds):
        tr = (fold_doc != k) & ne & in_train
        st = fit_stage(dmat[tr], is_dump[tr], np.ones(int(tr.sum())), DOC, trees=60, min_hess=5)
        p_dump[fold_doc == k] = sigmoid(st.logits(dmat[fold_doc == k]))
    xc = np.hstack([context(b, s_oof, blocked, p_dump, dmat), b.own])
    probs = np.zeros(n)
    for k in range(a.folds):
        tr = (fold != k) & ~blocked & (rnd < a.sub) & (w > 0)
        te = fold == k
        ctx = fit_stage(xc[tr], y[tr], w[tr], CTX + F.OWN_FEATURES, trees=a.trees, depth=a.depth)
        probs[te] = sigmoid(ctx.logits(xc[te]))
        print(f"context fold {k}: {time.time() - t:.0f}s", flush=True)
    np.savez(T.CACHE / f"oof-{a.tag}.npz", probs=probs, p_dump=p_dump, s_oof=s_oof)
    report(docs, b, probs, p_dump, blocked)
    return 0


def outputs(docs: list[T.Doc], b: F.Batch, keep: np.ndarray, idx: list[int]) -> list[str]:
    out = []
    for k in idx:
        lo, hi = b.doc_start[k], b.doc_start[k + 1]
        out.append("\n".join(p for p, kk in zip(docs[k].paragraphs, keep[lo:hi]) if kk))
    return out


def report(docs: list[T.Doc], b: F.Batch, probs: np.ndarray, p_dump: np.ndarray, blocked: np.ndarray,
           grid: list[tuple[float, float]] | None = None) -> None:
    by: dict[tuple[str, str], list[int]] = collections.defaultdict(list)
    for k, d in enumerate(docs):
        by[(d.set, d.input)].append(k)
    grid = grid or [(0.05, 0.3), (0.05, 0.4), (0.1, 0.4), (0.1, 0.5), (0.15, 0.5)]
    pd = p_dump[b.para_doc]
    for tc, td in grid:
        thr = tc + (td - tc) * pd
        keep = (probs >= thr) & ~blocked
        print(f"--- threshold clean {tc} dump {td}")
        for key, idx in sorted(by.items()):
            ds = [docs[k] for k in idx]
            outs = outputs(docs, b, keep, idx)
            if key[1] == "gold":
                h, worst, over = T.harm(ds, outs)
                print(f"  {key[0]:12s} {key[1]:12s} harm {h:.2%} worst {worst:.0%} >5%: {over}")
            else:
                P, R, F1 = T.score(ds, outs)
                gP, gR, gF = T.score(ds, ["\n".join(d.paragraphs) for d in ds])
                print(f"  {key[0]:12s} {key[1]:12s} P {P:.3f} R {R:.3f} F1 {F1:.3f}   as given {gP:.3f} {gR:.3f} {gF:.3f}"
                      f"  dF1 {F1 - gF:+.3f}")


if __name__ == "__main__":
    sys.exit(main())


# --- the decision around the model (rules, block cut, list runs, embeds) ---------------------------

def decide_all(b: F.Batch, probs: np.ndarray, thr: np.ndarray, blocked: np.ndarray, block_cut: bool = True,
               list_runs: bool = True, embeds: bool = True, anchor_units: float = 20,
               anchor_overlap: float = 0.35) -> np.ndarray:
    """Keep mask over all paragraphs."""
    keep = (probs >= thr) & ~blocked
    if not (block_cut or list_runs or embeds):
        return keep
    hits = b.hits
    units = b.stats.units
    li = b.stats.list_item
    from cleaner.textfeat import stoplists
    sl = stoplists()
    tstart = np.concatenate(([0], np.cumsum(b.tokens)))
    for d in range(b.ndocs):
        lo, hi = int(b.doc_start[d]), int(b.doc_start[d + 1])
        if hi - lo == 0:
            continue
        k = keep[lo:hi]
        if list_runs:
            i = lo
            while i < hi:
                j = i
                while j < hi and li[j]:
                    j += 1
                if j - i >= 3:
                    gone = int((~keep[i:j]).sum())
                    if 2 * gone > j - i:
                        for q in range(i, j):
                            if keep[q] and units[q] <= 4:
                                keep[q] = False
                i = max(j, i + 1)
        if block_cut and any(h.block and h.decisive for x in range(lo, hi) for h in hits[x]):
            k = keep[lo:hi]
            def vocab(x):
                hs = b.token_hashes[tstart[x]:tstart[x + 1]]
                ln = b.token_lengths[tstart[x]:tstart[x + 1]]
                return set(hs[ln >= 3].tolist())
            def anchor(x):
                return keep[x] and units[x] >= anchor_units and probs[x] >= 0.5
            start = next((x for x in range(lo, hi) if anchor(x)), None)
            if start is not None:
                seen: set = set()
                x = start
                cut = None
                while x < hi:
                    if any(h.block and h.decisive for h in hits[x]) and not keep[x] or \
                            any(h.block and h.decisive for h in hits[x]):
                        back = None
                        for q in range(x + 1, hi):
                            if anchor(q):
                                c = vocab(q)
                                if c and len(c & seen) / len(c) >= anchor_overlap:
                                    back = q
                        wb = units[lo:x][keep[lo:x]].sum()
                        wa = units[x + 1:hi][keep[x + 1:hi]].sum()
                        if back is None and wa < wb:
                            cut = x
                            break
                        if back is None:
                            back = x
                        for q in range(x, back + 1):
                            if keep[q]:
                                seen |= vocab(q)
                        x = back + 1
                        continue
                    if keep[x]:
                        seen |= vocab(x)
                    x += 1
                if cut is not None:
                    keep[cut + 1:hi] = False
        if embeds:
            for x in range(lo + 1, hi):
                if any(h.reason == "social-embed" and h.decisive for h in hits[x]) and keep[x - 1] and \
                        (b.stats.emoji[x - 1] + b.stats.handles[x - 1] + b.stats.hashtags[x - 1]) > 0 and \
                        b.stats.words[x - 1] <= 80:
                    keep[x - 1] = False
    return keep


def report2(docs, b, probs, p_dump, blocked, tc, td, **kw) -> None:
    by: dict[tuple[str, str], list[int]] = collections.defaultdict(list)
    for k, d in enumerate(docs):
        by[(d.set, d.input)].append(k)
    thr = tc + (td - tc) * p_dump[b.para_doc]
    keep = decide_all(b, probs, thr, blocked, **kw)
    print(f"--- clean {tc} dump {td} {kw}")
    for key, idx in sorted(by.items()):
        ds = [docs[k] for k in idx]
        outs = outputs(docs, b, keep, idx)
        if key[1] == "gold":
            h, worst, over = T.harm(ds, outs)
            print(f"  {key[0]:12s} {key[1]:12s} harm {h:.2%} worst {worst:.0%} >5%: {over}")
        else:
            P, R, F1 = T.score(ds, outs)
            gP, gR, gF = T.score(ds, ["\n".join(d.paragraphs) for d in ds])
            print(f"  {key[0]:12s} {key[1]:12s} P {P:.3f} R {R:.3f} F1 {F1:.3f}   as given {gP:.3f} {gR:.3f} {gF:.3f}"
                  f"  dF1 {F1 - gF:+.3f}")
