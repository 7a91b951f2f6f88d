"""The persisted dedup index (--index DIR): what earlier runs kept, so that a new batch is
deduplicated against everything cleaned before without reading it again.

A folder:

    DIR/manifest.json      {"format": "cleaner-index", "version": 1, "settings": {...},
                            "parts": [{"run": ID, "docs": N, "paragraphs": M[, "sets": true]
                                       [, "para_sets": {...}]}, ...]}
    DIR/parts/ID/*.npy     one part per run (never rewritten when a run is added)
    DIR/parts/ID/meta.json its files and counts
    DIR/.lock              flock of the run that updates the index

A part holds the documents a run kept (with sets, below, also those that only its paragraph
steps took: see survivors()), in its corpus order, with what the reduce compares:
per document its key, MinHash signature, id, file and line; per paragraph the map kept, its
key, words and line, and whether the reduce removed it (such a paragraph still counts for
templates and still is the first occurrence of its text, as in one run over all batches).
A part written with --index-exact also holds each document's shingle set (`"sets": true` in
its entry): an index whose parts all have them decides its pairs as one run over all would.
The key is new in version 1 and optional, so indexes written before it open as they are, and
a cleaner that does not know it reads such an index as one without sets. Such a part also holds
the MinHash signature and shingle set of each paragraph the near-paragraph step compares of its
documents (`"para_sets"` in its entry: the paragraph settings they were made with), so that a
paragraph near one of an indexed document goes as in one run; a part with sets from before them
is refused by --index-exact (what it lacks cannot be made again without the text).

A part is written under a temp name, its files synced, then renamed into place; the manifest
is replaced by rename after that. A part that no manifest lists (a crash between the two) is
ignored and removed by the next update, so a crash at any point leaves the previous index.
The run id is derived from the run's identity (input, output, options): a run repeated after
a crash finds itself already in the index and is checked against the parts before its own.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..config import Config
from ..dedup.corpus import Decisions
from ..dedup.sets import SetStore
from ..ragged import Ragged, chain_offsets, offsets_of
from .tasks import MapResult

FORMAT = "cleaner-index"
VERSION = 1
MANIFEST = "manifest.json"
LOCK = ".lock"
TEMP = ".tmp-"

# per document, per paragraph: the arrays of a part, their dtypes and their shapes' first axis
_DOC_ARRAYS = {"doc_key": np.uint64, "doc_line": np.int32, "doc_file": np.int32}
_ROW_ARRAYS = {"p_key": np.uint64, "p_words": np.uint16, "p_line": np.int32, "p_gone": np.bool_}
# per compared paragraph (NearParagraphs): its row, signature, and shingle set (values, offsets)
_NEAR_ARRAYS = ("para_row", "para_sigs", "para_sets", "para_set_off")


class IndexRefused(Exception):
    """The index cannot be used (corrupt, another version or settings, locked); one line."""


def settings(cfg: Config) -> dict[str, Any]:
    """What the stored signatures and keys depend on: an index of other settings cannot be compared."""
    return {"num_perm": cfg.num_perm, "shingle": cfg.shingle, "seed": cfg.seed}


@dataclass(slots=True)
class Part:
    """One run's survivors (the arrays of a part folder), or several runs' (compacted)."""

    run: str  # the part's name: its run's id, or the compacted part's
    runs: list[tuple[str, int]]  # the runs of its documents (they come in run order) and their counts
    files: list[str]
    ids: list[str]
    doc_key: np.ndarray
    doc_line: np.ndarray
    doc_file: np.ndarray
    sigs: np.ndarray
    p_off: np.ndarray  # rows of each document: p_off[d]:p_off[d + 1]
    p_key: np.ndarray
    p_words: np.ndarray
    p_line: np.ndarray
    p_gone: np.ndarray
    sets: Ragged | None = None  # --index-exact: per document its shingle set, sorted and unique
    paras: NearParagraphs | None = None  # --index-exact: what the near-paragraph step compares

    @property
    def ndocs(self) -> int:
        return len(self.ids)


@dataclass(frozen=True, slots=True)
class NearParagraphs:
    """The paragraphs of a part's documents that the near-paragraph step compares (long enough,
    not removed by their run): none of them was near an earlier one, so they survive there."""

    rows: np.ndarray  # int64, increasing: their rows in the part (p_key ...)
    sigs: np.ndarray  # n x paragraph num_perm, uint32
    sets: Ragged  # their shingle sets, sorted and unique
    settings: dict[str, Any]  # para_settings() of the run that made them


def para_settings(cfg: Config) -> dict[str, Any]:
    """What the stored paragraph signatures and the choice of paragraphs depend on (besides the seed)."""
    return {"num_perm": cfg.paragraph_num_perm, "shingle": cfg.paragraph_shingle, "min_words": cfg.min_near_words}


@dataclass(slots=True)
class Earlier:
    """The index as the reduce sees it: a virtual unit (index -1) and the twin of each document."""

    unit: MapResult  # index -1, all files: the fields the reduce reads
    gone: np.ndarray  # per row: removed by its run (counts for templates, never kept again)
    runs: list[str]  # per document
    files: list[str]
    doc_line: np.ndarray
    # with sets (every part has them): each part's, and the number of its first document; left
    # mapped, not joined, as the few pairs checked read a few sets
    sets: list[Ragged] | None = None
    set_base: np.ndarray | None = None
    # the same for the paragraphs of unit.para_rows (every part has them)
    para_sets: list[Ragged] | None = None
    para_base: np.ndarray | None = None

    def twin(self, k: int) -> tuple[str, str, str, int]:
        """Id, file, run and line of indexed document k."""
        return self.unit.ids[k], self.files[k], self.runs[k], int(self.doc_line[k])

    def doc_set(self, k: int) -> np.ndarray:
        """The shingle set of indexed document k (sorted and unique, as the exact check wants it)."""
        assert self.sets is not None and self.set_base is not None
        p = int(np.searchsorted(self.set_base, k, side="right")) - 1
        return self.sets[p].row(k - int(self.set_base[p]))

    def paragraph_sets(self, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The shingle sets of paragraphs `index` (of unit.para_rows), increasing, as
        minhash.segment_sets gives them (values, offsets)."""
        assert self.para_sets is not None and self.para_base is not None
        part = np.searchsorted(self.para_base, index, side="right") - 1
        got = [self.para_sets[p].take(index[part == p] - int(self.para_base[p])) for p in np.unique(part).tolist()]
        r = Ragged.concat(got or [Ragged.empty()], np.uint32)
        return r.values, r.offsets


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _save(path: Path, arr: np.ndarray) -> None:
    with open(path, "wb") as fh:
        np.save(fh, arr)
        fh.flush()
        os.fsync(fh.fileno())


def _id_blob(ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
    enc = [i.encode("utf-8", "surrogateescape") for i in ids]
    return np.frombuffer(b"".join(enc), dtype=np.uint8), offsets_of([len(e) for e in enc])


@dataclass
class Index:
    path: Path
    settings: dict[str, Any] | None  # the run's (settings()); None: the index's own (compact)
    run: str
    readonly: bool
    exact: bool = False  # --index-exact: every part must have its sets
    para_settings: dict[str, Any] | None = None  # the run's (para_settings()); None: not checked (compact)
    parts: list[dict[str, Any]] = field(default_factory=list)  # the manifest's, before this run's
    already: bool = False  # this run is in the index already (a rerun after a crash)
    _fd: int | None = None
    _loaded: dict[str, Part] = field(default_factory=dict)  # parts read (checked) at open, by run

    # --- open, check, lock -------------------------------------------------------------------

    def open(self) -> Index:
        """Lock (unless read-only) and read the manifest; refuse what cannot be compared."""
        if not self.readonly:
            try:
                self.path.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise IndexRefused(f"index {self.path}: cannot create it: {e.strerror or e}") from None
            self._lock()
        elif not self.path.is_dir():
            raise IndexRefused(f"index {self.path} does not exist (--index-readonly reads an existing index)")
        try:
            self._read_manifest()
        except BaseException:
            self.close()  # a refused run holds no lock
            raise
        return self

    def _read_manifest(self) -> None:
        m = self._manifest()
        if m is None:
            return
        parts = m["parts"]
        mine = [k for k, p in enumerate(parts) if p["run"] == self.run]
        if any(self.run in p.get("runs", ()) for p in parts):
            raise IndexRefused(f"index {self.path} holds this run already, compacted with the runs before it: it "
                               "cannot be checked again against those alone; use another --index folder")
        self.already = bool(mine)
        self.parts = parts[:mine[0]] if mine else parts
        short = sum(1 for p in self.parts if not p.get("sets"))
        if self.exact and short:
            raise IndexRefused(f"index {self.path} has {short} of {len(self.parts)} parts without shingle sets "
                               "(written without --index-exact), so its pairs cannot be decided exactly; run "
                               "without --index-exact, or build another --index folder with it")
        old = sum(1 for p in self.parts if not p.get("para_sets"))
        if self.exact and old:
            raise IndexRefused(f"index {self.path} has {old} of {len(self.parts)} parts with shingle sets but "
                               "without paragraph signatures (written by a cleaner before them), so paragraphs near "
                               "one of theirs cannot be found as in one run; run without --index-exact, or build "
                               "another --index folder with it")
        other = [p["para_sets"] for p in self.parts if p.get("para_sets") not in (None, self.para_settings)]
        if self.with_sets and self.para_settings is not None and other:
            raise IndexRefused(f"index {self.path} has paragraph signatures of {other[0]}, this run has "
                               f"{self.para_settings}; signatures of other settings cannot be compared")
        for p in self.parts:  # before the work: a part that is not whole is found now (and kept)
            self._loaded[str(p["run"])] = self._read_part(p)

    def _lock(self) -> None:
        from .folders import _flock

        try:
            fd = os.open(self.path / LOCK, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
        except OSError as e:
            raise IndexRefused(f"index {self.path}: cannot write to it: {e.strerror or e}") from None
        if not _flock(fd):
            os.close(fd)
            raise IndexRefused(f"index {self.path} is being updated by another clean run; wait for it to end, "
                               "or pass --index-readonly to check against it without adding")
        self._fd = fd

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    @property
    def with_sets(self) -> bool:
        """Pairs with indexed documents are decided exactly, and this run's part gets its sets:
        --index-exact, or an index whose parts all have them (so that it stays so without the flag)."""
        return self.exact or (bool(self.parts) and all(p.get("sets") for p in self.parts))

    @property
    def num_perm(self) -> int:
        assert self.settings is not None
        return int(self.settings["num_perm"])

    def _bad(self, why: str) -> IndexRefused:
        return IndexRefused(f"index {self.path} {why}; use another --index folder (or the version that wrote it)")

    def _manifest(self) -> dict[str, Any] | None:
        p = self.path / MANIFEST
        if not p.exists():
            if any(x.name != LOCK and not x.name.startswith(TEMP) and x.name != "parts" for x in self.path.iterdir()):
                raise self._bad("is not a cleaner index (no manifest.json, and other files)")
            return None
        try:
            m = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise self._bad(f"has an unreadable manifest ({e})") from None
        if not isinstance(m, dict) or m.get("format") != FORMAT:
            raise self._bad("is not a cleaner index")
        if m.get("version") != VERSION:
            raise self._bad(f"is of index version {m.get('version')!r}, this cleaner reads version {VERSION}")
        if not isinstance(m.get("settings"), dict) or not isinstance(m["settings"].get("num_perm"), int):
            raise self._bad("has a manifest without its settings")
        if self.settings is None:
            self.settings = m["settings"]
        elif m["settings"] != self.settings:
            raise IndexRefused(f"index {self.path} was built with {m['settings']}, this run has "
                               f"{self.settings}; signatures of other settings cannot be compared")
        if not isinstance(m.get("parts"), list) or not all(isinstance(x, dict) and "run" in x for x in m["parts"]):
            raise self._bad("has a manifest without its list of parts")
        return m

    # --- read ----------------------------------------------------------------------------------

    def _read_part(self, entry: dict[str, Any]) -> Part:
        d = self.path / "parts" / str(entry["run"])
        try:
            meta = json.loads((d / "meta.json").read_text(encoding="utf-8"))

            def load(name: str) -> np.ndarray:
                # mapped: the reduce copies what it compares, the rest is never read
                return np.load(d / f"{name}.npy", mmap_mode="r", allow_pickle=False).view(np.ndarray)

            near = entry.get("para_sets")
            a = {name: load(name) for name in (*_DOC_ARRAYS, *_ROW_ARRAYS, "sigs", "p_off", "ids", "id_off",
                                               *(("sets", "set_off") if entry.get("sets") else ()),
                                               *(_NEAR_ARRAYS if near else ()))}
            runs = [(str(r), int(k)) for r, k in meta["runs"]]
            pnum = int(near["num_perm"]) if near else 0
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise self._bad(f"has a damaged part {entry['run']} ({type(e).__name__}: {e})") from None
        n, m = int(entry.get("docs", -1)), int(entry.get("paragraphs", -1))
        ok = (all(len(a[k]) == n and a[k].dtype == t for k, t in _DOC_ARRAYS.items())
              and all(len(a[k]) == m and a[k].dtype == t for k, t in _ROW_ARRAYS.items())
              and a["sigs"].shape == (n, self.num_perm) and a["sigs"].dtype == np.uint32
              and len(a["p_off"]) == n + 1 and len(a["id_off"]) == n + 1
              and (n == 0 or (int(a["p_off"][-1]) == m and int(a["id_off"][-1]) == len(a["ids"])))
              and meta.get("docs") == n and isinstance(meta.get("files"), list) and sum(k for _, k in runs) == n
              and (n == 0 or 0 <= int(a["doc_file"].min()) <= int(a["doc_file"].max()) < len(meta["files"]))
              and ("sets" not in a or _sets_whole(a["sets"], a["set_off"], n))
              and (not near or _near_whole(a, m, pnum)))
        if not ok:
            raise self._bad(f"has a damaged part {entry['run']} (its arrays do not match its manifest entry)")
        blob = a["ids"].tobytes()
        off = a["id_off"].tolist()
        ids = [blob[off[k]:off[k + 1]].decode("utf-8", "surrogateescape") for k in range(n)]
        paras = NearParagraphs(a["para_row"], a["para_sigs"], Ragged(a["para_sets"], a["para_set_off"]), dict(near)) \
            if near else None
        return Part(str(entry["run"]), runs, list(meta["files"]), ids, a["doc_key"], a["doc_line"], a["doc_file"],
                    a["sigs"], a["p_off"], a["p_key"], a["p_words"], a["p_line"], a["p_gone"],
                    Ragged(a["sets"], a["set_off"]) if "sets" in a else None, paras)

    def _part(self, entry: dict[str, Any]) -> Part:
        got = self._loaded.get(str(entry["run"]))
        return got if got is not None else self._read_part(entry)

    def earlier(self) -> Earlier | None:
        """The indexed documents, oldest part first, as the reduce's first unit (None: empty)."""
        parts = [self._part(p) for p in self.parts]
        parts = [p for p in parts if p.ndocs]
        if not parts:
            return None
        n_of = [p.ndocs for p in parts]
        rows_of = [len(p.p_key) for p in parts]
        doc_base = offsets_of(n_of)
        n, m = int(doc_base[-1]), int(sum(rows_of))
        p_doc = np.concatenate([np.repeat(np.arange(p.ndocs, dtype=np.int64), np.diff(p.p_off)) + b
                                for p, b in zip(parts, doc_base[:-1].tolist())]).astype(np.int32)
        starts = np.concatenate([np.asarray(p.p_off[:-1], np.int64) + b
                                 for p, b in zip(parts, offsets_of(rows_of)[:-1].tolist())])
        sets = [p.sets for p in parts if p.sets is not None]
        exact = self.with_sets and len(sets) == len(parts)  # (open refused --index-exact on parts without)
        near = [p.paras for p in parts if p.paras is not None] if exact else []
        if len(near) != len(parts):  # parts from before them: paragraphs are compared within the batch only
            near = []
        unit = MapResult(
            index=-1, rel="", ids=[i for p in parts for i in p.ids], doc_chars=np.zeros(n, np.int64),
            doc_key=np.concatenate([p.doc_key for p in parts]), doc_kept=np.ones(n, np.int32), p_doc=p_doc,
            p_idx=(np.arange(m, dtype=np.int64) - np.repeat(starts, np.diff(np.append(starts, m)))).astype(np.int32),
            p_key=np.concatenate([p.p_key for p in parts]),
            p_words=np.concatenate([p.p_words for p in parts]).astype(np.int32),
            p_line=np.concatenate([p.p_line for p in parts]), sigs=np.concatenate([p.sigs for p in parts]),
            para_rows=np.concatenate([q.rows + b for q, b in zip(near, offsets_of(rows_of)[:-1].tolist())])
            if near else np.zeros(0, np.int32),
            # one part (compacted): left mapped, as near_paragraphs copies all signatures anyway
            para_sigs=(near[0].sigs if len(near) == 1 else np.concatenate([q.sigs for q in near])) if near else None)
        return Earlier(unit, np.concatenate([p.p_gone for p in parts]),
                       [r for p in parts for r, k in p.runs for _ in range(k)],
                       [p.files[f] for p in parts for f in p.doc_file.tolist()],
                       np.concatenate([p.doc_line for p in parts]),
                       sets if exact else None, doc_base[:-1] if exact else None,
                       [q.sets for q in near] if near else None,
                       offsets_of([len(q.rows) for q in near])[:-1] if near else None)

    # --- write ---------------------------------------------------------------------------------

    def add(self, part: Part) -> bool:
        """Append this run's part (nothing when read-only or already in). True: added."""
        if self.readonly or self.already:
            return False
        self._tidy()
        self._write_part(part)
        self.parts = [*self.parts, self._entry(part)]
        self._write_manifest()
        self.already = True
        return True

    def compact(self) -> tuple[int, int]:
        """All parts as one (the same documents in the same order, each still naming its run);
        the old parts go once the manifest lists the new one. Returns (parts before, documents)."""
        assert not self.readonly
        parts = [self._part(p) for p in self.parts]
        if len(parts) < 2:
            return len(parts), sum(p.ndocs for p in parts)
        joined = join_parts(parts)
        self._tidy()
        self._write_part(joined)
        self.parts = [self._entry(joined)]
        self._write_manifest()
        self._tidy()
        return len(parts), joined.ndocs

    @staticmethod
    def _entry(part: Part) -> dict[str, Any]:
        e: dict[str, Any] = {"run": part.run, "docs": part.ndocs, "paragraphs": len(part.p_key)}
        if len(part.runs) != 1 or part.runs[0][0] != part.run:
            e["runs"] = [r for r, _ in part.runs]
        if part.sets is not None:
            e["sets"] = True
        if part.paras is not None:
            e["para_sets"] = part.paras.settings
        return e

    def _tidy(self) -> None:
        """Remove what no manifest lists: a crash's temp folders and parts, a compaction's old parts."""
        parts_dir = self.path / "parts"
        parts_dir.mkdir(exist_ok=True)
        listed = {str(p["run"]) for p in self.parts}
        for x in parts_dir.iterdir():
            if x.name not in listed:
                shutil.rmtree(x, ignore_errors=True)

    def _write_part(self, part: Part) -> None:
        parts_dir = self.path / "parts"
        tmp = parts_dir / f"{TEMP}{part.run}"
        tmp.mkdir()
        ids, id_off = _id_blob(part.ids)
        arrays = {"doc_key": part.doc_key, "doc_line": part.doc_line, "doc_file": part.doc_file,
                  "sigs": part.sigs, "p_off": part.p_off, "p_key": part.p_key, "p_words": part.p_words,
                  "p_line": part.p_line, "p_gone": part.p_gone, "ids": ids, "id_off": id_off}
        if part.sets is not None:
            arrays.update(sets=part.sets.values, set_off=part.sets.offsets)
        if part.paras is not None:
            q = part.paras
            arrays.update(para_row=q.rows, para_sigs=q.sigs, para_sets=q.sets.values, para_set_off=q.sets.offsets)
        for name, arr in arrays.items():
            _save(tmp / f"{name}.npy", np.ascontiguousarray(arr))
        with open(tmp / "meta.json", "w", encoding="utf-8") as fh:
            json.dump({"run": part.run, "docs": part.ndocs, "files": part.files, "runs": part.runs}, fh)
            fh.flush()
            os.fsync(fh.fileno())
        _fsync_dir(tmp)
        os.replace(tmp, parts_dir / part.run)
        _fsync_dir(parts_dir)

    def _write_manifest(self) -> None:
        tmp = self.path / f"{TEMP}{MANIFEST}"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump({"format": FORMAT, "version": VERSION, "settings": self.settings, "parts": self.parts},
                      fh, indent=1)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path / MANIFEST)
        _fsync_dir(self.path)


def join_parts(parts: list[Part]) -> Part:
    """Parts one after the other as one, named after its runs."""
    import hashlib

    runs = [r for p in parts for r in p.runs]
    files: dict[str, int] = {}
    doc_file = np.concatenate([np.array([files.setdefault(f, len(files)) for f in p.files], np.int32)[p.doc_file]
                               if p.ndocs else np.zeros(0, np.int32) for p in parts])
    name = "c-" + hashlib.sha256(" ".join(r for r, _ in runs).encode()).hexdigest()[:16]

    def cat(attr: str) -> np.ndarray:
        return np.concatenate([getattr(p, attr) for p in parts])

    # the sets stay only when every part has them: an index with some is decided by estimate
    have = [p.sets for p in parts if p.sets is not None]
    sets = Ragged.concat(have, np.uint32) if len(have) == len(parts) else None
    near = [p.paras for p in parts if p.paras is not None]
    paras = None
    if sets is not None and len(near) == len(parts) and all(q.settings == near[0].settings for q in near):
        rows = offsets_of([len(p.p_key) for p in parts])[:-1].tolist()
        paras = NearParagraphs(np.concatenate([q.rows + b for q, b in zip(near, rows)]),
                               np.concatenate([q.sigs for q in near]), Ragged.concat([q.sets for q in near], np.uint32),
                               near[0].settings)
    return Part(name, runs, list(files), [i for p in parts for i in p.ids], cat("doc_key"), cat("doc_line"), doc_file,
                cat("sigs"), chain_offsets([p.p_off for p in parts]), cat("p_key"), cat("p_words"), cat("p_line"),
                cat("p_gone"), sets, paras)


def _sets_whole(values: np.ndarray, off: np.ndarray, n: int) -> bool:
    """A part's sets fit its documents: one non-decreasing offset more than documents, from 0 to the end."""
    return (values.dtype == np.uint32 and values.ndim == 1 and off.dtype == np.int64 and off.shape == (n + 1,)
            and int(off[0]) == 0 and int(off[-1]) == len(values) and bool(np.all(off[1:] >= off[:-1])))


def _near_whole(a: dict[str, np.ndarray], rows: int, num_perm: int) -> bool:
    """A part's compared paragraphs fit its paragraphs: increasing rows among them, a signature and a set each."""
    r = a["para_row"]
    n = len(r)
    return (r.dtype == np.int64 and r.ndim == 1 and (n == 0 or (int(r[0]) >= 0 and int(r[-1]) < rows))
            and bool(np.all(r[1:] > r[:-1])) and a["para_sigs"].shape == (n, num_perm)
            and a["para_sigs"].dtype == np.uint32 and _sets_whole(a["para_sets"], a["para_set_off"], n))


def survivors(run: str, units: list[MapResult], drops: Decisions, written: set[int], num_perm: int,
              store: SetStore | None = None, near: dict[str, Any] | None = None) -> Part:
    """What a run adds to the index: the documents of the written units that no step removed,
    with every paragraph the map kept of them (those the reduce removed marked gone).

    With the map's `store` (--index-exact) also their sets, and also the documents that only the
    paragraph steps took (emptied by them, or removed as equal to another after them), all their
    paragraphs gone: one run over all still has them in its document step, where a later document
    near one of them goes as its near-duplicate, and their paragraphs still count for templates
    there. And the signatures and sets of their paragraphs that the near-paragraph step compared
    and kept (`near`: the paragraph settings): the ones a later paragraph can go as near. (A
    document the paragraph steps took keeps none: each of its long paragraphs went, at the latest
    as a repeat of the document it equals, min_dup_words being below min_near_words.)"""
    doc_sets = store.docs if store is not None else None
    files: dict[str, int] = {}
    sets: list[Ragged] = []
    q_rows: list[np.ndarray] = []
    q_sigs: list[np.ndarray] = []
    q_sets: list[Ragged] = []
    nrows = 0
    ids: list[str] = []
    keys, lines, dfile, sigs, rows_n = [], [], [], [], []
    rk, rw, rl, rg = [], [], [], []
    for u in units:
        if u.index not in written or u.sigs is None or not u.ndocs:
            continue
        gone_docs = drops.doc_drops.get(u.index, {})
        late = drops.late_doc_drops.get(u.index, set()) if doc_sets is not None else set()
        para_drops = drops.para_drops.get(u.index, {})
        start = np.searchsorted(u.p_doc, np.arange(u.ndocs + 1))  # rows are in document order
        gone = np.zeros(len(u.p_doc), dtype=bool) if not para_drops else \
            np.array([(int(d), int(i)) in para_drops for d, i in zip(u.p_doc.tolist(), u.p_idx.tolist())], dtype=bool)
        kept: list[int] = []
        track = store is not None and near is not None and u.para_sigs is not None and len(u.para_rows) > 0
        at = np.full(len(u.p_doc) if track else 0, -1, np.int64)  # each row's in the part (-1: not, or gone)
        for d in range(u.ndocs):
            a, b = int(start[d]), int(start[d + 1])
            if b == a or (d in gone_docs and d not in late) or (doc_sets is None and gone[a:b].all()):
                continue
            kept.append(d)
            ids.append(u.ids[d])
            keys.append(u.doc_key[d])
            lines.append(u.p_line[a])
            dfile.append(files.setdefault(u.rel, len(files)))
            sigs.append(u.sigs[d])
            rows_n.append(b - a)
            rk.append(u.p_key[a:b])
            rw.append(np.minimum(u.p_words[a:b], np.iinfo(np.uint16).max))
            rl.append(u.p_line[a:b])
            rg.append(np.ones(b - a, dtype=bool) if d in late else gone[a:b])
            if track:
                at[a:b] = np.where(rg[-1], -1, nrows + np.arange(b - a))
            nrows += b - a
        if doc_sets is not None and kept:
            sets.append(doc_sets(u.index, np.array(kept, np.int64)))
        if track:
            assert store is not None and u.para_sigs is not None
            take = np.flatnonzero(at[u.para_rows] >= 0)
            q_rows.append(at[u.para_rows[take]])
            q_sigs.append(u.para_sigs[take])
            q_sets.append(Ragged(*store.paragraphs(np.full(len(take), u.index, np.int64), take)))

    def cat(xs: list[np.ndarray], dtype: Any) -> np.ndarray:
        return np.concatenate(xs).astype(dtype) if xs else np.zeros(0, dtype)

    return Part(run, [(run, len(ids))], list(files), ids, np.array(keys, np.uint64), np.array(lines, np.int32),
                np.array(dfile, np.int32), np.array(sigs, np.uint32).reshape(len(ids), num_perm),
                offsets_of(rows_n).astype(np.int64), cat(rk, np.uint64), cat(rw, np.uint16), cat(rl, np.int32),
                cat(rg, np.bool_), None if doc_sets is None else Ragged.concat(sets or [Ragged.empty()], np.uint32),
                None if store is None or near is None else
                NearParagraphs(cat(q_rows, np.int64), np.concatenate(q_sigs).astype(np.uint32) if q_sigs else
                               np.zeros((0, int(near["num_perm"])), np.uint32),
                               Ragged.concat(q_sets or [Ragged.empty()], np.uint32), near))
