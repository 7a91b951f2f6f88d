"""The run: read -> extract -> strip -> dedup -> write -> report.

Map (per input file, in worker processes): read, extract, compute paragraph
features, decide boilerplate, drop repeats inside each document, and compute
paragraph keys and MinHash signatures; the documents go to a spill file in
the work directory, a light summary comes back. Reduce (in this process):
near-duplicate documents, site templates and cross-document duplicate
paragraphs, all in sorted path order so the first occurrence survives.
Write (per input file, in workers): the final decision per document and the
cleaned file, written atomically, plus the audit of everything removed.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__
from . import reasons as R
from .boilerplate import Classifier, ParaFeat
from .config import Config, ConfigError
from .document import Document, Drop, ItemError
from .readers import InputFile, ReadError, discover, iter_jsonl, read_html, read_text
from .report import Report
from .textutil import normalise, para_key
from .writers import TEMP_MARK, atomic_writer, remove_stale_temp

ProgressFn = Callable[[str, int, int], None]
SPILL_VERSION = 1


# --- per-process engine ---------------------------------------------------------------

class Engine:
    """What a worker needs, built once per process from the config."""

    _cache: dict[str, Engine] = {}

    def __init__(self, cfg: Config) -> None:
        from .extract import Extractor
        from .rules import RuleSet

        self.cfg = cfg
        self.rules = RuleSet.build(cfg.rules, cfg.default_rules, cfg.regex_timeout)
        self.classifier = Classifier(self.rules)
        self.extractor = Extractor()

    @classmethod
    def get(cls, cfg: Config) -> Engine:
        key = cfg.fingerprint()
        eng = cls._cache.get(key)
        if eng is None:
            eng = cls._cache[key] = Engine(cfg)
        return eng


# --- map ------------------------------------------------------------------------------

@dataclass(slots=True)
class DocSummary:
    pos: int
    id: str
    n_paras: int
    kept: list[int]  # paragraph indices kept after the map phase
    keys: list[int]  # normalised hash of each kept paragraph
    words: list[int]  # word count of each kept paragraph
    chars: int  # characters of kept text
    text_key: int  # hash of the whole kept text, normalised


@dataclass(slots=True)
class MapResult:
    index: int
    rel: str
    docs: list[DocSummary] = field(default_factory=list)
    sigs: np.ndarray | None = None  # one row per doc
    para_sigs: np.ndarray | None = None  # long kept paragraphs
    para_index: list[tuple[int, int]] = field(default_factory=list)  # (doc pos, paragraph idx)
    errors: list[ItemError] = field(default_factory=list)
    fatal: ItemError | None = None
    paragraphs: int = 0
    chars: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    stamp: tuple[int, int] = (0, 0)  # input size and mtime, for --resume


@dataclass(frozen=True, slots=True)
class MapTask:
    index: int
    file: InputFile
    cfg: Config
    spill: str


def _read(f: InputFile, cfg: Config, eng: Engine) -> Iterable[Document | ItemError]:
    if f.kind == "text":
        return read_text(f, cfg.max_bytes, cfg.encoding)
    if f.kind == "html":
        return read_html(f, cfg.max_bytes, eng.extractor)
    return iter_jsonl(f, cfg.max_bytes, cfg.text_field, cfg.id_field)


def _inner_dups(doc: Document, kept: list[int], feats: list[ParaFeat], cfg: Config) -> dict[int, Drop]:
    """Exact and near repeats among the kept paragraphs of one document (first stays)."""
    drops: dict[int, Drop] = {}
    first: dict[int, int] = {}
    for i in kept:
        norm = normalise(doc.paragraphs[i])
        if len(norm) < cfg.min_inner_dup_chars:
            continue
        k = para_key(doc.paragraphs[i])
        if k in first:
            j = first[k]
            drops[i] = Drop(R.DUP_PARA, f"same as line {doc.lines[j]}", twin=doc.id,
                            twin_line=doc.lines[j], twin_file=doc.source, similarity=1.0)
        else:
            first[k] = i
    long_ = [i for i in kept if i not in drops and feats[i].words >= cfg.min_near_words]
    if len(long_) >= 2:
        from . import minhash as mh
        from .dedup import cluster

        texts = [doc.paragraphs[i] for i in long_]
        sigs = mh.signatures(texts, cfg.paragraph_shingle, cfg.paragraph_num_perm, cfg.seed)
        sets: dict[int, np.ndarray] = {}

        def exact(a: int, b: int) -> float:
            for x in (a, b):
                if x not in sets:
                    sets[x] = mh.shingle_sets([texts[x]], cfg.paragraph_shingle)[0]
            return mh.jaccard_sets(sets[a], sets[b])

        asg = cluster(sigs, cfg.paragraph_threshold, np.arange(len(long_)), exact)
        for a in range(len(long_)):
            s = int(asg.survivor[a])
            if s != a:
                i, j = long_[a], long_[s]
                drops[i] = Drop(R.NEAR_DUP_PARA, f"near line {doc.lines[j]}", twin=doc.id,
                                twin_line=doc.lines[j], twin_file=doc.source,
                                similarity=round(float(asg.similarity[a]), 4))
    return drops


def map_file(task: MapTask) -> MapResult:
    """Read one input file and do the per-document work (runs in a worker)."""
    from . import minhash as mh

    cfg = task.cfg
    f = task.file
    eng = Engine.get(cfg)
    res = MapResult(task.index, f.rel)
    try:
        st = os.stat(f.path)
        res.stamp = (st.st_size, st.st_mtime_ns)
    except OSError:
        pass
    t0 = time.perf_counter()
    docs: list[Document] = []
    feats_all: list[list[ParaFeat]] = []
    t_read = t_strip = 0.0
    try:
        it = iter(_read(f, cfg, eng))
        while True:
            t1 = time.perf_counter()
            try:
                item = next(it)
            except StopIteration:
                t_read += time.perf_counter() - t1
                break
            t2 = time.perf_counter()
            t_read += t2 - t1
            if isinstance(item, ItemError):
                res.errors.append(item)
                continue
            doc = item
            feats, timeouts = eng.classifier.features(doc.paragraphs)
            for to in timeouts:
                res.errors.append(ItemError(f.rel, str(to), doc.record))
            kept = list(range(len(doc.paragraphs)))
            if cfg.strip:
                infos = eng.classifier.settle(feats, None, doc.lines)
                for i, info in enumerate(infos):
                    if info.reason is not None:
                        doc.drops[i] = Drop(info.reason, info.detail)
                kept = [i for i in kept if i not in doc.drops]
            if cfg.dedup:
                doc.drops.update(_inner_dups(doc, kept, feats, cfg))
            t_strip += time.perf_counter() - t2
            docs.append(doc)
            feats_all.append(feats)
    except ReadError as e:
        res.fatal = ItemError(f.rel, str(e), e.line)
    except OSError as e:
        res.fatal = ItemError(f.rel, f"cannot read: {e.strerror or e}")
    t3 = time.perf_counter()
    texts = []
    for pos, doc in enumerate(docs):
        kept = doc.kept()
        keys = [para_key(doc.paragraphs[i]) for i in kept]
        words = [feats_all[pos][i].words for i in kept]
        text = "\n".join(doc.paragraphs[i] for i in kept)
        res.docs.append(DocSummary(pos, doc.id, len(doc.paragraphs), kept, keys, words, len(text),
                                   para_key(text) if kept else 0))
        res.paragraphs += len(doc.paragraphs)
        res.chars += sum(len(p) for p in doc.paragraphs)
        texts.append(text)
    if cfg.dedup and docs:
        res.sigs = mh.signatures(texts, cfg.shingle, cfg.num_perm, cfg.seed)
        long_texts = []
        for pos, s in enumerate(res.docs):
            for i, w in zip(s.kept, s.words):
                if w >= cfg.min_near_words:
                    res.para_index.append((pos, i))
                    long_texts.append(docs[pos].paragraphs[i])
        if long_texts:
            res.para_sigs = mh.signatures(long_texts, cfg.paragraph_shingle, cfg.paragraph_num_perm, cfg.seed)
    t4 = time.perf_counter()
    res.seconds = {"read": t_read, "strip": t_strip, "signatures": t4 - t3}
    with atomic_writer(task.spill) as fh:
        pickle.dump((SPILL_VERSION, res, docs, feats_all), fh, protocol=pickle.HIGHEST_PROTOCOL)
    res.seconds["spill"] = time.perf_counter() - t4
    res.seconds["total"] = time.perf_counter() - t0
    return res


def load_spill(path: str) -> tuple[MapResult, list[Document], list[list[ParaFeat]]]:
    with open(path, "rb") as fh:
        version, res, docs, feats = pickle.load(fh)
    if version != SPILL_VERSION:
        raise ValueError("spill from another version")
    return res, docs, feats


# --- reduce ---------------------------------------------------------------------------

@dataclass(slots=True)
class Decisions:
    doc_drops: dict[int, dict[int, Drop]] = field(default_factory=dict)  # file index -> doc pos -> drop
    para_drops: dict[int, dict[tuple[int, int], Drop]] = field(default_factory=dict)
    clusters: dict[str, Any] = field(default_factory=dict)


class _Texts:
    """Kept texts of documents, loaded from spills on demand (a few files at a time)."""

    def __init__(self, spills: dict[int, str]) -> None:
        self.spills = spills
        self.cache: dict[int, list[Document]] = {}

    def doc(self, file_index: int, pos: int) -> Document:
        docs = self.cache.get(file_index)
        if docs is None:
            if len(self.cache) >= 8:
                self.cache.pop(next(iter(self.cache)))
            docs = self.cache[file_index] = load_spill(self.spills[file_index])[1]
        return docs[pos]


def reduce(results: list[MapResult], cfg: Config, spills: dict[int, str]) -> Decisions:
    """Corpus-wide decisions: near-duplicate documents, templates, repeated paragraphs."""
    from . import minhash as mh
    from .dedup import cluster

    dec = Decisions()
    refs: list[tuple[int, int]] = []  # gid -> (file index, doc pos)
    summaries: list[DocSummary] = []
    for r in results:
        for s in r.docs:
            refs.append((r.index, s.pos))
            summaries.append(s)
    n = len(refs)
    texts = _Texts(spills)
    rel_of = {r.index: r.rel for r in results}

    def doc_drop(gid: int, drop: Drop) -> None:
        fi, pos = refs[gid]
        dec.doc_drops.setdefault(fi, {})[pos] = drop

    alive = np.array([bool(s.kept) for s in summaries], dtype=bool)
    if cfg.dedup and n:
        sigs = np.concatenate([r.sigs for r in results if r.sigs is not None]) if n else None
        assert sigs is not None and len(sigs) == n
        if cfg.keep == "longest":
            prio = np.lexsort((np.arange(n), -np.array([s.chars for s in summaries])))
            rank = np.empty(n, dtype=np.int64)
            rank[prio] = np.arange(n)
        else:
            rank = np.arange(n)
        sets: dict[int, np.ndarray] = {}

        def exact(a: int, b: int) -> float:
            for g in (a, b):
                if g not in sets:
                    d = texts.doc(*refs[g])
                    sets[g] = mh.shingle_sets([d.kept_text()], cfg.shingle)[0]
            return mh.jaccard_sets(sets[a], sets[b])

        asg = cluster(sigs, cfg.threshold, rank, exact, valid=alive)
        sizes: Counter[int] = Counter()
        for g in np.flatnonzero(asg.survivor != np.arange(n)).tolist():
            sv = int(asg.survivor[g])
            same = summaries[g].text_key == summaries[sv].text_key
            fi, _ = refs[sv]
            doc_drop(g, Drop(R.DUP_DOC if same else R.NEAR_DUP_DOC,
                             f"similar to {summaries[sv].id}", twin=summaries[sv].id,
                             twin_file=rel_of[fi], similarity=round(float(asg.similarity[g]), 4)))
            alive[g] = False
        for size in asg.cluster_sizes().values():
            sizes[size] += 1
        dec.clusters["documents"] = {
            "clusters": int(sum(sizes.values())), "removed": int(sum((k - 1) * v for k, v in sizes.items())),
            "sizes": {str(k): v for k, v in sorted(sizes.items())},
            "candidate_pairs": asg.candidate_pairs, "exact_checks": asg.exact_checks}

    # templates and repeated paragraphs, over surviving documents in order
    para_drops = dec.para_drops
    if cfg.strip or cfg.dedup:
        doc_count: Counter[int] = Counter()
        for g in np.flatnonzero(alive).tolist():
            doc_count.update(set(summaries[g].keys))
        first: dict[int, tuple[int, int]] = {}
        templates = 0
        for g in np.flatnonzero(alive).tolist():
            s = summaries[g]
            fi, pos = refs[g]
            for i, k, w in zip(s.kept, s.keys, s.words):
                if cfg.strip and doc_count[k] >= cfg.template_min_docs:
                    para_drops.setdefault(fi, {})[(pos, i)] = Drop(
                        R.TEMPLATE, f"in {doc_count[k]} documents")
                    templates += 1
                elif cfg.dedup and w >= cfg.min_dup_words:
                    if k in first:
                        tg, ti = first[k]
                        tf, tpos = refs[tg]
                        if tg != g:
                            para_drops.setdefault(fi, {})[(pos, i)] = Drop(
                                R.CORPUS_DUP_PARA, f"same as in {summaries[tg].id}", twin=summaries[tg].id,
                                twin_file=rel_of[tf], twin_line=texts_line(texts, tf, tpos, ti), similarity=1.0)
                    else:
                        first[k] = (g, i)
        dec.clusters["templates"] = templates

    if cfg.dedup:
        _corpus_near_paragraphs(results, cfg, refs, summaries, alive, texts, dec, rel_of)
    return dec


def texts_line(texts: _Texts, fi: int, pos: int, i: int) -> int:
    return texts.doc(fi, pos).lines[i]


def _corpus_near_paragraphs(results: list[MapResult], cfg: Config, refs: list[tuple[int, int]],
                            summaries: list[DocSummary], alive: np.ndarray, texts: _Texts,
                            dec: Decisions, rel_of: dict[int, str]) -> None:
    from . import minhash as mh
    from .dedup import cluster

    gid_of = {ref: g for g, ref in enumerate(refs)}
    items: list[tuple[int, int]] = []  # (gid, paragraph idx)
    rows = []
    for r in results:
        if r.para_sigs is None:
            continue
        taken = dec.para_drops.get(r.index, {})
        for row, (pos, i) in enumerate(r.para_index):
            g = gid_of[(r.index, pos)]
            if alive[g] and (pos, i) not in taken:
                items.append((g, i))
                rows.append(r.para_sigs[row])
    if len(items) < 2:
        return
    sigs = np.stack(rows)
    sets: dict[int, np.ndarray] = {}

    def exact(a: int, b: int) -> float:
        for x in (a, b):
            if x not in sets:
                g, i = items[x]
                sets[x] = mh.shingle_sets([texts.doc(*refs[g]).paragraphs[i]], cfg.paragraph_shingle)[0]
        return mh.jaccard_sets(sets[a], sets[b])

    asg = cluster(sigs, cfg.paragraph_threshold, np.arange(len(items)), exact)
    removed = 0
    for x in np.flatnonzero(asg.survivor != np.arange(len(items))).tolist():
        s = int(asg.survivor[x])
        g, i = items[x]
        tg, ti = items[s]
        fi, pos = refs[g]
        tf, tpos = refs[tg]
        reason = R.NEAR_DUP_PARA if tg == g else R.CORPUS_NEAR_DUP_PARA
        dec.para_drops.setdefault(fi, {})[(pos, i)] = Drop(
            reason, f"near a paragraph of {summaries[tg].id}", twin=summaries[tg].id, twin_file=rel_of[tf],
            twin_line=texts.doc(tf, tpos).lines[ti], similarity=round(float(asg.similarity[x]), 4))
        removed += 1
    dec.clusters["paragraphs"] = {"removed": removed, "candidate_pairs": asg.candidate_pairs,
                                  "exact_checks": asg.exact_checks}


# --- write ----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class WriteTask:
    index: int
    file: InputFile
    cfg: Config
    spill: str
    out_path: str
    audit_path: str
    doc_drops: dict[int, Drop]
    para_drops: dict[tuple[int, int], Drop]


@dataclass(slots=True)
class WriteResult:
    index: int
    written: bool = False
    docs_in: int = 0
    docs_out: int = 0
    paras_in: int = 0
    paras_out: int = 0
    chars_in: int = 0
    chars_out: int = 0
    para_reasons: Counter[str] = field(default_factory=Counter)
    doc_reasons: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    error: ItemError | None = None


def _audit(doc: Document, i: int | None, drop: Drop, text: str) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "file": doc.source,
        "line": doc.lines[i] if i is not None and doc.record is None else None,
        "record": doc.record,
        "paragraph": i + 1 if i is not None and doc.record is not None else None,
        "id": doc.id,
        "level": "paragraph" if i is not None else "document",
        "reason": drop.reason,
        "detail": drop.detail,
        "text": text,
    }
    if drop.twin is not None:
        rec["twin"] = {"id": drop.twin, "file": drop.twin_file, "line": drop.twin_line}
        rec["similarity"] = drop.similarity
    return {k: v for k, v in rec.items() if v is not None}


def write_file(task: WriteTask) -> WriteResult:
    """Final decisions for one file, then its cleaned copy and audit (runs in a worker)."""
    from .writers import write_output

    t0 = time.perf_counter()
    cfg = task.cfg
    eng = Engine.get(cfg)
    res = WriteResult(task.index)
    _, docs, feats_all = load_spill(task.spill)
    audit: list[dict[str, Any]] = []
    out_docs: list[tuple[Document, list[int]]] = []
    for pos, (doc, feats) in enumerate(zip(docs, feats_all)):
        res.docs_in += 1
        res.paras_in += len(doc.paragraphs)
        res.chars_in += sum(len(p) for p in doc.paragraphs)
        ddrop = task.doc_drops.get(pos)
        if ddrop is not None:
            res.doc_reasons[ddrop.reason] += 1
            audit.append(_audit(doc, None, ddrop, "\n".join(doc.paragraphs)))
            continue
        # Everything the map phase removed stays removed (also what the classifier dropped there):
        # with templates and corpus duplicates gone the context changes, and a paragraph kept only
        # now would have escaped the corpus-wide duplicate checks.
        forced = dict(doc.drops)
        for (p, i), d in task.para_drops.items():
            if p == pos:
                forced[i] = d
        if cfg.strip:
            infos = eng.classifier.settle(feats, forced, doc.lines)
            drops = {i: forced.get(i) or Drop(info.reason, info.detail)
                     for i, info in enumerate(infos) if info.reason is not None}
        else:
            drops = forced
        kept = [i for i in range(len(doc.paragraphs)) if i not in drops]
        for i in sorted(drops):
            res.para_reasons[drops[i].reason] += 1
            audit.append(_audit(doc, i, drops[i], doc.paragraphs[i]))
        if not kept:
            res.doc_reasons[R.EMPTY_DOC] += 1
            audit.append(_audit(doc, None, Drop(R.EMPTY_DOC, "no paragraph kept"), ""))
            continue
        res.docs_out += 1
        res.paras_out += len(kept)
        res.chars_out += sum(len(doc.paragraphs[i]) for i in kept)
        out_docs.append((doc, kept))
    if out_docs:
        write_output(task.out_path, task.file, out_docs, cfg.text_field)
        res.written = True
    with atomic_writer(task.audit_path) as fh:
        for rec in audit:
            fh.write(json.dumps(rec, ensure_ascii=False).encode("utf-8") + b"\n")
    res.seconds = time.perf_counter() - t0
    return res


# --- the run ----------------------------------------------------------------------------

class RunError(Exception):
    """The run cannot start (bad paths, refused output); one line for the user."""


def _is_inside(child: Path, parent: Path) -> bool:
    try:
        child.resolve().relative_to(parent.resolve())
        return True
    except ValueError:
        return False


def default_report_dir(output: str | Path) -> Path:
    out = Path(output)
    return out.parent / (out.name + ".report")


@dataclass
class Run:
    input: Path
    output: Path
    cfg: Config
    report_dir: Path | None = None
    overwrite: bool = False
    progress: ProgressFn | None = None

    def __post_init__(self) -> None:
        self.input = Path(self.input)
        self.output = Path(self.output)
        self.report_dir = Path(self.report_dir) if self.report_dir else default_report_dir(self.output)
        self.work = self.report_dir / ".work"

    # checks before anything is written
    def check(self) -> None:
        if not self.input.exists():
            raise RunError(f"input {self.input} does not exist")
        if not self.input.is_dir():
            raise RunError(f"input {self.input} is not a directory")
        if self.output.exists() and not self.output.is_dir():
            raise RunError(f"output {self.output} exists and is not a directory")
        if _is_inside(self.output, self.input):
            raise RunError(f"output {self.output} is inside input {self.input}; choose a directory outside it")
        if _is_inside(self.input, self.output):
            raise RunError(f"input {self.input} is inside output {self.output}; choose another output")
        assert self.report_dir is not None
        if _is_inside(self.report_dir, self.output):
            raise RunError(f"report directory {self.report_dir} is inside output {self.output}; "
                           "OUTPUT_DIR holds corpus files only")
        if _is_inside(self.report_dir, self.input):
            raise RunError(f"report directory {self.report_dir} is inside input {self.input}")

    def _resumable(self, files: list[InputFile]) -> bool:
        m = self.work / "manifest.json"
        try:
            data = json.loads(m.read_text())
        except (OSError, ValueError):
            return False
        return data == self._manifest(files)

    def _manifest(self, files: list[InputFile]) -> dict[str, Any]:
        return {"version": __version__, "fingerprint": self.cfg.fingerprint(),
                "input": str(self.input.resolve()), "output": str(self.output.resolve()),
                "files": [f.rel for f in files]}

    def execute(self) -> Report:
        cfg = self.cfg
        self.check()
        t_start = time.perf_counter()
        timings: dict[str, float] = {}
        files, skipped = discover(self.input, cfg.follow_symlinks,
                                  exclude=(str(self.output), str(self.report_dir)))
        timings["discover"] = time.perf_counter() - t_start
        resume = self._resumable(files)
        existing = [p for p in self.output.iterdir()] if self.output.is_dir() else []
        foreign = [p for p in existing if TEMP_MARK not in p.name]
        if foreign and not (self.overwrite or resume):
            raise RunError(f"output {self.output} is not empty; pass --overwrite to replace its files")
        assert self.report_dir is not None
        if not resume and self.work.exists():
            shutil.rmtree(self.work)
        self.work.mkdir(parents=True, exist_ok=True)
        (self.work / "manifest.json").write_text(json.dumps(self._manifest(files)))
        self.output.mkdir(parents=True, exist_ok=True)
        remove_stale_temp(self.output)

        # map
        t = time.perf_counter()
        spills = {i: str(self.work / f"map-{i:06d}.pkl") for i in range(len(files))}
        todo: list[MapTask] = []
        results: list[MapResult] = []
        for i, f in enumerate(files):
            cached = self._cached(spills[i], f) if resume else None
            if cached is not None:
                results.append(cached)
            else:
                todo.append(MapTask(i, f, cfg, spills[i]))
        results.extend(self._run_tasks("read", map_file, todo, len(files), len(results)))
        results.sort(key=lambda r: r.index)
        timings["map"] = time.perf_counter() - t
        ok = [r for r in results if r.fatal is None or r.docs]
        ok_spills = {r.index: spills[r.index] for r in ok}

        # reduce
        t = time.perf_counter()
        dec = reduce(ok, cfg, ok_spills)
        timings["reduce"] = time.perf_counter() - t

        # write
        t = time.perf_counter()
        audit_dir = self.work / "audit"
        audit_dir.mkdir(exist_ok=True)
        wtasks = [WriteTask(r.index, files[r.index], cfg, spills[r.index],
                            str(self.output / files[r.index].out_rel),
                            str(audit_dir / f"{r.index:06d}.jsonl"),
                            dec.doc_drops.get(r.index, {}), dec.para_drops.get(r.index, {}))
                  for r in ok]
        wres = self._run_tasks("write", write_file, wtasks, len(wtasks), 0)
        wres.sort(key=lambda w: w.index)
        timings["write"] = time.perf_counter() - t

        # report
        t = time.perf_counter()
        report = Report.build(self, files, skipped, results, wres, dec, timings)
        self.report_dir.mkdir(parents=True, exist_ok=True)
        with atomic_writer(str(self.report_dir / "removed.jsonl")) as out:
            for w in wres:
                with open(audit_dir / f"{w.index:06d}.jsonl", "rb") as part:
                    shutil.copyfileobj(part, out)
        prev = self._previous_outputs()
        written = {files[w.index].out_rel for w in wres if w.written}
        for stale in sorted(prev - written):
            p = self.output / stale
            if p.is_file():
                p.unlink()
        for w in wres:
            if not w.written:
                p = self.output / files[w.index].out_rel
                if p.is_file() and self.overwrite:
                    p.unlink()
        report.timings["report"] = time.perf_counter() - t
        report.timings["total"] = time.perf_counter() - t_start
        report.save(self.report_dir)
        shutil.rmtree(self.work, ignore_errors=True)
        return report

    def _previous_outputs(self) -> set[str]:
        assert self.report_dir is not None
        try:
            data = json.loads((self.report_dir / "report.json").read_text())
            if data.get("output") == str(self.output.resolve()):
                return set(data.get("outputs", []))
        except (OSError, ValueError, AttributeError):
            pass
        return set()

    def _cached(self, spill: str, f: InputFile) -> MapResult | None:
        try:
            res = load_spill(spill)[0]
            st = os.stat(f.path)
        except Exception:
            return None
        return res if res.stamp == (st.st_size, st.st_mtime_ns) else None

    def _run_tasks(self, phase: str, fn: Callable[[Any], Any], tasks: list[Any], total: int,
                   done: int) -> list[Any]:
        prog = self.progress or (lambda *_: None)
        prog(phase, done, total)
        out = []
        workers = min(self.cfg.workers, max(1, len(tasks)))
        if workers <= 1:
            for task in tasks:
                out.append(fn(task))
                done += 1
                prog(phase, done, total)
            return out
        import multiprocessing as mp

        ctx = mp.get_context("forkserver" if os.name == "posix" else "spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            futures: list[Future[Any]] = [pool.submit(fn, t) for t in tasks]
            for fut in futures:
                out.append(fut.result())
                done += 1
                prog(phase, done, total)
        return out


def clean_corpus(input: str | Path, output: str | Path, *, report: str | Path | None = None,
                 overwrite: bool = False, progress: ProgressFn | None = None, **options: Any) -> Report:
    """Clean INPUT into OUTPUT like the `clean` command does, and return the report."""
    try:
        cfg = Config(**options).validate()
    except TypeError as e:
        raise ConfigError(str(e)) from None
    return Run(Path(input), Path(output), cfg, Path(report) if report else None, overwrite, progress).execute()
