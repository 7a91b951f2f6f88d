"""The benchmark corpus generator (bench/gen_corpus.py): its truth is exact and it is deterministic.

Uses only data made here (a synthetic sentence pool), not the shared DragNet texts.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import pytest

from cleaner.minhash import reference_tokens

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import gen_corpus as gc  # noqa: E402

PUNCT = [",", ";", " —", ":", "…", "’s", " (x)", " «y»", "!"]


def synthetic_pool(seed: int = 7) -> gc.Pool:
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyzé"
    vocab = sorted({"".join(rng.choice(letters) for _ in range(rng.randint(2, 9))) for _ in range(3000)})
    sentences = []
    for _ in range(1500):
        words = [rng.choice(vocab) for _ in range(rng.randint(6, 30))]
        words[0] = words[0].capitalize()
        for _ in range(2):
            i = rng.randrange(len(words))
            words[i] += rng.choice(PUNCT)
        sentences.append(" ".join(words) + ".")
    by_file = [list(range(i, min(i + 60, len(sentences)))) for i in range(0, len(sentences), 60)]
    cum, total = [], 0
    for i, _ in enumerate(vocab):
        total += 1 + i % 7
        cum.append(total)
    return gc.Pool(sentences, by_file, vocab, cum)


def ref_shingles(text: str, k: int) -> set[tuple[bytes, ...]]:
    """Shingles from cleaner's own reference tokeniser (independent of the generator's regex)."""
    t = reference_tokens(text)
    if not t:
        return set()
    if len(t) < k:
        return {tuple(t)}
    return {tuple(t[i:i + k]) for i in range(len(t) - k + 1)}


def ref_jaccard(a: str, b: str, k: int) -> float:
    sa, sb = ref_shingles(a, k), ref_shingles(b, k)
    if not sa and not sb:
        return 1.0
    return len(sa & sb) / len(sa | sb)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("corpus")
    meta = gc.generate(None, out, docs=80, pairs=16, para_dups=12, seed=3, shard_docs=30,
                       check_background=True, pool=synthetic_pool(), quiet=True)
    texts = {}
    for f in sorted((out / "shards").glob("*.jsonl")):
        for line in f.read_text(encoding="utf-8").splitlines():
            r = json.loads(line)
            texts[r["id"]] = r["text"]
    truth = json.loads((out / "truth.json").read_text(encoding="utf-8"))
    return out, meta, texts, truth


@pytest.mark.parametrize("text", [
    "Hello, World! It’s 3.5 — «quoted» naïve café…", "a_b c-d e'f", "ÀÉÎ ß ǅ x\u00a0y z\u2019w", "", "  ,; ",
    "Number 42, 4th of July\u2014the end. Ünïcödé 漢字、かな。",
])
def test_tokens_match_cleaner(text):
    assert gc.tokens(text) == [t.decode("utf-8") for t in reference_tokens(text)]


def test_shape(corpus):
    out, meta, texts, truth = corpus
    assert len(texts) == meta["docs"] == 80
    assert meta["shards"] == 3 and len(list((out / "shards").glob("*.jsonl"))) == 3
    copies = sum(len(c["copies"]) for c in truth["clusters"])
    assert copies == 16
    for t in texts.values():
        assert "\n\n" not in t and "\r" not in t
        assert all(p == p.strip() and p for p in t.split("\n"))


def test_pair_jaccard_exact(corpus):
    _, _, texts, truth = corpus
    assert truth["pairs"]
    for p in truth["pairs"]:
        assert p["jaccard"] == pytest.approx(ref_jaccard(texts[p["a"]], texts[p["b"]], 5), abs=1e-6)
    js = [p["jaccard"] for p in truth["pairs"]]
    assert any(j >= 0.8 for j in js) and any(j < 0.8 for j in js)


def test_clusters_list_every_pair(corpus):
    _, _, _, truth = corpus
    pairs = {(p["a"], p["b"]) for p in truth["pairs"]}
    for c in truth["clusters"]:
        m = c["members"]
        assert len(m) >= 2
        for i in range(len(m)):
            for j in range(i + 1, len(m)):
                assert (m[i], m[j]) in pairs
        for cp in c["copies"]:
            assert cp["doc"] in m and cp["parent"] in m
            if cp["kind"] == "identical":
                assert cp["target"] == 1.0


def test_identical_and_normalised_copies(corpus):
    _, _, texts, truth = corpus
    for c in truth["clusters"]:
        for cp in c["copies"]:
            if cp["kind"] == "identical":
                assert texts[cp["doc"]] == texts[cp["parent"]]
            if cp["kind"] == "normalised":
                assert ref_jaccard(texts[cp["doc"]], texts[cp["parent"]], 5) == 1.0


def test_paragraph_truth(corpus):
    _, _, texts, truth = corpus
    assert len(truth["paragraphs"]) == 12
    kinds = {p["kind"] for p in truth["paragraphs"]}
    assert kinds == {"inner-exact", "inner-near", "corpus-exact", "corpus-near"}
    for p in truth["paragraphs"]:
        copy = texts[p["doc"]].split("\n")[p["para"]]
        src = texts[p["src_doc"]].split("\n")[p["src_para"]]
        if p["kind"].endswith("exact"):
            assert copy == src
        else:
            assert p["jaccard3"] == pytest.approx(ref_jaccard(copy, src, 3), abs=1e-6)
        if p["kind"].startswith("inner"):
            assert p["doc"] == p["src_doc"] and p["para"] > p["src_para"]
        else:
            assert p["doc"] != p["src_doc"]


def test_background_has_no_accidental_pairs(corpus):
    _, _, _, truth = corpus
    bgc = truth["background_check"]
    assert bgc["unplanted_ge_0.5"] == 0
    assert bgc["planted_pairs_ge_0.5_found_as_candidates"] == bgc["planted_pairs_ge_0.5"] > 0


def test_deterministic(tmp_path):
    pool = synthetic_pool()
    kw = dict(docs=40, pairs=8, para_dups=4, shard_docs=15, check_background=False, pool=pool, quiet=True)
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    gc.generate(None, a, seed=5, **kw)
    gc.generate(None, b, seed=5, **kw)
    gc.generate(None, c, seed=6, **kw)

    def files(d: Path) -> dict[str, bytes]:
        return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()
                and p.name != "meta.json"}

    assert files(a) == files(b)
    assert files(a) != files(c)
