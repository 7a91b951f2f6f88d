"""The HTML block extractor (cleaner/html_extract.py) on small pages written here."""

from __future__ import annotations

import numpy as np

from cleaner import html_extract as H
from cleaner.reasons import DESCRIPTIONS

ARTICLE = [
    "The river authority said on Tuesday that the water level had risen by two metres overnight, "
    "the highest reading since records began in the valley more than a century ago.",
    "Residents of the lower town were told to move their cars to higher ground, and the school "
    "on the embankment will stay closed until the end of the week, officials said.",
    "Engineers are inspecting the old stone bridge, which carries most of the traffic between the "
    "two halves of the town, for damage to its piers after the debris of the storm struck them.",
    "The authority expects the level to fall slowly from Thursday if no more rain arrives, but "
    "warned that the ground is saturated and that even a light shower could cause new flooding.",
]


def page(article: list[str] = ARTICLE) -> str:
    paras = "".join(f"<p>{p}</p>" for p in article)
    menu = "".join(f'<li><a href="/{w.lower()}">{w}</a></li>' for w in
                   ("Home", "News", "Sport", "Weather", "Business", "Contact"))
    related = "".join(f'<li><a href="/story/{i}">Another story number {i} you may like</a></li>' for i in range(6))
    return (
        "<html><head><title>Flood</title><script>var x = 1;</script></head><body>"
        f'<header class="site-header"><nav class="main-menu"><ul>{menu}</ul></nav></header>'
        f'<main><article class="post-content"><h1>Floods reach the lower town</h1>{paras}</article></main>'
        f'<aside class="sidebar related-posts"><h3>Related</h3><ul>{related}</ul></aside>'
        '<div id="cookie-consent" class="cookie-banner">We use cookies to improve your experience. '
        '<a href="/privacy">Privacy policy</a> <a href="#">Accept</a></div>'
        '<footer class="site-footer"><p>Copyright 2024 Example Media. All rights reserved.</p></footer>'
        "</body></html>")


def test_walk_renders_blocks_as_lines() -> None:
    blocks = H.extract_blocks(page().encode())
    texts = [b.text for b in blocks]
    assert texts[:6] == ["Home", "News", "Sport", "Weather", "Business", "Contact"]
    assert "Floods reach the lower town" in texts
    assert all(p in texts for p in ARTICLE)
    assert not any("var x" in t for t in texts)
    li = [b for b in blocks if b.text == "Home"][0]
    assert li.tag == "li"


def test_article_kept_menu_related_cookie_removed() -> None:
    ex = H.HtmlExtractor()
    res = ex.clean_page(page().encode())
    kept = res.text.split("\n")
    for p in ARTICLE:
        assert p in kept
    gone = {b.text: (r, d) for b, k, r, d in zip(res.blocks, res.keep, res.reasons, res.details) if not k}
    for t in ("Home", "Sport", "Contact", "Another story number 3 you may like"):
        assert t in gone
    for text, (reason, detail) in gone.items():
        assert reason in DESCRIPTIONS, (text, reason)
        assert detail and "score" in detail
    assert gone["Home"][0] == "navigation"
    assert all(r is None and d is None for k, r, d in zip(res.keep, res.reasons, res.details) if k)


def test_without_trafilatura_evidence_structure_still_decides() -> None:
    ex = H.HtmlExtractor()
    res = ex.clean_page(page().encode(), tf_text="")
    kept = res.text.split("\n")
    assert sum(p in kept for p in ARTICLE) >= 3
    assert "Contact" not in kept


def test_deterministic() -> None:
    ex = H.HtmlExtractor()
    a = ex.clean_page(page().encode())
    b = H.HtmlExtractor().clean_page(page().encode())
    assert a.text == b.text and a.reasons == b.reasons and a.details == b.details
    assert np.array_equal(a.scores, b.scores)


def test_deeply_nested_page_does_not_crash() -> None:
    from lxml import etree
    from lxml import html as lxml_html

    n = 100_000
    markup = "<html><body>" + "<div>" * n + "<p>deep text here</p>" + "</div>" * n + "</body></html>"
    res = H.HtmlExtractor().clean_page(markup.encode())  # the parser stops at its depth limit
    assert len(res.blocks) == len(res.keep) == len(res.reasons)
    # a tree built by other means has no such limit: the walk has no recursion
    root = lxml_html.Element("html")
    el = etree.SubElement(root, "body")
    for _ in range(n):
        el = etree.SubElement(el, "div")
    p = etree.SubElement(el, "p")
    p.text = "deep text here"
    p.tail = "and its tail"
    assert [b.text for b in H.extract_blocks(root)] == ["deep text here", "and its tail"]
    res = H.HtmlExtractor().clean_page(root)
    assert len(res.blocks) == 2


def test_entities_not_expanded_and_broken_html() -> None:
    bomb = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
            '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
            "<html><body><p>&lol3;</p><p>plain text</p></body></html>")
    res = H.HtmlExtractor().clean_page(bomb.encode())
    assert sum(len(b.text) for b in res.blocks) < 1000
    for broken in (b"", b"<", b"<html><body><p>unclosed <b>bold <i>both", b"\x00\xff\xfe garbage",
                   "<p>caf\u00e9 \u4e2d\u6587\u6bb5\u843d\u3002</p>".encode()):
        r = H.HtmlExtractor().clean_page(broken)
        assert len(r.blocks) == len(r.keep)


def test_scripts_without_spaces_are_measured_in_characters() -> None:
    zh = "河水在一夜之间上涨了两米，这是山谷一百多年来的最高纪录。居民被要求把车辆移到高处，学校将关闭到周末。"
    th = "ระดับน้ำในแม่น้ำเพิ่มขึ้นสองเมตรในคืนเดียว ซึ่งเป็นระดับสูงสุดนับตั้งแต่มีการบันทึก"
    html = page([zh * 2, th * 2, zh, th]).encode()
    ex = H.HtmlExtractor()
    pf = ex.features(html)
    col = H.OWN_FEATURES.index("log_chars")
    row = [i for i, b in enumerate(pf.blocks) if b.text == zh * 2][0]
    assert pf.x[row, col] > np.log1p(90)
    kept = ex.clean_page(html).text.split("\n")
    assert zh * 2 in kept and th * 2 in kept


def test_a_fragment_with_one_root_is_read() -> None:
    """A saved fragment (an extractor's output: one <div> holding the article) is the page's
    text; trafilatura's loader alone rejects it as not quite HTML and the page read empty."""
    inner = "".join(f"<p>{p}</p>" for p in ARTICLE)
    for frag in (f'<div><div class="story">{inner}</div></div>', f"<article>{inner}</article>"):
        for data in (frag, frag.encode()):
            assert [b.text for b in H.extract_blocks(data)] == ARTICLE
            assert H.HtmlExtractor().clean_page(data).text.split("\n") == ARTICLE
    assert H.extract_blocks(b"   ") == [] and H.extract_blocks("") == []


def test_a_page_nested_deeper_than_the_parsers_default_limit_keeps_all_its_text() -> None:
    """Posts that leave their <div> open nest one level each: past 255 levels libxml2 dropped
    the rest of the page without a word (the last posts of a long thread)."""
    posts = [f"Post number {i}: the firmware update fixed the battery drain on my phone after {i} days."
             for i in range(300)]
    html = "<html><body>" + "".join(f"<div class=post><p>{p}</p>" for p in posts) + "</body></html>"
    assert [b.text for b in H.extract_blocks(html)] == posts
    res = H.HtmlExtractor().clean_page(html.encode())
    assert [b.text for b in res.blocks] == posts


def test_a_page_the_model_would_empty_keeps_what_trafilatura_found() -> None:
    """A one-paragraph page: the model, short of context, scores it low; the page is not
    emptied on that doubt alone. A page of nothing but a cookie notice still is."""
    one = ("<html><head><title>Harbour</title></head><body><p>The harbour town woke early, as the fishing "
           "boats returned with their catch before the sun rose over the cliffs.</p></body></html>")
    res = H.HtmlExtractor().clean_page(one.encode())
    assert res.text == "The harbour town woke early, as the fishing boats returned with their catch before " \
                       "the sun rose over the cliffs."
    cookie = ("<html><body><div class='cookie-banner'><p>We use cookies to improve your experience on our "
              "website. By continuing to browse you agree to our use of cookies.</p></div></body></html>")
    res = H.HtmlExtractor().clean_page(cookie.encode())
    assert not res.keep.any() and res.reasons[0] is not None
