"""Boilerplate-stripping quality on the Dragnet dev set, against jusText and trafilatura.

    python bench/quality.py --dragnet ../shared/bench/dragnet [--workers 1] [--keep DIR]

Reads DIR/fulltext/*.txt, DIR/html/*.html.gz and DIR/gold/*.txt (in this
workplace the set lives in ../shared/bench, outside the repository; the tests do
not need it). Prints one table, every row computed in this run:

  fulltext kept whole         the page text as is (the recall ceiling)
  jusText on fulltext         jusText, each line a paragraph (English stoplist)
  cleaner on fulltext         `clean fulltext/ OUT/`
  trafilatura on html         trafilatura `extract()` with its defaults
  cleaner on html             `clean html/ OUT/` (trafilatura with cleaner's settings, then the classifier)
  trafilatura .txt as given   trafilatura's own output saved as .txt
  cleaner on trafilatura .txt `clean` on those .txt files

Scores are 4-gram word-shingle precision, recall and F1 per page, averaged over
pages (the metric of shingle_f1.py). pages/s is wall time over the whole row in
one process (cleaner with --workers, default 1, so the rows compare per core).
jusText comes with the `bench` extra (`pip install -e '.[bench]'`); trafilatura is
a runtime dependency.
"""

from __future__ import annotations

import argparse
import gzip
import html
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from train import macro, prf  # noqa: E402

from cleaner import clean_corpus  # noqa: E402


def score(gold: dict[str, str], out: dict[str, str]) -> tuple[float, float, float]:
    return macro([prf(g, out.get(k, "")) for k, g in sorted(gold.items())])


def read_dir(d: Path) -> dict[str, str]:
    return {p.name.split(".")[0]: p.read_text(encoding="utf-8", errors="replace") for p in sorted(d.glob("*.txt"))}


def timed(fn: Callable[[], dict[str, str]]) -> tuple[dict[str, str], float]:
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def run_cleaner(src: Path, dst: Path, workers: int) -> dict[str, str]:
    clean_corpus(src, dst, overwrite=True, workers=workers)
    return read_dir(dst)


def justext_lines(texts: dict[str, str]) -> dict[str, str]:
    import justext

    stop = justext.get_stoplist("English")
    out = {}
    for k, t in texts.items():
        doc = "<html><body>" + "".join(f"<p>{html.escape(line)}</p>" for line in t.splitlines()
                                       if line.strip()) + "</body></html>"
        paras = justext.justext(doc.encode("utf-8"), stop, encoding="utf-8")
        out[k] = "\n".join(p.text for p in paras if not p.is_boilerplate)
    return out


def trafilatura_all(pages: dict[str, bytes]) -> dict[str, str]:
    import trafilatura

    return {k: trafilatura.extract(v) or "" for k, v in pages.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dragnet", required=True, type=Path)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--keep", type=Path, default=None, help="keep the outputs under this folder")
    a = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    import logging

    logging.disable(logging.WARNING)
    d = a.dragnet
    gold = read_dir(d / "gold")
    n = len(gold)
    full = read_dir(d / "fulltext")
    pages = {p.name[:-len(".html.gz")]: gzip.open(p).read() for p in sorted((d / "html").glob("*.html.gz"))}
    work = Path(a.keep) if a.keep else Path(tempfile.mkdtemp(prefix="cleaner-quality-"))
    work.mkdir(parents=True, exist_ok=True)
    rows: list[tuple[str, str, tuple[float, float, float], float | None]] = []

    def add(mode: str, inp: str, out: dict[str, str], secs: float | None) -> None:
        rows.append((mode, inp, score(gold, out), n / secs if secs else None))
        p, r, f = rows[-1][2]
        print(f"  {mode} ({inp}): P {p:.3f} R {r:.3f} F1 {f:.3f}", file=sys.stderr, flush=True)

    add("kept whole", "fulltext", full, None)
    try:
        out, secs = timed(lambda: justext_lines(full))
        add("jusText", "fulltext", out, secs)
    except ImportError:
        print("  jusText not installed (pip install -e '.[bench]'): row skipped", file=sys.stderr)
    out, secs = timed(lambda: run_cleaner(d / "fulltext", work / "cleaner-fulltext", a.workers))
    add("cleaner", "fulltext", out, secs)
    traf, secs = timed(lambda: trafilatura_all(pages))
    add("trafilatura extract()", "html", traf, secs)
    out, secs = timed(lambda: run_cleaner(d / "html", work / "cleaner-html", a.workers))
    add("cleaner", "html", out, secs)
    tdir = work / "trafilatura-txt"
    tdir.mkdir(exist_ok=True)
    for k, v in traf.items():
        (tdir / f"{k}.txt").write_text(v, encoding="utf-8")
    add("as given", "trafilatura .txt", traf, None)
    out, secs = timed(lambda: run_cleaner(tdir, work / "cleaner-trafilatura-txt", a.workers))
    add("cleaner", "trafilatura .txt", out, secs)

    print(f"\nDragnet dev set, {n} pages; 4-gram shingle P/R/F1 averaged over pages; "
          f"cleaner with {a.workers} worker(s)\n")
    print(f"| {'mode':<22} | {'input':<16} | precision | recall |   F1  | pages/s |")
    print(f"|{'-' * 24}|{'-' * 18}|-----------|--------|-------|---------|")
    for mode, inp, (p, r, f), pps in rows:
        rate = f"{pps:7.1f}" if pps else "      -"
        print(f"| {mode:<22} | {inp:<16} |   {p:.3f}   | {r:.3f}  | {f:.3f} | {rate} |")
    if not a.keep:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
