"""Boilerplate stripping quality: every dev set x input, cleaner held out, beside the references.

    python bench/quality.py [--sets wcxb,dragnet,multilingual] [--inputs ...] [--keep DIR]

Needs the per-fold models of `make train` and `make train-html` (bench/out/models/): each
document is cleaned by `clean` (the CLI's pipeline, default settings, `--workers 1`) with
the models of the fold that did not see its site, so every cleaner number is held out.
The folds are cleaned as separate corpora (corpus-wide steps — templates, duplicates —
act within a fold). Documents outside the folds (the multilingual fixture's languages)
are cleaned with the shipped models, which never saw them either.

Data: ../shared/bench/wcxb-dev and ../shared/bench/dragnet (outside the repository;
the tests never need them), and bench/out/multilingual (make bench-multilingual).
Rows per set and input:

  as given           the input itself (for HTML: trafilatura extract() defaults)
  jusText            jusText on the whole page text (each line a paragraph), English stoplist
                     (both dev sets are English)
  cleaner            held out; P/R/F1 with the set's metric (wcxb word F1, dragnet 4-gram shingle
                     F1), MB/s = input bytes / wall time of `clean --workers 1` (the per-core figure),
                     then per CPU-second of the strip stage, and of strip + settle (the model
                     deciding documents again after their repeats and corpus-wide drops)
  cleaner --no-dedup the same, stripping only: dedup also removes the paragraphs that an
                     extractor's output (or a gold text) repeats inside a document
  harm rows          clean gold in: the share of its words removed, the worst document, and
                     documents losing more than 5 % (script-aware units for the multilingual set),
                     with the defaults and with --no-dedup
  speed row          all the text inputs as 8 JSONL shards, one run with the shipped model

HTML timing: trafilatura extract() alone on the pages (CPU seconds, one process) against the
whole `clean` runs on them (wall, the five fold runs, each starting its worker and loading its
models) and against their extract stage (CPU: parsing, trafilatura, the block features and
model: the HTML path's own work); and, the user's case, one run over all the pages of the set
with the shipped models (wall, with its start-up), against trafilatura timed again after it.
"""

from __future__ import annotations

import argparse
import collections
import gzip
import html
import json
import logging
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import textdata as T  # noqa: E402
from multilingual.harm import count_words  # noqa: E402  (the do-no-harm check's script-aware units)

from cleaner import clean_corpus  # noqa: E402

MODELS = ROOT / "bench" / "out" / "models"
TEXT_INPUTS = ("gold", "fulltext", "trafilatura", "readability", "boilerpipe")


def harm_units(docs: list[T.Doc], outs: list[str], script_aware: bool) -> tuple[float, float, int]:
    if not script_aware:
        return T.harm(docs, outs)
    tin = tkept = over = 0
    worst = 0.0
    for d, o in zip(docs, outs):
        a, b = count_words("\n".join(d.paragraphs)), count_words(o)
        k = min(a, b)
        tin, tkept = tin + a, tkept + k
        if a:
            worst = max(worst, 1 - k / a)
            over += (1 - k / a) > 0.05
    return 1 - tkept / max(tin, 1), worst, over


class Runner:
    """Runs `clean` on documents held out by fold, and times it."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.extract_cpu = self.strip_cpu = self.settle_cpu = 0.0
        self.text_folds = json.loads((MODELS / "text-folds.json").read_text())
        self.html_folds = json.loads((MODELS / "html-folds.json").read_text()) \
            if (MODELS / "html-folds.json").exists() else None

    def run(self, name: str, files: list[tuple[str, bytes, int | None]], html_models: bool,
            **extra: object) -> tuple[dict[str, str], float, int]:
        """files: (output stem, content, fold or None); extra: clean_corpus options.
        Returns texts by stem, wall seconds, input bytes."""
        by_fold: dict[int | None, list[tuple[str, bytes]]] = collections.defaultdict(list)
        for stem, data, fold in files:
            by_fold[fold].append((stem, data))
        out: dict[str, str] = {}
        secs = 0.0
        total = 0
        self.extract_cpu = 0.0  # the HTML path's own work: the runs' extract stage, CPU seconds
        self.strip_cpu = self.settle_cpu = 0.0  # the text path's: strip, and the decisions made again
        for fold, items in sorted(by_fold.items(), key=lambda kv: -1 if kv[0] is None else kv[0]):
            src = self.work / f"{name}-in-{fold}"
            dst = self.work / f"{name}-out-{fold}"
            shutil.rmtree(src, ignore_errors=True)
            src.mkdir(parents=True)
            for stem, data in items:
                (src / (stem + (".html.gz" if html_models else ".txt"))).write_bytes(data)
                total += len(gzip.decompress(data)) if html_models else len(data)
            opts: dict[str, object] = {"workers": 1, **extra}
            if fold is not None:
                opts["model"] = str(MODELS / f"text-fold-{fold}.json")
                if html_models:
                    opts["html_model"] = str(MODELS / f"html-fold-{fold}.json")
            t = time.perf_counter()
            rep = clean_corpus(src, dst, overwrite=True, **opts)
            secs += time.perf_counter() - t
            self.extract_cpu += rep.timings["stages_cpu"].get("extract", 0.0)
            self.strip_cpu += rep.timings["stages_cpu"].get("strip", 0.0)
            self.settle_cpu += rep.timings["stages_cpu"].get("settle", 0.0)
            for p in dst.glob("*.txt"):
                out[p.name[:-4]] = p.read_text(encoding="utf-8")
        return out, secs, total


def justext_lines(texts: list[str], langs: list[str]) -> list[str]:
    import justext

    have = set(justext.get_stoplists())
    out = []
    for t, lang in zip(texts, langs):
        doc = "<html><body>" + "".join(f"<p>{html.escape(line)}</p>" for line in t.splitlines() if line.strip()) \
            + "</body></html>"
        stop = justext.get_stoplist(lang if lang in have else "English")
        out.append("\n".join(p.text for p in justext.justext(doc.encode("utf-8"), stop, encoding="utf-8")
                             if not p.is_boilerplate))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sets", default="wcxb,dragnet,multilingual")
    ap.add_argument("--inputs", default="gold,fulltext,trafilatura,readability,boilerpipe,html")
    ap.add_argument("--keep", type=Path, default=None, help="keep the work folders (inputs, outputs) here")
    ap.add_argument("--no-references", action="store_true", help="skip jusText and the trafilatura timing")
    ap.add_argument("--dragnet", type=Path, default=None, help="(ignored: the sets are found in ../shared/bench)")
    ap.add_argument("--speed", action="store_true",
                    help="only the speed row (the shipped model: needs no fold models), with a --no-strip run beside it")
    a = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    logging.disable(logging.CRITICAL)
    if a.speed:
        return speed_only(a.sets.split(","), a.inputs.split(","))
    if not (MODELS / "text-folds.json").exists():
        print("no fold models: run `make train` (and `make train-html`) first", file=sys.stderr)
        return 2
    sets, inputs = a.sets.split(","), a.inputs.split(",")
    work = a.keep or Path(tempfile.mkdtemp(prefix="cleaner-quality-"))
    work.mkdir(parents=True, exist_ok=True)
    runner = Runner(work)
    rows: list[tuple[str, str, str, str, str]] = []  # set, input, tool, scores, speed
    docs_all = load_sets(sets)
    tf = runner.text_folds["of"]
    by: dict[tuple[str, str], list[T.Doc]] = collections.defaultdict(list)
    for d in docs_all:
        by[(d.set, d.input)].append(d)

    def add(s: str, inp: str, tool: str, scores: str, speed: str = "") -> None:
        rows.append((s, inp, tool, scores, speed))
        print(f"  {s:12s} {inp:12s} {tool:22s} {scores} {speed}", file=sys.stderr, flush=True)

    def prf(ds: list[T.Doc], outs: list[str]) -> str:
        P, R, F = T.score(ds, outs)
        return f"{P:.3f} / {R:.3f} / **{F:.3f}**"

    for (s, inp), ds in sorted(by.items()):
        if inp not in inputs:
            continue
        files = [(d.id, "\n".join(d.paragraphs).encode("utf-8"), tf.get(f"{s}/{d.id}")) for d in ds]
        outs_by, secs, nbytes = runner.run(f"{s}-{inp}", files, html_models=False)
        outs = [outs_by.get(d.id, "") for d in ds]
        mb = nbytes / 1e6
        # whole runs (five start-ups), then the strip stage per CPU-second, with the decisions
        # made again after repeats and corpus-wide drops
        speed = (f"{mb / secs:.2f} MB/s; strip {mb / max(runner.strip_cpu, 1e-9):.2f} MB/CPU-s "
                 f"({mb / max(runner.strip_cpu + runner.settle_cpu, 1e-9):.2f} with settle)")
        if inp == "gold":
            h, worst, over = harm_units(ds, outs, s == "multilingual")
            add(s, "clean gold", "cleaner", f"{h:.2%} removed; worst doc {worst:.0%}; {over}/{len(ds)} docs > 5 %", speed)
            # the same without dedup: what stripping removes (a gold text that repeats its own
            # paragraphs — a comment thread quoting itself — loses the repeats by design)
            nd_by, _, _ = runner.run(f"{s}-{inp}-nodedup", files, html_models=False, dedup=False)
            h, worst, over = harm_units(ds, [nd_by.get(d.id, "") for d in ds], s == "multilingual")
            add(s, "clean gold", "cleaner --no-dedup",
                f"{h:.2%} removed; worst doc {worst:.0%}; {over}/{len(ds)} docs > 5 %")
            continue
        add(s, inp, "as given", prf(ds, ["\n".join(d.paragraphs) for d in ds]))
        if inp == "fulltext" and not a.no_references:
            langs = ["English"] * len(ds)
            add(s, inp, "jusText", prf(ds, justext_lines(["\n".join(d.paragraphs) for d in ds], langs)))
        add(s, inp, "cleaner (held out)", prf(ds, outs), speed)
        # stripping alone: dedup also removes the repeats that an extractor's output (or the
        # gold) has inside a document, which a word-multiset F1 counts against recall
        nd_by, _, _ = runner.run(f"{s}-{inp}-nodedup", files, html_models=False, dedup=False)
        add(s, inp, "cleaner --no-dedup", prf(ds, [nd_by.get(d.id, "") for d in ds]))
        if s == "wcxb":
            per = collections.defaultdict(list)
            for d, o in zip(ds, outs):
                per[d.page_type].append((d, o))
            parts = []
            for pt, items in sorted(per.items()):
                parts.append(f"{pt} {T.score([x for x, _ in items], [o for _, o in items])[2]:.3f}")
            add(s, inp, "per page type", "; ".join(parts))
    if "html" in inputs:
        html_rows(runner, sets, add, prf, a.no_references)
    speed_rows(work, [d for d in docs_all if d.input in inputs and d.input != "html"], add)
    print("\n| set | input | tool | P / R / F1 (or harm) | speed |\n|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    if not a.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def load_sets(sets: list[str]) -> list[T.Doc]:
    """The text inputs of the named dev sets (the multilingual set once it is built)."""
    docs: list[T.Doc] = []
    if "wcxb" in sets:
        docs += T.load_wcxb()
    if "dragnet" in sets:
        docs += T.load_dragnet()
    if "multilingual" in sets and (ROOT / "bench/out/multilingual/index.json").exists():
        docs += T.load_multilingual()
    return docs


def speed_only(sets: list[str], inputs: list[str]) -> int:
    """`make bench-speed`: the speed row alone, and the same shards with --no-strip beside it
    (what reading, dedup and writing cost without the strip stage)."""
    docs = [d for d in load_sets(sets) if d.input in inputs and d.input != "html"]
    rows: list[tuple[str, ...]] = []

    def add(*r: str) -> None:
        rows.append(r)
        print("  " + " ".join(r), file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="cleaner-speed-") as tmp:
        speed_rows(Path(tmp), docs, add)
        speed_rows(Path(tmp), docs, add, strip=False)
    print("\n| set | input | tool | documents | speed |\n|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    return 0


def speed_rows(work: Path, docs: list[T.Doc], add, strip: bool = True) -> None:  # type: ignore[no-untyped-def]
    """Plain-text speed in the layout of the issue's figure: all the text inputs above as 8
    JSONL shards, one `clean` run with the defaults and the shipped model, `--workers 1`."""
    if not docs:
        return
    src, dst = work / "speed-in", work / "speed-out"
    shutil.rmtree(src, ignore_errors=True)
    src.mkdir(parents=True)
    shards = [open(src / f"part-{k}.jsonl", "w", encoding="utf-8") for k in range(8)]
    nbytes = 0
    for i, d in enumerate(docs):
        text = "\n".join(d.paragraphs)
        nbytes += len(text.encode("utf-8"))
        shards[i % 8].write(json.dumps({"id": f"{d.set}/{d.input}/{d.id}", "text": text}) + "\n")
    for fh in shards:
        fh.close()
    t = time.perf_counter()
    rep = clean_corpus(src, dst, overwrite=True, workers=1, strip=strip)
    wall = time.perf_counter() - t
    if not strip:
        add("all text", "8 JSONL shards", "cleaner --no-strip",
            f"{len(docs)} documents, {nbytes / 1e6:.1f} MB", f"{nbytes / 1e6 / wall:.2f} MB/s whole run")
        return
    cpu = rep.timings["stages_cpu"].get("strip", 0.0)  # features, rules and the model, CPU seconds
    # the model deciding documents again after their repeats and after corpus-wide drops: high on
    # these shards, where each page comes five times (gold and four extractions)
    again = rep.timings["stages_cpu"].get("settle", 0.0)
    add("all text", "8 JSONL shards", "cleaner, defaults",
        f"{len(docs)} documents, {nbytes / 1e6:.1f} MB, {nbytes / len(docs) / 1e3:.1f} KB each",
        f"{nbytes / 1e6 / wall:.2f} MB/s whole run; strip stage {nbytes / 1e6 / max(cpu, 1e-9):.2f} MB/CPU-s, "
        f"with the decisions made again (stage settle) {nbytes / 1e6 / max(cpu + again, 1e-9):.2f} MB/CPU-s")


def html_rows(runner: Runner, sets: list[str], add, prf, no_refs: bool) -> None:  # type: ignore[no-untyped-def]
    import trafilatura

    hf = runner.html_folds["of"] if runner.html_folds else {}
    for s in ("wcxb", "dragnet"):
        if s not in sets:
            continue
        root = T.SHARED / ("wcxb-dev" if s == "wcxb" else "dragnet")
        gold = {p.stem: p.read_text(encoding="utf-8", errors="replace") for p in sorted((root / "gold").glob("*.txt"))}
        meta = json.loads((root / "pages.json").read_text()) if s == "wcxb" else {}
        ids = sorted(gold)
        pages = {i: (root / "html" / f"{i}.html.gz").read_bytes() for i in ids}
        ds = [T.Doc(s, "html", i, "", meta.get(i, {}).get("page_type", "article"), [], gold[i]) for i in ids]
        key = "w:" if s == "wcxb" else "d:"
        files = [(i, pages[i], hf.get(key + i)) for i in ids]
        outs_by, secs, nbytes = runner.run(f"{s}-html", files, html_models=True)
        outs = [outs_by.get(i, "") for i in ids]
        t = time.process_time()
        traf = [trafilatura.extract(gzip.decompress(pages[i])) or "" for i in ids]
        t_traf = time.process_time() - t
        fold_cpu = runner.extract_cpu
        # the user's case for speed: one run over all the pages (the shipped models), its wall
        # time with the worker's start-up, against trafilatura timed again right after it
        _, one_secs, _ = runner.run(f"{s}-html-one", [(i, pages[i], None) for i in ids], html_models=True)
        one_cpu = runner.extract_cpu
        t = time.process_time()
        for i in ids:
            trafilatura.extract(gzip.decompress(pages[i]))
        t_traf2 = time.process_time() - t
        add(s, "html", "trafilatura extract()", prf(ds, traf), f"{nbytes / 1e6 / t_traf:.2f} MB/s")
        add(s, "html", "cleaner (held out)", prf(ds, outs),
            f"{nbytes / 1e6 / secs:.2f} MB/s; {secs / t_traf:.2f}x trafilatura's time (whole runs, 5 folds); "
            f"HTML path {fold_cpu / t_traf:.2f}x (extract stage CPU); one run over all pages: "
            f"{nbytes / 1e6 / one_secs:.2f} MB/s, {one_secs / t_traf2:.2f}x trafilatura's time (wall), "
            f"HTML path {one_cpu / t_traf2:.2f}x")
        if s == "wcxb":
            per = collections.defaultdict(list)
            for d, o, tr in zip(ds, outs, traf):
                per[d.page_type].append((d, o, tr))
            parts = []
            for pt, items in sorted(per.items()):
                c = T.score([x for x, _, _ in items], [o for _, o, _ in items])[2]
                r = T.score([x for x, _, _ in items], [tr for _, _, tr in items])[2]
                parts.append(f"{pt} {c:.3f} (trafilatura {r:.3f})")
            print(f"      per page type: {', '.join(parts)}", file=sys.stderr)
            add(s, "html", "per page type", "; ".join(parts))


if __name__ == "__main__":
    sys.exit(main())
