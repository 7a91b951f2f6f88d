"""Paragraph features: the compiled kernels against their numpy twins, the literal prefilter
against the patterns it guards, and what the counts mean in scripts without spaces."""

from __future__ import annotations

import random

import numpy as np
import pytest
import regex
from conftest import ARTICLE
from hypothesis import given, settings
from hypothesis import strategies as st

from cleaner import textfeat as TF
from cleaner.prefilter import literal_matrix, required_literals
from cleaner.rules import RuleSet, default_rules

SAMPLES = ARTICLE + [
    "", "a", "* item", "- item", "1. first", "12) twelfth", "1.5 is not a list", "@handle and #tag here", "mail@x.org",
    "😀 🇺🇸 𠀀 𛀁 are astral", "a\u0301b", "\ud800 lone surrogate", "— | — | —", "e.g. The end. Next one",
    "A. B", "。。", "a.\u00a0B", "Weight: 3 kg", "这是一个中文句子。这是第二句。", "สวัสดีครับ นี่คือภาษาไทย",
    "नमस्ते। यह हिंदी है।", "Привет. Это тест!", "مرحبا. هذا اختبار؟", "line\nwith a newline", "tab\there",
]
ALPHABET = "aB1 .!?|-*@#:'’_\u00e9\u0301\u4e00\u0e01\u0e31\u3002\U0001F600\n\t>»"


def _random(n: int, seed: int) -> list[str]:
    rnd = random.Random(seed)
    return ["".join(rnd.choice(ALPHABET) for _ in range(rnd.randint(0, 14))) for _ in range(n)]


@pytest.mark.skipif(TF._kernels() is None, reason="compiled kernels not built")
def test_compiled_char_stats_equal_numpy_bit_for_bit():
    paras = SAMPLES + _random(3000, 1)
    a = TF.char_stats(paras, compiled=True)
    b = TF.char_stats(paras, compiled=False)
    assert np.array_equal(a.counts, b.counts)
    assert np.array_equal(a.script_letters, b.script_letters)


@pytest.mark.skipif(TF._kernels() is None, reason="compiled kernels not built")
@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from(list(ALPHABET)), max_size=30), max_size=20))
def test_compiled_char_stats_equal_numpy_on_generated_text(paras):
    a = TF.char_stats(paras, compiled=True)
    b = TF.char_stats(paras, compiled=False)
    assert np.array_equal(a.counts, b.counts) and np.array_equal(a.script_letters, b.script_letters)


@pytest.mark.skipif(TF._kernels() is None, reason="compiled kernels not built")
def test_compiled_literal_search_equals_python():
    paras = [p.lower() for p in SAMPLES + _random(2000, 2)]
    lits = sorted({x for r in default_rules() for x in (r.literals or ())}) + ["a", "\u4e00", "©", "ab"]
    assert np.array_equal(literal_matrix(lits, paras, compiled=True), literal_matrix(lits, paras, compiled=False))


def test_counts_mean_what_they_say():
    s = TF.char_stats(["Hello World. This is it!", "* item", "12) twelve", "Home | About", "这是一个中文句子。这是第二句。"],
                      compiled=False)
    assert s.words.tolist()[:4] == [5, 1, 2, 2]
    assert s.sentences.tolist()[0] == 1 and s.terminal.tolist()[0]
    assert s.list_item.tolist() == [False, True, True, False, False]
    assert s.separators.tolist()[3] == 1
    # Chinese: no spaces, so the length in word units comes from the characters
    assert s.words[4] == 2 and s.units[4] > 7 and TF.SCRIPTS[s.script[4]] == "han"


def test_language_from_function_words():
    from cleaner.minhash import tokenize

    docs = [["The dog is in the house and the cat is in the garden with them."],
            ["Der Hund ist in dem Haus und die Katze ist in dem Garten bei ihnen."],
            ["这是一个中文句子。"]]
    paras = [p for d in docs for p in d]
    tok = tokenize(paras)
    lang, stops, _ = TF.function_words(tok.hashes, np.repeat(np.arange(3), tok.counts), np.arange(3), 3, 0.05)
    names = TF.stoplists().names
    assert [names[i] if i >= 0 else None for i in lang] == ["English", "German", None]
    assert stops[0] >= 6 and stops[1] >= 6 and stops[2] == 0


@pytest.mark.parametrize("rule", default_rules(), ids=lambda r: r.name)
def test_prefilter_never_hides_a_match(rule):
    """Every built-in rule with literals: a text the pattern matches contains one of them.
    Texts: matches found in generated strings built from the literals and the pattern's words."""
    lits = required_literals(rule.pattern)
    if lits is None:
        pytest.skip("no prefilter: runs on every paragraph")
    words = sorted(set(regex.findall(r"[a-z]{2,}", rule.pattern)) | {"the", "a", "of", "and", "2024", "©", "|", ">"})
    rnd = random.Random(rule.name)
    for _ in range(3000):
        parts = [rnd.choice(words) for _ in range(rnd.randint(1, 8))]
        if rnd.random() < 0.5:  # a literal, whole or cut short by a character
            lit = rnd.choice(lits)
            parts.insert(rnd.randint(0, len(parts)), lit if rnd.random() < 0.5 else lit[1:] or lit)
        text = " ".join(parts)
        if rnd.random() < 0.3:
            text = rnd.choice("«*-#(") + " " + text + rnd.choice(".!?:)")
        if rule.compiled.search(text):
            assert any(x in text for x in lits), (text, lits)


def test_prefilter_reads_literals_off_patterns():
    assert required_literals(r"\b(sponsored by|presented by)\b") == ["presented by", "sponsored by"]
    assert required_literals(r"^\W*(home|menu)\W*$") == ["home", "menu"]
    assert required_literals(r"comments? (are|is) closed") in (["comment"], ["comment are closed", "comment is closed",
                                                                            "comments are closed", "comments is closed"])
    assert required_literals(r"\d+ of \d+") == [" of "]
    assert required_literals(r"[a-z]+") is None  # nothing required
    assert required_literals(r"(?i)abc") is None  # flags inside: not analysed


def test_rules_on_many_paragraphs_equal_one_at_a_time():
    rs = RuleSet.build()
    paras = SAMPLES + ["Advertisement", "Shop now: free shipping on all orders over $50.", "Privacy Policy | Terms",
                       "Leave a comment", "14 Comments", "© 2024 Example Media. All rights reserved."] + _random(500, 3)
    words = TF.char_stats(paras).words
    many, _ = rs.match_many(paras, words)
    one = [tuple(rs.match(p, int(w))[0]) for p, w in zip(paras, words)]
    assert many == one


@pytest.mark.skipif(TF._kernels() is None, reason="compiled kernels not built")
def test_compiled_tree_logits_equal_numpy_bit_for_bit():
    from cleaner.boilerplate import default_model

    m = default_model()
    for stage, rows in ((m.own, 3000), (m.doc, 3001), (m.context, 7)):  # 8 rows at a time in C
        x = np.random.default_rng(3).normal(size=(rows, len(stage.features))) * 3
        assert np.array_equal(stage.logits(x, compiled=True), stage.logits(x, compiled=False))


@pytest.mark.skipif(TF._kernels() is None, reason="compiled kernels not built")
def test_compiled_tree_contributions_equal_numpy_bit_for_bit():
    from cleaner.boilerplate import default_model

    m = default_model()
    # the kernel walks 8 rows side by side: row counts that are not a multiple of 8 too
    for stage, rows in ((m.own, 3000), (m.context, 3003), (m.context, 5)):
        x = np.random.default_rng(4).normal(size=(rows, len(stage.features))) * 3
        c = stage.contributions(x, compiled=True)
        assert np.array_equal(c, stage.contributions(x, compiled=False))
        # the terms add up to the score, from the trees' roots
        assert np.allclose(c.sum(axis=1) + stage.base + stage.value[:, 0].sum(), stage.logits(x))


@pytest.mark.skipif(TF._kernels() is None, reason="compiled kernels not built")
def test_compiled_stopword_lookup_equals_the_binary_search(monkeypatch):
    from cleaner.minhash import tokenize

    sl = TF.stoplists()
    words = "the of und der la les и в 的 是 in and zzqx banana का है que des".split() * 50
    hashes = np.concatenate([tokenize(words).hashes, sl.hashes[::7], sl.hashes[::11] + np.uint64(1)])
    compiled = TF.lookup_stopwords(hashes)
    k = TF._kernels()
    monkeypatch.setattr(TF, "_kernels", lambda: None)
    numpy_ = TF.lookup_stopwords(hashes)
    assert compiled[1].any() and not compiled[1].all()
    assert np.array_equal(compiled[0], numpy_[0]) and np.array_equal(compiled[1], numpy_[1])
    # small keys collide in the table's low bits unless mixed; absent keys probe to an empty slot
    keys = np.arange(0, 3000, 3, dtype=np.uint64)
    slots = np.full(2048, -1, dtype=np.int64)
    q = np.arange(3000, dtype=np.uint64)
    pos, hit = np.empty(3000, np.int64), np.empty(3000, np.uint8)
    k.find_sorted(keys, slots, q, pos, hit)
    assert np.array_equal(hit.astype(bool), q % 3 == 0) and np.array_equal(pos[q % 3 == 0], np.arange(1000))
    assert not pos[q % 3 != 0].any()
    with pytest.raises(ValueError, match="sorted unique"):
        k.find_sorted(keys[::-1].copy(), np.full(2048, -1, dtype=np.int64), q, pos, hit)
    with pytest.raises(ValueError, match="uint64"):
        k.find_sorted(keys.astype(np.int64), slots, q, pos, hit)


def test_a_subset_of_features_is_its_documents_joined():
    from dataclasses import fields

    from cleaner.boilerplate import Features, features_of
    from cleaner.rules import RuleSet

    docs = [ARTICLE[:3], ["Advertisement", "Subscribe now"], ARTICLE[2:6], ["Le chat est sur la table, et il dort."]]
    feats, _ = features_of(docs, RuleSet.build())
    for which in ([2, 0], [3], [1, 2, 3, 0], [0, 0]):
        got, want = feats.subset(which), Features.concat([feats.docs(d, d + 1) for d in which])
        for f in fields(Features):
            a, b = getattr(got, f.name), getattr(want, f.name)
            assert (a == b if isinstance(a, list) else np.array_equal(a, b) and a.dtype == b.dtype), f.name


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.lists(st.integers(0, 5), max_size=6), st.booleans()), max_size=12))
def test_content_index_overlap_is_the_share_of_words_in_another_core_paragraph(paras):
    # paragraphs as (document, word ids, core); documents in order, as in a batch
    paras = sorted(paras, key=lambda p: p[0])
    doc = np.array([d for d, _, _ in paras], dtype=np.int64)
    core = np.array([c for _, _, c in paras], dtype=bool)
    hashes = np.array([w for _, ws, _ in paras for w in ws], dtype=np.uint64)
    counts = np.array([len(ws) for _, ws, _ in paras], dtype=np.int64)
    index = TF.ContentIndex(hashes, counts, doc)
    for c in (core, ~core):  # one index, any choice of core paragraphs
        want = []
        for i, (d, ws, _) in enumerate(paras):
            others = {w for j, (dj, wj, _) in enumerate(paras) if j != i and dj == d and c[j] for w in wj}
            want.append(len(set(ws) & others) / max(len(set(ws)), 1))
        assert np.allclose(index.overlap(c), want)
        assert np.array_equal(index.overlap(c), TF.content_overlap(hashes, counts, doc, c))
