"""Train the paragraph model (cleaner/data/model.json) on the Dragnet dev set.

    python bench/train.py --dragnet ../shared/bench/dragnet [--cv 5] [--out cleaner/data/model.json]

Reads DIR/fulltext/*.txt (whole page text, one block per line), DIR/html/*.html.gz
(extracted with cleaner's trafilatura settings) and DIR/gold/*.txt. The data set
lives outside the repository (../shared/bench in this workplace); tests never
need it.

Labels come from the gold text: a paragraph's label is the share of its word
4-gram shingles -- counted with three words of context on each side, so short
lines are judged by whether they sit inside gold text -- that occur in the gold
text. Samples are weighted by their word count over the document's, so each page
counts alike (the score is averaged over pages).

Each stage is an L2-regularised logistic regression fitted by Newton's method
(numpy only, deterministic). The own stage learns from paragraph features; each
context stage from the previous stage's scores around the paragraph. The keep
threshold is chosen by the 4-gram shingle F1 of the whole decision (rules,
context, settling, exact duplicates) over all pages of both inputs.

`--cv K` also reports K-fold cross-validated scores: pages split into K folds,
each fold scored with a model trained on the other K-1 folds (threshold included,
unless `--threshold` fixes it).

Tree settings were chosen by 5-fold CV (F1 fulltext / html, threshold 0.3):
120 trees, min. hessian 20: 0.897 / 0.902 (dev 0.919 / 0.919); 80 trees,
min. hessian 60: 0.899 / 0.906 (dev 0.909 / 0.917), kept. Cross-fitting the own
stage for the context stage (CLEANER_TRAIN_INNER=5, run together with two new
navigation rules that alone change nothing measurable) did not help: 0.893 / 0.905.
Weighting the html pages double (CLEANER_TRAIN_HTML_WEIGHT=2): dev 0.906 / 0.918
against 0.913 / 0.917, not kept.
"""

from __future__ import annotations

import argparse
import collections
import gzip
import hashlib
import json
import os
import re
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from gbdt import fit_stage  # noqa: E402

from cleaner import boilerplate as B  # noqa: E402
from cleaner.document import Drop, split_paragraphs  # noqa: E402
from cleaner.extract import Extractor  # noqa: E402
from cleaner.rules import RuleSet  # noqa: E402
from cleaner.textutil import para_key  # noqa: E402

TOKEN = re.compile(r"\w+", re.UNICODE)
CONTEXT_STAGES = 1
# Relative weight of each input's pages in training (experiments: CLEANER_TRAIN_HTML_WEIGHT).
SOURCE_WEIGHT = {"fulltext": 1.0, "html": float(os.environ.get("CLEANER_TRAIN_HTML_WEIGHT", "1"))}
INNER_FOLDS = int(os.environ.get("CLEANER_TRAIN_INNER", "1"))
THRESHOLDS = [round(0.15 + 0.05 * i, 2) for i in range(9)]



# --- data -------------------------------------------------------------------------------

@dataclass
class Doc:
    id: str
    source: str  # "fulltext" | "html"
    paragraphs: list[str]
    gold: str
    feats: list[B.ParaFeat]
    labels: np.ndarray
    weights: np.ndarray


def shingles(tokens: Sequence[str], n: int = 4) -> collections.Counter:
    return collections.Counter(tuple(tokens[i:i + n]) for i in range(max(1, len(tokens) - n + 1))
                               if tokens[i:i + n])


def labels_for(paragraphs: list[str], gold: str) -> tuple[np.ndarray, np.ndarray]:
    gold_sh = set(shingles(TOKEN.findall(gold)))
    toks = [TOKEN.findall(p) for p in paragraphs]
    y = np.zeros(len(paragraphs))
    w = np.array([len(t) for t in toks], dtype=float)
    for i, t in enumerate(toks):
        if not t:
            continue
        left = [x for p in toks[max(0, i - 3):i] for x in p][-3:]
        right = [x for p in toks[i + 1:i + 4] for x in p][:3]
        seq = left + t + right
        lo, hi = len(left), len(left) + len(t)
        grams = [tuple(seq[j:j + 4]) for j in range(max(1, len(seq) - 3))
                 if j + 4 > lo and j < hi]
        if grams:
            y[i] = sum(1 for g in grams if g in gold_sh) / len(grams)
    total = w.sum()
    return y, (w / total if total else w)


def extract_all(dragnet: Path, cache: Path | None) -> dict[str, str]:
    ext = Extractor()
    key = hashlib.sha256(repr(ext.settings).encode()).hexdigest()[:12]
    cfile = cache / f"html-{key}.json" if cache else None
    if cfile and cfile.exists():
        return json.loads(cfile.read_text())
    out = {}
    for p in sorted((dragnet / "html").glob("*.html.gz")):
        out[p.name[:-len(".html.gz")]] = ext(gzip.open(p).read())
    if cfile:
        cfile.parent.mkdir(parents=True, exist_ok=True)
        cfile.write_text(json.dumps(out))
    return out


def load(dragnet: Path, clf: B.Classifier, cache: Path | None) -> list[Doc]:
    html = extract_all(dragnet, cache)
    docs = []
    for g in sorted((dragnet / "gold").glob("*.txt")):
        gold = g.read_text(encoding="utf-8", errors="replace")
        for source, text in (("fulltext", (dragnet / "fulltext" / g.name).read_text(encoding="utf-8",
                                                                                    errors="replace")),
                             ("html", html.get(g.stem, ""))):
            paras = split_paragraphs(text)[0]
            feats = clf.features(paras)[0]
            y, w = labels_for(paras, gold)
            w = w * SOURCE_WEIGHT.get(source, 1.0)
            docs.append(Doc(g.stem, source, paras, gold, feats, y, w))
    return docs


# --- fitting ----------------------------------------------------------------------------

def train(docs: list[Doc], rules: RuleSet, threshold: float | None = None) -> B.Model:
    """Fit the stages one after the other, then pick the threshold on the same documents.

    The context stage learns from own-stage scores of pages the own stage did not
    see (cross-fitting over INNER_FOLDS folds of pages), so that it trusts them as
    much as they deserve on new pages; the shipped own stage is fitted on all pages."""
    clf = B.Classifier(rules, model=placeholder())
    blocked = [clf.ruled_out(d.feats) for d in docs]
    inputs = [clf.stage_inputs(d.feats, b) for d, b in zip(docs, blocked)]
    y = np.concatenate([d.labels[~b] for d, b in zip(docs, blocked)])
    w = np.concatenate([d.weights[~b] for d, b in zip(docs, blocked)])

    def fit_own(sel: list[int]) -> B.Stage:
        return fit_stage(np.concatenate([inputs[i][0][~blocked[i]] for i in sel]),
                         np.concatenate([docs[i].labels[~blocked[i]] for i in sel]),
                         np.concatenate([docs[i].weights[~blocked[i]] for i in sel]), B.OWN_FEATURES)

    own = fit_own(list(range(len(docs))))
    model = B.Model(own, [], 0.5)
    clf.model = model
    for stage in range(CONTEXT_STAGES):
        owners: list[B.Model] = [model] * len(docs)
        if stage == 0 and INNER_FOLDS > 1:
            ids = sorted({d.id for d in docs})
            fold = {pid: k % INNER_FOLDS for k, pid in enumerate(ids)}
            for k in range(INNER_FOLDS):
                out = [i for i, d in enumerate(docs) if fold[d.id] != k]
                m_k = B.Model(fit_own(out), [], 0.5)
                for i, d in enumerate(docs):
                    if fold[d.id] == k:
                        owners[i] = m_k
        xs = []
        for i, (d, b) in enumerate(zip(docs, blocked)):
            clf.model = owners[i]
            stages, _, _ = clf.scores(d.feats, b)
            x1, _, ov, heading, marker = clf.stage_inputs(d.feats, b)
            xs.append(np.hstack([B.context_matrix(stages[-1], d.feats, ov, heading, marker), x1])[~b])
        clf.model = model
        model.context.append(fit_stage(np.concatenate(xs), y, w, B.CONTEXT_FEATURES + B.OWN_FEATURES))
    if threshold is None:
        best = max(THRESHOLDS, key=lambda t: (f1_of(evaluate(docs, clf, t)), -abs(t - 0.5)))
        model.threshold = best
    else:
        model.threshold = threshold
    return model


def placeholder() -> B.Model:
    zero = B.Stage(B.OWN_FEATURES, 0, 0.0, np.zeros((1, 1), dtype=np.int64), np.full((1, 1), np.inf),
                   np.zeros((1, 1)))
    return B.Model(zero, [], 0.5)


# --- scoring (the metric of shingle_f1.py) ---------------------------------------------------

def prf(gold: str, pred: str) -> tuple[float, float, float]:
    a, b = shingles(TOKEN.findall(gold)), shingles(TOKEN.findall(pred))
    tp = sum(min(a[k], b[k]) for k in a.keys() & b.keys())
    fp, fn = sum(b.values()) - tp, sum(a.values()) - tp
    s = tp + fp + fn
    return (tp / s, fp / s, fn / s) if s else (0.0, 0.0, 0.0)


def macro(rows: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    def p(tp: float, fp: float, fn: float) -> float:
        return 1.0 if fp == fn == 0 else (0.0 if tp == fp == 0 else tp / (tp + fp))

    def r(tp: float, fp: float, fn: float) -> float:
        return 1.0 if fp == fn == 0 else (0.0 if tp == fn == 0 else tp / (tp + fn))

    ps = [p(*x) for x in rows if x[0] + x[1] > 0]
    rs = [r(*x) for x in rows if x[0] + x[2] > 0]
    P = statistics.mean(ps) if ps else 0.0
    Rc = statistics.mean(rs) if rs else 0.0
    return P, Rc, (2 * P * Rc / (P + Rc) if P + Rc else 0.0)


def f1_of(scores: dict[str, tuple[float, float, float]]) -> float:
    return statistics.mean(v[2] for v in scores.values())


def kept_text(clf: B.Classifier, doc: Doc) -> str:
    """What cleaning keeps of one document, short of corpus-level dedup and templates."""
    infos = clf.settle(doc.feats)
    kept = [i for i, info in enumerate(infos) if info.reason is None]
    seen: set[int] = set()
    dups: dict[int, Drop] = {}
    for i in kept:
        k = para_key(doc.paragraphs[i])
        if k in seen and len(doc.paragraphs[i]) >= 10:
            dups[i] = Drop("duplicate-paragraph")
        seen.add(k)
    if dups:
        infos = clf.settle(doc.feats, dups)
        kept = [i for i, info in enumerate(infos) if info.reason is None]
    return "\n".join(doc.paragraphs[i] for i in kept)


def evaluate(docs: list[Doc], clf: B.Classifier, threshold: float | None = None
             ) -> dict[str, tuple[float, float, float]]:
    """Macro P, R, F1 per source."""
    if threshold is not None:
        clf.model.threshold = threshold
    rows: dict[str, list[tuple[float, float, float]]] = collections.defaultdict(list)
    for d in docs:
        rows[d.source].append(prf(d.gold, kept_text(clf, d)))
    return {s: macro(r) for s, r in sorted(rows.items())}


def fmt(scores: dict[str, tuple[float, float, float]]) -> str:
    return "  ".join(f"{s}: P {p:.3f} R {r:.3f} F1 {f:.3f}" for s, (p, r, f) in scores.items())


def dump_model(model: B.Model) -> str:
    """model.json with one line per tree array row (readable diffs, small file)."""
    def dumps(v: object, indent: str) -> str:
        if isinstance(v, dict):
            inner = indent + " "
            items = [f"{inner}{json.dumps(k)}: {dumps(x, inner)}" for k, x in v.items()]
            return "{\n" + ",\n".join(items) + "\n" + indent + "}"
        if isinstance(v, list) and v and isinstance(v[0], dict):
            inner = indent + " "
            return "[\n" + ",\n".join(inner + dumps(x, inner) for x in v) + "\n" + indent + "]"
        if isinstance(v, list) and v and isinstance(v[0], list):
            inner = indent + " "
            return "[\n" + ",\n".join(inner + json.dumps(x, separators=(",", ":")) for x in v) + "\n" + indent + "]"
        return json.dumps(v, separators=(",", ":"))

    return dumps(model.to_json(), "") + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dragnet", required=True, type=Path)
    ap.add_argument("--out", type=Path, default=ROOT / "cleaner" / "data" / "model.json")
    ap.add_argument("--cv", type=int, default=0, help="also report K-fold cross-validated scores")
    ap.add_argument("--cache", type=Path, default=None, help="cache trafilatura output here")
    ap.add_argument("--threshold", type=float, default=None,
                    help="use this keep threshold instead of searching for it (faster; also in the folds)")
    ap.add_argument("--no-write", action="store_true")
    a = ap.parse_args(argv)
    t0 = time.time()
    rules = RuleSet.build()
    docs = load(a.dragnet, B.Classifier(rules, model=placeholder()), a.cache)
    print(f"{len(docs)} documents, {sum(len(d.paragraphs) for d in docs)} paragraphs "
          f"({time.time() - t0:.0f}s)", flush=True)
    model = train(docs, rules, a.threshold)
    clf = B.Classifier(rules, model=model)
    dev = evaluate(docs, clf)
    print(f"dev set (threshold {model.threshold}): {fmt(dev)}", flush=True)
    model.meta = {"trained_on": "dragnet dev set, fulltext + trafilatura output, labels from gold shingles",
                  "dev": {s: [round(v, 4) for v in x] for s, x in dev.items()}}
    if a.cv:
        ids = sorted({d.id for d in docs})
        fold = {i: k % a.cv for k, i in enumerate(ids)}
        held: list[Doc] = []
        outs: dict[str, list[tuple[float, float, float]]] = collections.defaultdict(list)
        for k in range(a.cv):
            tr = [d for d in docs if fold[d.id] != k]
            te = [d for d in docs if fold[d.id] == k]
            m = train(tr, rules, a.threshold)
            c = B.Classifier(rules, model=m)
            for d in te:
                outs[d.source].append(prf(d.gold, kept_text(c, d)))
            held.extend(te)
            print(f"  fold {k + 1}/{a.cv}: threshold {m.threshold}", flush=True)
        cv = {s: macro(r) for s, r in sorted(outs.items())}
        print(f"{a.cv}-fold cross-validated: {fmt(cv)}", flush=True)
        model.meta["cv"] = {s: [round(v, 4) for v in x] for s, x in cv.items()}
    if not a.no_write:
        a.out.write_text(dump_model(model), encoding="utf-8")
        print(f"wrote {a.out} ({time.time() - t0:.0f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
