"""MinHash signatures, LSH candidates and survivor clustering."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import prose, read_audit, write
from hypothesis import given, settings
from hypothesis import strategies as st

from cleaner import minhash as mh
from cleaner.dedup import candidate_probability, choose_bands, cluster


def test_signatures_equal_datasketch_minhash_with_the_same_shingles():
    datasketch = pytest.importorskip("datasketch")
    texts = [prose(1, 4), "Ünïcode wörds — “quoted” and… dashed–words", "one two", ""]
    sigs = mh.signatures(texts)
    for text, sig in zip(texts, sigs):
        m = datasketch.MinHash(num_perm=128, seed=1, hashfunc=mh.shingle_hash32)
        m.update_batch(mh.reference_shingles(text))
        assert np.array_equal(m.hashvalues, sig)


def test_lean_minhash_in_a_datasketch_lsh_index():
    datasketch = pytest.importorskip("datasketch")
    a = prose(5, 6)
    b = a.replace("council", "committee", 1)
    c = prose(6, 6)
    sigs = mh.signatures([a, b, c])
    lsh = datasketch.MinHashLSH(threshold=0.5, num_perm=128)
    for key, sig in zip("abc", sigs):
        lsh.insert(key, mh.to_lean_minhash(sig))
    assert set(lsh.query(mh.to_lean_minhash(sigs[0]))) == {"a", "b"}
    assert mh.to_lean_minhash(sigs[0]).jaccard(mh.to_lean_minhash(sigs[1])) == mh.estimate(sigs[0], sigs[1])


def test_estimate_tracks_exact_jaccard():
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(3000)]
    errs = []
    for _ in range(40):
        base = list(rng.choice(words, 300))
        other = base.copy()
        for k in rng.choice(300, int(rng.integers(0, 120)), replace=False):
            other[k] = str(rng.choice(words))
        ta, tb = " ".join(base), " ".join(other)
        sa, sb = mh.shingle_sets([ta, tb])
        exact = mh.jaccard_sets(sa, sb)
        s = mh.signatures([ta, tb])
        errs.append(mh.estimate(s[0], s[1]) - exact)
    assert abs(np.mean(errs)) < 0.02 and np.std(errs) < 0.06


# Characters around the tokeniser's edges: excluded punctuation ranges (U+0080-U+00BF,
# U+2000-U+206F, U+3000-U+303F) next to letters that share their lead bytes.
_EDGE = "aZé ß_9.,\u00a0\u00bb\u00c0\u2014\u2019\u2070\u20ac\u3001\u3042\ud800\n"


@pytest.mark.skipif(mh._speedups is None, reason="compiled kernels not built")
@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from(_EDGE) | st.characters(), max_size=60), max_size=20))
def test_compiled_tokens_equal_numpy(texts):
    b = np.frombuffer("\n".join(texts).lower().encode("utf-8", "surrogatepass"), dtype=np.uint8)
    got = mh.token_spans(b)
    want = mh.token_spans(b, compiled=False)
    for g, w in zip(got, want):
        assert np.array_equal(g, w)


@pytest.mark.skipif(mh._speedups is None, reason="compiled kernels not built")
def test_compiled_tokens_resume_when_the_output_is_full():
    b = np.frombuffer(("word " * 50 + "é—x " * 30).encode(), dtype=np.uint8)
    h, s, e = (np.empty(7, dtype=t) for t in (np.uint64, np.int64, np.int64))
    got: list[int] = []
    pos = 0
    while pos < len(b):
        n, pos = mh._speedups.tokens(b, h, s, e, pos)
        got.extend(s[:n].tolist())
    assert got == mh.token_spans(b, compiled=False)[1].tolist()


@pytest.mark.skipif(mh._speedups is None, reason="compiled kernels not built")
def test_compiled_shingles_and_keys_equal_numpy():
    tok = mh.tokenize([prose(i, 2) for i in range(20)] + ["", "a", "one two three", "x " * 5, "four more words here"])
    for k in (1, 3, 5, 8):
        for got, want in zip(mh.shingles_of(tok, k), mh.shingles_of(tok, k, compiled=False)):
            assert np.array_equal(got, want)
    for got, want in zip(mh.keys_of(tok, arrays=True), mh.keys_of(tok, arrays=True, compiled=False)):
        assert np.array_equal(got, want)
    assert mh.keys_of(tok.grouped([5, 20, 0, 0])) == mh.keys_of(tok.grouped([5, 20, 0, 0]), compiled=False)


@pytest.mark.skipif(mh._speedups is None, reason="compiled kernels not built")
def test_compiled_signatures_equal_numpy():
    texts = [prose(i, 3) for i in range(30)] + ["", "two words"]
    h, c = mh.shingle_hashes(mh.encode(texts))
    for perms in (128, 64, 3):
        assert np.array_equal(mh.signatures_from_hashes(h, c, perms, 7),
                              mh.signatures_from_hashes(h, c, perms, 7, compiled=False))
    sigs = mh.signatures_from_hashes(h, c, 64, 7)
    pairs = np.array([[0, 1], [3, 3], [31, 2], [5, 30]])
    assert np.array_equal(mh.agreement(sigs, pairs), mh.agreement(sigs, pairs, compiled=False))
    assert mh.agreement(sigs, pairs)[1] == 64
    with pytest.raises(ValueError):
        mh.agreement(sigs, np.array([[0, 32]]))
    from cleaner.dedup import band_keys, close_bucket_pairs, local_buckets

    rng = np.random.default_rng(3)
    offs = np.concatenate(([0], np.cumsum(np.bincount(rng.integers(0, 50, 2000), minlength=60))))
    vals = rng.integers(0, 300, 2000).astype(np.uint32)  # repeats inside segments, empty segments
    got, want = mh.segment_sets(vals, offs), mh.segment_sets(vals, offs, compiled=False)
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
    pairs2 = rng.integers(0, 60, (500, 2))
    assert np.array_equal(mh.jaccard_pairs(*got, pairs2), mh.jaccard_pairs(*got, pairs2, compiled=False))
    for b, r in ((16, 4), (12, 5), (21, 3), (4, 16)):
        assert np.array_equal(band_keys(sigs, b, r), band_keys(sigs, b, r, compiled=False))
    # variants of a few texts (every k-th word changed), in one-slot bands: many shared buckets
    texts = [" ".join(w if (n + 1) % k else "x" for n, w in enumerate(prose(i, 4).split()))
             for i in range(5) for k in (3, 5, 9, 40, 1000)]
    h, c = mh.shingle_hashes(mh.encode(texts))
    sigs = mh.signatures_from_hashes(h, c, 64, 7)
    buckets = local_buckets(band_keys(sigs[:, :8], 8, 1), np.arange(len(sigs)))
    rank = np.arange(len(sigs))[::-1].copy()
    sizes = []
    for min_agree, cap in ((0, 256), (20, 256), (20, 2), (50, 256)):
        got = close_bucket_pairs(buckets, rank, sigs, min_agree, cap)
        want = close_bucket_pairs(buckets, rank, sigs, min_agree, cap, compiled=False)
        assert np.array_equal(got[0], want[0]) and got[1] == want[1]
        sizes.append(len(got[0]))
    assert sizes[0] > sizes[1] > 0 and sizes[1] >= sizes[2]
    with pytest.raises(ValueError):
        mh._speedups.signatures(h, np.array([0, len(h) + 1], dtype=np.int64), *mh.permutations(4),
                                np.empty((1, 4), dtype=np.uint32))


def test_tokens_fold_case_and_punctuation():
    assert mh.reference_tokens("Hello, WORLD! “Quoted”—dash… l’été") == [b"hello", b"world", b"quoted", b"dash",
                                                                      b"l", "été".encode()]
    s = mh.signatures(["Hello world, this is it.", "hello WORLD this is it"])
    assert np.array_equal(s[0], s[1])


def test_bands_give_the_recall_asked_for():
    for t in (0.5, 0.7, 0.8, 0.9):
        b, r = choose_bands(t, 128)
        assert b * r <= 128
        assert candidate_probability(t, b, r) >= 0.995
    assert choose_bands(0.8, 128) == (21, 6)


def _sig_rows(texts):
    return mh.signatures(texts), [mh.shingle_sets([t])[0] for t in texts]


def test_exactly_one_survivor_per_cluster():
    base = [prose(i, 8) for i in range(5)]
    texts, truth = [], []
    for i, b in enumerate(base):
        for k in range(4):
            words = b.split()
            if k:
                words[5 * k] = "changed"
            texts.append(" ".join(words))
            truth.append(i)
    sigs, sets = _sig_rows(texts)
    asg = cluster(sigs, 0.8, np.arange(len(texts)), lambda a, b: mh.jaccard_sets(sets[a], sets[b]))
    for i in range(5):
        members = [k for k, t in enumerate(truth) if t == i]
        survivors = {int(asg.survivor[m]) for m in members}
        assert survivors == {members[0]}
    assert len(set(asg.survivor.tolist())) == 5


def test_batched_exact_jaccard_equals_pairwise():
    rng = np.random.default_rng(3)
    sets = [rng.integers(0, 400, rng.integers(0, 90)).astype(np.uint32) for _ in range(300)]
    values, offsets = mh.segment_sets(np.concatenate(sets), np.concatenate(([0], np.cumsum([len(x) for x in sets]))))
    for i in (0, 7, 299):
        assert np.array_equal(values[offsets[i]:offsets[i + 1]], mh.sorted_unique(sets[i]))
    pairs = rng.integers(0, 300, (2000, 2))
    want = [mh.jaccard_sets(mh.sorted_unique(sets[a]), mh.sorted_unique(sets[b])) for a, b in pairs.tolist()]
    assert mh.jaccard_pairs(values, offsets, pairs).tolist() == want
    assert mh.jaccard_pairs(values, offsets, pairs, chunk_values=500, compiled=False).tolist() == want  # many chunks


def test_cluster_gives_the_same_answer_with_batched_exact_checks():
    texts = [prose(i % 40, 6) for i in range(80)]
    texts = [t if i < 40 else t.replace("the", "a", 1 + i % 5) for i, t in enumerate(texts)]
    sigs, sets = _sig_rows(texts)
    one = cluster(sigs, 0.8, np.arange(80), lambda a, b: mh.jaccard_sets(sets[a], sets[b]))
    many = cluster(sigs, 0.8, np.arange(80), exact_many=lambda ps: np.array(
        [mh.jaccard_sets(sets[a], sets[b]) for a, b in ps.tolist()]))
    assert 10 <= (one.survivor != np.arange(80)).sum() < 40  # some copies near enough, some not
    assert one.survivor.tolist() == many.survivor.tolist()
    assert one.similarity.tolist() == many.similarity.tolist() and one.exact_checks == many.exact_checks


def test_cluster_leaves_pairs_of_one_group_and_distinct_pairs_apart():
    """groups: the corpus step does not compare paragraphs of one document (the step inside
    documents did, with their text); distinct: pairs it names are never joined."""
    texts = [prose(i, 6) for i in range(6)] * 2  # item i and i + 6 are copies
    sigs, sets = _sig_rows(texts)

    def exact(a, b):
        return mh.jaccard_sets(sets[a], sets[b])

    every = cluster(sigs, 0.8, np.arange(12), exact)
    assert every.survivor.tolist() == list(range(6)) * 2
    groups = np.array([0, 1, 2, 3, 4, 5, 0, 1, 2, 9, 9, 9])  # copies 6-8 are in their twin's group
    apart = cluster(sigs, 0.8, np.arange(12), exact, groups=groups)
    assert apart.survivor.tolist() == list(range(9)) + [3, 4, 5]
    odd = cluster(sigs, 0.8, np.arange(12), exact, distinct=lambda a, b: a % 2 == 1)
    assert odd.survivor.tolist() == list(range(6)) + [0, 7, 2, 9, 4, 11]


def test_index_costs_under_a_kilobyte_per_document():
    """Signatures (128 x uint32), band keys and shared buckets: the memory the
    clustering holds per document, against ~3 KB for datasketch's MinHashLSH."""
    texts = [prose(i, 6) for i in range(3000)]
    texts += [t.replace("the", "a", 1) for t in texts[:300]]  # some shared buckets
    sigs = mh.signatures(texts)
    assert sigs.dtype == np.uint32 and sigs.shape[1] == 128
    asg = cluster(sigs, 0.8, np.arange(len(texts)))
    assert (asg.survivor != np.arange(len(texts))).sum() >= 250
    assert 512 < asg.index_bytes / len(texts) <= 1024


def test_chain_does_not_remove_the_far_end():
    words = prose(42, 12).split()
    n = len(words)
    a = words
    b = words[: n // 2] + ["x" + w for w in words[n // 2: n // 2 + n // 12]] + words[n // 2 + n // 12:]
    c = words[: n // 2] + ["x" + w for w in words[n // 2: n // 2 + n // 6]] + words[n // 2 + n // 6:]
    texts = [" ".join(a), " ".join(b), " ".join(c)]
    sigs, sets = _sig_rows(texts)
    j = lambda x, y: mh.jaccard_sets(sets[x], sets[y])  # noqa: E731
    assert j(0, 1) >= 0.8 and j(1, 2) >= 0.8 and j(0, 2) < 0.8
    asg = cluster(sigs, 0.8, np.arange(3), j)
    assert asg.survivor.tolist() == [0, 0, 2]


def test_keep_longest_picks_the_longest_document(cli, tmp_path):
    src = tmp_path / "in"
    text = "\n".join(prose(i, 3) for i in range(6))
    longer = text + "\n" + prose(99, 1)
    recs = [{"id": "short", "text": text}, {"id": "long", "text": longer}]
    write(src, "d.jsonl", "".join(json.dumps(r) + "\n" for r in recs))
    assert cli(src, tmp_path / "first", "-q").code == 0
    assert cli(src, tmp_path / "longest", "-q", "--keep", "longest").code == 0
    first = [a["id"] for a in read_audit(tmp_path / "first.report") if a["level"] == "document"]
    longest = [a["id"] for a in read_audit(tmp_path / "longest.report") if a["level"] == "document"]
    assert first == ["long"] and longest == ["short"]


def test_threshold_option_changes_what_counts_as_near_duplicate(cli, tmp_path):
    src = tmp_path / "in"
    paras = [prose(i, 2) for i in range(10)]
    write(src, "a.txt", "\n".join(paras))
    write(src, "b.txt", "\n".join(paras[:7] + [prose(50 + i, 2) for i in range(3)]))
    assert cli(src, tmp_path / "strict", "-q").code == 0
    assert cli(src, tmp_path / "loose", "-q", "--threshold", "0.5").code == 0
    strict = [a for a in read_audit(tmp_path / "strict.report") if a["level"] == "document"]
    loose = [a for a in read_audit(tmp_path / "loose.report") if a["level"] == "document"]
    assert strict == [] and [a["id"] for a in loose] == ["b.txt"]
    assert 0.5 <= loose[0]["similarity"] < 0.8


@pytest.mark.skipif(mh._speedups is None, reason="compiled kernels not built")
def test_numpy_fallback_gives_the_same_bytes(tmp_path):
    import os
    import subprocess
    import sys

    from conftest import read_report, tree_bytes

    docs = []
    for i in range(40):
        paras = [prose(10 * i + k, 4) for k in range(5)]
        if i % 5 == 1:
            paras.append(paras[0])  # a repeat inside the document
        if i % 5 == 2:
            words = docs[0]["text"].split("\n")[2].split()
            paras[3] = " ".join(words[:5] + ["zebra"] + words[6:])  # near a paragraph of another document
        docs.append({"id": f"d{i}", "text": "\n".join(paras)})
        if i % 4 == 0:  # a near copy of the whole document: one word changed
            docs.append({"id": f"d{i}c", "text": "\n".join(paras).replace(" the ", " this ", 1)})
    write(tmp_path / "in", "a.jsonl", "".join(json.dumps(d) + "\n" for d in docs))
    runs = {}
    for name, env in (("compiled", {}), ("numpy", {"CLEANER_NUMPY_ONLY": "1"})):
        r = subprocess.run([sys.executable, "-m", "cleaner", str(tmp_path / "in"), str(tmp_path / name), "-q",
                            "--no-strip"], capture_output=True, text=True, env={**os.environ, **env})
        assert r.returncode == 0, r.stderr
        runs[name] = (tree_bytes(tmp_path / name), (tmp_path / f"{name}.report/removed.jsonl").read_bytes())
        assert read_report(tmp_path / f"{name}.report")["engine"]["minhash_kernels"] == name
    assert runs["compiled"] == runs["numpy"]
    reasons = {json.loads(line)["reason"] for line in runs["compiled"][1].splitlines()}
    assert {"near-duplicate-document", "duplicate-paragraph", "corpus-near-duplicate-paragraph"} <= reasons, reasons


@pytest.mark.skipif(mh._speedups is None, reason="compiled kernels not built")
def test_compiled_kernels_refuse_arrays_of_the_wrong_kind():
    sigs = mh.signatures([prose(i, 2) for i in range(4)], num_perm=16)
    pairs = np.array([[0, 1], [2, 3]], dtype=np.int64)
    out = np.zeros(2, dtype=np.int64)
    mh._speedups.agreement(sigs, pairs, out)
    assert out.tolist() == mh.agreement(sigs, pairs, compiled=False).tolist()
    for bad in (sigs.view(np.int32), sigs.view(np.float32)):  # same item size, another kind
        with pytest.raises(TypeError, match="sigs: unsigned integer items of 4 bytes"):
            mh._speedups.agreement(bad, pairs, out)
    with pytest.raises(TypeError, match="pairs: signed integer items of 8 bytes"):
        mh._speedups.agreement(sigs, pairs.view(np.uint64), out)
    with pytest.raises(TypeError, match="out: floating point items of 8 bytes"):
        mh._speedups.jaccard_pairs(np.zeros(3, np.uint32), np.array([0, 1, 3]), pairs[:1] % 2,
                                   np.zeros(1, np.int64))


def test_annotate_gives_each_kept_record_its_count_of_copies(cli, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    a, b = "\n".join(prose(k, 3) for k in range(3)), "\n".join(prose(k, 3) for k in range(10, 13))
    near = a.replace(prose(2, 3), prose(2, 3) + " Indeed.")  # a near-duplicate counts as a copy too
    recs = [{"id": "a", "text": a}, {"id": "b", "text": b}, {"id": "a2", "text": a}, {"id": "a3", "text": near}]
    src = tmp_path / "in"
    write(src, "x.jsonl", "\n".join(json.dumps(r) for r in recs) + "\n")
    pq.write_table(pa.Table.from_pylist([{"id": "p" + r["id"], "n": i, "text": r["text"]} for i, r in
                                         enumerate(recs)]), src / "y.parquet")
    assert cli(src, tmp_path / "out", "-q", "--annotate", "--workers", "0").code == 0
    got = [json.loads(x) for x in (tmp_path / "out/x.jsonl").read_text().splitlines()]
    # the parquet rows are copies of the JSONL records too (the first in corpus order survives)
    assert [(r["id"], r["cleaner_copies"]) for r in got] == [("a", 6), ("b", 2)]
    assert not (tmp_path / "out/y.parquet").exists()  # every row was a duplicate
    removed = {r["id"] for r in read_audit(tmp_path / "out.report") if r["level"] == "document"}
    assert removed == {"a2", "a3", "pa", "pb", "pa2", "pa3"}
    # Parquet keeps its columns and gets the count as an int64 column; without --annotate nothing changes
    (src / "x.jsonl").unlink()
    assert cli(src, tmp_path / "pq", "-q", "--annotate").code == 0
    t = pq.read_table(tmp_path / "pq/y.parquet")
    assert t.schema.names == ["id", "n", "text", "cleaner_copies"] and t.schema.field("cleaner_copies").type == pa.int64()
    assert t.column("cleaner_copies").to_pylist() == [3, 1]
    assert cli(src, tmp_path / "plain", "-q").code == 0
    assert pq.read_table(tmp_path / "plain/y.parquet").schema.names == ["id", "n", "text"]
