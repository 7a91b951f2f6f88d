"""--index DIR: batches cleaned one after the other against a persisted index decide as one run
over all of them; the index is refused when it cannot be used and survives a kill -9."""

from __future__ import annotations

import fcntl
import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import fault_env, prose, read_audit, read_report, tree_bytes, write

from cleaner.pipeline import clean_corpus
from cleaner.run import RunError

FOOTER = "Subscribe to the weekly letter of the harbour town society for all the news of the quay"


def altered(paragraph: str) -> str:
    """One word changed in the middle: Jaccard of word 3-grams about 0.9 with the original."""
    words = paragraph.split(" ")
    words[len(words) // 2] = "altered"
    return " ".join(words)


def batches(root: Path, near: bool = False) -> None:
    """Three batches (b0, b1, b2) in corpus order. Later batches repeat earlier documents exactly
    and nearly, paragraphs of earlier documents, and a footer that six documents of b0 and six of
    b2 end with (a template in both). `near`: six documents of b1 and b2 also hold a near copy of
    a paragraph of a document of b0."""
    rnd = random.Random(5)
    texts: list[list[str]] = []
    for i in range(36):
        b = i % 3
        earlier = [j for j in range(i) if j % 3 < b]
        if b and i % 4 == 1:  # an exact copy of an earlier batch's document
            paras = list(texts[rnd.choice(earlier)])
        elif b and i % 4 == 2:  # one word changed in a long document of an earlier batch
            paras = list(texts[rnd.choice(earlier)])
            words = paras[1].split(" ")
            words[len(words) // 2] = "changed"
            paras[1] = " ".join(words)
        else:
            paras = [prose(100 * i + k, 4) for k in range(5)]
            if b and i % 4 == 3:  # a paragraph of an earlier document
                paras.insert(2, texts[i - 3 - b][3])
            if near and b and i % 4 == 0:
                paras.insert(3, altered(texts[i - 3 - b][1]))
        if b != 1 and i % 6 < 4 and not (b and i % 4 in (1, 2)):
            paras.append(FOOTER)
        texts.append(paras)
        write(root, f"b{b}/d{i:03d}.txt", "\n\n".join(paras) + "\n")


def run(src: Path, out: Path, **kw) -> dict:
    clean_corpus(src, out, workers=0, **kw)
    return read_report(Path(f"{out}.report"))


@pytest.mark.parametrize("exact", [False, True])
def test_three_batches_against_the_index_keep_what_one_run_over_all_keeps(tmp_path, exact):
    src = tmp_path / "all"
    batches(src, near=exact)  # near paragraphs across batches: with --index-exact only (README)
    run(src, tmp_path / "whole")
    idx = tmp_path / "idx"
    for b in range(3):
        run(src / f"b{b}", tmp_path / f"out{b}", index=str(idx), index_exact=exact)
        # same survivors, same kept text: the first in batch order
        assert tree_bytes(tmp_path / f"out{b}") == tree_bytes(tmp_path / "whole" / f"b{b}"), b
    manifest = json.loads((idx / "manifest.json").read_text())
    runs = [p["run"] for p in manifest["parts"]]
    assert len(runs) == 3 == len(set(runs))

    whole = read_audit(tmp_path / "whole.report")
    twins: dict[tuple, dict] = {}
    for b in range(3):
        for r in read_audit(tmp_path / f"out{b}.report"):
            twins[(f"b{b}/{r['file']}", r.get("line"), r["reason"])] = r.get("twin", {})
    assert {(r["file"], r.get("line"), r["reason"]) for r in whole} == set(twins)
    across = 0
    for r in whole:
        if "twin" not in r:
            continue
        mine = twins[(r["file"], r.get("line"), r["reason"])]
        tb = r["twin"]["file"].split("/")[0]
        if tb == r["file"].split("/")[0]:
            assert "run" not in mine
            continue
        # a twin in an earlier batch: named by that batch's run, its file, id and line
        across += 1
        assert mine == {"id": r["twin"]["id"].split("/", 1)[1], "file": r["twin"]["file"].split("/", 1)[1],
                        "line": mine["line"], "run": runs[int(tb[1])]}, r
        if r["level"] == "paragraph":
            assert mine["line"] == r["twin"]["line"]
    reasons = {r["reason"] for r in whole if "twin" in r and r["twin"]["file"][:2] != r["file"][:2]}
    assert reasons == {"duplicate-document", "near-duplicate-document", "corpus-duplicate-paragraph",
                       *(["corpus-near-duplicate-paragraph"] if exact else [])}
    assert across >= 8
    # the footer is a template in b2 as well, counted over the batches
    assert sum(1 for r in read_audit(tmp_path / "out2.report") if r["reason"] == "template") >= 3


def test_a_template_reached_over_batches_goes_from_the_new_batch_and_is_counted_in_the_index(tmp_path):
    line = "Read more stories of the harbour town on the society pages every week"
    for b in range(2):
        for i in range(3):
            write(tmp_path / f"b{b}", f"d{i}.txt", "\n\n".join([prose(10 * b + 3 * i + k) for k in range(3)] + [line]))
    idx = str(tmp_path / "idx")
    # three documents: a repeat, not a template (--template-min-docs 5)
    assert run(tmp_path / "b0", tmp_path / "o0", index=idx)["paragraphs"]["removed"] == \
        {"corpus-duplicate-paragraph": 2}
    rep = run(tmp_path / "b1", tmp_path / "o1", index=idx)
    assert rep["paragraphs"]["removed"] == {"template": 3}
    assert rep["clusters"]["templates"] == 3
    assert rep["clusters"]["templates_in_index"] == 3  # the earlier ones, left as their run wrote them
    first_run = rep["clusters"]["templates_in_index_occurrences"][0]["run"]
    assert rep["clusters"]["templates_in_index_occurrences"] == [
        # d1's and d2's went in their run already, as repeats of d0's: only d0's is in its output
        {"run": first_run, "file": f"d{i}.txt", "id": f"d{i}.txt", "line": 7, "removed_by_its_run": i > 0}
        for i in range(3)]
    assert line in (tmp_path / "o0" / "d0.txt").read_text()
    assert not any(line in p.read_text() for p in (tmp_path / "o1").iterdir())


@pytest.mark.parametrize("exact", [False, True], ids=["plain", "exact"])
def test_readonly_checks_without_adding_and_engines_give_the_same_bytes(tmp_path, exact):
    src = tmp_path / "all"
    batches(src, near=exact)
    idx = tmp_path / "idx"

    def sequence(engines: list[dict]) -> dict[str, bytes]:
        for p in (idx, *tmp_path.glob("o*")):
            shutil.rmtree(p, ignore_errors=True)
        for b, kw in enumerate(engines):
            clean_corpus(src / f"b{b}", tmp_path / f"o{b}", index=str(idx), index_exact=exact, **kw)
        return {**{f"o{b}/{k}": v for b in range(len(engines)) for k, v in tree_bytes(tmp_path / f"o{b}").items()},
                **{f"idx/{k}": v for k, v in tree_bytes(idx).items() if k != ".lock"}}

    inline = sequence([{"workers": 0}, {"workers": 0}])
    assert inline == sequence([{"workers": 2}, {"engine": "dask", "workers": 2}])

    if exact:
        assert all(p["sets"] and p["para_sets"] for p in json.loads((idx / "manifest.json").read_text())["parts"])
        assert any(r["reason"] == "corpus-near-duplicate-paragraph" and "run" in r["twin"]
                   for r in read_audit(tmp_path / "o1.report"))
    before = tree_bytes(idx)
    clean_corpus(src / "b2", tmp_path / "ro", workers=0, index=str(idx), index_readonly=True)
    assert tree_bytes(idx) == before
    removed = read_audit(tmp_path / "ro.report")
    assert any(r.get("twin", {}).get("run") for r in removed)
    with pytest.raises(RunError, match="does not exist"):
        clean_corpus(src / "b2", tmp_path / "ro2", workers=0, index=str(tmp_path / "none"), index_readonly=True)


def clean_cli(*args: object, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cleaner", *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=120)


@pytest.fixture
def indexed(tmp_path) -> tuple[Path, Path]:
    src = tmp_path / "all"
    batches(src)
    idx = tmp_path / "idx"
    run(src / "b0", tmp_path / "o0", index=str(idx))
    return src, idx


@pytest.mark.parametrize("damage,message", [
    (lambda idx: (idx / "parts" / os.listdir(idx / "parts")[0] / "p_key.npy").write_bytes(b"\x93NUMPY"),
     "damaged part"),
    (lambda idx: (idx / "manifest.json").write_text((idx / "manifest.json").read_text().replace(
        '"version": 1', '"version": 7')), "index version 7"),
    (lambda idx: (idx / "manifest.json").write_text("{"), "unreadable manifest"),
])
def test_a_damaged_or_foreign_index_is_refused_in_one_line(indexed, tmp_path, damage, message):
    src, idx = indexed
    damage(idx)
    before = tree_bytes(idx)
    r = clean_cli(src / "b1", tmp_path / "o1", "-q", "-j", "0", "--index", idx)
    assert r.returncode == 2, r.stderr
    assert message in r.stderr and r.stderr.count("\n") == 1, r.stderr
    assert tree_bytes(idx) == before and not (tmp_path / "o1").exists()


def test_other_settings_and_a_second_updating_run_are_refused(indexed, tmp_path):
    src, idx = indexed
    with pytest.raises(RunError, match="signatures of other settings"):
        clean_corpus(src / "b1", tmp_path / "o1", workers=0, index=str(idx), num_perm=64)
    fd = os.open(idx / ".lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a run updating the index holds it (none holds it now)
        with pytest.raises(RunError, match="being updated by another clean run"):
            clean_corpus(src / "b1", tmp_path / "o2", workers=0, index=str(idx))
        # checking against it needs no lock
        clean_corpus(src / "b1", tmp_path / "o3", workers=0, index=str(idx), index_readonly=True)
    finally:
        os.close(fd)


@pytest.mark.parametrize("exact", [(), ("--index-exact",)], ids=["plain", "exact"])
@pytest.mark.parametrize("when", ["before-manifest", "after-manifest"])
def test_kill_9_during_the_index_update_then_the_same_command_gives_the_same_output_and_index(indexed, tmp_path,
                                                                                              when, exact):
    src, idx = indexed
    if exact:
        shutil.rmtree(idx)
        run(src / "b0", tmp_path / "o0", index=str(idx), index_exact=True, overwrite=True)
    saved = tmp_path / "saved"
    shutil.copytree(idx, saved)
    args = (src / "b1", tmp_path / "o1", "-q", "-j", "0", "--index", idx, *exact)
    r = clean_cli(*args, env={**fault_env(""), "CLEANER_INDEX_FAULT": when})
    assert r.returncode == -9, r.stderr
    manifest = json.loads((idx / "manifest.json").read_text())
    assert len(manifest["parts"]) == (1 if when == "before-manifest" else 2)
    assert clean_cli(*args).returncode == 0
    got = tree_bytes(tmp_path / "o1"), tree_bytes(idx), read_audit(tmp_path / "o1.report")
    # the same command on the index as it was, never interrupted
    shutil.rmtree(idx)
    shutil.copytree(saved, idx)
    shutil.rmtree(tmp_path / "o1")
    shutil.rmtree(tmp_path / "o1.report")
    assert clean_cli(*args).returncode == 0
    assert got == (tree_bytes(tmp_path / "o1"), tree_bytes(idx), read_audit(tmp_path / "o1.report"))
    assert any(r.get("twin", {}).get("run") for r in got[2])


def test_compact_joins_the_parts_and_decides_the_same(tmp_path):
    src = tmp_path / "all"
    batches(src)
    idx = tmp_path / "idx"
    for b in range(2):
        run(src / f"b{b}", tmp_path / f"o{b}", index=str(idx))
    runs = [p["run"] for p in json.loads((idx / "manifest.json").read_text())["parts"]]
    run(src / "b2", tmp_path / "before", index=str(idx), index_readonly=True)
    r = clean_cli("index", "compact", idx)
    assert r.returncode == 0 and "2 parts -> 1" in r.stdout, r.stderr
    parts = json.loads((idx / "manifest.json").read_text())["parts"]
    assert len(parts) == 1 and parts[0]["runs"] == runs and os.listdir(idx / "parts") == [parts[0]["run"]]
    run(src / "b2", tmp_path / "after", index=str(idx), index_readonly=True)
    assert tree_bytes(tmp_path / "after") == tree_bytes(tmp_path / "before")
    assert read_audit(tmp_path / "after.report") == read_audit(tmp_path / "before.report")
    named = {r["twin"].get("run") for r in read_audit(tmp_path / "after.report") if "twin" in r} - {None}
    assert named and named <= set(runs)
    # a run compacted with the runs before it cannot be checked against those alone
    with pytest.raises(RunError, match="compacted"):
        run(src / "b1", tmp_path / "o1", index=str(idx), overwrite=True)
    assert clean_cli("index", "compact", tmp_path / "nothing").returncode == 2


@pytest.mark.parametrize("options,message", [
    ({"index_readonly": True}, "--index-readonly goes with --index DIR"),
    ({"index_exact": True}, "--index-exact goes with --index DIR"),
    ({"index": "idx", "dedup": False}, "not with --no-dedup"),
])
def test_index_options_that_cannot_work_are_refused(options, message):
    from cleaner.config import Config, ConfigError

    with pytest.raises(ConfigError, match=message):
        Config(**options).validate()


# --- --index-exact ------------------------------------------------------------------------------

# the same options in every run of these tests: dedup of documents only (near-duplicate
# paragraphs are found within a batch only, with or without sets, and would blur the comparison)
CROWDED = {"strip": False, "min_near_words": 10 ** 6}


def crowded(root: Path, pairs: int = 24) -> None:
    """b0: documents of 4 paragraphs; b1: a copy of each, edited by a few scattered word changes so
    that its exact Jaccard (word 5-grams) with its source lands around 0.8, where a 128-slot MinHash
    estimate often falls on the other side of the threshold."""
    rnd = random.Random(11)
    for i in range(pairs):
        paras = [prose(1000 * i + 10 * k, 5) for k in range(4)]
        words = "\n\n".join(paras).split(" ")
        # a change replaces 5 shingles of ~n by 5 new ones: J = (n - 5k) / (n + 5k), 0.8 at k = n / 45
        k = max(1, round(len(words) / 45) + rnd.choice((-1, 0, 0, 1)))
        for at in rnd.sample(range(2, len(words) - 2, 6), k):
            words[at] = f"changed{i}x{at}"
        write(root, f"b0/d{i:03d}.txt", "\n\n".join(paras) + "\n")
        write(root, f"b1/d{i:03d}.txt", " ".join(words) + "\n")


def index_arrays(idx: Path) -> tuple[list[str], np.ndarray, list[np.ndarray]]:
    """Ids, signatures and shingle sets of the documents of an index built with --index-exact."""
    from cleaner.config import Config
    from cleaner.run.index import Index, settings

    e = Index(idx, settings(Config()), "", readonly=True).open().earlier()
    assert e is not None and e.sets is not None
    return e.unit.ids, e.unit.sigs, [e.doc_set(k) for k in range(e.unit.ndocs)]


def test_index_exact_decides_crowded_pairs_as_one_run_over_all(tmp_path):
    from cleaner.minhash import jaccard_sets

    src = tmp_path / "all"
    crowded(src)
    # the pairs' estimate and exact Jaccard, from what the index keeps of each batch alone
    for b in range(2):
        run(src / f"b{b}", tmp_path / f"alone{b}", index=str(tmp_path / f"alone{b}.idx"), index_exact=True,
            **CROWDED)
    (ids0, sigs0, sets0), (ids1, sigs1, sets1) = (index_arrays(tmp_path / f"alone{b}.idx") for b in range(2))
    assert ids0 == ids1 and len(ids0) == 24
    est = np.count_nonzero(sigs0 == sigs1, axis=1) / sigs0.shape[1]
    exact = np.array([jaccard_sets(a, b) for a, b in zip(sets0, sets1)])
    assert ((exact > 0.7) & (exact < 0.9)).all(), exact
    # not vacuous: for some pairs the estimate and the exact value fall on either side of 0.8
    assert ((est >= 0.8) != (exact >= 0.8)).any(), (est, exact)

    whole = run(src, tmp_path / "whole", **CROWDED)
    assert whole["clusters"]["documents"]["exact_checks"] >= 24
    audits = {}
    for exact_index in (True, False):
        idx = tmp_path / f"idx-{exact_index}"
        for b in range(2):
            out = tmp_path / f"o{b}-{exact_index}"
            rep = run(src / f"b{b}", out, index=str(idx), index_exact=exact_index, **CROWDED)
            assert rep["clusters"]["index"].get("exact", False) is exact_index
        audits[exact_index] = {(r["file"], r["reason"]) for r in read_audit(tmp_path / f"o1-{exact_index}.report")}
        kept = tree_bytes(tmp_path / f"o1-{exact_index}") == tree_bytes(tmp_path / "whole" / "b1")
        assert kept is exact_index  # byte-identical kept text with the sets; not without (the estimate)
        assert tree_bytes(tmp_path / f"o0-{exact_index}") == tree_bytes(tmp_path / "whole" / "b0")
    removed_whole = {(r["file"].split("/", 1)[1], r["reason"]) for r in read_audit(tmp_path / "whole.report")
                     if r["file"].startswith("b1/")}
    assert audits[True] == removed_whole
    # without the sets, the pairs on either side are decided by their estimate
    differ = {f"d{i:03d}.txt" for i in np.flatnonzero((est >= 0.8) != (exact >= 0.8)).tolist()}
    assert {f for f, _ in audits[False] ^ removed_whole} == differ
    assert {f for f, why in audits[False] if why == "near-duplicate-document"} == \
        {f"d{i:03d}.txt" for i in np.flatnonzero(est >= 0.8).tolist()}


def test_index_exact_refuses_an_index_without_sets_in_one_line(indexed, tmp_path):
    src, idx = indexed
    before = tree_bytes(idx)
    r = clean_cli(src / "b1", tmp_path / "o1", "-q", "-j", "0", "--index", idx, "--index-exact")
    assert r.returncode == 2, r.stderr
    assert "1 of 1 parts without shingle sets" in r.stderr and r.stderr.count("\n") == 1, r.stderr
    assert tree_bytes(idx) == before and not (tmp_path / "o1").exists()


def test_compact_keeps_the_sets_and_a_run_without_the_flag_follows_an_index_with_sets(tmp_path):
    src = tmp_path / "all"
    crowded(src)
    for i in range(6):  # a second batch, of other documents
        write(tmp_path / "other", f"e{i}.txt", "\n\n".join(prose(50_000 + 10 * i + k, 5) for k in range(3)) + "\n")
    whole = tmp_path / "whole"
    run(src, whole, **CROWDED)
    idx = tmp_path / "idx"
    run(src / "b0", tmp_path / "o0", index=str(idx), index_exact=True, **CROWDED)
    run(tmp_path / "other", tmp_path / "oo", index=str(idx), index_exact=True, **CROWDED)

    def check(out: str, **kw) -> list[dict]:
        rep = run(src / "b1", tmp_path / out, index=str(idx), index_readonly=True, overwrite=True, **kw, **CROWDED)
        assert rep["clusters"]["index"]["exact"] is True
        assert tree_bytes(tmp_path / out) == tree_bytes(whole / "b1")  # as one run over all
        return read_audit(tmp_path / f"{out}.report")

    before = check("before", index_exact=True)
    assert check("plain") == before  # without the flag: the sets are used, every part has them
    r = clean_cli("index", "compact", idx)
    assert r.returncode == 0 and "2 parts -> 1" in r.stdout, r.stderr
    parts = json.loads((idx / "manifest.json").read_text())["parts"]
    assert len(parts) == 1 and parts[0]["sets"] is True and parts[0]["docs"] == 30
    assert (idx / "parts" / parts[0]["run"] / "sets.npy").is_file()
    assert check("after", index_exact=True) == before
    # a run without the flag adds its part with sets too: the index stays one that --index-exact takes
    run(tmp_path / "other", tmp_path / "o-again", index=str(idx), **CROWDED)
    assert all(p.get("sets") for p in json.loads((idx / "manifest.json").read_text())["parts"][1:])
    check("later", index_exact=True)


@pytest.mark.parametrize("damage", [
    lambda part: np.save(part / "set_off.npy", np.load(part / "set_off.npy")[:-1]),
    lambda part: np.save(part / "sets.npy", np.load(part / "sets.npy").astype(np.int64)),
    lambda part: (part / "sets.npy").unlink(),
])
def test_damaged_sets_are_refused(tmp_path, damage):
    src = tmp_path / "all"
    crowded(src, pairs=3)
    idx = tmp_path / "idx"
    run(src / "b0", tmp_path / "o0", index=str(idx), index_exact=True, **CROWDED)
    damage(idx / "parts" / os.listdir(idx / "parts")[0])
    for exact in (True, False):  # the manifest says the part has sets: they are checked either way
        with pytest.raises(RunError, match="damaged part"):
            run(src / "b1", tmp_path / "o1", index=str(idx), index_exact=exact, **CROWDED)


def test_index_exact_keeps_a_document_its_run_emptied_as_a_near_duplicate_target(tmp_path):
    a, b = ([prose(70_000 + 100 * s + 10 * k, 4) for k in range(4)] for s in range(2))
    emptied = [a[0], a[1], b[0], b[1]]  # each paragraph a repeat of one before it: nothing of it is written
    near = []
    for p in emptied:  # one word changed a paragraph: far from a and b, near `emptied`
        words = p.split(" ")
        words[len(words) // 2] = "altered"
        near.append(" ".join(words))
    for rel, paras in (("b0/d0.txt", a), ("b0/d1.txt", b), ("b0/d2.txt", emptied), ("b1/d3.txt", near)):
        write(tmp_path / "all", rel, "\n\n".join(paras) + "\n")
    src = tmp_path / "all"

    def near_dup(report: Path) -> list[tuple[str, str]]:
        return [(r["file"], r["twin"]["id"]) for r in read_audit(report) if r["reason"] == "near-duplicate-document"]

    run(src, tmp_path / "whole", **CROWDED)
    assert near_dup(tmp_path / "whole.report") == [("b1/d3.txt", "b0/d2.txt")]
    assert not (tmp_path / "whole" / "b0" / "d2.txt").exists()
    for exact in (True, False):
        idx = str(tmp_path / f"idx-{exact}")
        run(src / "b0", tmp_path / f"o0-{exact}", index=idx, index_exact=exact, **CROWDED)
        run(src / "b1", tmp_path / f"o1-{exact}", index=idx, index_exact=exact, **CROWDED)
        # without sets the index holds what its runs wrote only: d3 is compared with d0 and d1 alone
        assert near_dup(tmp_path / f"o1-{exact}.report") == ([("d3.txt", "d2.txt")] if exact else [])
        assert (tree_bytes(tmp_path / f"o1-{exact}") == tree_bytes(tmp_path / "whole" / "b1")) is exact


# --- --index-exact: near-duplicate paragraphs -------------------------------------------------------

def near_pair(root: Path) -> None:
    """b0/a.txt and b1/b.txt, different documents; b's third paragraph nearly repeats a's second."""
    a = [prose(90_000 + k, 4) for k in range(4)]
    b = [prose(91_000 + k, 4) for k in range(4)]
    b.insert(2, altered(a[1]))
    write(root, "b0/a.txt", "\n\n".join(a) + "\n")
    write(root, "b1/b.txt", "\n\n".join(b) + "\n")


def paragraph_set(idx: Path, line: int) -> np.ndarray:
    """The shingle set an index built with --index-exact keeps of the paragraph at `line` (its only document's)."""
    from cleaner.config import Config
    from cleaner.run.index import Index, para_settings, settings

    e = Index(idx, settings(Config()), "", readonly=True, para_settings=para_settings(Config())).open().earlier()
    assert e is not None and e.para_sets is not None
    rows = [k for k, r in enumerate(e.unit.para_rows.tolist()) if e.unit.p_line[r] == line]
    assert len(rows) == 1, line
    values, offsets = e.paragraph_sets(np.array(rows, np.int64))
    return values[offsets[0]:offsets[1]]


def test_index_exact_removes_a_paragraph_near_one_of_an_indexed_document_as_one_run(tmp_path):
    from cleaner.minhash import jaccard_sets

    src = tmp_path / "all"
    near_pair(src)
    # the pair's exact Jaccard (word 3-grams), from what an index keeps of each batch alone
    for b in range(2):
        run(src / f"b{b}", tmp_path / f"alone{b}", index=str(tmp_path / f"alone{b}.idx"), index_exact=True)
    j = jaccard_sets(*(paragraph_set(tmp_path / f"alone{b}.idx", 3 + 2 * b) for b in range(2)))
    assert 0.8 < j < 1, j

    run(src, tmp_path / "whole")
    whole = [r for r in read_audit(tmp_path / "whole.report") if r["file"].startswith("b1/")]
    assert [(r["reason"], r["line"], r["twin"]) for r in whole] == \
        [("corpus-near-duplicate-paragraph", 5, {"id": "b0/a.txt", "file": "b0/a.txt", "line": 3})]
    for exact in (True, False):
        idx = tmp_path / f"idx-{exact}"
        run(src / "b0", tmp_path / f"o0-{exact}", index=str(idx), index_exact=exact)
        run(src / "b1", tmp_path / f"o1-{exact}", index=str(idx), index_exact=exact)
        got = read_audit(tmp_path / f"o1-{exact}.report")
        # without the flag the index keeps no paragraph signatures: the pair is not found (README)
        assert (tree_bytes(tmp_path / f"o1-{exact}") == tree_bytes(tmp_path / "whole" / "b1")) is exact
        if exact:
            run0 = json.loads((idx / "manifest.json").read_text())["parts"][0]["run"]
            assert [(r["reason"], r["line"], r["twin"], r["similarity"]) for r in got] == \
                [(w["reason"], w["line"], {"id": "a.txt", "file": "a.txt", "line": 3, "run": run0}, w["similarity"])
                 for w in whole]
        else:
            assert got == []


def test_compact_keeps_the_paragraph_signatures(tmp_path):
    src = tmp_path / "all"
    batches(src, near=True)
    run(src, tmp_path / "whole")
    idx = tmp_path / "idx"
    for b in range(2):
        run(src / f"b{b}", tmp_path / f"o{b}", index=str(idx), index_exact=True)
    run(src / "b2", tmp_path / "before", index=str(idx), index_readonly=True, index_exact=True)
    assert tree_bytes(tmp_path / "before") == tree_bytes(tmp_path / "whole" / "b2")
    before = read_audit(tmp_path / "before.report")
    assert any(r["reason"] == "corpus-near-duplicate-paragraph" and r["twin"]["run"] for r in before)
    r = clean_cli("index", "compact", idx)
    assert r.returncode == 0 and "2 parts -> 1" in r.stdout, r.stderr
    parts = json.loads((idx / "manifest.json").read_text())["parts"]
    assert len(parts) == 1 and parts[0]["para_sets"] == {"num_perm": 64, "shingle": 3, "min_words": 20}
    assert (idx / "parts" / parts[0]["run"] / "para_sigs.npy").is_file()
    run(src / "b2", tmp_path / "after", index=str(idx), index_readonly=True, index_exact=True)
    assert tree_bytes(tmp_path / "after") == tree_bytes(tmp_path / "before")
    assert read_audit(tmp_path / "after.report") == before


@pytest.fixture
def exact_index(tmp_path) -> tuple[Path, Path]:
    src = tmp_path / "all"
    near_pair(src)
    idx = tmp_path / "idx"
    run(src / "b0", tmp_path / "o0", index=str(idx), index_exact=True)
    return src, idx


@pytest.mark.parametrize("damage", [
    lambda part: np.save(part / "para_set_off.npy", np.load(part / "para_set_off.npy")[:-1]),
    lambda part: np.save(part / "para_sigs.npy", np.load(part / "para_sigs.npy")[:, :32]),
    lambda part: np.save(part / "para_row.npy", np.load(part / "para_row.npy") + 1000),
    lambda part: (part / "para_sets.npy").unlink(),
], ids=["offsets", "signatures", "rows", "missing"])
def test_damaged_paragraph_signatures_are_refused_in_one_line(exact_index, tmp_path, damage):
    src, idx = exact_index
    damage(idx / "parts" / os.listdir(idx / "parts")[0])
    before = tree_bytes(idx)
    for exact in ((), ("--index-exact",)):  # the manifest says the part has them: checked either way
        r = clean_cli(src / "b1", tmp_path / "o1", "-q", "-j", "0", "--index", idx, *exact)
        assert r.returncode == 2, r.stderr
        assert "damaged part" in r.stderr and r.stderr.count("\n") == 1, r.stderr
    assert tree_bytes(idx) == before and not (tmp_path / "o1").exists()


def test_parts_with_sets_from_before_paragraph_signatures_are_refused_by_index_exact(exact_index, tmp_path):
    src, idx = exact_index
    # a part as the --index-exact of before wrote it: document sets, no paragraph arrays
    manifest = json.loads((idx / "manifest.json").read_text())
    del manifest["parts"][0]["para_sets"]
    (idx / "manifest.json").write_text(json.dumps(manifest))
    for name in ("para_row", "para_sigs", "para_sets", "para_set_off"):
        (idx / "parts" / manifest["parts"][0]["run"] / f"{name}.npy").unlink()
    before = tree_bytes(idx)
    r = clean_cli(src / "b1", tmp_path / "o1", "-q", "-j", "0", "--index", idx, "--index-exact")
    assert r.returncode == 2, r.stderr
    assert "1 of 1 parts with shingle sets but without paragraph signatures" in r.stderr, r.stderr
    assert r.stderr.count("\n") == 1 and tree_bytes(idx) == before
    # without the flag it is used as before (documents exactly, paragraphs within the batch), and
    # the part it adds has them
    run(src / "b1", tmp_path / "o1", index=str(idx))
    assert not read_audit(tmp_path / "o1.report")
    assert [bool(p.get("para_sets")) for p in json.loads((idx / "manifest.json").read_text())["parts"]] == \
        [False, True]
    # other paragraph settings: their signatures cannot be compared
    with pytest.raises(RunError, match="paragraph signatures of"):
        run(src / "b1", tmp_path / "o2", index=str(idx), min_near_words=30)
