"""The development sets as training/evaluation data for the text model (bench only).

Two sets live outside the repository (../shared/bench in this workplace):

- wcxb-dev: 1,476 pages of the 2025 web, one domain each, 7 page types; gold/ plus the
  page's whole text (fulltext/) and three extractors' outputs (trafilatura/,
  readability/, boilerpipe/), all as given.
- dragnet: 346 news/blog pages of 2012 (gold keeps reader comments); gold/, fulltext/,
  html/. The pre-extracted inputs are made here from html/ with the same tools and
  versions as wcxb-dev's (trafilatura extract() defaults; readability-lxml summary and
  boilerpy3 ArticleExtractor, with the `bench` extra) and cached under bench/out/.

Every input is a list of documents (paragraphs = non-blank lines) with labels from
the gold text: the share of a paragraph's word 4-grams (with three words of context
on each side, so a short line is judged by whether it sits inside gold text) that
occur in the gold. The `gold` input is the gold text itself: clean content, every
paragraph labelled 1 — what the do-no-harm targets are measured on.

Groups for cross-validation are sites: the domain of the page's URL (wcxb-dev: from
pages.json; dragnet: the canonical URL in the page).
"""

from __future__ import annotations

import collections
import gzip
import hashlib
import json
import pickle
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cleaner.document import split_record  # noqa: E402

SHARED = ROOT.parent / "shared" / "bench"
CACHE = ROOT / "bench" / "out" / "cache"
TOKEN = re.compile(r"\w+", re.UNICODE)
_CANONICAL = re.compile(rb"""<link[^>]+rel=["']?canonical["']?[^>]*href=["']([^"']+)|property=["']og:url["'][^>]*content=["']([^"']+)""",
                        re.I)
_ANY_URL = re.compile(rb"""https?://([a-z0-9.-]+\.[a-z]{2,})""", re.I)

WCXB_INPUTS = ("gold", "fulltext", "trafilatura", "readability", "boilerpipe")
DRAGNET_INPUTS = ("gold", "fulltext", "trafilatura", "readability", "boilerpipe")


@dataclass
class Doc:
    set: str  # "wcxb" | "dragnet" | "multilingual"
    input: str  # gold | fulltext | trafilatura | readability | boilerpipe | html
    id: str
    group: str  # the site
    page_type: str
    paragraphs: list[str]
    gold: str
    labels: np.ndarray = field(default_factory=lambda: np.zeros(0))  # share of the paragraph in gold
    weights: np.ndarray = field(default_factory=lambda: np.zeros(0))  # words of the paragraph / words of doc


def shingles(tokens: Sequence[str], n: int = 4) -> collections.Counter:
    return collections.Counter(tuple(tokens[i:i + n]) for i in range(max(1, len(tokens) - n + 1))
                               if tokens[i:i + n])


def labels_for(paragraphs: list[str], gold: str) -> tuple[np.ndarray, np.ndarray]:
    gold_sh = set(shingles(TOKEN.findall(gold)))
    toks = [TOKEN.findall(p) for p in paragraphs]
    y = np.zeros(len(paragraphs))
    w = np.array([max(len(t), 1) for t in toks], dtype=float)
    for i, t in enumerate(toks):
        if not t:
            continue
        left = [x for p in toks[max(0, i - 3):i] for x in p][-3:]
        right = [x for p in toks[i + 1:i + 4] for x in p][:3]
        seq = left + t + right
        lo, hi = len(left), len(left) + len(t)
        grams = [tuple(seq[j:j + 4]) for j in range(max(1, len(seq) - 3)) if j + 4 > lo and j < hi]
        if grams:
            y[i] = sum(1 for g in grams if g in gold_sh) / len(grams)
    total = w.sum()
    return y, (w / total if total else w)


def domain(url: str | None) -> str:
    if not url:
        return "unknown"
    m = re.match(r"^[a-z]+://([^/:?#]+)", url.strip().lower())
    host = m.group(1) if m else url
    host = host[4:] if host.startswith("www.") else host
    parts = host.split(".")
    # the registrable part, roughly: the last two labels (three for co.uk-style suffixes)
    if len(parts) >= 3 and len(parts[-1]) == 2 and parts[-2] in {"co", "com", "org", "net", "ac", "gov", "ne", "or"}:
        return ".".join(parts[-3:])
    return ".".join(parts[-2:])


def _read(p: Path) -> str:
    return p.read_text(encoding="utf-8", errors="replace") if p.exists() else ""


def _doc(set_: str, inp: str, pid: str, group: str, ptype: str, text: str, gold: str) -> Doc:
    paras = split_record(text)[0]
    if inp == "gold":
        y, w = np.ones(len(paras)), np.array([max(len(TOKEN.findall(p)), 1) for p in paras], dtype=float)
        w = w / w.sum() if len(w) else w
    else:
        y, w = labels_for(paras, gold)
    return Doc(set_, inp, pid, group, ptype, paras, gold, y, w)


def _dragnet_site(html: bytes) -> str:
    m = _CANONICAL.search(html)
    if m:
        return domain((m.group(1) or m.group(2)).decode("latin-1"))
    hosts = collections.Counter(domain(h.decode("latin-1")) for h in _ANY_URL.findall(html))
    return hosts.most_common(1)[0][0] if hosts else "unknown"


def _html_to_lines(html: str) -> str:
    """An extractor's HTML output as text, one block per line (cleaner's DOM walk)."""
    from cleaner.html_extract import extract_blocks

    if not html.strip():
        return ""
    return "\n".join(b.text for b in extract_blocks(html))


def dragnet_extractions(dragnet: Path, tool: str) -> dict[str, str]:
    """trafilatura / readability / boilerpipe output of each dragnet page, cached."""
    out_dir = CACHE / f"dragnet-{tool}"
    out_dir.mkdir(parents=True, exist_ok=True)
    pages = sorted((dragnet / "html").glob("*.html.gz"))
    todo = [p for p in pages if not (out_dir / (p.name[:-len(".html.gz")] + ".txt")).exists()]
    if todo:
        import logging
        import warnings

        warnings.filterwarnings("ignore")
        logging.disable(logging.CRITICAL)
        for p in todo:
            raw = gzip.open(p).read()
            text = ""
            try:
                if tool == "trafilatura":
                    import trafilatura

                    text = trafilatura.extract(raw) or ""
                elif tool == "readability":
                    from readability import Document as RDoc

                    text = _html_to_lines(RDoc(raw).summary(html_partial=True))
                elif tool == "boilerpipe":
                    from boilerpy3 import extractors

                    text = extractors.ArticleExtractor().get_content(raw.decode("utf-8", errors="replace"))
            except Exception as e:  # an extractor failing on a page gives an empty output
                print(f"  {tool} failed on {p.name}: {type(e).__name__}", file=sys.stderr)
            (out_dir / (p.name[:-len(".html.gz")] + ".txt")).write_text(text, encoding="utf-8")
    return {p.stem: p.read_text(encoding="utf-8") for p in sorted(out_dir.glob("*.txt"))}


def load_wcxb(root: Path = SHARED / "wcxb-dev", inputs: Sequence[str] = WCXB_INPUTS) -> list[Doc]:
    pages = json.loads((root / "pages.json").read_text(encoding="utf-8"))
    docs = []
    for pid in sorted(pages):
        m = pages[pid]
        gold = _read(root / "gold" / f"{pid}.txt")
        for inp in inputs:
            docs.append(_doc("wcxb", inp, pid, domain(m.get("url")) if m.get("url") else f"wcxb:{pid}", m["page_type"],
                             gold if inp == "gold" else _read(root / inp / f"{pid}.txt"), gold))
    return docs


def load_dragnet(root: Path = SHARED / "dragnet", inputs: Sequence[str] = DRAGNET_INPUTS) -> list[Doc]:
    extracted = {tool: dragnet_extractions(root, tool) for tool in inputs if tool not in ("gold", "fulltext")}
    docs = []
    for g in sorted((root / "gold").glob("*.txt")):
        pid = g.stem
        gold = _read(g)
        site = _dragnet_site(gzip.open(root / "html" / f"{pid}.html.gz").read())
        for inp in inputs:
            if inp == "gold":
                text = gold
            elif inp == "fulltext":
                text = _read(root / "fulltext" / f"{pid}.txt")
            else:
                text = extracted[inp].get(pid, "")
            docs.append(_doc("dragnet", inp, pid, site, "article", text, gold))
    return docs


def load_multilingual(root: Path = ROOT / "bench" / "out" / "multilingual") -> list[Doc]:
    """Clean multilingual text (bench/multilingual/build.py): gold only, a group per language."""
    index = json.loads((root / "index.json").read_text(encoding="utf-8")) if (root / "index.json").exists() else {}
    lang_of = {d["file"]: d["lang"] for d in index.get("documents", [])}
    docs = []
    for p in sorted(root.glob("*.txt")):
        text = _read(p)
        lang = lang_of.get(p.name, p.stem.split("-")[0])
        docs.append(_doc("multilingual", "gold", p.stem, f"ml:{lang}", lang, text, text))
    return docs


def load_all(use_cache: bool = True) -> list[Doc]:
    """Both dev sets, every text input (cached as a pickle keyed by this file's source)."""
    key = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]
    cfile = CACHE / f"textdata-{key}.pkl"
    if use_cache and cfile.exists():
        with open(cfile, "rb") as fh:
            return pickle.load(fh)
    docs = load_wcxb() + load_dragnet()
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(cfile, "wb") as fh:
        pickle.dump(docs, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return docs


# --- the official metrics -------------------------------------------------------------------

def word_prf(pred: str, ref: str) -> tuple[float, float, float]:
    """WCXB's word-bag P/R/F1 of one page (as ../shared/tools/wcxb_score.py)."""
    p, r = TOKEN.findall(pred.lower()), TOKEN.findall(ref.lower())
    if not r:
        return (1.0, 1.0, 1.0) if not p else (0.0, 0.0, 0.0)
    if not p:
        return (0.0, 0.0, 0.0)
    ov = sum((collections.Counter(p) & collections.Counter(r)).values())
    P, R = ov / len(p), ov / len(r)
    return P, R, (2 * P * R / (P + R) if P + R else 0.0)


def shingle_counts(gold: str, pred: str) -> tuple[float, float, float]:
    """Dragnet's normalised 4-gram (tp, fp, fn) of one page (as ../shared/tools/shingle_f1.py)."""
    a, b = shingles(TOKEN.findall(gold)), shingles(TOKEN.findall(pred))
    tp = sum(min(a[k], b[k]) for k in a.keys() & b.keys())
    fp, fn = sum(b.values()) - tp, sum(a.values()) - tp
    s = tp + fp + fn
    return (tp / s, fp / s, fn / s) if s else (0.0, 0.0, 0.0)


def shingle_macro(rows: Sequence[tuple[float, float, float]]) -> tuple[float, float, float]:
    def p(tp: float, fp: float, fn: float) -> float:
        return 1.0 if fp == fn == 0 else (0.0 if tp == fp == 0 else tp / (tp + fp))

    def r(tp: float, fp: float, fn: float) -> float:
        return 1.0 if fp == fn == 0 else (0.0 if tp == fn == 0 else tp / (tp + fn))

    ps = [p(*x) for x in rows if x[0] + x[1] > 0]
    rs = [r(*x) for x in rows if x[0] + x[2] > 0]
    P = float(np.mean(ps)) if ps else 0.0
    R = float(np.mean(rs)) if rs else 0.0
    return P, R, (2 * P * R / (P + R) if P + R else 0.0)


def score(docs: Sequence[Doc], outputs: Sequence[str]) -> tuple[float, float, float]:
    """The set's own metric over documents of one set and input: wcxb word F1 (mean of
    per-page P, R, F1), dragnet shingle F1 (macro of normalised counts)."""
    if not docs:
        return (0.0, 0.0, 0.0)
    if docs[0].set == "dragnet":
        return shingle_macro([shingle_counts(d.gold, o) for d, o in zip(docs, outputs)])
    rows = [word_prf(o, d.gold) for d, o in zip(docs, outputs)]
    return tuple(float(np.mean([r[i] for r in rows])) for i in range(3))  # type: ignore[return-value]


def harm(docs: Sequence[Doc], outputs: Sequence[str]) -> tuple[float, float, int]:
    """Share of words removed from clean content (as wcxb_score.py --harm: min(in, kept)
    words per document), the worst document's share, and documents losing > 5 %."""
    tin = tkept = 0
    worst = 0.0
    over = 0
    for d, o in zip(docs, outputs):
        w = len(TOKEN.findall("\n".join(d.paragraphs)))
        k = min(w, len(TOKEN.findall(o)))
        tin += w
        tkept += k
        if w:
            loss = 1 - k / w
            worst = max(worst, loss)
            over += loss > 0.05
    return (1 - tkept / max(tin, 1)), worst, over
