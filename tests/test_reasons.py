"""Every reason code, on realistic examples (none taken from the seed articles)."""

from __future__ import annotations

import json

import pytest
from conftest import ARTICLE, prose, read_audit, write

from cleaner import reasons as R
from cleaner.boilerplate import Classifier
from cleaner.rules import RuleSet


@pytest.fixture(scope="module")
def clf() -> Classifier:
    return Classifier(RuleSet.build())


def decisions(clf: Classifier, paragraphs: list[str]) -> dict[str, str | None]:
    return {p: info.reason for p, info in zip(paragraphs, clf.classify(paragraphs))}


def with_junk(before: list[str], after: list[str], middle: list[str] | None = None) -> list[str]:
    body = ARTICLE[:4] + (middle or []) + ARTICLE[4:]
    return before + body + after


def assert_article_kept(d: dict[str, str | None]) -> None:
    for p in ARTICLE:
        assert d[p] is None, (p, d[p])


CASES = [
    (R.ADVERTISEMENT, [], [], ["Advertisement"]),
    (R.ADVERTISEMENT, [], [], ["This article is sponsored by Northwind Insurance."]),
    (R.ADVERTISEMENT, [], ["Shop now: free shipping on all orders over $50, limited time offer."], None),
    (R.SUBSCRIPTION, [], ["Subscribe today and get unlimited digital access for just $1 a week."], None),
    (R.SUBSCRIPTION, [], ["Independent local reporting depends on you. Please consider becoming a member: "
                          "make a one-time donation or a monthly contribution to support our journalism."], None),
    (R.COMMENT_PROMPT, [], ["Log in or register to post comments."], None),
    (R.COMMENT_PROMPT, [], ["14 Comments"], None),
    (R.TEASER, [], ["More from The Riverside Gazette"], None),
    (R.TEASER, [], ["You may also like"], None),
    (R.SOCIAL, [], [], ["Huge crowd at the harbour tonight for the vote pic.twitter.com/AbC123xyZ"]),
    (R.SOCIAL, [], [], ["— Maria Lopez (@marialopez) June 4, 2024"]),
    (R.NEWSLETTER, [], ["Sign up for our daily newsletter to get the best local stories delivered to your inbox."],
     None),
    (R.COOKIE, ["This website uses cookies to improve your experience. By continuing to browse the site you agree "
                "to our use of cookies."], [], None),
    (R.SHARE, ["Share on Facebook"], [], None),
    (R.SHARE, [], [], ["Share Tweet Email"]),
    (R.NAVIGATION, ["Skip to main content"], [], None),
    (R.NAVIGATION, ["Home > News > Local"], [], None),
    (R.LEGAL, [], ["© 2024 Riverside Media Group. All rights reserved."], None),
    (R.LEGAL, [], ["Privacy Policy | Terms of Use"], None),
]


@pytest.mark.parametrize("reason,before,after,middle", CASES)
def test_pattern_reason(clf, reason, before, after, middle):
    paras = with_junk(before, after, middle)
    d = decisions(clf, paras)
    junk = before + after + (middle or [])
    assert [d[j] for j in junk] == [reason] * len(junk)
    assert_article_kept(d)


def test_low_content_lines_around_an_article(clf):
    nav = ["* News", "* Sport", "* Weather", "* Traffic", "Opinion"]
    d = decisions(clf, ["Menu"] + nav + ARTICLE)
    assert d["Menu"] == R.NAVIGATION
    assert all(d[x] == R.LOW_CONTENT for x in nav[:-1])
    assert_article_kept(d)


def test_block_after_a_marker_goes_with_it(clf):
    tail = ["Related stories", "Council delays vote on bus lanes",
            "A plan to add bus lanes on the ring road was put off until next year after objections from shop owners "
            "who fear the loss of parking spaces in front of their stores.",
            "Police appeal for witnesses after break-in"]
    d = decisions(clf, ARTICLE + tail)
    assert d[tail[0]] == R.TEASER
    assert all(d[t] in (R.TAIL_BLOCK, R.LOW_CONTENT) for t in tail[1:])
    assert_article_kept(d)


def test_headings_and_short_lines_inside_an_article_stay(clf):
    paras = [ARTICLE[0], ARTICLE[1], "What Happens Next", ARTICLE[2], "“We are ready,” she said.",
             ARTICLE[4], "Q&A", ARTICLE[5], "A Long Wait", ARTICLE[6]]
    d = decisions(clf, paras)
    assert all(v is None for v in d.values()), d


def test_long_article_paragraph_mentioning_subscriptions_stays(clf):
    p = ("Streaming services have lost subscribers this year, and analysts say the companies will have to decide "
         "whether to raise prices or show more advertising to make up for the shortfall in their revenue.")
    d = decisions(clf, ARTICLE[:3] + [p] + ARTICLE[3:])
    assert d[p] is None
    assert_article_kept(d)


def test_template_paragraphs_repeated_across_the_corpus(cli, tmp_path):
    src = tmp_path / "in"
    footer = "Riverside Gazette is published by the Riverside Media Cooperative in the town of Riverside."
    for i in range(6):
        body = [f"Story number {i}: " + ARTICLE[1], ARTICLE[2].replace("evening", f"evening number {i}"),
                f"Paragraph {i} about something else entirely, written so that each document differs from the "
                f"others in at least a few of its sentences, number {i * 7}.", footer]
        write(src, f"d{i}.txt", "\n".join(body))
    assert cli(src, tmp_path / "out", "-q", "--template-min-docs", "5").code == 0
    audit = read_audit(tmp_path / "out.report")
    tmpl = [a for a in audit if a["reason"] == R.TEMPLATE]
    assert sorted(a["file"] for a in tmpl) == [f"d{i}.txt" for i in range(6)]
    assert all(a["text"] == footer for a in tmpl)


def test_short_template_lines_go_as_a_recurring_block_not_one_by_one(cli, tmp_path):
    """Short lines that recur in one order across the site (a byline box): template. Short
    lines that recur in many documents in other orders (labels, lines of code) are content."""
    src = tmp_path / "in"
    box = ["By the Riverside desk", "Print edition, page 4"]
    labels = ["Serves 4 people", "Prep time: 10 minutes", "Cook time: 25 minutes", "Difficulty: easy"]
    for i in range(6):
        rot = labels[i % 4:] + labels[:i % 4]  # the same short lines, in a new order each time
        body = [prose(10 * i, 4), *box, prose(10 * i + 1, 4), rot[0], rot[1], prose(10 * i + 2, 4),
                rot[2], rot[3], prose(10 * i + 3, 4)]
        write(src, f"d{i}.txt", "\n".join(body))
    assert cli(src, tmp_path / "out", "-q", "--template-min-docs", "5").code == 0
    audit = read_audit(tmp_path / "out.report")
    tmpl = [a for a in audit if a["reason"] == R.TEMPLATE]
    assert sorted({a["text"] for a in tmpl}) == sorted(box), audit
    assert len(tmpl) == 6 * len(box)
    assert not [a for a in audit if a["text"] in labels], audit


def test_lines_without_words_are_no_template(cli, tmp_path):
    """Code shown a token a line ("(", ")", "=") recurs in every document with code: its
    lines have no words, so no key of their own, and are no template."""
    src = tmp_path / "in"
    for i in range(6):
        code = [f"value_{i}", "=", f"compute_{i}", "(", ")", ";"]
        write(src, f"d{i}.txt", "\n".join([prose(10 * i, 4), *code, prose(10 * i + 1, 4)]))
    assert cli(src, tmp_path / "out", "-q", "--template-min-docs", "5").code == 0
    audit = read_audit(tmp_path / "out.report")
    assert not [a for a in audit if a["reason"] == R.TEMPLATE], audit


def test_duplicate_and_near_duplicate_paragraphs_inside_a_document(cli, tmp_path):
    src = tmp_path / "in"
    near = ARTICLE[5].replace("relieved", "very relieved")
    write(src, "a.txt", "\n".join(ARTICLE + [ARTICLE[2].upper(), near]))
    assert cli(src, tmp_path / "out", "-q").code == 0
    by_line = {a["line"]: a for a in read_audit(tmp_path / "out.report")}
    assert by_line[8]["reason"] == R.DUP_PARA and by_line[8]["twin"]["line"] == 3
    assert by_line[9]["reason"] == R.NEAR_DUP_PARA and by_line[9]["twin"]["line"] == 6
    assert 0.8 <= by_line[9]["similarity"] < 1.0


def test_paragraphs_repeated_from_an_earlier_document(cli, tmp_path):
    src = tmp_path / "in"
    other = ["Harbour ferry timetable changes next month", "The ferry company will add two early sailings on "
             "weekdays and drop the last one on Sundays, a spokesman for the operator said on Monday afternoon.",
             ARTICLE[5], ARTICLE[6].replace("publish", "soon publish")]
    write(src, "a.txt", "\n".join(ARTICLE))
    write(src, "b.txt", "\n".join(other))
    assert cli(src, tmp_path / "out", "-q").code == 0
    audit = {(a["file"], a["line"]): a for a in read_audit(tmp_path / "out.report")}
    assert audit[("b.txt", 3)]["reason"] == R.CORPUS_DUP_PARA
    assert audit[("b.txt", 3)]["twin"] == {"id": "a.txt", "file": "a.txt", "line": 6}
    assert audit[("b.txt", 4)]["reason"] == R.CORPUS_NEAR_DUP_PARA
    assert ("a.txt", 6) not in audit
    assert (tmp_path / "out/b.txt").read_text(encoding="utf-8").splitlines() == other[:2]


def test_duplicate_near_duplicate_and_empty_documents(cli, tmp_path):
    src = tmp_path / "in"
    text = "\n".join(ARTICLE)
    near = "\n".join(ARTICLE[:-1] + [ARTICLE[-1].replace("each of the", "all")])
    recs = [{"id": "a", "text": text}, {"id": "b", "text": text.replace("\n", "  \r\n")}, {"id": "c", "text": near},
            {"id": "d", "text": "Advertisement\nShare on Facebook"}]
    write(src, "x.jsonl", "".join(json.dumps(r) + "\n" for r in recs))
    assert cli(src, tmp_path / "out", "-q").code == 0
    docs = {a["id"]: a for a in read_audit(tmp_path / "out.report") if a["level"] == "document"}
    assert docs["b"]["reason"] == R.DUP_DOC and docs["b"]["twin"]["id"] == "a"
    assert docs["c"]["reason"] == R.NEAR_DUP_DOC and 0.8 <= docs["c"]["similarity"] < 1.0
    assert docs["d"]["reason"] == R.EMPTY_DOC
    assert set(docs) == {"b", "c", "d"}


def test_every_reason_code_is_described():
    codes = {v for k, v in vars(R).items() if k.isupper() and isinstance(v, str)}
    assert codes <= set(R.DESCRIPTIONS)


def test_comment_prompt_goes_but_the_reader_comments_after_it_stay(clf):
    comments = ["12 Comments",
                "I have lived next to that bridge for thirty years and I am glad the council finally decided to fix "
                "it before it falls down into the harbour.",
                "Forty million euros is a lot of money for a town of this size, and I hope the council keeps an eye "
                "on the budget while the work goes on."]
    d = decisions(clf, ARTICLE + comments)
    assert d[comments[0]] == R.COMMENT_PROMPT
    assert d[comments[1]] is None and d[comments[2]] is None
    assert_article_kept(d)


def test_a_related_box_inside_the_article_does_not_cut_the_rest(clf):
    box = ["Related:", "Council delays vote on bus lanes"]
    paras = ARTICLE[:3] + box + ARTICLE[3:]
    d = decisions(clf, paras)
    assert d["Related:"] == R.TEASER
    assert_article_kept(d)


def test_bare_links_are_no_evidence_one_or_many(clf):
    # A bare link is no evidence by itself (a source, a reference, a URL in documentation),
    # nor are three in a row: on both dev sets a rule for such runs took as many words of
    # the gold content (reference lists, URLs in code) as of junk, and no F1.
    links = ["https://example.org/harbour-bridge-plan", "www.example.org/news/bridge-report.pdf",
             "https://example.org/ferry-timetable"]
    d = decisions(clf, ARTICLE + ["Sources"] + links)
    assert all(d[x] is None for x in ["Sources"] + links), d
    assert_article_kept(d)
    source = "Source: www.example.org/news/bridge-report.pdf"
    d = decisions(clf, ARTICLE + [source])
    assert d[source] is None
    assert_article_kept(d)


def test_a_comments_action_lines_go_and_the_comments_between_them_stay(clf):
    thread = ["3 Comments",
              "Anna says:", "Great news for the harbour, thanks for the report.", "Reply",
              "Tom says:", "About time they fixed it.", "[Reply]",
              "Lea says:", "I walk over that bridge every single day and it shakes.", "Reply Quote Like"]
    d = decisions(clf, ARTICLE + thread)
    assert [d[x] for x in ("Reply", "[Reply]", "Reply Quote Like")] == [R.COMMENT_PROMPT] * 3
    for comment in (thread[2], thread[5], thread[8]):
        assert d[comment] is None, (comment, d[comment])
    assert_article_kept(d)
    # a heading that starts with the word is no action line
    heading = "Reply to the council's critics"
    d = decisions(clf, ARTICLE[:2] + [heading] + ARTICLE[2:])
    assert d[heading] is None


def test_a_late_rule_is_parsed_and_checked():
    from cleaner.rules import RuleError, load_rules_text

    [r] = load_rules_text('[[rule]]\nname = "x"\nreason = "navigation"\npattern = "^back$"\nlate = true\n', "t.toml")
    assert r.late
    with pytest.raises(RuleError, match="late must be true or false"):
        load_rules_text('[[rule]]\nname = "x"\nreason = "navigation"\npattern = "^back$"\nlate = "yes"\n', "t.toml")


def test_a_long_copyright_line_inside_the_text_opens_no_block(clf):
    """A footer's copyright notice is short and cuts what follows it; a credit of more than
    block_max_words (a painting's caption, a man page's COPYRIGHT section) goes alone."""
    after = ["Other exhibitions this summer",
             "A second exhibition in Hastings shows new work by three painters who moved to the coast, with "
             "landscapes of the cliffs and the fishing boats drawn up on the shingle."]
    credit = ("Ivon Hitchens, Day's Rest, Day's Work, 1960. Wax and oil on four panels, 365.6 x 731.5 cm. "
              "University of Sussex. All rights reserved, DACS 2024.")
    footer = "© 2024 Harbour News. All rights reserved."
    d = decisions(clf, ARTICLE + [credit] + after)
    assert d[credit] == R.LEGAL and d[after[1]] is None, d
    assert_article_kept(d)
    d = decisions(clf, ARTICLE + [footer] + after)
    assert d[footer] == R.LEGAL and d[after[1]] == R.TAIL_BLOCK, d
    assert_article_kept(d)


def test_block_max_words_is_parsed_and_checked():
    from cleaner.rules import RuleError, load_rules_text

    head = '[[rule]]\nname = "x"\nreason = "legal-footer"\npattern = "rights reserved"\n'
    [r] = load_rules_text(head + "block = true\nblock_max_words = 5\n", "t.toml")
    assert r.hit(5).block and not r.hit(6).block and r.hit(6).decisive
    with pytest.raises(RuleError, match="block_max_words must be a whole number"):
        load_rules_text(head + "block = true\nblock_max_words = 0\n", "t.toml")
    with pytest.raises(RuleError, match="block_max_words goes with block = true"):
        load_rules_text(head + "block_max_words = 5\n", "t.toml")


def test_a_footer_link_line_goes_and_a_sentence_naming_one_stays(clf):
    """Footer links are lines of link labels ("Privacy Policy | Terms of Use", "Contact
    Us"); a heading or a sentence that names one ("... offer terms and conditions",
    "Contact us at ... to get started!") is text unless the model finds otherwise."""
    for footer in ("Privacy Policy | Terms of Use | Contact Us", "Contact Us", "Sitemap"):
        d = decisions(clf, ARTICLE + [footer])
        assert d[footer] == R.LEGAL, (footer, d[footer])
    for line in ("Contact us at harbour@example.org to get started!", "Harbour ferry offer terms and conditions",
                 "What people are saying about us"):
        d = decisions(clf, ARTICLE[:4] + [line] + ARTICLE[4:])
        assert d[line] is None, (line, d[line])
        assert_article_kept(d)
    # a long comment that names two of them is no footer (one rule's mention, not two rules' hits)
    comment = ("Yes, I agree. With mobile being a big part of traffic for brands you need to be sure that your "
               "mobile site is compliant with the browsers and with the search engines' terms and conditions, "
               "with a mobile sitemap and so on.")
    assert decisions(clf, ARTICLE + [comment])[comment] is None
