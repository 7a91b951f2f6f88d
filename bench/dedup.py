"""MinHash dedup benchmark: cleaner vs plain datasketch vs datatrove on a generated corpus.

    make bench-dedup                                   # 20k documents, all three tools
    .venv/bin/python bench/dedup.py --dragnet DIR --docs 5000 --skip-datatrove   # quick look
    .venv/bin/python bench/dedup.py --dragnet DIR --scaling                       # + 50k/100k/200k

The corpus comes from bench/gen_corpus.py (planted near-duplicate clusters and
duplicate paragraphs with exact Jaccard); it is cached under --out by its
parameters. Each tool runs as a child process; wall time, CPU time
(user+sys of the child tree) and memory (peak of the summed PSS of the
child process tree, sampled every 0.2 s, and the largest single process'
max RSS from wait4) are measured around it.

Metrics (J = exact Jaccard of word 5-gram sets, see gen_corpus.py):

* survivor(x): x if x was kept, else the twin it was removed for (followed
  until a kept document). A planted pair (a, b) is **found** when
  survivor(a) == survivor(b): one of them was removed with the other, or
  both went to the same survivor. **pair recall** = found / planted pairs
  with J >= 0.8 (all pairs inside each planted cluster, parent-copy and
  siblings). **handled** = at least one of the two removed, any twin.
* **cluster recall**: planted clusters that have a pair with J >= 0.8 and
  after dedup no two kept members with J >= 0.8, over all such clusters.
* **precision** = removed documents whose exact J with their twin is >= 0.8,
  over all removed documents (duplicate and near-duplicate reasons; J is
  recomputed from the two texts, so unplanted twins count too). "by
  jaccard_dedup" also counts as correct a removal whose J is >= 0.8 once
  paragraphs repeated inside each document are dropped (what cleaner signs).
* below-threshold merges: planted pairs with J < 0.8 that were found, per
  bin (not an error by itself; the precision counts the errors).
* paragraphs (cleaner only): a planted duplicate paragraph with paragraph J
  (word 3-grams) >= 0.8 is **found** when the copy or the original was
  removed with a duplicate-paragraph reason; recall per kind (inner/corpus,
  exact/near). **precision**: removed paragraphs (the four duplicate
  reasons) whose text equals their twin's up to case and punctuation
  (exact reasons) or has J3 >= 0.8 with it (near reasons), over all.
  A planted near repeat inside a document whose two sides each have a word the
  other lacks is, by cleaner's rule, one template stating two facts, and stays:
  those are counted apart (neither found nor missed).
* throughput: input MB (JSONL bytes, 1e6) and documents over wall seconds of
  the whole run (read, shingle, sign, LSH, verify, cluster, write);
  MB per CPU-second as "per core".
"""

from __future__ import annotations

import argparse
import gc as _gc
import json
import math
import os
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import gen_corpus as gc  # noqa: E402

from cleaner.dedup.inner import substitutes  # noqa: E402

DOC_REASONS = {"duplicate-document", "near-duplicate-document"}
PARA_EXACT = {"duplicate-paragraph", "corpus-duplicate-paragraph"}
PARA_NEAR = {"near-duplicate-paragraph", "corpus-near-duplicate-paragraph"}
BENCH_VENV = ROOT / ".venv-bench"
BENCH_PKGS = ["datatrove", "spacy", "regex", "tokenizers", "orjson", "xxhash<4"]


# --- measuring a child process tree ------------------------------------------------------

def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = defaultdict(list)
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2:].split()[1])
        kids[ppid].append(int(d))
    return kids


def _tree_mem(root: int) -> int:
    """Summed PSS (RSS if PSS is unreadable) of root and its descendants, bytes."""
    kids = _children_map()
    todo, total = [root], 0
    while todo:
        pid = todo.pop()
        todo.extend(kids.get(pid, ()))
        try:
            with open(f"/proc/{pid}/smaps_rollup", "rb") as fh:
                for line in fh:
                    if line.startswith(b"Pss:"):
                        total += int(line.split()[1]) * 1024
                        break
        except OSError:
            try:
                with open(f"/proc/{pid}/statm", "rb") as fh:
                    total += int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            except OSError:
                pass
    return total


_SUBREAPER = [False]


def _become_subreaper() -> None:
    """Orphaned descendants (a forkserver, pool workers) get re-parented to this
    process, so that reaping them adds their CPU time to RUSAGE_CHILDREN."""
    if _SUBREAPER[0]:
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        _SUBREAPER[0] = libc.prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    except Exception:
        pass


TIMEOUT = [0.0]  # seconds per tool run, 0 = none (set from --timeout)


def run_measured(cmd: list[str], cwd: Path | None = None, log: Path | None = None) -> dict:
    """Run cmd; wall seconds, CPU seconds of the whole tree, peak summed PSS, max single RSS.

    CPU: this process is a child subreaper, waits for the command and then for
    every orphaned descendant, and takes the difference of
    getrusage(RUSAGE_CHILDREN) user+sys. Max RSS: the largest ru_maxrss that
    wait4 returned for the command or an orphan (each includes the
    descendants that process reaped). Peak PSS: /proc sampled every 0.2 s.
    """
    import resource

    _become_subreaper()
    # Start each run with no dirty pages pending from earlier runs (their outputs and
    # work files): the kernel's writeback of those otherwise lands on this run.
    os.sync()
    load = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = open(log, "wb") if log else subprocess.DEVNULL
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    timed_out = threading.Event()

    def kill() -> None:
        timed_out.set()
        try:
            os.killpg(p.pid, 9)
        except OSError:
            pass

    timer = threading.Timer(TIMEOUT[0], kill) if TIMEOUT[0] > 0 else None
    if timer:
        timer.daemon = True
        timer.start()
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            try:
                peak[0] = max(peak[0], _tree_mem(p.pid))
            except Exception:
                pass
            done.wait(0.2)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    if timer:
        timer.cancel()
    max_rss = ru.ru_maxrss
    deadline = time.monotonic() + 60
    while _SUBREAPER[0] and time.monotonic() < deadline:  # orphans that outlived the command
        try:
            pid, _, oru = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            time.sleep(0.05)
            continue
        max_rss = max(max_rss, oru.ru_maxrss)
    done.set()
    th.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    p.returncode = os.waitstatus_to_exitcode(status)
    if log:
        out.close()
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return {"wall": wall, "cpu": cpu, "peak_pss": peak[0], "max_rss": max_rss * 1024, "rc": p.returncode,
            "cpu_complete": _SUBREAPER[0], "load_before": load, "timed_out": timed_out.is_set()}


# --- corpus ---------------------------------------------------------------------------------

def ensure_corpus(args: argparse.Namespace, docs: int, check: bool | None, shard_docs: int | None = None) -> Path:
    pairs = args.pairs if args.pairs is not None else docs // 10
    sd = shard_docs or args.shard_docs
    d = args.out / (f"corpus-{docs}-p{pairs}-s{args.seed}" + (f"-sd{sd}" if sd != 2500 else "")
                    + (f"-sp{args.splice:g}" if args.splice else "")
                    + (f"-c{args.max_copies}" if args.max_copies != 4 else ""))
    want = {"version": gc.GEN_VERSION, "docs": docs, "pairs": pairs, "seed": args.seed, "shard_docs": sd,
            "splice": args.splice, "max_copies": args.max_copies}
    defaults = {"splice": 0.0, "max_copies": 4}
    try:
        meta = json.loads((d / "meta.json").read_text())
        if all(meta.get(k, defaults.get(k)) == v for k, v in want.items()):
            return d
    except (OSError, ValueError):
        pass
    print(f"generating {docs:,} documents -> {d}", file=sys.stderr)
    gc.generate(args.dragnet, d, docs, pairs, None, args.seed, sd, check, splice=args.splice,
                max_copies=args.max_copies)
    return d


def load_texts(shards: Path) -> dict[str, str]:
    texts = {}
    for f in sorted(shards.glob("*.jsonl")):
        with open(f, encoding="utf-8") as fh:
            for line in fh:
                r = json.loads(line)
                texts[r["id"]] = r["text"]
    return texts


class Shingles:
    """Cached shingle sets of documents (J for precision)."""

    def __init__(self, texts: dict[str, str]) -> None:
        self.texts = texts
        self.cache: dict[str, set] = {}
        self.cache_dd: dict[str, set] = {}

    def get(self, i: str) -> set:
        s = self.cache.get(i)
        if s is None:
            s = self.cache[i] = gc.shingle_set(self.texts[i])
        return s

    def get_dedup(self, i: str) -> set:
        s = self.cache_dd.get(i)
        if s is None:
            s = self.cache_dd[i] = gc.shingle_set("\n".join(gc.dedup_paragraphs(self.texts[i].split("\n"))))
        return s

    def j(self, a: str, b: str) -> float:
        return gc.jaccard_sets(self.get(a), self.get(b))

    def j_dedup(self, a: str, b: str) -> float:
        return gc.jaccard_sets(self.get_dedup(a), self.get_dedup(b))


# --- metrics --------------------------------------------------------------------------------

BINS_HI = [(0.8, 0.85), (0.85, 0.9), (0.9, 0.95), (0.95, 1.0), (1.0, 1.01)]
BINS_LO = [(0.0, 0.5), (0.5, 0.6), (0.6, 0.7), (0.7, 0.75), (0.75, 0.8)]


def doc_metrics(removed: dict[str, str], truth: dict, sh: Shingles, thr: float = 0.8) -> dict:
    """removed: id -> twin id, for documents removed as (near-)duplicates."""

    def survivor(x: str) -> str:
        seen = 0
        while x in removed and seen < 100:
            x = removed[x]
            seen += 1
        return x

    hi = [p for p in truth["pairs"] if p["jaccard"] >= thr]
    found = [p for p in hi if survivor(p["a"]) == survivor(p["b"])]
    handled = [p for p in hi if p["a"] in removed or p["b"] in removed]
    misses = []
    for p in hi:
        if survivor(p["a"]) == survivor(p["b"]):
            continue
        ra, rb = removed.get(p["a"]), removed.get(p["b"])
        if ra is None and rb is None:
            why = "both kept"
        else:
            why = "split: " + ", ".join(f"{x} removed for {t} (J {sh.j(x, t):.3f})"
                                        for x, t in ((p["a"], ra), (p["b"], rb)) if t is not None)
        misses.append({**p, "why": why})
    by_bin = {}
    for lo, up in BINS_HI + BINS_LO:
        ps = [p for p in truth["pairs"] if lo <= p["jaccard"] < up]
        f = sum(1 for p in ps if survivor(p["a"]) == survivor(p["b"]))
        by_bin[f"{lo:.2f}-{min(up, 1.0):.2f}" if up <= 1.0 else "1.00"] = (f, len(ps))
    pj = {(p["a"], p["b"]): p["jaccard"] for p in truth["pairs"]}
    clusters_hi = clean = 0
    for c in truth["clusters"]:
        mem = c["members"]
        hi_pairs = [(a, b) for i, a in enumerate(mem) for b in mem[i + 1:] if pj.get((a, b), 0) >= thr]
        if not hi_pairs:
            continue
        clusters_hi += 1
        if not any(a not in removed and b not in removed for a, b in hi_pairs):
            clean += 1
    cluster_of = {m: ci for ci, c in enumerate(truth["clusters"]) for m in c["members"]}
    correct, errors = 0, []
    for x, tw in sorted(removed.items()):
        j = sh.j(x, tw)
        if j >= thr:
            correct += 1
        else:
            errors.append({"id": x, "twin": tw, "jaccard": round(j, 4), "jaccard_dedup": round(sh.j_dedup(x, tw), 4),
                           "same_cluster": cluster_of.get(x, -1) == cluster_of.get(tw, -2)})
    return {
        "pairs_ge": len(hi), "found": len(found), "handled": len(handled),
        "recall": len(found) / len(hi) if hi else 1.0,
        "both_kept": sum(1 for p in misses if p["why"] == "both kept"),
        "handled_recall": len(handled) / len(hi) if hi else 1.0,
        "clusters": clusters_hi, "clusters_clean": clean,
        "cluster_recall": clean / clusters_hi if clusters_hi else 1.0,
        "removed": len(removed), "correct": correct,
        "precision": correct / len(removed) if removed else 1.0,
        "precision_dedup": (correct + sum(1 for e in errors if e["jaccard_dedup"] >= thr)) / len(removed)
        if removed else 1.0,
        "errors": errors, "by_bin": by_bin,
        "misses": sorted(misses, key=lambda p: -p["jaccard"]),
    }


def _partitions(items: list[str]):
    if not items:
        yield []
        return
    for rest in _partitions(items[1:]):
        yield [[items[0]]] + rest
        for i in range(len(rest)):
            yield rest[:i] + [[items[0]] + rest[i]] + rest[i + 1:]


def recall_ceiling(truth: dict, order: dict[str, int], thr: float = 0.8, max_size: int = 8) -> dict:
    """The highest pair recall any clustering can reach under cleaner's rules with --keep first:
    every removed document has J >= thr with its cluster's survivor, the survivor is the
    cluster's first document in input order, and no two survivors have J >= thr. Exhaustive
    over the set partitions of each planted cluster (unplanted pairs are far below thr, see
    background_check). Chains (a copy at J 0.98 of a parent that is at 0.80 with an earlier
    sibling, the copy below 0.8 with that sibling) cap it below 1.0."""
    pj: dict[tuple[str, str], float] = {}
    for p in truth["pairs"]:
        pj[(p["a"], p["b"])] = pj[(p["b"], p["a"])] = p["jaccard"]
    total = best = skipped = 0
    for c in truth["clusters"]:
        mem = sorted(c["members"], key=order.__getitem__)
        hi = [(x, y) for i, x in enumerate(mem) for y in mem[i + 1:] if pj[(x, y)] >= thr]
        total += len(hi)
        if len(mem) > max_size:
            skipped += 1
            best += len(hi)  # not searched: counted as reachable
            continue
        top = 0
        for part in _partitions(mem):
            surv = [min(g, key=order.__getitem__) for g in part]
            if any(pj[(s, x)] < thr for g, s in zip(part, surv) for x in g if x != s):
                continue
            if any(pj[(s, t)] >= thr for i, s in enumerate(surv) for t in surv[i + 1:]):
                continue
            group = {x: i for i, g in enumerate(part) for x in g}
            top = max(top, sum(1 for x, y in hi if group[x] == group[y]))
        best += top
    return {"pairs_ge": total, "max_found": best, "ceiling": best / total if total else 1.0,
            "clusters_not_searched": skipped}


def para_metrics(recs: list[dict], truth: dict, texts: dict[str, str], thr: float = 0.8) -> dict:
    removed = {}  # (id, para index) -> (reason, twin id, twin para index)
    for r in recs:
        if r.get("level") == "paragraph" and r["reason"] in PARA_EXACT | PARA_NEAR:
            tw = r.get("twin", {})
            removed[(r["id"], r["paragraph"] - 1)] = (r["reason"], tw.get("id"), (tw.get("line") or 0) - 1, r["text"])
    per_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    below: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    templated: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    misses = []
    for pt in truth["paragraphs"]:
        a, b = (pt["doc"], pt["para"]), (pt["src_doc"], pt["src_para"])
        hit = a in removed or b in removed
        tgt = per_kind if pt["jaccard3"] >= thr else below
        if pt["kind"] == "inner-near" and pt["jaccard3"] >= thr:
            # a copy edited so that each side has a word the other lacks reads, inside one
            # document, as one template stating two facts: cleaner keeps both by design
            # (cleaner.dedup.inner.substitutes); counted apart, not as misses
            ta, tb = texts[pt["doc"]].split("\n")[pt["para"]], texts[pt["src_doc"]].split("\n")[pt["src_para"]]
            if substitutes(ta, tb):
                tgt = templated
        tgt[pt["kind"]][1] += 1
        if hit:
            tgt[pt["kind"]][0] += 1
        elif pt["jaccard3"] >= thr and tgt is not templated:
            misses.append(pt)
    correct = 0
    errors = []
    paras_cache: dict[str, list[str]] = {}

    def para(doc: str, i: int) -> str | None:
        ps = paras_cache.get(doc)
        if ps is None:
            ps = paras_cache[doc] = texts[doc].split("\n")
        return ps[i] if 0 <= i < len(ps) else None

    by_reason: Counter[str] = Counter()
    for (doc, i), (reason, tw, ti, text) in removed.items():
        by_reason[reason] += 1
        twin_text = para(tw, ti) if tw in texts else None
        if twin_text is None:
            errors.append({"id": doc, "para": i, "reason": reason, "why": "twin not found"})
            continue
        if reason in PARA_EXACT:
            ok = gc.norm_key(text) == gc.norm_key(twin_text)
            j3 = 1.0 if ok else gc.jaccard(text, twin_text, 3)
        else:
            j3 = gc.jaccard(text, twin_text, 3)
            ok = j3 >= thr
        if ok:
            correct += 1
        else:
            errors.append({"id": doc, "para": i, "reason": reason, "twin": tw, "twin_para": ti,
                           "jaccard3": round(j3, 4)})
    planted_keys = {(pt["doc"], pt["para"]) for pt in truth["paragraphs"]} | \
        {(pt["src_doc"], pt["src_para"]) for pt in truth["paragraphs"]}
    n_hi = sum(v[1] for v in per_kind.values())
    n_found = sum(v[0] for v in per_kind.values())
    return {"planted_ge": n_hi, "found": n_found, "recall": n_found / n_hi if n_hi else 1.0,
            "per_kind": dict(per_kind), "below": dict(below), "templated": dict(templated), "removed": len(removed),
            "removed_planted": sum(1 for k in removed if k in planted_keys),
            "by_reason": dict(by_reason), "correct": correct,
            "precision": correct / len(removed) if removed else 1.0, "errors": errors, "misses": misses}


# --- the tools ------------------------------------------------------------------------------

def run_cleaner(corpus: Path, work: Path, workers: int, strip: bool, tag: str, src: Path | None = None,
                extra: tuple[str, ...] = ()) -> dict:
    out, rep = work / f"{tag}-out", work / f"{tag}-report"
    for d in (out, rep):
        shutil.rmtree(d, ignore_errors=True)
    bd = work / f"{tag}-breakdown.json"
    # Bytecode as an installed package has it: pip compiles it at install time, while an
    # editable checkout under PYTHONDONTWRITEBYTECODE=1 (this machine) recompiles
    # cleaner's modules in every process (~0.07 CPU-s each, main and fork server).
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "cleaner")], check=False)
    cmd = [sys.executable, str(HERE / "_clean_timed.py"), str(bd), "--", str(src or corpus / "shards"), str(out),
           "-q", "--report", str(rep), "-j", str(workers)] + ([] if strip else ["--no-strip"]) + list(extra)
    m = run_measured(cmd, log=work / f"{tag}.log")
    if m["timed_out"]:
        raise TimeoutError(f"cleaner ({tag}) stopped after --timeout {TIMEOUT[0]:.0f} s")
    if m["rc"] not in (0, 1):
        raise SystemExit(f"cleaner failed ({m['rc']}), see {work / f'{tag}.log'}")
    report = json.loads((rep / "report.json").read_text())
    recs = [json.loads(line) for line in open(rep / "removed.jsonl", encoding="utf-8")]
    removed = {r["id"]: r["twin"]["id"] for r in recs if r.get("level") == "document" and r["reason"] in DOC_REASONS}
    m.update(report=report, records=recs, removed=removed,
             breakdown=json.loads(bd.read_text()) if bd.exists() else {})
    return m


def run_datasketch(corpus: Path, work: Path) -> dict:
    out = work / "datasketch"
    shutil.rmtree(out, ignore_errors=True)
    m = run_measured([sys.executable, str(HERE / "_datasketch_plain.py"), str(corpus / "shards"), str(out)],
                     log=work / "datasketch.log")
    if m["timed_out"]:
        raise TimeoutError(f"datasketch stopped after --timeout {TIMEOUT[0]:.0f} s")
    if m["rc"] != 0:
        raise SystemExit(f"datasketch run failed, see {work / 'datasketch.log'}")
    m["removed"] = {r["id"]: r["twin"] for r in map(json.loads, open(out / "removed.jsonl", encoding="utf-8"))}
    return m


def ensure_bench_venv() -> Path | str:
    """The separate venv with datatrove; returns its python or a reason string."""
    py = BENCH_VENV / "bin" / "python"
    ok = py.exists() and subprocess.run([str(py), "-c", "import datatrove, spacy, xxhash, orjson, tokenizers"],
                                        capture_output=True).returncode == 0
    if ok:
        return py
    print(f"creating {BENCH_VENV} with {' '.join(BENCH_PKGS)} (once)", file=sys.stderr)
    try:
        if not py.exists():
            subprocess.run(["python3", "-m", "venv", str(BENCH_VENV)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "--quiet", *BENCH_PKGS], check=True)
    except (subprocess.CalledProcessError, OSError) as e:
        return f"could not install datatrove into {BENCH_VENV}: {e}"
    return py


def run_datatrove(corpus: Path, work: Path, workers: int) -> dict:
    py = ensure_bench_venv()
    if isinstance(py, str):
        return {"error": py}
    out = work / "datatrove"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    # its progress bars and logs go to the log file; it runs from the work dir (it writes logs/ there)
    m = run_measured([str(py), str(HERE / "_datatrove_run.py"), str(corpus / "shards"), str(out),
                      "--workers", str(workers)], cwd=out, log=work / "datatrove.log")
    if m["timed_out"]:
        return {"error": f"stopped after --timeout {TIMEOUT[0]:.0f} s"}
    if m["rc"] != 0:
        return {"error": f"datatrove exited {m['rc']}, see {work / 'datatrove.log'}"}
    kept_of: dict[int, str] = {}
    removed_cluster: dict[str, int] = {}
    for f in sorted((out / "output").glob("*.jsonl")):
        for line in open(f, encoding="utf-8"):
            r = json.loads(line)
            c = r.get("metadata", {}).get("minhash_cluster_id", -1)
            if c != -1:
                kept_of[c] = r["id"]
    for f in sorted((out / "removed").glob("*.jsonl")):
        for line in open(f, encoding="utf-8"):
            r = json.loads(line)
            removed_cluster[r["id"]] = r.get("metadata", {}).get("minhash_cluster_id", -1)
    m["removed"] = {i: kept_of[c] for i, c in removed_cluster.items() if c in kept_of}
    m["orphans"] = sum(1 for c in removed_cluster.values() if c not in kept_of)
    m["stages"] = json.loads((out / "stages.json").read_text())
    return m


# --- printing -------------------------------------------------------------------------------

def mb(x: float) -> str:
    return f"{x / 2**20:,.0f} MiB"


def throughput(m: dict, nbytes: int, ndocs: int) -> dict:
    return {"mbs": nbytes / 1e6 / m["wall"], "docs": ndocs / m["wall"],
            "mbs_cpu": nbytes / 1e6 / m["cpu"] if m["cpu"] else 0.0}


def fmt_pct(n: int, d: int) -> str:
    return f"{n}/{d} ({n / d:.3f})" if d else "-"


def print_quality(name: str, dm: dict) -> None:
    print(f"  {name:<11} recall {dm['recall']:.4f} ({dm['found']}/{dm['pairs_ge']}, both kept {dm['both_kept']})   "
          f"handled {dm['handled_recall']:.4f}   clusters {dm['cluster_recall']:.4f} "
          f"({dm['clusters_clean']}/{dm['clusters']})   precision {dm['precision']:.4f} "
          f"({dm['correct']}/{dm['removed']}; {dm['precision_dedup']:.4f} by jaccard_dedup)")


def print_bins(results: dict[str, dict]) -> None:
    names = list(results)
    print("  pairs found by exact J bin:   " + "".join(f"{n:>16}" for n in names))
    for key in next(iter(results.values()))["by_bin"]:
        cells = []
        for n in names:
            f, t = results[n]["by_bin"][key]
            cells.append(f"{f}/{t}".rjust(16))
        print(f"    J {key:<26}" + "".join(cells))


def best_of(n: int, fn) -> dict:
    runs = [fn() for _ in range(max(1, n))]
    return min(runs, key=lambda r: r.get("wall", float("inf")))


def incremental(a: argparse.Namespace) -> dict:
    """--incremental: the last --incremental-batch documents (whole shards) of a corpus of
    --incremental-docs cleaned against an --index of the others, next to all at once (--no-strip);
    --incremental-exact: also with an index built and used with --index-exact."""
    total = a.incremental_docs
    corpus = ensure_corpus(a, total, None)
    shards = sorted((corpus / "shards").glob("*.jsonl"))
    nb = max(1, round(len(shards) * a.incremental_batch / total))
    work = a.out / f"incremental-{total}-{a.incremental_batch}"
    shutil.rmtree(work, ignore_errors=True)
    for name, group in (("earlier", shards[:-nb]), ("batch", shards[-nb:])):
        (work / name).mkdir(parents=True)
        for sh in group:  # hard links: a run skips symbolic links
            os.link(sh, work / name / sh.name)
    batch_ids = {json.loads(line)["id"] for sh in shards[-nb:] for line in open(sh, encoding="utf-8")}
    variants = {"": ()}
    if a.incremental_exact:
        variants["exact"] = ("--index-exact",)
    runs = {}
    for name, flags in variants.items():
        idx, tag = work / f"index{'-' * bool(name)}{name}", f"index{'-' * bool(name)}{name}"
        with_ = f" ({' '.join(flags)})" if flags else ""
        print(f"-- incremental: index of {total - len(batch_ids):,} documents{with_} ...", file=sys.stderr, flush=True)
        build = run_cleaner(corpus, work, a.workers, False, f"{tag}-build", work / "earlier",
                            ("--index", str(idx), *flags))
        print(f"-- incremental: batch of {len(batch_ids):,} against it ...", file=sys.stderr, flush=True)
        batch = run_cleaner(corpus, work, a.workers, False, f"{tag}-batch", work / "batch", ("--index", str(idx), *flags))
        first = json.loads((idx / "manifest.json").read_text())["parts"][0]  # the batch's own part came after
        runs[name] = build, batch, first, sum(f.stat().st_size for f in (idx / "parts" / first["run"]).iterdir())
    print(f"-- incremental: all {total:,} at once ...", file=sys.stderr, flush=True)
    whole = run_cleaner(corpus, work, a.workers, False, "whole")
    theirs = {i for i in whole["removed"] if i in batch_ids}
    out: dict = {"docs": total, "batch": len(batch_ids), "whole": {k: whole[k] for k in ("wall", "cpu", "peak_pss")}}
    for name, (build, batch, first, disk) in runs.items():
        indexed = first["docs"]
        mine = set(batch["removed"])
        print(f"\n== incremental dedup{' --index-exact' * bool(name)}: a {len(batch_ids):,}-document batch against "
              f"an index of {build['report']['documents']['read']:,} documents ({indexed:,} kept), --no-strip "
              f"-j {a.workers}")
        for label, m in ((f"build the index ({total - len(batch_ids):,} docs)", build),
                         ("the batch against the index", batch), (f"all {total:,} at once", whole)):
            print(f"  {label:<34} wall {m['wall']:>7.1f} s  CPU {m['cpu']:>7.1f} s  peak PSS {mb(m['peak_pss']):>10}"
                  f"  reduce {m['report']['timings'].get('reduce', 0):.2f} s")
        print(f"  index on disk: {disk / max(1, indexed):.0f} bytes per indexed document ({mb(disk)}); the batch "
              f"run reads it memory-mapped and holds its arrays while it clusters")
        print(f"  batch documents removed as duplicates: {len(mine & theirs):,} by both, {len(mine - theirs):,} "
              f"only against the index, {len(theirs - mine):,} only all at once")
        got = {"indexed": indexed, "index_bytes": disk,
               "build": {k: build[k] for k in ("wall", "cpu", "peak_pss")},
               "batch_run": {k: batch[k] for k in ("wall", "cpu", "peak_pss")},
               "removed_both": len(mine & theirs), "removed_only_index": len(mine - theirs),
               "removed_only_whole": len(theirs - mine)}
        if name:
            out[name] = got
        else:
            out.update(got)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="MinHash dedup benchmark (see the module docstring)")
    ap.add_argument("--dragnet", type=Path, default=ROOT.parent / "shared" / "bench" / "dragnet")
    ap.add_argument("--out", type=Path, default=HERE / "out" / "dedup")
    ap.add_argument("--docs", type=int, default=20000)
    ap.add_argument("--pairs", type=int, default=None, help="planted copies (default docs/10)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--shard-docs", type=int, default=2500)
    ap.add_argument("--splice", type=float, default=0.0, help="gen_corpus.py --splice (default 0)")
    ap.add_argument("--max-copies", type=int, default=4, choices=range(1, 5),
                    help="gen_corpus.py --max-copies (default 4; 1: plain pairs, no chains)")
    ap.add_argument("--workers", type=int, default=2, help="worker processes for cleaner and datatrove")
    ap.add_argument("--skip-datasketch", action="store_true")
    ap.add_argument("--skip-datatrove", action="store_true")
    ap.add_argument("--skip-strip", action="store_true", help="skip the run with boilerplate stripping on")
    ap.add_argument("--scaling", action="store_true", help="also run cleaner (--no-strip) on --scaling-sizes")
    ap.add_argument("--scaling-sizes", default="50000,100000,200000")
    ap.add_argument("--json", type=Path, default=None, help="write all numbers here (default OUT/results-<run name>.json)")
    ap.add_argument("--repeat", type=int, default=1, help="run each tool N times, keep the fastest (noisy machine)")
    ap.add_argument("--timeout", type=float, default=7200,
                    help="stop a tool run after this many seconds (0: never); default 2 h")
    ap.add_argument("--scaling-shard-docs", type=int, default=None,
                    help="documents per shard in the scaling corpora (default: --shard-docs)")
    ap.add_argument("--show", type=int, default=5, help="examples of misses and errors to print")
    ap.add_argument("--incremental", action="store_true",
                    help="also time a batch against an --index of the rest of a corpus, next to all at once")
    ap.add_argument("--incremental-only", action="store_true", help="only that")
    ap.add_argument("--incremental-docs", type=int, default=120000)
    ap.add_argument("--incremental-batch", type=int, default=20000)
    ap.add_argument("--incremental-exact", action="store_true",
                    help="--incremental also with an index built and used with --index-exact")
    a = ap.parse_args(argv)
    TIMEOUT[0] = a.timeout
    a.out = a.out.resolve()
    a.out.mkdir(parents=True, exist_ok=True)
    a.dragnet = a.dragnet.resolve()
    if a.incremental_only:
        r = incremental(a)
        (a.out / f"results-incremental-{a.incremental_docs}.json").write_text(json.dumps(r, indent=1))
        return 0

    corpus = ensure_corpus(a, a.docs, None)
    meta = json.loads((corpus / "meta.json").read_text())
    truth = json.loads((corpus / "truth.json").read_text())
    work = a.out / (f"runs-{a.docs}" + (f"-sd{a.shard_docs}" if a.shard_docs != 2500 else "")
                    + (f"-sp{a.splice:g}" if a.splice else "") + (f"-c{a.max_copies}" if a.max_copies != 4 else ""))
    work.mkdir(parents=True, exist_ok=True)
    nbytes, ndocs = meta["bytes"], meta["docs"]
    texts = load_texts(corpus / "shards")
    sh = Shingles(texts)
    results: dict = {"corpus": meta, "background_check": truth.get("background_check")}

    print(f"== corpus: {ndocs:,} documents, {nbytes / 1e6:.1f} MB, {meta['words'] / ndocs:.0f} words/doc, "
          f"{meta['shards']} shards; {meta['pair_count']:,} planted pairs in {meta['clusters']:,} clusters "
          f"({meta['pairs_ge_0.8']:,} with J >= 0.8), {meta['para_dups']:,} planted duplicate paragraphs")
    bgc = truth.get("background_check")
    if bgc:
        print(f"   background: {bgc['unplanted_candidates']:,} unplanted candidate pairs checked exactly, "
              f"max J {bgc['unplanted_max_jaccard']:.3f}, >= 0.5: {bgc['unplanted_ge_0.5']}, "
              f">= 0.8: {bgc['unplanted_ge_0.8']} (checker found "
              f"{bgc['planted_pairs_ge_0.5_found_as_candidates']}/{bgc['planted_pairs_ge_0.5']} planted pairs >= 0.5)")
    else:
        print("   background check not run for this size (gen_corpus.py --check-background)")

    runs: dict[str, dict] = {}
    print(f"\n-- cleaner --no-strip -j {a.workers} ...", file=sys.stderr, flush=True)
    runs["cleaner"] = best_of(a.repeat, lambda: run_cleaner(corpus, work, a.workers, strip=False, tag="cleaner"))
    if not a.skip_datasketch:
        print("-- datasketch (plain, 1 process) ...", file=sys.stderr, flush=True)
        runs["datasketch"] = best_of(a.repeat, lambda: run_datasketch(corpus, work))
    dt_error = None
    if not a.skip_datatrove:
        print(f"-- datatrove MinHash, {a.workers} workers ...", file=sys.stderr, flush=True)
        dt = best_of(a.repeat, lambda: run_datatrove(corpus, work, a.workers))
        if "error" in dt:
            dt_error = dt["error"]
        else:
            runs["datatrove"] = dt
    strip_run = None
    if not a.skip_strip:
        print("-- cleaner with boilerplate stripping ...", file=sys.stderr, flush=True)
        strip_run = run_cleaner(corpus, work, a.workers, strip=True, tag="cleaner-strip")

    quality = {n: doc_metrics(r["removed"], truth, sh) for n, r in runs.items()}
    ceiling = recall_ceiling(truth, {d: i for i, d in enumerate(texts)})
    results["recall_ceiling"] = ceiling
    print(f"\n== near-duplicate documents at J >= 0.8 ({meta['pairs_ge_0.8']} planted pairs)")
    print(f"  ceiling     recall {ceiling['ceiling']:.4f} ({ceiling['max_found']}/{ceiling['pairs_ge']}): the most "
          "any clustering can reach when every removed document is >= 0.8 with its survivor, the survivor is "
          "its cluster's first document in input order and no two survivors are >= 0.8 (exhaustive per "
          "planted cluster; chains cap it)")
    for n, q in quality.items():
        print_quality(n, q)
    print_bins(quality)
    for n, q in quality.items():
        if q["misses"] or q["errors"]:
            print(f"  {n}: {len(q['misses'])} missed pairs ({q['both_kept']} with both kept, the others split "
                  f"between two survivors), {len(q['errors'])} removals with J < 0.8 "
                  f"({sum(1 for e in q['errors'] if not e['same_cluster'])} with an unrelated twin, "
                  f"{sum(1 for e in q['errors'] if e['jaccard_dedup'] >= 0.8)} >= 0.8 once paragraphs repeated "
                  "inside a document are dropped, as cleaner does before signing)")
            for p in q["misses"][:a.show]:
                print(f"    miss  {p['a']} ~ {p['b']}  J {p['jaccard']:.4f} ({p['relation']}, {p['kind']}): {p['why']}")
            for e in sorted(q["errors"], key=lambda e: e["jaccard"])[:a.show]:
                print(f"    error {e['id']} removed for {e['twin']}  J {e['jaccard']:.4f} "
                      f"(without repeats {e['jaccard_dedup']:.4f})")
    if "datatrove" in runs and runs["datatrove"].get("orphans"):
        print(f"  datatrove: {runs['datatrove']['orphans']} removed documents whose cluster has no kept document")

    empties = [r["id"] for r in runs["cleaner"]["records"]
               if r.get("level") == "document" and r["reason"] == "empty-document"]
    if empties:
        best: dict[str, float] = {}
        for p in truth["pairs"]:
            for x in (p["a"], p["b"]):
                best[x] = max(best.get(x, 0.0), p["jaccard"])
        planted_e = [best[e] for e in empties if e in best]
        print(f"  cleaner: {len(empties)} documents removed as empty-document (every paragraph removed as a "
              f"duplicate of a paragraph elsewhere): {len(planted_e)} planted copies, their best document J in "
              f"the cluster {min(planted_e, default=0):.3f}-{max(planted_e, default=0):.3f} "
              f"({sum(1 for j in planted_e if j < 0.8)} below 0.8); not counted in the document metrics above")
    results["empty_documents"] = len(empties)

    pm = para_metrics(runs["cleaner"]["records"], truth, texts)
    kept_by_design = sum(t for _, t in pm["templated"].values())
    print(f"\n== duplicate paragraphs (cleaner): recall {pm['recall']:.4f} ({pm['found']}/{pm['planted_ge']} planted "
          f"with J3 >= 0.8" + (f", besides {kept_by_design} templated facts kept by design" if kept_by_design else "")
          + f"), precision {pm['precision']:.4f} ({pm['correct']}/{pm['removed']} removed)")
    for k, (f, t) in sorted(pm["per_kind"].items()):
        lo = pm["below"].get(k)
        extra = f"; J3 < 0.8 removed {lo[0]}/{lo[1]}" if lo else ""
        if k in pm["templated"]:
            tf, tt = pm["templated"][k]
            extra += (f"; edited so that each side has a word the other lacks (a templated fact, kept by "
                      f"design) {tt}, removed {tf}")
        print(f"    {k:<13} {f}/{t}{extra}")
    print(f"    removed by reason: {pm['by_reason']} ({pm['removed_planted']} planted, the rest are real repeats "
          "in kept copies: headers, footers, paragraphs of copies below the document threshold)")
    for e in pm["errors"][:a.show]:
        print(f"    error {e}")
    for p in pm["misses"][:a.show]:
        print(f"    miss  {p}")

    print(f"\n== throughput, end to end ({nbytes / 1e6:.1f} MB, {ndocs:,} documents; machine: {os.cpu_count()} cores)")
    print(f"  {'tool':<24}{'wall s':>9}{'CPU s':>9}{'MB/s':>8}{'docs/s':>9}{'MB/CPU-s':>10}"
          f"{'peak PSS':>12}{'max RSS':>11}{'load':>6}")
    tp = {}
    labels = {"cleaner": f"cleaner -j {a.workers} --no-strip", "datasketch": "datasketch plain (1 proc)",
              "datatrove": f"datatrove {a.workers} workers"}
    for n, m in runs.items():
        t = tp[n] = throughput(m, nbytes, ndocs)
        print(f"  {labels[n]:<24}{m['wall']:>9.1f}{m['cpu']:>9.1f}{t['mbs']:>8.2f}{t['docs']:>9.0f}"
              f"{t['mbs_cpu']:>10.2f}{mb(m['peak_pss']):>12}{mb(m['max_rss']):>11}{m['load_before']:>6.1f}")
    print("  (MB/CPU-s: input MB per CPU second of the whole process tree = throughput per core; peak PSS: "
          "summed over the process tree, sampled; max RSS: largest single process; load: 1-min load average "
          "before the run, > 0 means other work shared the 2 cores)")
    for other in ("datasketch", "datatrove"):
        if other in runs:
            c, o = tp["cleaner"], tp[other]
            print(f"  cleaner / {other:<11} speed x{c['mbs'] / o['mbs']:.2f} (wall), x{c['mbs_cpu'] / o['mbs_cpu']:.2f} "
                  f"(per CPU-s); recall {quality['cleaner']['recall']:.3f} vs {quality[other]['recall']:.3f}; "
                  f"precision {quality['cleaner']['precision']:.3f} vs {quality[other]['precision']:.3f}; "
                  f"peak memory x{runs['cleaner']['peak_pss'] / max(1, runs[other]['peak_pss']):.2f}")
    if dt_error:
        print(f"  datatrove: not run: {dt_error}")
    if "datatrove" in runs:
        print(f"  datatrove stages (wall s): {runs['datatrove']['stages']}")

    def phases(label: str, r: dict) -> None:
        tm = r["report"]["timings"]
        print(f"  {label}: wall {r['wall']:.1f} s; phases (wall s) " +
              ", ".join(f"{k} {v:.2f}" for k, v in tm.items() if isinstance(v, (int, float))))
        st = tm.get("stages_cpu", {})
        tot = sum(st.values()) or 1.0
        print("    map/write stages (CPU s summed over workers): " +
              ", ".join(f"{k} {v:.2f} ({100 * v / tot:.0f}%)" for k, v in sorted(st.items(), key=lambda kv: -kv[1])))
        bd = r.get("breakdown", {}).get("seconds", {})
        if bd:
            red = bd.get("reduce", 0.0)
            dc, pn = bd.get("doc_cluster", 0.0), bd.get("para_near", 0.0)

            def parts(sec: str) -> str:
                return ", ".join(f"{name} {bd.get(f'{sec}_{key}', 0):.2f}" for name, key in (
                    ("band buckets", "buckets"), ("pairs", "pairs"), ("pair estimates", "agreement"),
                    ("set loads", "set_loads"), ("exact Jaccard", "exact_jaccard")))

            print(f"    reduce {red:.2f} s = documents {dc:.2f} ({parts('doc')}) + near paragraphs {pn:.2f} "
                  f"({parts('para')}) + templates/exact paragraphs and the rest {red - dc - pn:.2f}")
        cl = r["report"].get("clusters", {})
        if cl.get("documents"):
            d = cl["documents"]
            print(f"    documents: {d['candidate_pairs']:,} bucket pairs compared, {d['exact_checks']:,} exact checks, "
                  f"{d['removed']:,} removed in {d['clusters']:,} clusters; paragraphs: "
                  f"{cl.get('paragraphs', {}).get('candidate_pairs', 0):,} bucket pairs compared, "
                  f"{cl.get('paragraphs', {}).get('exact_checks', 0):,} exact checks")

    print("\n== cleaner phases")
    phases("--no-strip", runs["cleaner"])
    if strip_run is not None:
        phases("with stripping", strip_run)
        t = throughput(strip_run, nbytes, ndocs)
        q = doc_metrics(strip_run["removed"], truth, sh)
        print(f"    with stripping: {t['mbs']:.2f} MB/s, {t['docs']:.0f} docs/s, peak PSS {mb(strip_run['peak_pss'])}; "
              f"document recall {q['recall']:.4f}, precision {q['precision']:.4f} (J of the full texts)")

    results.update(quality={n: {k: v for k, v in q.items() if k not in ("misses",)} for n, q in quality.items()},
                   paragraphs={k: v for k, v in pm.items() if k != "misses"},
                   runs={n: {k: v for k, v in r.items() if k not in ("records", "removed", "report")}
                         for n, r in runs.items()},
                   throughput=tp, datatrove_error=dt_error,
                   cleaner_timings=runs["cleaner"]["report"]["timings"],
                   cleaner_strip_timings=strip_run["report"]["timings"] if strip_run else None)

    if a.scaling:
        # the 20k corpus' texts and shingle sets (GBs of Python objects) are not needed any more
        del texts, sh, runs, quality, truth
        _gc.collect()
        results["scaling"] = scaling(a, [int(x) for x in a.scaling_sizes.split(",")])
    if a.incremental:
        results["incremental"] = incremental(a)
    dest = a.json or a.out / f"results-{work.name.removeprefix('runs-')}.json"
    dest.write_text(json.dumps(results, indent=1, default=str))
    print(f"\n(all numbers: {dest}; runs in {work})")
    return 0


def scaling(a: argparse.Namespace, sizes: list[int]) -> list[dict]:
    sd = a.scaling_shard_docs or a.shard_docs
    print(f"\n== scaling: cleaner --no-strip -j {a.workers} on {', '.join(f'{s:,}' for s in sizes)} documents "
          f"({sd:,} documents per shard)")
    print(f"  {'docs':>9}{'files':>6}{'MB':>6}{'wall s':>8}{'CPU s':>8}{'MB/s':>6}{'peak PSS':>11}{'max RSS':>10}"
          f"{'x wall':>7}{'x CPU':>7}{'x map':>7}{'x red.':>7}{'recall':>8}{'prec.':>7}{'idx B/doc':>10}{'load':>6}"
          "   phases (wall s)")
    rows: list[dict] = []
    for n in sizes:
        corpus = ensure_corpus(a, n, None, sd)
        meta = json.loads((corpus / "meta.json").read_text())
        sh = truth = None  # the previous size's texts and shingle sets: freed before the timed run
        _gc.collect()
        work = a.out / (f"runs-{n}" + (f"-sd{sd}" if sd != 2500 else "") + (f"-sp{a.splice:g}" if a.splice else ""))
        work.mkdir(parents=True, exist_ok=True)
        print(f"-- cleaner on {n:,} ...", file=sys.stderr, flush=True)
        try:
            r = run_cleaner(corpus, work, a.workers, strip=False, tag="cleaner")
        except TimeoutError as e:
            print(f"  {n:>9,}{meta['shards']:>6}{meta['bytes'] / 1e6:>6.0f}  {e}; larger sizes skipped")
            rows.append({"docs": n, "timeout": a.timeout})
            break
        truth = json.loads((corpus / "truth.json").read_text())
        sh = Shingles(load_texts(corpus / "shards"))
        q = doc_metrics(r["removed"], truth, sh)
        tm = r["report"]["timings"]
        row = {"docs": n, "files": meta["shards"], "bytes": meta["bytes"], "wall": r["wall"], "cpu": r["cpu"],
               "peak_pss": r["peak_pss"], "max_rss": r["max_rss"], "recall": q["recall"],
               "precision": q["precision"], "load_before": r["load_before"],
               "index_bytes_per_doc": r["report"]["clusters"].get("documents", {}).get("index_bytes_per_document", 0),
               "phases": {k: v for k, v in tm.items() if isinstance(v, (int, float))},
               "breakdown": r.get("breakdown", {}).get("seconds", {})}
        g = {"wall": "", "cpu": "", "map": "", "reduce": ""}
        if rows and "wall" in rows[-1]:
            prev = rows[-1]
            doublings = math.log2(n / prev["docs"])
            for k, cur, old in (("wall", r["wall"], prev["wall"]), ("cpu", r["cpu"], prev["cpu"]),
                                ("map", row["phases"].get("map", 0), prev["phases"].get("map", 0)),
                                ("reduce", row["phases"].get("reduce", 0), prev["phases"].get("reduce", 0))):
                if old > 0 and doublings > 0:
                    f = (cur / old) ** (1 / doublings)  # growth per doubling of the corpus
                    row[f"growth_{k}"] = f
                    g[k] = f"{f:.2f}"
        rows.append(row)
        print(f"  {n:>9,}{meta['shards']:>6}{meta['bytes'] / 1e6:>6.0f}{r['wall']:>8.1f}{r['cpu']:>8.1f}"
              f"{meta['bytes'] / 1e6 / r['wall']:>6.2f}{mb(r['peak_pss']):>11}{mb(r['max_rss']):>10}"
              f"{g['wall']:>7}{g['cpu']:>7}{g['map']:>7}{g['reduce']:>7}{q['recall']:>8.4f}{q['precision']:>7.4f}"
              f"{row['index_bytes_per_doc']:>10.0f}{r['load_before']:>6.1f}   "
              + ", ".join(f"{k} {v:.1f}" for k, v in row["phases"].items() if k in ("map", "reduce", "write", "total")),
              flush=True)
    print("  (x: growth per doubling of the corpus, of wall time, CPU time, map and reduce phases; target <= 2.2)")
    return rows


if __name__ == "__main__":
    sys.exit(main())
