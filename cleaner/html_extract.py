"""Main content of an HTML page, block by block, with trafilatura's extraction as one piece of evidence.

The page is parsed once; its DOM is walked (without recursion) into text blocks,
one per line the way a text browser renders block elements (list items and table
cells on their own lines). trafilatura's ``extract()`` (defaults) runs on the same
tree; how much of each block it kept is a feature next to the block's structure
(tag, ancestors' tags and generic class/id tokens, link density, depth, position,
the container around it) and its text (length in characters and words, punctuation;
nothing specific to a language or script). Two boosted-tree stages
(cleaner/gbdt.py, fitted by bench/train_html.py) score the blocks: the first from
the block's own features, the second adds its neighbours' and its container's
first-stage scores. A block is kept when the second stage's probability reaches
the model's threshold; every removed block gets a reason code (cleaner/reasons.py)
and a short detail naming the features that weighed most against it.

Interface::

    from cleaner.html_extract import HtmlExtractor
    ex = HtmlExtractor()                 # loads cleaner/data/html_model.json once
    page = ex.clean_page(html_bytes)     # PageResult: blocks, keep, reasons, details, scores
    text = page.text                     # kept blocks in page order, one per line
    blocks = extract_blocks(html_bytes)  # the walker alone: list[Block]

Deterministic (same bytes in, same decisions out); lxml's HTML parser neither
fetches nor expands entity declarations, and the walk has no recursion, so any
nesting depth is fine.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from itertools import chain, repeat
from pathlib import Path
from typing import Any

import numpy as np

from cleaner import reasons as R
from cleaner.document import LINE_BREAK
from cleaner.gbdt import Stage, sigmoid

# --- the walk ----------------------------------------------------------------------------

# Elements whose start and end break the line (as a text-mode browser renders them).
# Unlike a plain text dump of the page, table cells are blocks of their own: layout
# tables put a menu and the article in cells of one row.
BLOCK_TAGS = frozenset(
    "address article aside blockquote body br caption center dd details dialog dir div dl dt fieldset "
    "figcaption figure footer form frame h1 h2 h3 h4 h5 h6 header hgroup hr html legend li main menu nav "
    "ol p pre section summary table tbody td tfoot th thead tr ul".split())
# Deeper trees than this are not handed to trafilatura (lxml copies trees recursively in C);
# libxml2's parser stops at 256 levels, so only trees built by other means get here.
MAX_TRAFILATURA_DEPTH = 1000
# Never shown as text.
HIDDEN_TAGS = frozenset(
    "script style template head title svg math iframe object embed canvas select option "
    "textarea input audio video map area meta link base".split())

# Structural groups: a bit each, set on an element and inherited by everything inside it.
# (a) tags
_TAG_GROUPS: dict[str, tuple[str, ...]] = {
    "nav": ("nav", "menu"),
    "header": ("header",),
    "footer": ("footer",),
    "aside": ("aside",),
    "article": ("article",),
    "main": ("main",),
    "form": ("form", "fieldset", "label"),
    # shown (its label); an unclosed <button> can hold the rest of the page
    "button": ("button",),
    "list": ("ul", "ol", "dir"),
    "li": ("li",),
    "table": ("table",),
    "cell": ("td", "th"),
    "heading": ("h1", "h2", "h3", "h4", "h5", "h6", "hgroup"),
    "p": ("p",),
    "quote": ("blockquote", "q"),
    "pre": ("pre", "code"),
    "figure": ("figure", "figcaption", "caption"),
    "section": ("section",),
    "a": ("a",),
    "dl": ("dl", "dt", "dd"),
    "details": ("details", "summary", "dialog"),
    "time": ("time", "address"),
    "em": ("em", "strong", "b", "i"),
    # shown by a text browser (no scripts); some sites serve the whole page there for crawlers
    "noscript": ("noscript",),
}
# (b) class / id / role tokens: generic words of web templates (no site's own names).
_CLASS_GROUPS: dict[str, tuple[str, ...]] = {
    "c_nav": ("nav", "navbar", "navigation", "menu", "menubar", "megamenu", "dropdown", "topbar", "toolbar",
              "navlinks", "skip", "jump", "toc"),
    "c_breadcrumb": ("breadcrumb", "breadcrumbs", "crumbs", "crumb"),
    "c_header": ("header", "masthead", "banner", "top", "branding", "logo"),
    "c_footer": ("footer", "foot", "copyright", "bottom", "colophon", "legal", "disclaimer"),
    "c_side": ("sidebar", "side", "aside", "widget", "widgets", "rail", "column", "sidebox"),
    "c_comment": ("comment", "comments", "reply", "replies", "discussion", "respond", "disqus"),
    "c_share": ("share", "sharing", "social", "follow", "sharethis", "addthis", "facebook", "twitter"),
    "c_related": ("related", "recommend", "recommended", "popular", "trending", "suggested", "more",
                  "also", "recirc", "latest", "teaser", "promo", "outbrain", "taboola"),
    "c_ad": ("ad", "ads", "advert", "advertisement", "advertising", "sponsor", "sponsored", "dfp",
             "adsense", "adslot", "gpt", "commercial"),
    "c_cookie": ("cookie", "cookies", "consent", "gdpr", "privacy", "ccpa", "onetrust"),
    "c_content": ("content", "article", "post", "entry", "main", "body", "story", "text", "prose",
                  "richtext", "blog", "page", "single", "description", "detail", "details"),
    "c_title": ("title", "headline", "heading", "subtitle", "h1"),
    "c_meta": ("meta", "byline", "author", "date", "time", "published", "dateline", "info", "posted"),
    "c_tags": ("tag", "tags", "category", "categories", "topics", "label", "labels", "keywords"),
    "c_pager": ("pagination", "pager", "paging", "next", "prev", "previous", "pages", "older", "newer"),
    "c_form": ("search", "login", "signin", "signup", "register", "newsletter", "subscribe", "subscription",
               "form", "modal", "popup", "overlay", "dialog", "lightbox"),
    "c_hidden": ("hidden", "hide", "invisible", "sronly", "sr", "visually", "offscreen", "screen"),
    "c_product": ("product", "price", "cart", "buy", "shop", "sku", "review", "reviews", "rating", "spec",
                  "specs", "specification", "specifications", "variant"),
    "c_card": ("list", "grid", "card", "cards", "item", "items", "tile", "thumb", "thumbnail", "feed",
               "listing", "excerpt", "summary", "snippet", "carousel", "slider", "slide"),
    "c_user": ("user", "profile", "avatar", "signature", "member", "username"),
}
_ROLE_GROUP = {"navigation": "nav", "menu": "nav", "menubar": "nav", "banner": "header",
               "contentinfo": "footer", "complementary": "aside", "main": "main", "article": "article",
               "search": "form", "dialog": "details", "alert": "details"}

GROUPS: tuple[str, ...] = tuple(_TAG_GROUPS) + tuple(_CLASS_GROUPS) + ("hidden",)
_BIT = {g: 1 << i for i, g in enumerate(GROUPS)}
_TAG_BITS: dict[str, int] = {}
for _g, _tags in _TAG_GROUPS.items():
    for _t in _tags:
        _TAG_BITS[_t] = _TAG_BITS.get(_t, 0) | _BIT[_g]
_WORD_BITS: dict[str, int] = {}
for _g, _words in _CLASS_GROUPS.items():
    for _w in _words:
        _WORD_BITS[_w] = _WORD_BITS.get(_w, 0) | _BIT[_g]
# Words found anywhere inside a class/id token ("mainmenu", "site-footer-widget"): five letters
# or more, and "menu"/"nav"; shorter ones ("ad", "top", "main") only as whole tokens.
_ANYWHERE = sorted((w for w in _WORD_BITS if len(w) >= 5 or w in ("menu", "nav")), key=lambda w: (-len(w), w))
_WHOLE = sorted((w for w in _WORD_BITS if w not in _ANYWHERE), key=lambda w: (-len(w), w))
_CLASS_RE = re.compile("|".join(_ANYWHERE) + "|(?<![a-z0-9])(?:" + "|".join(_WHOLE) + ")(?![a-z0-9])")
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden")

# Block's own tag (the innermost block element around its text), one feature each.
_OWN_TAGS = ("p", "div", "li", "h", "td", "dt", "pre", "blockquote", "br", "section", "other")
_OWN_CODE = {"br": 8, "p": 0, "div": 1, "li": 2, "h1": 3, "h2": 3, "h3": 3, "h4": 3, "h5": 3, "h6": 3, "td": 4,
             "th": 4, "dt": 5, "dd": 5, "pre": 6, "blockquote": 7, "section": 9, "article": 9, "main": 9}
_HEADING_LEVEL = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
CHAIN = 24  # block ancestors kept per block (nearest first) for the container features


_ATTR_CACHE: dict[str, int] = {}


def _token_bits(attr: str) -> int:
    """The class-token groups of a class or id attribute (cached: templates repeat them)."""
    bits = _ATTR_CACHE.get(attr)
    if bits is None:
        bits = 0
        for tok in attr.split():  # class names; each is cached too (frameworks share them)
            b = _ATTR_CACHE.get(tok)
            if b is None:
                b = 0
                for w in _CLASS_RE.findall(tok.lower()):
                    b |= _WORD_BITS[w]
                _ATTR_CACHE[tok] = b
            bits |= b
        if len(_ATTR_CACHE) > 200_000:
            _ATTR_CACHE.clear()
        _ATTR_CACHE[attr] = bits
    return bits


@dataclass(frozen=True, slots=True)
class Block:
    """One line of the page as a text browser shows it."""

    text: str  # its words, one space between them: what the features and trafilatura's text see
    tag: str  # the innermost block element around the text ("br" for a line after a <br>)
    depth: int  # elements open around it
    # a <pre> block of several lines (code, a poem, a table in text) as it is shown: its lines
    # and their indentation, the margin they share and trailing white space trimmed
    raw: str | None = None

    @property
    def shown(self) -> str:
        """What the output holds of the block."""
        return self.raw if self.raw is not None else self.text


def _pre_text(raw: str) -> str | None:
    """A <pre> block's text with its lines, or None for one line (its words are its text)."""
    lines = [line.rstrip() for line in LINE_BREAK.split(raw)[::2]]
    body = [line for line in lines if line]
    if len(body) < 2:
        return None
    # the indentation all its lines share (a margin of tabs on some, spaces on others: none)
    margin = len(os.path.commonprefix([line[:len(line) - len(line.lstrip())] for line in body]))
    return "\n".join(line[margin:] for line in lines).strip()


@dataclass(slots=True)
class _Walk:
    blocks: list[Block] = field(default_factory=list)
    bits: list[int] = field(default_factory=list)  # OR of the groups of the elements its text came from
    link_chars: list[int] = field(default_factory=list)
    chars: list[int] = field(default_factory=list)
    chains: list[list[int]] = field(default_factory=list)  # block-element ids, nearest first
    n_elements: int = 0
    max_depth: int = 0
    # per block element (index = its id; 0 unused): id of its tag + class signature
    signatures: list[int] = field(default_factory=lambda: [0])


def _walk(tree: Any) -> _Walk:
    from lxml import etree

    out = _Walk()
    blocks, out_bits, out_link, out_chars, chains = out.blocks, out.bits, out.link_chars, out.chars, out.chains
    cur: list[str] = []
    cur_link: list[str] = []
    cbits = 0
    after_br = False
    # per open element: its groups, and whether it is inside a link
    fbits: list[int] = [0]
    flink: list[bool] = [False]
    block_ids: list[int] = [-1]  # ids of the open block elements (-1: none)
    block_tags: list[str] = ["body"]
    pre_open = 0  # <pre> elements open: their text keeps its lines
    n_el = 0
    max_depth = 0
    hidden_bit = _BIT["hidden"]
    sig_ids: dict[str, int] = {}
    el_sig = out.signatures
    tag_bits = _TAG_BITS.get
    token_bits = _token_bits

    def flush() -> None:
        nonlocal cbits, after_br
        joined = "".join(cur)
        text = " ".join(joined.split())
        if text:
            raw = _pre_text(joined) if pre_open and "\n" in joined else None
            blocks.append(Block(text, "br" if after_br else block_tags[-1], len(fbits) - 1, raw))
            out_bits.append(cbits)
            out_link.append(len(" ".join("".join(cur_link).split())) if cur_link else 0)
            out_chars.append(len(text))
            chains.append(block_ids[:-CHAIN - 1:-1])
        cur.clear()
        cur_link.clear()
        cbits = 0
        after_br = False

    walker = etree.iterwalk(tree, events=("start", "end"))
    for event, el in walker:
        tag = el.tag
        if event == "start":
            bits = fbits[-1]
            if tag.__class__ is not str:  # comment, processing instruction: only its tail shows
                walker.skip_subtree()
                fbits.append(bits)
                flink.append(flink[-1])
                continue
            tag = tag.lower()
            if tag in HIDDEN_TAGS:
                walker.skip_subtree()
                fbits.append(bits)
                flink.append(flink[-1])
                continue
            bits |= tag_bits(tag, 0)
            cls = ""
            for k, v in el.items():
                if k == "class":
                    bits |= token_bits(v)
                    cls = v
                elif k == "id":
                    bits |= token_bits(v)
                elif k == "role":
                    g = _ROLE_GROUP.get(v)
                    if g:
                        bits |= _BIT[g]
                elif k == "hidden" or (k == "aria-hidden" and v == "true"):
                    bits |= hidden_bit
                elif k == "style" and _HIDDEN_STYLE.search(v):
                    bits |= hidden_bit
            in_link = flink[-1] or tag == "a"
            fbits.append(bits)
            flink.append(in_link)
            if len(fbits) > max_depth:
                max_depth = len(fbits)
            if tag in BLOCK_TAGS:
                if cur:
                    flush()
                after_br = False
                if tag == "pre":
                    pre_open += 1
                if tag != "br":
                    n_el += 1
                    block_ids.append(n_el)
                    block_tags.append(tag)
                    sig = tag + " " + cls
                    sid = sig_ids.get(sig)
                    if sid is None:
                        sid = sig_ids[sig] = len(sig_ids)
                    el_sig.append(sid)
            text = el.text
            if text:
                cur.append(text)
                cbits |= bits
                if in_link:
                    cur_link.append(text)
        else:
            fbits.pop()
            flink.pop()
            if tag.__class__ is str:
                tag = tag.lower()
                if tag in BLOCK_TAGS:
                    if cur:
                        flush()
                    if tag == "pre":
                        pre_open -= 1
                    if tag == "br":
                        after_br = True
                    else:
                        after_br = False
                        block_ids.pop()
                        block_tags.pop()
            text = el.tail
            if text:
                cur.append(text)
                cbits |= fbits[-1]
                if flink[-1]:
                    cur_link.append(text)
    if cur:
        flush()
    out.n_elements = n_el
    out.max_depth = max_depth - 1
    return out


_PARSER: Any = None


def parse(html: bytes | str | Any) -> Any:
    """The lxml tree of a page, or None: decoded and repaired as trafilatura's loader does, with
    the parser trafilatura uses but for two things. `huge_tree`: without it libxml2 drops, with
    no error, everything nested deeper than 255 elements, and a forum page whose posts leave
    their <div> open nests one level per post (its last posts vanished). And a fragment whose
    root has a single child (an extractor's saved output, <div><div>...</div></div>), which
    trafilatura rejects as not quite HTML, is read: its text is the page's."""
    global _PARSER
    if hasattr(html, "iter"):
        return html
    from lxml.html import HTMLParser, fromstring
    from trafilatura.utils import decode_file, repair_faulty_html

    if _PARSER is None:
        from lxml import etree
        from lxml.html import HtmlComment, HtmlElement, HtmlEntity, HtmlProcessingInstruction

        _PARSER = HTMLParser(collect_ids=False, default_doctype=False, encoding="utf-8", remove_comments=True,
                             remove_pis=True, huge_tree=True)
        # lxml.html's element classes, chosen in C: its own lookup is a Python call for every
        # element touched (the walk here and trafilatura's passes over the tree), a tenth of
        # the HTML path's time; it only adds form-handling classes (<form>, <input>, ...)
        # that nothing here uses
        _PARSER.set_element_class_lookup(etree.ElementDefaultClassLookup(
            element=HtmlElement, comment=HtmlComment, pi=HtmlProcessingInstruction, entity=HtmlEntity))
    text = decode_file(html)
    if not isinstance(text, str) or not text.strip():
        return None
    text = repair_faulty_html(text, text[:50].lower())
    try:
        tree = fromstring(text, parser=_PARSER)
    except Exception:  # an encoding declaration in a str (ValueError), lxml's own parser errors
        tree = None
    if tree is None or len(tree) < 1:
        try:
            tree = fromstring(text.encode("utf-8", "surrogatepass"), parser=_PARSER)
        except Exception:
            tree = None
    return tree


def extract_blocks(html: bytes | str | Any) -> list[Block]:
    """The page's text blocks in page order (HTML bytes/str, or a tree from parse())."""
    tree = html if hasattr(html, "iter") else parse(html)
    return _walk(tree).blocks if tree is not None else []


# --- features -----------------------------------------------------------------------------

# Sentence ends and commas of several scripts (Latin, CJK, Devanagari, Burmese, Arabic, Ethiopic, ...).
_SENT_END = frozenset(".!?;:。！？；：।॥။؟۔።…")
_COMMA = frozenset(",，、،፣")
_SEPARATORS = frozenset("|·•»«›‹>/–—_")

OWN_FEATURES: tuple[str, ...] = (
    "tf_uni", "tf_bi", "tf_line", "tf_in_span", "tf_dist_span", "tf_page_share", "tf_empty",
    "log_chars", "log_words", "chars_per_word", "end_punct", "sent_punct_rate", "comma_rate",
    "digit_share", "sep_share", "upper_share",
    "link_density", "all_link",
    *(f"tag_{t}" for t in _OWN_TAGS), "heading_level",
    *(f"in_{g}" for g in GROUPS),
    "depth", "rel_depth", "rel_pos", "rel_word_pos",
    *(f"{k}_{n}" for n in ("p1", "p2", "c50", "c300") for k in ("ctf", "clink", "cblocks", "cwords")),
    *(f"{k}_{n}" for n in ("e0", "e1", "e2") for k in ("rep_count", "rep_words", "rep_tf")),
    "log_page_words", "log_page_blocks",
    "rule_hit", "rule_nav", "rule_legal", "rule_share", "rule_pitch", "rule_other",
)
CONTEXT_FEATURES: tuple[str, ...] = (
    "s_self", "s_prev1", "s_next1", "s_prev2", "s_next2", "s_win3", "s_win10",
    "s_c50", "s_c300", "s_p1", "s_max_before", "s_max_after", "s_share_before",
)
_RULE_GROUP = {R.NAVIGATION: "rule_nav", R.LEGAL: "rule_legal", R.SHARE: "rule_share", R.SOCIAL: "rule_share",
               R.SUBSCRIPTION: "rule_pitch", R.NEWSLETTER: "rule_pitch", R.ADVERTISEMENT: "rule_pitch"}
_TF_LINE = OWN_FEATURES.index("tf_line")
RULE_MAX_WORDS = 40  # rules are looked at on blocks this short only (the rules' own default cap)


@dataclass(slots=True)
class PageFeatures:
    blocks: list[Block]
    x: np.ndarray  # (blocks, OWN_FEATURES)
    words: np.ndarray  # tokens per block
    chains: np.ndarray  # (blocks, CHAIN) block-element ids, -1 padded
    rule_reasons: list[str | None]


# Character classes counted per block, looked up by code point (BMP; others count as "other").
_CLASSES = ("other", "space", "digit", "upper", "sent", "comma", "sep")


@lru_cache(maxsize=1)
def _class_table() -> np.ndarray:
    t = np.zeros(0x10000, dtype=np.int64)
    t[32] = 1
    t[48:58] = 2
    t[65:91] = 3
    for k, chars in ((4, _SENT_END), (5, _COMMA), (6, _SEPARATORS)):
        t[[ord(c) for c in chars]] = k
    return t


def _codepoint_counts(texts: Sequence[str], lens: np.ndarray) -> dict[str, np.ndarray]:
    """Per block counts of character classes, all blocks at once (numpy over code points)."""
    n = len(texts)
    cp = np.frombuffer("".join(texts).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    cls = _class_table()[np.minimum(cp, 0xFFFF)]
    cls[cp > 0xFFFF] = 0
    k = len(_CLASSES)
    counts = np.bincount(np.repeat(np.arange(n) * k, lens) + cls, minlength=n * k).reshape(n, k).astype(float)
    return {c: counts[:, i] for i, c in enumerate(_CLASSES)}


def _tf_evidence(texts: list[str], tf_text: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Share of each block's tokens, and of the token bigrams touching it, found in trafilatura's
    output (bigrams over the page's token stream, so a one-word block is judged with its
    neighbours' words); whether the block is a whole line of the output; tokens per block.

    Tokens are split at white space: trafilatura's text is the page's own text, so the
    same runs of characters come back (any script; a run of CJK text is one token)."""
    n = len(texts)
    toks_per = [t.split() for t in texts]
    lens = np.fromiter(map(len, toks_per), dtype=np.int64, count=n)
    tf_toks = tf_text.split()
    tf_uni = set(tf_toks)
    tf_bi = set(zip(tf_toks, tf_toks[1:]))
    tf_lines = {" ".join(line.split()) for line in tf_text.splitlines()}
    line = np.fromiter(map(tf_lines.__contains__, texts), dtype=float, count=n)
    stream = list(chain.from_iterable(toks_per))
    total = len(stream)
    uni = np.zeros(n)
    bi = np.zeros(n)
    if total and tf_uni:
        owner = np.repeat(np.arange(n), lens)
        pres_u = np.fromiter(map(tf_uni.__contains__, stream), dtype=float, count=total)
        uni = np.bincount(owner, weights=pres_u, minlength=n) / np.maximum(lens, 1)
        if total > 1:
            pres_b = np.fromiter(map(tf_bi.__contains__, zip(stream, stream[1:])), dtype=float, count=total - 1)
            # bigram j joins tokens j and j+1: it touches the blocks of both (once if the same)
            a, b = owner[:-1], owner[1:]
            cross = a != b
            hit = np.bincount(a, weights=pres_b, minlength=n) + np.bincount(b[cross], weights=pres_b[cross],
                                                                            minlength=n)
            cnt = np.bincount(a, minlength=n) + np.bincount(b[cross], minlength=n)
            bi = hit / np.maximum(cnt, 1)
    return uni, bi, line, lens


def _container(chains: np.ndarray, values: dict[str, np.ndarray], n_el: int
               ) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Sums of per-block values over each block element (a block counts in all its ancestors
    of the chain); returns the sums per element and the (blocks, CHAIN) gather index (n_el for none)."""
    idx = np.where(chains >= 0, chains, n_el)
    sums = {}
    flat = idx.ravel()
    for k, v in values.items():
        w = np.repeat(v, chains.shape[1]) * (chains.ravel() >= 0)
        sums[k] = np.bincount(flat, weights=w, minlength=n_el + 1)
        sums[k][n_el] = 0.0
    return sums, idx


def page_features(walk: _Walk, tf_text: str, rules: Any | None) -> PageFeatures:
    blocks = walk.blocks
    n = len(blocks)
    names = OWN_FEATURES
    x = np.zeros((n, len(names)))
    if n == 0:
        return PageFeatures(blocks, x, np.zeros(0), np.zeros((0, CHAIN), dtype=np.int64), [])
    col = {f: i for i, f in enumerate(names)}
    texts = [b.text for b in blocks]
    uni, bi, line, words = _tf_evidence(texts, tf_text)
    wf = words.astype(float)
    clens = np.fromiter((len(t) for t in texts), dtype=np.int64, count=n)
    cc = _codepoint_counts(texts, clens)
    chars = clens - cc["space"]
    x[:, col["tf_uni"]] = uni
    x[:, col["tf_bi"]] = bi
    x[:, col["tf_line"]] = line
    kept = bi * wf
    good = np.flatnonzero(bi >= 0.5)
    if len(good):
        a, b = good[0], good[-1]
        pos = np.arange(n)
        x[:, col["tf_in_span"]] = (pos >= a) & (pos <= b)
        x[:, col["tf_dist_span"]] = np.log1p(np.maximum(a - pos, 0) + np.maximum(pos - b, 0))
    page_words = max(1.0, float(wf.sum()))
    tf_words = len(tf_text.split())
    x[:, col["tf_page_share"]] = min(tf_words / page_words, 3.0)
    x[:, col["tf_empty"]] = float(tf_words == 0)
    x[:, col["log_chars"]] = np.log1p(chars)
    x[:, col["log_words"]] = np.log1p(wf)
    x[:, col["chars_per_word"]] = np.minimum(chars / np.maximum(wf, 1), 50)
    x[:, col["end_punct"]] = np.fromiter((t[-1] in _SENT_END for t in texts), dtype=float, count=n)
    per = 100.0 / np.maximum(chars, 1)
    x[:, col["sent_punct_rate"]] = cc["sent"] * per
    x[:, col["comma_rate"]] = cc["comma"] * per
    x[:, col["digit_share"]] = cc["digit"] / np.maximum(chars, 1)
    x[:, col["sep_share"]] = cc["sep"] / np.maximum(chars, 1)
    x[:, col["upper_share"]] = cc["upper"] / np.maximum(chars, 1)
    lc = np.array(walk.link_chars, dtype=float)
    ch = np.maximum(np.array(walk.chars, dtype=float), 1)
    x[:, col["link_density"]] = np.minimum(lc / ch, 1)
    x[:, col["all_link"]] = lc >= ch * 0.98
    tags = [b.tag for b in blocks]
    code = np.fromiter(map(_OWN_CODE.get, tags, repeat(10)), dtype=np.int64, count=n)
    x[np.arange(n), col["tag_" + _OWN_TAGS[0]] + code] = 1
    x[:, col["heading_level"]] = np.fromiter(map(_HEADING_LEVEL.get, tags, repeat(0)), dtype=float, count=n)
    bits = np.array(walk.bits, dtype=np.int64)
    for g in GROUPS:
        x[:, col["in_" + g]] = (bits & _BIT[g]) != 0
    depth = np.fromiter((b.depth for b in blocks), dtype=float, count=n)
    x[:, col["depth"]] = np.minimum(depth, 200)
    x[:, col["rel_depth"]] = np.clip(depth - np.median(depth), -50, 50)
    x[:, col["rel_pos"]] = np.arange(n) / max(1, n - 1)
    x[:, col["rel_word_pos"]] = (np.cumsum(wf) - wf / 2) / page_words
    # containers: the block's element's parent and grandparent, and the smallest ancestor
    # holding at least 50 / 300 words (wrapper chains of any length give the same answer)
    chains = np.full((n, CHAIN), -1, dtype=np.int64)
    clen = np.fromiter(map(len, walk.chains), dtype=np.int64, count=n)
    starts = np.cumsum(clen) - clen
    pos_in = np.arange(int(clen.sum())) - np.repeat(starts, clen)
    chains[np.repeat(np.arange(n), clen), pos_in] = np.fromiter(chain.from_iterable(walk.chains), dtype=np.int64,
                                                                count=int(clen.sum()))
    n_el = walk.n_elements + 1
    sums, idx = _container(chains, {"w": wf, "k": kept, "l": lc, "c": ch, "n": np.ones(n)}, n_el)
    rows = np.arange(n)
    Wg = sums["w"][idx]
    for name, pick in (("p1", np.minimum(1, CHAIN - 1)), ("p2", np.minimum(2, CHAIN - 1)),
                       ("c50", None), ("c300", None)):
        if pick is None:
            need = 50 if name == "c50" else 300
            ok = Wg >= need
            j = np.where(ok.any(axis=1), ok.argmax(axis=1), (chains >= 0).sum(axis=1) - 1)
        else:
            j = np.full(n, pick)
        e = idx[rows, np.maximum(j, 0)]
        w_c = sums["w"][e] - wf
        x[:, col[f"ctf_{name}"]] = np.where(w_c > 0, (sums["k"][e] - kept) / np.maximum(w_c, 1), -1)
        c_c = sums["c"][e]
        x[:, col[f"clink_{name}"]] = np.where(c_c > 0, sums["l"][e] / np.maximum(c_c, 1), -1)
        x[:, col[f"cblocks_{name}"]] = np.log1p(sums["n"][e])
        x[:, col[f"cwords_{name}"]] = np.log1p(sums["w"][e])
    # repeated structure: elements of the page with the same tag and class as the block's own
    # element (e0), its parent (e1) and grandparent (e2) -- forum posts, product cards, menu items
    sig = np.array(walk.signatures, dtype=np.int64)
    n_sig = int(sig.max()) + 1 if len(sig) else 1
    sig_n = np.bincount(sig[1:], minlength=n_sig).astype(float)
    el_w, el_k = sums["w"][:len(sig)], sums["k"][:len(sig)]
    sig_w = np.bincount(sig[1:], weights=el_w[1:], minlength=n_sig)
    sig_k = np.bincount(sig[1:], weights=el_k[1:], minlength=n_sig)
    for lv in (0, 1, 2):
        e = chains[:, lv]
        has = e >= 0
        s_of = sig[np.where(has, e, 0)]
        x[:, col[f"rep_count_e{lv}"]] = np.where(has, np.log1p(sig_n[s_of]), 0)
        x[:, col[f"rep_words_e{lv}"]] = np.where(has, np.minimum(sig_w[s_of] / page_words, 5), 0)
        x[:, col[f"rep_tf_e{lv}"]] = np.where(has, sig_k[s_of] / np.maximum(sig_w[s_of], 1), -1)
    x[:, col["log_page_words"]] = math.log1p(page_words)
    x[:, col["log_page_blocks"]] = math.log1p(n)
    rule_reasons: list[str | None] = [None] * n
    if rules is not None:
        short = np.flatnonzero(words <= RULE_MAX_WORDS)
        found, _ = rules.match_many([texts[i] for i in short.tolist()], words[short])
        for i, hits in zip(short.tolist(), found):
            if hits:
                dec = [h for h in hits if h.decisive]
                h = dec[0] if dec else hits[0]
                x[i, col["rule_hit"]] = 1.0 + bool(dec)
                x[i, col[_RULE_GROUP.get(h.reason, "rule_other")]] = 1
                rule_reasons[i] = h.reason
    return PageFeatures(blocks, x, wf, chains, rule_reasons)


def context_features(p1: np.ndarray, pf: PageFeatures) -> np.ndarray:
    """Neighbours' and containers' first-stage scores (probabilities) for each block."""
    n = len(p1)
    out = np.zeros((n, len(CONTEXT_FEATURES)))
    if n == 0:
        return out
    col = {f: i for i, f in enumerate(CONTEXT_FEATURES)}
    w = pf.words
    out[:, col["s_self"]] = p1
    pad = np.concatenate([[-1.0, -1.0], p1, [-1.0, -1.0]])
    out[:, col["s_prev1"]] = pad[1:n + 1]
    out[:, col["s_prev2"]] = pad[0:n]
    out[:, col["s_next1"]] = pad[3:n + 3]
    out[:, col["s_next2"]] = pad[4:n + 4]
    cw = np.concatenate([[0.0], np.cumsum(w)])
    cpw = np.concatenate([[0.0], np.cumsum(w * p1)])
    for name, k in (("s_win3", 3), ("s_win10", 10)):
        lo = np.maximum(np.arange(n) - k, 0)
        hi = np.minimum(np.arange(n) + k + 1, n)
        ws = cw[hi] - cw[lo] - w
        out[:, col[name]] = np.where(ws > 0, (cpw[hi] - cpw[lo] - w * p1) / np.maximum(ws, 1e-9), -1)
    n_el = int(pf.chains.max()) + 1 if pf.chains.size else 1
    sums, idx = _container(pf.chains, {"w": w, "s": w * p1}, n_el)
    Wg = sums["w"][idx]
    rows = np.arange(n)
    for name, need in (("s_p1", 0), ("s_c50", 50), ("s_c300", 300)):
        if need == 0:
            j = np.full(n, 1)
        else:
            ok = Wg >= need
            j = np.where(ok.any(axis=1), ok.argmax(axis=1), (pf.chains >= 0).sum(axis=1) - 1)
        e = idx[rows, np.maximum(j, 0)]
        ws = sums["w"][e] - w
        out[:, col[name]] = np.where(ws > 0, (sums["s"][e] - w * p1) / np.maximum(ws, 1e-9), -1)
    out[:, col["s_max_before"]] = np.concatenate([[0.0], np.maximum.accumulate(p1)[:-1]])
    out[:, col["s_max_after"]] = np.concatenate([np.maximum.accumulate(p1[::-1])[::-1][1:], [0.0]])
    tot = max(float((w * p1).sum()), 1e-9)
    out[:, col["s_share_before"]] = cpw[:-1] / tot
    return out


# --- the model -----------------------------------------------------------------------------

@dataclass(slots=True)
class HtmlModel:
    own: Stage
    context: Stage
    threshold: float
    # options of trafilatura.extract() whose output the model learned from ({} = defaults)
    trafilatura: dict[str, bool] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    def scores(self, pf: PageFeatures) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """First-stage probabilities, the second stage's input rows, and its probabilities."""
        p1 = sigmoid(self.own.logits(pf.x)) if len(pf.x) else np.zeros(0)
        x2 = np.hstack([context_features(p1, pf), pf.x])
        p2 = sigmoid(self.context.logits(x2)) if len(x2) else np.zeros(0)
        return p1, x2, p2

    def to_json(self) -> dict[str, Any]:
        return {"trafilatura": self.trafilatura, "threshold": self.threshold, "meta": self.meta,
                "own": self.own.to_json(), "context": self.context.to_json()}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> HtmlModel:
        own, ctx = Stage.from_json(d["own"]), Stage.from_json(d["context"])
        if own.features != OWN_FEATURES or ctx.features != CONTEXT_FEATURES + OWN_FEATURES:
            raise ValueError("html model features do not match this version of cleaner.html_extract")
        return cls(own, ctx, float(d["threshold"]), dict(d.get("trafilatura", {})), dict(d.get("meta", {})))

    @classmethod
    def load(cls, path: str | Path) -> HtmlModel:
        return cls.from_json(json.loads(Path(path).read_text(encoding="utf-8")))


@lru_cache(maxsize=1)
def default_model() -> HtmlModel:
    text = resources.files("cleaner").joinpath("data/html_model.json").read_text(encoding="utf-8")
    return HtmlModel.from_json(json.loads(text))


# --- reasons ------------------------------------------------------------------------------

# Which group of the block's ancestors names the reason, in order of precedence.
_GROUP_REASON = (
    ("c_cookie", R.COOKIE), ("c_ad", R.ADVERTISEMENT), ("c_share", R.SHARE), ("c_breadcrumb", R.NAVIGATION),
    ("nav", R.NAVIGATION), ("c_nav", R.NAVIGATION), ("c_pager", R.NAVIGATION), ("footer", R.LEGAL),
    ("c_footer", R.LEGAL), ("c_related", R.TEASER), ("aside", R.TEASER), ("c_side", R.TEASER),
    ("header", R.NAVIGATION), ("c_header", R.NAVIGATION), ("c_form", R.SUBSCRIPTION),
)
_FEATURE_TEXT = {
    "tf_uni": "{:.0%} of its words in trafilatura's extraction", "tf_bi": "{:.0%} of its word pairs in trafilatura's extraction",
    "tf_line": "a line of trafilatura's extraction: {:.0f}", "tf_in_span": "inside trafilatura's extraction span: {:.0f}",
    "tf_dist_span": "blocks away from trafilatura's extraction (log {:.1f})", "link_density": "link density {:.2f}",
    "all_link": "all link text: {:.0f}", "log_words": "length (log words {:.1f})", "log_chars": "length (log chars {:.1f})",
    "end_punct": "ends a sentence: {:.0f}", "sent_punct_rate": "sentence marks per 100 chars {:.1f}",
    "rel_pos": "position in page {:.2f}", "rel_word_pos": "position in page text {:.2f}",
    "s_prev1": "previous block's score {:.2f}", "s_next1": "next block's score {:.2f}",
    "s_win3": "neighbours' score {:.2f}", "s_win10": "surrounding blocks' score {:.2f}",
    "s_c50": "container's score {:.2f}", "s_c300": "section's score {:.2f}", "s_p1": "parent's score {:.2f}",
    "s_self": "own-stage score {:.2f}", "rule_hit": "a pattern rule matches (level {:.0f}; 2 = decisive)",
}


def _describe(name: str, value: float) -> str:
    if name.startswith("in_"):
        g = name[3:]
        what = f"class/id like '{g[2:]}'" if g.startswith("c_") else f"<{g}>"
        return ("inside " if value else "not inside ") + what
    if name.startswith("tag_"):
        return f"a <{name[4:]}> block" if value else f"not a <{name[4:]}> block"
    if name.startswith("rep_"):
        _, kind, lv = name.split("_")
        who = {"e0": "its element", "e1": "its parent", "e2": "its grandparent"}[lv]
        label = {"count": "log count of elements like", "words": "page share of words in elements like",
                 "tf": "share kept by trafilatura of elements like"}[kind]
        return f"{label} {who} {value:.2f}"
    if name.startswith(("ctf_", "clink_", "cblocks_", "cwords_")):
        kind, where = name.split("_", 1)
        label = {"ctf": "share kept by trafilatura", "clink": "link density", "cblocks": "log blocks",
                 "cwords": "log words"}[kind]
        return f"{label} of its container ({where}) {value:.2f}"
    fmt = _FEATURE_TEXT.get(name)
    return fmt.format(value) if fmt else f"{name} {value:.2f}"


# --- the extractor -------------------------------------------------------------------------

@dataclass(slots=True)
class PageResult:
    blocks: list[Block]
    keep: np.ndarray  # bool per block
    reasons: list[str | None]  # reason code per removed block (None where kept)
    details: list[str | None]  # why, in words (None where kept)
    scores: np.ndarray  # keep probability per block

    @property
    def text(self) -> str:
        return "\n".join(b.shown for b, k in zip(self.blocks, self.keep) if k)


class HtmlExtractor:
    """HTML -> main content blocks (see the module docstring). Reusable; not thread-safe."""

    def __init__(self, model: HtmlModel | None = None, rules: Any | None = None, explain: bool = True) -> None:
        from cleaner.rules import RuleSet

        self.model = model or default_model()
        self.rules = rules if rules is not None else RuleSet.build()
        self.explain = explain
        self._extract: Any = None

    def trafilatura_text(self, tree: Any) -> str:
        """trafilatura ``extract()`` with its defaults on the parsed tree ('' when it finds nothing
        or fails: its evidence is then missing, the structure still decides)."""
        if self._extract is None:
            import trafilatura

            self._extract = trafilatura.extract
        try:
            return self._extract(tree, **self.model.trafilatura) or ""
        except (RecursionError, ValueError, TypeError, AttributeError):
            return ""

    def features(self, html: bytes | str | Any, tf_text: str | None = None) -> PageFeatures:
        tree = html if hasattr(html, "iter") else parse(html)
        if tree is None:
            return page_features(_Walk(), "", None)
        walk = _walk(tree)
        if tf_text is None:
            tf_text = self.trafilatura_text(tree) if walk.max_depth <= MAX_TRAFILATURA_DEPTH else ""
        return page_features(walk, tf_text, self.rules)

    def clean_page(self, html: bytes | str | Any, tf_text: str | None = None) -> PageResult:
        pf = self.features(html, tf_text)
        return self.decide(pf)

    def decide(self, pf: PageFeatures) -> PageResult:
        n = len(pf.blocks)
        if n == 0:
            return PageResult([], np.zeros(0, dtype=bool), [], [], np.zeros(0))
        p1, _, p2 = self.model.scores(pf)
        keep = p2 >= self.model.threshold
        if not keep.any():
            # The model would keep nothing of the page: it is not emptied on the model's doubt
            # alone. trafilatura's lines stay, but for those a pattern rule marks as junk. (With
            # the shipped model 17 of the 1,822 dev pages came out empty; on 12 of them
            # trafilatura's lines score above nothing, the rest stay empty: junk only.)
            keep = (pf.x[:, _TF_LINE] > 0) & np.array([r is None for r in pf.rule_reasons])
        reasons: list[str | None] = [None] * n
        details: list[str | None] = [None] * n
        gone = np.flatnonzero(~keep)
        if len(gone):
            col = {f: i for i, f in enumerate(OWN_FEATURES)}
            # the detail names the block's own features that weighed most against it (own stage),
            # and its surroundings when the context stage lowered its score further
            names = self.model.own.features
            worst = contrib = None
            if self.explain:
                contrib = self.model.own.contributions(pf.x[gone])
                worst = np.argsort(contrib, axis=1, kind="stable")[:, :3]
            group_cols = [(col["in_" + g], why) for g, why in _GROUP_REASON]
            link = pf.x[:, col["link_density"]]
            thr = self.model.threshold
            for r, i in enumerate(gone.tolist()):
                reason = pf.rule_reasons[i]
                if reason is None:
                    row = pf.x[i]
                    for c, why in group_cols:
                        if row[c]:
                            reason = why
                            break
                    else:
                        reason = R.NAVIGATION if link[i] >= 0.5 else R.LOW_CONTENT
                reasons[i] = reason
                text = f"html block score {p2[i]:.2f} < {thr:.2f}"
                if worst is not None and contrib is not None:
                    parts = [_describe(names[j], float(pf.x[i, j])) for j in worst[r] if contrib[r, j] < 0]
                    if p2[i] < p1[i] - 0.1:
                        parts.append(f"surrounding blocks' scores (own {p1[i]:.2f})")
                    if parts:
                        text += ": " + "; ".join(parts)
                details[i] = text
        return PageResult(pf.blocks, keep, reasons, details, p2)

    def __call__(self, html: bytes | str | Any) -> str:
        return self.clean_page(html).text
