"""Train the paragraph model (cleaner/data/model.json) on both development sets, held out by site.

    python bench/train.py [--folds 5] [--out cleaner/data/model.json] [--no-write] [--rule-stats]

Data (bench/textdata.py; the sets live outside the repository, ../shared/bench here):
wcxb-dev and Dragnet, each as every text input a user has — the page's whole text,
three extractors' outputs (trafilatura, readability, boilerpipe), and the clean gold
text itself — plus the multilingual clean set (bench/multilingual, when built; the
documents of the test fixture's languages and sources are left out, so that the
tests stay held out). Labels come from the gold text (textdata.labels_for); each
input of each set weighs alike, and inside it each document alike.

Stages are stacked on out-of-fold inputs, folds grouped by site (the domain of the
page): the own stage of fold k learns on the other folds; the document stage learns
"is this a whole-page dump" from out-of-fold own scores; the context stage from both;
the second context stage from the context stage's out-of-fold scores of the neighbours.
The shipped stages learn on everything the same way.

The thresholds (t_clean for extracted or clean text, t_dump for whole pages) are
chosen on the held-out decisions of the shipped decision code (Classifier.settle_many,
rules and block cuts included): the best mean F1 over the extracted and whole-page
inputs of both sets such that at most MAX_HARM of the clean gold words are removed
on each set. The numbers printed and kept in model.json's meta are held out.
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

from cleaner import boilerplate as B  # noqa: E402
from cleaner.gbdt import sigmoid  # noqa: E402
from cleaner.rules import RuleSet  # noqa: E402
from cleaner.rules import decide as decide_hits  # noqa: E402
from cleaner.textfeat import ContentIndex  # noqa: E402

# Capacity: chosen by grouped 5-fold CV (dragnet whole-page text F1: 80 trees of depth 3
# 0.871-0.874, 160 of depth 4 0.878-0.879; the own and document stages need less).
OWN_TREES, OWN_DEPTH = 80, 3
DOC_TREES, DOC_DEPTH, DOC_MIN_HESS = 60, 3, 5.0
CTX_TREES, CTX_DEPTH = 160, 4
# Share of the training paragraphs the own and context stages learn from (a fixed random
# subset: the fit is linear in rows, and 30 % changed held-out F1 by < 0.002).
SUBSAMPLE = 0.3
MAX_HARM = 0.004
T_CLEAN = (0.03, 0.05)
T_DUMP = (0.25, 0.3, 0.35)
# Objectives this close are a tie (a held-out difference of 0.001 is within the spread of the
# folds): of tied thresholds, those removing the least of the clean gold win. On 2026-12-02
# t_dump 0.3 led 0.25 by 0.0010 (stripping alone), while with the default run (dedup too) 0.25
# scored higher held out (WCXB fulltext 0.820 vs 0.817, Dragnet 0.876 vs 0.875) and removed
# less gold (WCXB 1.25 vs 1.36 %).
OBJECTIVE_TIE = 0.002


def fixture_keys() -> set[tuple[str, str]]:
    idx = ROOT / "fixtures" / "multilingual" / "index.json"
    if not idx.exists():
        return set()
    docs = json.loads(idx.read_text(encoding="utf-8")).get("documents", [])
    return {(d["lang"], d["source"]) for d in docs}


def load_docs() -> list[T.Doc]:
    docs = T.load_all()
    ml_root = ROOT / "bench" / "out" / "multilingual"
    if (ml_root / "index.json").exists():
        held = fixture_keys()
        index = json.loads((ml_root / "index.json").read_text(encoding="utf-8"))
        source = {d["file"][:-4]: (d["lang"], d["source"]) for d in index.get("documents", [])}
        docs += [d for d in T.load_multilingual(ml_root) if source.get(d.id) not in held]
    else:
        print("no multilingual set (make bench-multilingual builds it): trained without it", file=sys.stderr)
    return docs


def features(docs: list[T.Doc], clf: B.Classifier) -> B.Features:
    src = b"".join((ROOT / "cleaner" / f).read_bytes() for f in ("textfeat.py", "rules.py", "prefilter.py",
                                                                  "boilerplate.py", "data/rules.toml"))
    key = hashlib.sha256(src + str(len(docs)).encode()).hexdigest()[:12]
    cfile = T.CACHE / f"features-{key}.pkl"
    if cfile.exists():
        with open(cfile, "rb") as fh:
            return pickle.load(fh)
    t = time.time()
    f, _ = clf.features_many([d.paragraphs for d in docs])
    print(f"features of {len(f)} paragraphs: {time.time() - t:.0f}s", flush=True)
    T.CACHE.mkdir(parents=True, exist_ok=True)
    with open(cfile, "wb") as fh:
        pickle.dump(f, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return f


def folds_of(docs: list[T.Doc], k: int) -> np.ndarray:
    """Fold of each document: by a hash of its site, so one site is never on both sides."""
    return np.array([int(hashlib.md5(d.group.encode()).hexdigest(), 16) % k for d in docs])


def ruled(f: B.Features) -> np.ndarray:
    """The paragraphs a rule removes before the model: no training rows, and bad context. A late
    rule's paragraph is neither (it is context like any other line when the model decides)."""
    decided = [decide_hits(hs) if hs else None for hs in f.hits]
    return np.array([h is not None and not h.late for h in decided], dtype=bool)


def sample_weights(docs: list[T.Doc], f: B.Features) -> np.ndarray:
    cnt = collections.Counter((d.set, d.input) for d in docs)
    per_doc = np.array([1000.0 / cnt[(d.set, d.input)] for d in docs])
    return np.concatenate([d.weights for d in docs]) * per_doc[f.para_doc()]


def fit_all(docs: list[T.Doc], f: B.Features, fold_doc: np.ndarray, folds: int, params: B.Params, seed: int = 7
            ) -> tuple[list[B.Model], B.Model]:
    """The per-fold models (trained without fold k) and the shipped one (trained on all)."""
    n = len(f)
    y = np.concatenate([d.labels for d in docs])
    w = sample_weights(docs, f)
    blocked = ruled(f)
    doc = f.para_doc()
    fold = fold_doc[doc]
    sub = np.random.default_rng(seed).random(n) < SUBSAMPLE
    t = time.time()
    own = []
    s_oof = np.zeros(n)
    for k in range(folds):
        tr = (fold != k) & ~blocked & sub
        st = fit_stage(f.own[tr], y[tr], w[tr], B.OWN_FEATURES, trees=OWN_TREES, depth=OWN_DEPTH)
        own.append(st)
        s_oof[fold == k] = st.logits(f.own[fold == k])
    s_oof = np.where(blocked, B.EDGE_SCORE, s_oof)
    own_all = fit_stage(f.own[~blocked & sub], y[~blocked & sub], w[~blocked & sub], B.OWN_FEATURES,
                        trees=OWN_TREES, depth=OWN_DEPTH)
    print(f"  own stages: {time.time() - t:.0f}s", flush=True)
    dmat = B.doc_matrix(f, s_oof, params)
    is_dump = np.array([1.0 if d.input == "fulltext" else 0.0 for d in docs])
    nonempty = np.diff(f.doc_start) > 0
    docs_st = []
    p_oof = np.zeros(len(docs))
    for k in range(folds):
        tr = (fold_doc != k) & nonempty
        st = fit_stage(dmat[tr], is_dump[tr], np.ones(int(tr.sum())), B.DOC_FEATURES, trees=DOC_TREES,
                       depth=DOC_DEPTH, min_hess=DOC_MIN_HESS)
        docs_st.append(st)
        p_oof[fold_doc == k] = sigmoid(st.logits(dmat[fold_doc == k]))
    doc_all = fit_stage(dmat[nonempty], is_dump[nonempty], np.ones(int(nonempty.sum())), B.DOC_FEATURES,
                        trees=DOC_TREES, depth=DOC_DEPTH, min_hess=DOC_MIN_HESS)
    content = ContentIndex(*f.content(), f.para_doc())  # both context stages' word overlap
    x = B.context_matrix(f, s_oof, p_oof, dmat, params, content, own=f.own)
    names = B.CONTEXT_FEATURES + B.OWN_FEATURES
    ctx = []
    s2_oof = np.zeros(n)
    for k in range(folds):
        tr = (fold != k) & ~blocked & sub
        ctx.append(fit_stage(x[tr], y[tr], w[tr], names, trees=CTX_TREES, depth=CTX_DEPTH))
        s2_oof[fold == k] = ctx[k].logits(x[fold == k])
        print(f"  context stage of fold {k + 1}/{folds}: {time.time() - t:.0f}s", flush=True)
    ctx_all = fit_stage(x[~blocked & sub], y[~blocked & sub], w[~blocked & sub], names, trees=CTX_TREES,
                        depth=CTX_DEPTH)
    # the second context stage: the same features, from the neighbours' out-of-fold context scores
    x = B.context_matrix(f, np.where(blocked, B.EDGE_SCORE, s2_oof), p_oof, dmat, params, content, own=f.own)
    models = []
    for k in range(folds):
        tr = (fold != k) & ~blocked & sub
        second = fit_stage(x[tr], y[tr], w[tr], names, trees=CTX_TREES, depth=CTX_DEPTH)
        models.append(B.Model(own[k], docs_st[k], ctx[k], second=second))
        print(f"  second context stage of fold {k + 1}/{folds}: {time.time() - t:.0f}s", flush=True)
    second_all = fit_stage(x[~blocked & sub], y[~blocked & sub], w[~blocked & sub], names, trees=CTX_TREES,
                           depth=CTX_DEPTH)
    return models, B.Model(own_all, doc_all, ctx_all, second=second_all)


def held_out_outputs(docs: list[T.Doc], f: B.Features, fold_doc: np.ndarray, models: list[B.Model],
                     rules: RuleSet, params: B.Params, t_clean: float, t_dump: float) -> list[str]:
    """Each document's kept text, decided by the model of its fold (shipped decision code)."""
    out = [""] * len(docs)
    for k, m in enumerate(models):
        m.t_clean, m.t_dump = t_clean, t_dump
        clf = B.Classifier(rules, params, m)
        idx = np.flatnonzero(fold_doc == k)
        sizes = np.diff(f.doc_start)[idx]
        rows = np.concatenate([np.arange(f.doc_start[d], f.doc_start[d + 1]) for d in idx]) if len(idx) \
            else np.zeros(0, dtype=np.int64)
        verdicts = clf.settle_many(f.select(rows, sizes))
        for d, v in zip(idx.tolist(), verdicts):
            out[d] = "\n".join(docs[d].paragraphs[i] for i in v.kept())
    return out


def table(docs: list[T.Doc], outs: list[str]) -> dict[str, dict[str, float]]:
    by: dict[tuple[str, str], list[int]] = collections.defaultdict(list)
    for k, d in enumerate(docs):
        by[(d.set, d.input)].append(k)
    res: dict[str, dict[str, float]] = {}
    for (s, inp), idx in sorted(by.items()):
        ds = [docs[k] for k in idx]
        os_ = [outs[k] for k in idx]
        if inp == "gold":
            h, worst, over = T.harm(ds, os_)
            res[f"{s}/{inp}"] = {"harm": h, "worst": worst, "docs_over_5pct": over, "docs": len(ds)}
        else:
            P, Rc, F = T.score(ds, os_)
            gP, gR, gF = T.score(ds, ["\n".join(d.paragraphs) for d in ds])
            res[f"{s}/{inp}"] = {"P": P, "R": Rc, "F1": F, "given_P": gP, "given_R": gR, "given_F1": gF}
    return res


def objective(res: dict[str, dict[str, float]]) -> float:
    if any(v["harm"] > MAX_HARM for k, v in res.items() if k.endswith("/gold")):
        return -1.0
    return float(np.mean([v["F1"] for k, v in res.items() if not k.endswith("/gold")]))


def show(res: dict[str, dict[str, float]]) -> None:
    for k, v in res.items():
        if "harm" in v:
            print(f"  {k:26s} removed {v['harm']:.2%} of the words; worst document {v['worst']:.0%}; "
                  f"{int(v['docs_over_5pct'])} of {int(v['docs'])} documents lose > 5 %")
        else:
            print(f"  {k:26s} P {v['P']:.3f} R {v['R']:.3f} F1 {v['F1']:.3f}   as given P {v['given_P']:.3f} "
                  f"R {v['given_R']:.3f} F1 {v['given_F1']:.3f}   dF1 {v['F1'] - v['given_F1']:+.3f}")


def rule_stats(docs: list[T.Doc], f: B.Features) -> None:
    """Per rule and paragraph length: hits on boilerplate / on text (by label) / on clean gold."""
    y = np.concatenate([d.labels for d in docs])
    inp = np.array([d.input for d in docs])[f.para_doc()]
    bounds = (3, 6, 10, 15, 25, 40, 60, 80, 400)
    st: dict[str, np.ndarray] = collections.defaultdict(lambda: np.zeros((len(bounds), 3), dtype=int))
    for j, hs in enumerate(f.hits):
        wd = int(f.words[j])
        if wd > 400:
            continue
        b = next(i for i, x in enumerate(bounds) if wd <= x)
        for name in {h.rule for h in hs}:
            st[name][b, 2 if inp[j] == "gold" else (0 if y[j] < 0.5 else 1)] += 1
    print("rule: hits on boilerplate / text / clean gold, by paragraph words")
    print(f"{'':24s}" + " ".join(f"<={x:<10d}" for x in bounds))
    for name, a in sorted(st.items()):
        print(f"{name:24s}" + " ".join(f"{j:4d}/{c:3d}/{g:3d}" if j + c + g else " " * 12 for j, c, g in a))
    # A rule's precision differs by input: on a whole page's text its footer phrases are the
    # footer; in text an extractor already cut, the same phrase is more often a heading or a
    # sentence ("Contact us by email:"). Decisive hits only (those that remove by themselves).
    kind = np.where(inp == "fulltext", 0, np.where(inp == "gold", 2, 1))
    by: dict[str, np.ndarray] = collections.defaultdict(lambda: np.zeros((3, 2), dtype=int))
    for j, hs in enumerate(f.hits):
        for name in {h.rule for h in hs if h.decisive and not h.evidence_only}:
            by[name][kind[j], 0 if kind[j] != 2 and y[j] < 0.5 else 1] += 1
    print("\ndecisive hits: boilerplate / text, on whole page text, on extracted text; hits on clean gold")
    for name, a in sorted(by.items()):
        share = a[1, 1] / a[1].sum() if a[1].sum() else 0.0
        print(f"{name:24s} page {a[0, 0]:5d}/{a[0, 1]:<5d} extracted {a[1, 0]:4d}/{a[1, 1]:<4d} "
              f"({share:4.0%} text)  gold {a[2, 1]:4d}")


def dump_model(model: B.Model) -> str:
    """model.json with one line per tree array row (readable diffs, small file)."""
    def dumps(v: object, indent: str) -> str:
        if isinstance(v, dict):
            inner = indent + " "
            items = [f"{inner}{json.dumps(k)}: {dumps(x, inner)}" for k, x in v.items()]
            return "{\n" + ",\n".join(items) + "\n" + indent + "}"
        if isinstance(v, list) and v and isinstance(v[0], list):
            inner = indent + " "
            return "[\n" + ",\n".join(inner + json.dumps(x, separators=(",", ":")) for x in v) + "\n" + indent + "]"
        return json.dumps(v, separators=(",", ":"))

    return dumps(model.to_json(), "") + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--out", type=Path, default=ROOT / "cleaner" / "data" / "model.json")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--fold-models", type=Path, default=ROOT / "bench" / "out" / "models",
                    help="where the per-fold models and the folds go (bench/quality.py runs them held out)")
    ap.add_argument("--rule-stats", action="store_true", help="print the precision of each rule and exit")
    ap.add_argument("--dragnet", type=Path, default=None, help="(ignored: the sets are found in ../shared/bench)")
    a = ap.parse_args(argv)
    t0 = time.time()
    rules = RuleSet.build()
    params = B.Params()
    docs = load_docs()
    clf = B.Classifier(rules, params, model=placeholder())
    f = features(docs, clf)
    print(f"{len(docs)} documents, {len(f)} paragraphs, {len({d.group for d in docs})} sites", flush=True)
    if a.rule_stats:
        rule_stats(docs, f)
        return 0
    fold_doc = folds_of(docs, a.folds)
    key = hashlib.sha256(repr((len(f), float(f.own.sum()), a.folds, OWN_TREES, OWN_DEPTH, DOC_TREES, DOC_DEPTH,
                               CTX_TREES, CTX_DEPTH, SUBSAMPLE, (ROOT / "bench" / "textdata.py").read_bytes(),
                               (ROOT / "bench" / "gbdt.py").read_bytes(),
                               (ROOT / "cleaner" / "boilerplate.py").read_bytes())).encode()).hexdigest()[:12]
    mfile = T.CACHE / f"models-{key}.pkl"
    if mfile.exists():  # the same data, features and settings: the same (deterministic) fit
        with open(mfile, "rb") as fh:
            models, final = pickle.load(fh)
    else:
        models, final = fit_all(docs, f, fold_doc, a.folds, params)
        with open(mfile, "wb") as fh:
            pickle.dump((models, final), fh, protocol=pickle.HIGHEST_PROTOCOL)
    tried = []
    for tc in T_CLEAN:
        for td in T_DUMP:
            res = table(docs, held_out_outputs(docs, f, fold_doc, models, rules, params, tc, td))
            obj = objective(res)
            harm = float(np.mean([v["harm"] for k, v in res.items() if k.endswith("/gold")]))
            print(f"  t_clean {tc} t_dump {td}: objective {obj:.4f}, gold removed {harm:.2%}", flush=True)
            tried.append((obj, harm, tc, td, res))
    top = max(t[0] for t in tried)
    _, _, tc, td, res = min((t for t in tried if t[0] >= top - OBJECTIVE_TIE), key=lambda t: (t[1], -t[0]))
    final.t_clean, final.t_dump = tc, td
    print(f"\nheld out ({a.folds} folds by site), t_clean {tc}, t_dump {td}:")
    show(res)
    final.meta = {"trained_on": "wcxb-dev and dragnet (gold, fulltext, trafilatura, readability, boilerpipe), "
                                "multilingual clean set; labels from gold shingles",
                  "held_out": {k: {m: round(float(x), 4) for m, x in v.items()} for k, v in res.items()},
                  "folds": a.folds}
    a.fold_models.mkdir(parents=True, exist_ok=True)
    for k, m in enumerate(models):
        m.t_clean, m.t_dump = tc, td
        (a.fold_models / f"text-fold-{k}.json").write_text(dump_model(m), encoding="utf-8")
    folds = {f"{d.set}/{d.id}": int(fold_doc[i]) for i, d in enumerate(docs)}
    (a.fold_models / "text-folds.json").write_text(json.dumps({"folds": a.folds, "of": folds}), encoding="utf-8")
    if not a.no_write:
        a.out.write_text(dump_model(final), encoding="utf-8")
        print(f"wrote {a.out} and the fold models in {a.fold_models} ({time.time() - t0:.0f}s)")
    return 0


def placeholder() -> B.Model:
    """A model that keeps everything, for computing features before any model exists."""
    def zero(names: tuple[str, ...]) -> B.Stage:
        return B.Stage(names, 0, 5.0, np.zeros((1, 1), dtype=np.int64), np.full((1, 1), np.inf), np.zeros((1, 1)))

    return B.Model(zero(B.OWN_FEATURES), zero(B.DOC_FEATURES), zero(B.CONTEXT_FEATURES + B.OWN_FEATURES))


if __name__ == "__main__":
    sys.exit(main())
