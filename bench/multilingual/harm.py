"""How much of a clean corpus did cleaner remove? The do-no-harm measure.

    python bench/multilingual/harm.py IN_DIR OUT_DIR [--report DIR] [--json FILE]

IN_DIR holds clean documents as .txt files, one paragraph per line (the multilingual
check set, bench/out/multilingual/ from build.py, or the fixture fixtures/multilingual/).
OUT_DIR is what `clean IN_DIR OUT_DIR` wrote: it mirrors the input, so a document is
compared with the output file of the same name (same stem); a missing output file means
the whole document was removed.

A line of the input counts as kept when the same line (surrounding space stripped, runs of
space collapsed) is in the output document, each output line matching one input line; the
words of the other input lines count as removed. A line that cleaner rewrote therefore
counts as removed, and output lines that match no input line are reported as added.

Words are counted script by script: for the scripts written without spaces between words
(Han, Hiragana, Katakana, Thai, Lao, Khmer, Myanmar, Yi) every letter, mark or digit of
that script is one unit; the rest of the text counts one unit per \\w+ token (the `regex`
module's \\w, which keeps combining marks, so a Devanagari or Bengali word is one token).
So "日本語の文章" is 6 units, "नमस्ते दुनिया" 2 and "Debian 12 リリース" 2 + 4.

It prints the share of units removed overall, per script and per language (from IN_DIR's
index.json, else guessed from the text and the file name), the documents that lost more
than 5 %, and, when the run's report folder is there (OUT_DIR.report/removed.jsonl, or
--report), the removed units by reason. Exit status 0; --fail-over P exits 1 when the
overall share is above P percent or a document lost more than --doc-limit percent.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

import regex

NOSPACE_SCRIPTS = ("Han", "Hiragana", "Katakana", "Thai", "Lao", "Khmer", "Myanmar", "Yi")
_NOSPACE = regex.compile(
    r"(?V1)[[" + "".join(rf"\p{{scx={s}}}" for s in NOSPACE_SCRIPTS) + r"]&&[\p{L}\p{M}\p{N}]]"
)
_TOKEN = regex.compile(r"\w+")
_SPACE = regex.compile(r"\s+")

# Scripts tried when IN_DIR has no index.json (the dominant one names the document's script).
_GUESS_SCRIPTS = (
    "Latin", "Cyrillic", "Greek", "Armenian", "Georgian", "Hebrew", "Arabic", "Thaana", "Syriac",
    "Devanagari", "Bengali", "Gurmukhi", "Gujarati", "Oriya", "Tamil", "Telugu", "Kannada",
    "Malayalam", "Sinhala", "Thai", "Lao", "Tibetan", "Myanmar", "Khmer", "Ethiopic", "Hangul",
    "Hiragana", "Katakana", "Han", "Yi", "Cherokee", "Canadian_Aboriginal", "Tifinagh", "Vai",
    "Mongolian", "Nko",
)
_GUESS_RE = {s: regex.compile(rf"\p{{sc={s}}}") for s in _GUESS_SCRIPTS}


def count_words(text: str) -> int:
    """Script-aware word count (see the module docstring)."""
    units = len(_NOSPACE.findall(text))
    return units + len(_TOKEN.findall(_NOSPACE.sub(" ", text)))


def _norm(line: str) -> str:
    return _SPACE.sub(" ", line).strip()


def guess_script(text: str) -> str:
    counts = {s: len(r.findall(text)) for s, r in _GUESS_RE.items()}
    if counts["Hiragana"] + counts["Katakana"]:
        counts["Hiragana"] += counts.pop("Katakana") + counts["Han"]
    best = max(counts, key=lambda s: counts[s])
    return {"Hiragana": "Jpan", "Han": "Hani", "Hangul": "Kore"}.get(best, best)


def compare(in_text: str, out_text: str | None) -> tuple[int, int, list[str], int]:
    """(units in, units removed, removed lines, output lines matching no input line)."""
    in_lines = [n for n in (_norm(x) for x in in_text.splitlines()) if n]
    total = sum(count_words(x) for x in in_lines)
    if out_text is None:
        return total, total, in_lines, 0
    left = Counter(n for n in (_norm(x) for x in out_text.splitlines()) if n)
    removed: list[str] = []
    for line in in_lines:
        if left[line] > 0:
            left[line] -= 1
        else:
            removed.append(line)
    return total, sum(count_words(x) for x in removed), removed, sum(left.values())


def _pct(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:6.2f} %" if whole else "     - "


def _load_index(in_dir: Path) -> dict[str, dict]:
    path = in_dir / "index.json"
    if not path.is_file():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    docs = data.get("documents", data) if isinstance(data, dict) else data
    return {d["file"]: d for d in docs}


def _reasons(report_dir: Path, names: set[str]) -> Counter[str]:
    """Units removed per reason, from the run's removed.jsonl (our documents only)."""
    out: Counter[str] = Counter()
    path = report_dir / "removed.jsonl"
    if not path.is_file():
        return out
    with path.open(encoding="utf-8") as f:
        for raw in f:
            try:
                rec = json.loads(raw)
            except ValueError:
                continue
            src = str(rec.get("file") or rec.get("id") or "")
            if names and Path(src.split(":")[0]).name not in names:
                continue
            out[str(rec.get("reason", "?"))] += count_words(str(rec.get("text", "")))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("in_dir", type=Path, help="the clean documents (.txt)")
    ap.add_argument("out_dir", type=Path, help="what `clean IN_DIR OUT_DIR` wrote")
    ap.add_argument("--report", type=Path, help="the run's report folder [default: OUT_DIR.report]")
    ap.add_argument("--doc-limit", type=float, default=5.0, help="list documents losing more (percent)")
    ap.add_argument("--max-list", type=int, default=40, help="documents listed at most")
    ap.add_argument("--json", type=Path, help="also write all numbers to this file")
    ap.add_argument("--fail-over", type=float, help="exit 1 above this overall share (percent)")
    args = ap.parse_args(argv)

    index = _load_index(args.in_dir)
    files = sorted(p for p in args.in_dir.glob("*.txt") if p.is_file())
    if not files:
        print(f"harm: no .txt files in {args.in_dir}", file=sys.stderr)
        return 2
    docs = []
    for p in files:
        text = p.read_text(encoding="utf-8")
        out = args.out_dir / p.name
        out_text = out.read_text(encoding="utf-8") if out.is_file() else None
        total, removed, lines, added = compare(text, out_text)
        meta = index.get(p.name, {})
        docs.append({
            "file": p.name, "lang": meta.get("lang") or p.stem.split("-")[0],
            "script": meta.get("script") or guess_script(text), "source": meta.get("source", "?"),
            "words": total, "removed": removed, "missing": out_text is None, "added_lines": added,
            "removed_lines": lines,
        })

    words = sum(d["words"] for d in docs)
    removed = sum(d["removed"] for d in docs)
    print(f"{args.in_dir} -> {args.out_dir}: {len(docs)} documents, {words:,} words (script-aware units)")
    print(f"removed overall: {removed:,} words = {_pct(removed, words).strip()}"
          f"; documents removed whole: {sum(d['missing'] for d in docs)}"
          f"; documents touched: {sum(1 for d in docs if d['removed'])}"
          f"; output lines not in the input: {sum(d['added_lines'] for d in docs)}")

    def table(key: str, title: str) -> list[dict]:
        groups: dict[str, list[dict]] = defaultdict(list)
        for d in docs:
            groups[d[key]].append(d)
        rows = []
        for name, ds in groups.items():
            w, r = sum(d["words"] for d in ds), sum(d["removed"] for d in ds)
            worst = max(ds, key=lambda d: d["removed"] / max(d["words"], 1))
            rows.append({key: name, "docs": len(ds), "words": w, "removed": r, "share": r / w if w else 0.0,
                         "over_limit": sum(1 for d in ds if d["removed"] * 100 > args.doc_limit * d["words"]),
                         "worst_doc_share": worst["removed"] / max(worst["words"], 1)})
        rows.sort(key=lambda x: (-x["share"], x[key]))
        print(f"\nper {title} (worst first)")
        print(f"  {title:<10} {'docs':>5} {'words':>9} {'removed':>9} {'share':>9} {'>' + str(args.doc_limit) + '%':>6} "
              f"{'worst doc':>9}")
        for x in rows:
            print(f"  {x[key]:<10} {x['docs']:>5} {x['words']:>9,} {x['removed']:>9,} {_pct(x['removed'], x['words']):>9} "
                  f"{x['over_limit']:>6} {100 * x['worst_doc_share']:7.1f} %")
        return rows

    scripts = table("script", "script")
    langs = table("lang", "language")

    bad = sorted((d for d in docs if d["removed"] * 100 > args.doc_limit * d["words"]),
                 key=lambda d: (-d["removed"] / max(d["words"], 1), d["file"]))
    print(f"\ndocuments that lost more than {args.doc_limit:g} %: {len(bad)} of {len(docs)}")
    for d in bad[: args.max_list]:
        first = d["removed_lines"][0][:70] if d["removed_lines"] else ""
        print(f"  {100 * d['removed'] / max(d['words'], 1):6.1f} %  {d['file']:<28} "
              f"{'(no output) ' if d['missing'] else ''}{first}")
    if len(bad) > args.max_list:
        print(f"  ... and {len(bad) - args.max_list} more (--max-list)")

    report_dir = args.report or args.out_dir.with_name(args.out_dir.name + ".report")
    reasons = _reasons(report_dir, {d["file"] for d in docs})
    if reasons:
        print(f"\nremoved words by reason ({report_dir / 'removed.jsonl'}; the audit's own lines):")
        for reason, n in reasons.most_common():
            print(f"  {reason:<24} {n:>9,}")

    if args.json:
        args.json.write_text(json.dumps({
            "words": words, "removed": removed, "share": removed / words if words else 0.0,
            "per_script": scripts, "per_language": langs,
            "documents": [{k: v for k, v in d.items() if k != "removed_lines"} for d in docs],
            "reasons": dict(reasons),
        }, ensure_ascii=False, indent=1), encoding="utf-8")
    if args.fail_over is not None and (removed * 100 > args.fail_over * words or bad):
        return 1
    return 0


if __name__ == "__main__":
    import signal

    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `harm.py ... | head` ends quietly, as other tools do
    sys.exit(main())
