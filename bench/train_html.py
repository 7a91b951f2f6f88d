"""Train and evaluate the HTML block model (cleaner/data/html_model.json) on WCXB-dev and Dragnet.

    python bench/train_html.py [--wcxb ../shared/bench/wcxb-dev] [--dragnet ../shared/bench/dragnet]
                               [--cv 5] [--cross] [--no-write] [--timing 300]

Per page: parse once, trafilatura ``extract()`` defaults on the tree (cached in
bench/out/html/, keyed by trafilatura's version), the block walk and the block
features of cleaner/html_extract.py (cached, keyed by that module's source).

Labels: a block's label is the share of its word 4-gram shingles, counted with
three words of context on each side (bench/train.py `labels_for`), found in the
gold text. Weights: a block's words over its page's, so each page counts alike
(both metrics average over pages); Dragnet pages weigh DRAGNET_WEIGHT each.

Stages: the own stage (boosted trees, bench/gbdt.py) on the block's features; the
context stage on its neighbours' and containers' own-stage scores plus the own
features. The context stage learns from own-stage scores of pages that stage did
not see (INNER folds of cross-fitting), so it trusts them as much as they deserve.
The keep threshold maximises the mean per-page F1 on the training pages, estimated
from the labels (tp = label x words of the kept blocks).

Held-out numbers: K folds grouped by site (a WCXB page is its own domain; a
Dragnet page's site is the domain of its canonical URL), trained on both sets,
scored with the exact metrics of ../shared/tools (WCXB word-bag P/R/F1 per page;
Dragnet 4-gram shingle P/R/F1, macro over pages), beside trafilatura defaults.
`--cross` also trains on one set and tests on the other. `--timing N` measures
CPU time of the whole HTML path against trafilatura.extract(html) on N pages.
"""

from __future__ import annotations

import argparse
import collections
import functools
import gzip
import hashlib
import importlib.util
import json
import pickle
import re
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from gbdt import fit_stage  # noqa: E402
from textdata import labels_for  # noqa: E402
from train import dump_model  # noqa: E402

from cleaner import html_extract as H  # noqa: E402
from cleaner.rules import RuleSet  # noqa: E402

SHARED = ROOT.parent / "shared"
CACHE = ROOT / "bench" / "out" / "html"
TOKEN = re.compile(r"\w+")
THRESHOLDS = [round(0.2 + 0.05 * i, 2) for i in range(11)]
DRAGNET_WEIGHT = 2.0
INNER = 1
SAMPLE = 0.4
HP_OWN = {"trees": 80, "depth": 4, "lr": 0.15, "min_hess": 20.0}
HP_CTX = {"trees": 80, "depth": 4, "lr": 0.15, "min_hess": 20.0}


@functools.cache
def tool(name: str) -> ModuleType:
    """A scorer of ../shared/tools, loaded when first used (a clone without ../shared imports
    this script, e.g. in the tests, and says what is missing only when it scores)."""
    spec = importlib.util.spec_from_file_location(name, SHARED / "tools" / f"{name}.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@dataclass
class Page:
    key: str  # "w:0001" / "d:100"
    dataset: str  # "wcxb" | "dragnet"
    ptype: str  # WCXB page type, "news" for Dragnet
    group: str  # site
    gold: str
    tf: str  # trafilatura's output used as evidence (TF_MODE)
    ref: str  # trafilatura defaults (the reference row)
    pf: H.PageFeatures
    y: np.ndarray
    w: np.ndarray


def canonical_site(raw: bytes, fallback: str) -> str:
    head = raw[:200000].decode("latin-1")
    m = re.search(r"<link[^>]+rel=[\"']?canonical[^>]*>", head, re.I)
    if m:
        h = re.search(r"href=[\"']?([^\"' >]+)", m.group(0), re.I)
        if h:
            d = re.sub(r"^[a-z]+://", "", h.group(1).strip().lower()).split("/")[0].split(":")[0]
            d = re.sub(r"^www\d?\.", "", d)
            if d:
                return d
    return fallback


def page_list(wcxb: Path, dragnet: Path) -> list[tuple[str, str, str, Path, Path]]:
    meta = json.loads((wcxb / "pages.json").read_text(encoding="utf-8"))
    out = [(f"w:{k}", "wcxb", m["page_type"], wcxb / "html" / f"{k}.html.gz", wcxb / "gold" / f"{k}.txt")
           for k, m in sorted(meta.items())]
    out += [(f"d:{g.stem}", "dragnet", "news", dragnet / "html" / f"{g.stem}.html.gz", g)
            for g in sorted((dragnet / "gold").glob("*.txt"))]
    return out


TF_MODES: dict[str, dict[str, bool]] = {"default": {}, "fast": {"fast": True}}
TF_MODE = "fast"


def trafilatura_cache(pages: list[tuple[str, str, str, Path, Path]], mode: str) -> dict[str, str]:
    import trafilatura

    f = CACHE / f"tf-{mode}-{trafilatura.__version__}.json"
    if f.exists():
        return json.loads(f.read_text())
    ex = H.HtmlExtractor.__new__(H.HtmlExtractor)
    ex._extract = None
    ex.model = H.HtmlModel(H.Stage((), 0, 0.0, np.zeros((1, 1), dtype=np.int64), np.zeros((1, 1)),
                                   np.zeros((1, 1))), None, 0.5, TF_MODES[mode])  # type: ignore[arg-type]
    res = {}
    for key, _, _, html, _ in pages:
        tree = H.parse(gzip.open(html).read())
        res[key] = ex.trafilatura_text(tree) if tree is not None else ""
    CACHE.mkdir(parents=True, exist_ok=True)
    f.write_text(json.dumps(res))
    return res


def load(wcxb: Path, dragnet: Path) -> list[Page]:
    pages = page_list(wcxb, dragnet)
    tf = trafilatura_cache(pages, TF_MODE)
    ref = trafilatura_cache(pages, "default")
    src = (ROOT / "cleaner" / "html_extract.py").read_bytes() + (ROOT / "cleaner" / "data" / "rules.toml").read_bytes()
    key = TF_MODE + "-" + hashlib.sha256(src).hexdigest()[:12]
    f = CACHE / f"feats-{key}.pkl"
    if f.exists():
        return [Page(**d) for d in pickle.loads(f.read_bytes())]
    rules = RuleSet.build()
    out = []
    t0 = time.time()
    for key_, ds, ptype, html, goldf in pages:
        raw = gzip.open(html).read()
        gold = goldf.read_text(encoding="utf-8", errors="replace")
        tree = H.parse(raw)
        pf = H.page_features(H._walk(tree) if tree is not None else H._Walk(), tf.get(key_, ""), rules)
        y, w = labels_for([b.text for b in pf.blocks], gold)
        group = key_ if ds == "wcxb" else canonical_site(raw, key_)
        out.append(Page(key_, ds, ptype, group, gold, tf.get(key_, ""), ref.get(key_, ""), pf, y, w))
    print(f"features of {len(out)} pages in {time.time() - t0:.0f}s", flush=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    f.write_bytes(pickle.dumps([dict(vars(p)) for p in out]))
    return out


# --- fitting -------------------------------------------------------------------------------

def weights(pages: list[Page]) -> np.ndarray:
    return np.concatenate([p.w * (DRAGNET_WEIGHT if p.dataset == "dragnet" else 1.0) for p in pages])


def subsample(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows for fitting: every block whose weight reaches q, a block below it with probability
    w/q and weight q (unbiased, and the fitting time of bench/gbdt.py is linear in the rows);
    q is set so that about SAMPLE of the rows stay. Seeded: deterministic."""
    if SAMPLE >= 1:
        return x, y, w
    keep_n = SAMPLE * len(w)
    lo, hi = 0.0, float(w.max())
    for _ in range(40):  # q with sum(min(1, w/q)) = keep_n
        q = (lo + hi) / 2
        if np.minimum(1, w / q).sum() > keep_n:
            lo = q
        else:
            hi = q
    q = hi
    p = np.minimum(1, w / q)
    take = np.random.default_rng(0).random(len(w)) < p
    return x[take], y[take], w[take] / p[take]


def fit_own(pages: list[Page]) -> H.Stage:
    x = np.concatenate([p.pf.x for p in pages])
    y = np.concatenate([p.y for p in pages])
    return fit_stage(*subsample(x, y, weights(pages)), H.OWN_FEATURES, **HP_OWN)  # type: ignore[arg-type]


def ctx_rows(own: H.Stage, p: Page) -> np.ndarray:
    p1 = H.sigmoid(own.logits(p.pf.x)) if len(p.pf.x) else np.zeros(0)
    return np.hstack([H.context_features(p1, p.pf), p.pf.x])


def train(pages: list[Page], log: bool = False) -> H.HtmlModel:
    pages = [p for p in pages if len(p.pf.blocks)]
    own = fit_own(pages)
    owners = [own] * len(pages)
    if INNER > 1:
        fold = inner_folds(pages, INNER)
        for k in range(INNER):
            m_k = fit_own([p for p, f in zip(pages, fold) if f != k])
            for i, f in enumerate(fold):
                if f == k:
                    owners[i] = m_k
    x2 = np.concatenate([ctx_rows(o, p) for o, p in zip(owners, pages)])
    y = np.concatenate([p.y for p in pages])
    ctx = fit_stage(*subsample(x2, y, weights(pages)), H.CONTEXT_FEATURES + H.OWN_FEATURES, **HP_CTX)  # type: ignore[arg-type]
    model = H.HtmlModel(own, ctx, 0.5, TF_MODES[TF_MODE])
    # threshold: mean estimated per-page F1 of the training pages (scores as the pages would get
    # them: own stage cross-fitted, like the rows the context stage learned from)
    probs = [H.sigmoid(ctx.logits(ctx_rows(o, p))) for o, p in zip(owners, pages)]
    model.threshold = pick_threshold(pages, probs)
    if log:
        print(f"  threshold {model.threshold}", flush=True)
    return model


def pick_threshold(pages: list[Page], probs: list[np.ndarray]) -> float:
    gold_words = [max(1, len(TOKEN.findall(p.gold))) for p in pages]

    def est(t: float) -> float:
        f = []
        for p, pr, g in zip(pages, probs, gold_words):
            keep = pr >= t
            tp = float((p.y * p.pf.words)[keep].sum())
            pred = float(p.pf.words[keep].sum())
            f.append(2 * tp / (pred + g) if pred + g else 0.0)
        return statistics.mean(f)

    return max(THRESHOLDS, key=lambda t: (round(est(t), 4), -abs(t - 0.5)))


def inner_folds(pages: list[Page], k: int) -> list[int]:
    groups = sorted({p.group for p in pages}, key=lambda g: hashlib.sha256(g.encode()).hexdigest())
    gi = {g: i % k for i, g in enumerate(groups)}
    return [gi[p.group] for p in pages]


# --- evaluation ------------------------------------------------------------------------------

def decide(model: H.HtmlModel, p: Page) -> H.PageResult:
    ex = H.HtmlExtractor.__new__(H.HtmlExtractor)
    ex.model, ex.explain = model, False
    return ex.decide(p.pf)


def predict(model: H.HtmlModel, p: Page) -> str:
    return decide(model, p).text


def score(p: Page, text: str) -> tuple[float, float, float]:
    if p.dataset == "wcxb":
        P, Rc, F = tool("wcxb_score").word_prf(text, p.gold)
        return P, Rc, F
    return tool("shingle_f1").tp_fp_fn(p.gold, text)


def summarise(rows: dict[str, list[tuple[str, tuple[float, float, float]]]], dataset: str
              ) -> dict[str, tuple[float, float, float]]:
    """Per page type (and 'all'): WCXB's mean of per-page P/R/F1; Dragnet's macro of shingle counts."""
    out = {}
    by_type: dict[str, list[tuple[float, float, float]]] = collections.defaultdict(list)
    for t, r in rows[dataset]:
        by_type[t].append(r)
        by_type["all"].append(r)
    for t in sorted(by_type, key=lambda s: (s != "all", s)):
        rs = by_type[t]
        if dataset == "wcxb":
            out[t] = tuple(statistics.mean(r[i] for r in rs) for i in range(3))  # type: ignore[assignment]
        else:
            out[t] = tool("shingle_f1").macro(rs)
    return out


def report(title: str, held: dict[str, list[tuple[str, tuple[float, float, float]]]],
           base: dict[str, list[tuple[str, tuple[float, float, float]]]]) -> dict[str, dict[str, list[float]]]:
    print(title)
    res: dict[str, dict[str, list[float]]] = {}
    for ds in ("wcxb", "dragnet"):
        if not held.get(ds):
            continue
        a, b = summarise(held, ds), summarise(base, ds)
        metric = "word" if ds == "wcxb" else "shingle"
        res[ds] = {}
        for t in a:
            print(f"  {ds:8s} {t:14s} n={sum(1 for x in held[ds] if t in ('all', x[0])):4d}  {metric} "
                  f"P {a[t][0]:.3f} R {a[t][1]:.3f} F1 {a[t][2]:.3f}   trafilatura P {b[t][0]:.3f} "
                  f"R {b[t][1]:.3f} F1 {b[t][2]:.3f}   {a[t][2] - b[t][2]:+.3f}")
            res[ds][t] = [round(v, 4) for v in a[t]] + [round(b[t][2], 4)]
    sys.stdout.flush()
    return res


def run_folds(pages: list[Page], k: int) -> dict[str, list[tuple[str, tuple[float, float, float]]]]:
    fold = inner_folds(pages, k)
    held: dict[str, list[tuple[str, tuple[float, float, float]]]] = collections.defaultdict(list)
    probs: dict[str, np.ndarray] = {}
    models_dir = ROOT / "bench" / "out" / "models"  # for bench/quality.py, which runs `clean` held out
    models_dir.mkdir(parents=True, exist_ok=True)
    (models_dir / "html-folds.json").write_text(json.dumps({"folds": k, "of": {p.key: g for p, g in zip(pages, fold)}}),
                                                encoding="utf-8")
    for f in range(k):
        t0 = time.time()
        model = train([p for p, g in zip(pages, fold) if g != f])
        (models_dir / f"html-fold-{f}.json").write_text(json.dumps(model.to_json()), encoding="utf-8")
        for p, g in zip(pages, fold):
            if g == f:
                res = decide(model, p)
                probs[p.key] = res.scores
                held[p.dataset].append((p.ptype, score(p, res.text)))
        print(f"  fold {f + 1}/{k}: threshold {model.threshold} ({time.time() - t0:.0f}s)", flush=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    (CACHE / "heldout.pkl").write_bytes(pickle.dumps(probs))  # for diagnostics (which pages, which blocks)
    # diagnostic only (the folds chose their own thresholds): held-out F1 at other fixed thresholds
    for t in (0.3, 0.4, 0.5, 0.6):
        rows: dict[str, list[tuple[str, tuple[float, float, float]]]] = collections.defaultdict(list)
        for p in pages:
            if p.key in probs:
                text = "\n".join(b.text for b, s in zip(p.pf.blocks, probs[p.key]) if s >= t)
                rows[p.dataset].append((p.ptype, score(p, text)))
        f1 = {ds: summarise(rows, ds)["all"][2] for ds in ("wcxb", "dragnet")}
        print(f"  (threshold {t}: held-out mean F1 per page wcxb {f1['wcxb']:.3f} dragnet {f1['dragnet']:.3f})")
    return held


def baseline(pages: list[Page]) -> dict[str, list[tuple[str, tuple[float, float, float]]]]:
    base: dict[str, list[tuple[str, tuple[float, float, float]]]] = collections.defaultdict(list)
    for p in pages:
        base[p.dataset].append((p.ptype, score(p, p.ref)))
    return base


# --- timing ------------------------------------------------------------------------------------

def timing(pages: list[tuple[str, str, str, Path, Path]], n: int) -> None:
    """CPU time of trafilatura.extract(html) defaults against the whole HTML path, page by page
    interleaved in one process (so both see the same machine load)."""
    import trafilatura

    step = max(1, len(pages) // n)
    sel = pages[::step][:n]
    raws = [gzip.open(h).read() for _, _, _, h, _ in sel]
    ex = H.HtmlExtractor()
    for raw in raws[:5]:  # warm up both (imports, caches)
        trafilatura.extract(raw)
        ex.clean_page(raw)
    t_tf = t_ours = 0.0
    for raw in raws:
        t = time.process_time()
        trafilatura.extract(raw)
        t_tf += time.process_time() - t
        t = time.process_time()
        ex.clean_page(raw)
        t_ours += time.process_time() - t
    print(f"timing on {len(raws)} pages: trafilatura.extract(html) {t_tf:.2f}s, cleaner HTML path "
          f"{t_ours:.2f}s, ratio {t_ours / t_tf:.3f}", flush=True)


def main(argv: list[str] | None = None) -> int:
    global INNER, TF_MODE, DRAGNET_WEIGHT
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--wcxb", type=Path, default=SHARED / "bench" / "wcxb-dev")
    ap.add_argument("--dragnet", type=Path, default=SHARED / "bench" / "dragnet")
    ap.add_argument("--cv", type=int, default=5)
    ap.add_argument("--cross", action="store_true", help="also train on one set, test on the other")
    ap.add_argument("--inner", type=int, default=INNER)
    ap.add_argument("--tf", choices=sorted(TF_MODES), default=TF_MODE, help="trafilatura mode used as evidence")
    ap.add_argument("--dragnet-weight", type=float, default=DRAGNET_WEIGHT)
    ap.add_argument("--hp", default="", help="TREES,DEPTH,LR,MIN_HESS for both stages (experiments)")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--timing", type=int, default=0, help="time the HTML path on this many pages, then stop")
    ap.add_argument("--out", type=Path, default=ROOT / "cleaner" / "data" / "html_model.json")
    a = ap.parse_args(argv)
    INNER, TF_MODE, DRAGNET_WEIGHT = a.inner, a.tf, a.dragnet_weight
    if a.hp:
        t_, d_, l_, m_ = a.hp.split(",")
        for hp in (HP_OWN, HP_CTX):
            hp.update(trees=int(t_), depth=int(d_), lr=float(l_), min_hess=float(m_))
    if a.timing:
        timing(page_list(a.wcxb, a.dragnet), a.timing)
        return 0
    t0 = time.time()
    pages = load(a.wcxb, a.dragnet)
    print(f"{len(pages)} pages, {sum(len(p.pf.blocks) for p in pages)} blocks ({time.time() - t0:.0f}s)", flush=True)
    base = baseline(pages)
    meta: dict[str, object] = {"trained_on": "WCXB-dev (1,476 pages) + Dragnet dev (346 pages), block labels "
                               "from gold 4-gram shingles", "hp_own": HP_OWN, "hp_context": HP_CTX,
                               "inner_folds": INNER, "dragnet_weight": DRAGNET_WEIGHT, "trafilatura_mode": TF_MODE}
    if a.cv:
        held = run_folds(pages, a.cv)
        meta["cv"] = report(f"{a.cv}-fold CV grouped by site, trained on both sets (held-out):", held, base)
    if a.cross:
        for tr, te in (("wcxb", "dragnet"), ("dragnet", "wcxb")):
            model = train([p for p in pages if p.dataset == tr])
            held = collections.defaultdict(list)
            for p in pages:
                if p.dataset == te:
                    held[te].append((p.ptype, score(p, predict(model, p))))
            meta[f"train_{tr}_test_{te}"] = report(f"trained on {tr} only, tested on {te}:", held, base)
    if not a.no_write:
        model = train(pages, log=True)
        model.meta = meta
        a.out.write_text(dump_model(model), encoding="utf-8")  # type: ignore[arg-type]
        print(f"wrote {a.out} ({time.time() - t0:.0f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
