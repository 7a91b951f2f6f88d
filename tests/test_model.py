"""The paragraph model: shipped weights, explainable scores, context decisions, the fixed point."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import ARTICLE, write

from cleaner import boilerplate as BP
from cleaner import reasons as R
from cleaner.boilerplate import CONTEXT_FEATURES, DOC_FEATURES, OWN_FEATURES, Classifier, Model, default_model
from cleaner.rules import RuleSet

HEAD = ["Skip to content", "Riverside Gazette", "News", "Sport", "Business", "Culture", "Opinion", "Weather"]
FOOT = ["About", "Contact", "Careers", "Privacy", "Terms", "Follow us", "Facebook", "Instagram"]


@pytest.fixture(scope="module")
def clf() -> Classifier:
    return Classifier(RuleSet.build())


def reasons(clf: Classifier, paragraphs: list[str]) -> list[str | None]:
    return [info.reason for info in clf.classify(paragraphs)]


def test_shipped_model_loads_and_round_trips():
    m = default_model()
    assert m.own.features == OWN_FEATURES and m.doc.features == DOC_FEATURES
    assert m.context.features == CONTEXT_FEATURES + OWN_FEATURES
    # text that looks extracted or clean keeps far more than a whole page's text
    assert 0.0 < m.t_clean < m.t_dump < 1.0
    again = Model.from_json(m.to_json())
    x = np.random.default_rng(0).normal(size=(5, len(OWN_FEATURES)))
    assert np.allclose(again.own.logits(x), m.own.logits(x))
    with pytest.raises(ValueError, match="make train"):
        Model.from_json({**m.to_json(), "version": 1})


def test_contributions_add_up_to_the_logit():
    st = default_model().context
    x = np.random.default_rng(1).normal(size=(7, len(st.features)))
    bias = st.base + st.value[:, 0].sum()
    assert np.allclose(st.contributions(x).sum(axis=1) + bias, st.logits(x))


def test_second_context_stage_round_trips_and_explains_the_final_score(clf):
    m = default_model()
    assert m.second is not None and m.second.features == m.context.features
    assert Model.from_json(m.to_json()).second is not None
    # a model of the version before the second stage still loads, and decides without it
    old = Model.from_json({k: v for k, v in {**m.to_json(), "version": 2}.items() if k != "second"})
    assert old.second is None
    paras = HEAD + ARTICLE + FOOT
    f, _ = clf.features_many([paras])
    blocked = np.zeros(len(paras), dtype=bool)
    _, _, final, x = clf.scores(f, blocked)
    # --explain's terms add up to the final logit: each stage's share of its trees and bias
    w = BP.SECOND_WEIGHT
    bias = (1 - w) * (m.context.base + m.context.value[:, 0].sum()) + w * (m.second.base + m.second.value[:, 0].sum())
    assert np.allclose(clf._contributions(x).sum(axis=1) + bias, final)
    # and the second stage moves the score: it is not the first context stage again
    _, _, first, _ = Classifier(RuleSet.build(), model=old).scores(f, blocked)
    assert not np.allclose(first, final)


def test_menu_head_and_link_footer_go_as_blocks(clf):
    r = reasons(clf, HEAD + ARTICLE + FOOT)
    assert r[len(HEAD):len(HEAD) + len(ARTICLE)] == [None] * len(ARTICLE)
    # the one-word lines touching the article are borderline (a section name before a
    # title is often part of the gold text); the rest of both blocks goes
    assert all(x is not None for x in r[:len(HEAD) - 1] + r[-len(FOOT) + 1:])
    assert r[0] == R.NAVIGATION and r[2] == R.LOW_CONTENT and r[-2] == R.SHARE


def test_byline_dateline_heading_and_caption_inside_an_article_stay(clf):
    paras = ["By Anna Berg, Staff Writer", "Published June 3, 2024 at 9:15 a.m."] + ARTICLE[:3] + \
        ["Photo: Anna Berg"] + ARTICLE[3:]
    assert reasons(clf, paras) == [None] * len(paras)


def test_short_list_items_between_paragraphs_follow_their_neighbours(clf):
    paras = ARTICLE[:3] + ["Key facts:", "* Cost: 40 million euros", "* Duration: two years"] + ARTICLE[3:]
    assert reasons(clf, paras) == [None] * len(paras)


def test_low_content_detail_names_the_features_that_decided(clf):
    infos = clf.classify(HEAD + ARTICLE)
    low = [i for i in infos if i.reason == R.LOW_CONTENT]
    assert low and all(i.detail.startswith("score ") for i in low)
    assert all(i.contributions and i.contributions[0][2] < 0 for i in low)


def test_settled_decision_is_a_fixed_point(clf):
    paras = HEAD + ARTICLE[:4] + ["Advertisement", "Shop now: free shipping on all orders"] + ARTICLE[4:] + \
        ["More from the Gazette", "Council delays vote on bus lanes", "Police appeal for witnesses"] + FOOT
    infos = clf.classify(paras)
    kept = [p for p, i in zip(paras, infos) if i.reason is None]
    assert kept == ARTICLE
    assert reasons(clf, kept) == [None] * len(kept)
    assert [i.reason for i in clf.classify(paras)] == [i.reason for i in infos]  # deterministic


def test_empty_and_one_line_documents(clf):
    assert clf.classify([]) == []
    assert reasons(clf, ["Privacy Policy | Terms of Use"]) == [R.LEGAL]
    assert reasons(clf, [ARTICLE[1]]) == [None]


def test_explain_shows_probabilities_and_contributions(cli, tmp_path):
    p = write(tmp_path, "a.txt", "\n".join(HEAD + ARTICLE + FOOT))
    r = cli("--explain", p)
    assert r.code == 0
    assert "p=" in r.out and "own=" in r.out
    assert "before the article" in r.out or "neighbours" in r.out
    assert "\x1b[" not in r.out
