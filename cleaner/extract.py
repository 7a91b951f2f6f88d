"""Main-text extraction from HTML with trafilatura (imported on first use), and the page's whole text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ExtractSettings:
    """trafilatura options; defaults chosen on the dragnet dev set (see bench/quality.py).

    trafilatura 2.3.1 alone on the 346 dev pages (4-gram shingle P / R / F1), deduplicate off:

        defaults (comments on, tables on)           0.900 / 0.893 / 0.896
        comments off (our old default)              0.912 / 0.779 / 0.840   the gold keeps reader comments
        comments off, favor_recall                  0.924 / 0.785 / 0.849
        favor_recall                                0.908 / 0.899 / 0.903   <- chosen (and the fastest: 8.6 s)
        favor_precision                             0.921 / 0.873 / 0.897
        tables off                                  0.902 / 0.891 / 0.896
        deduplicate on                              0.898 / 0.887 / 0.892

    Recall is what the classifier after it cannot win back, so the setting with
    the best recall and F1 goes first; the classifier then raises precision.
    """

    favor_precision: bool = False
    favor_recall: bool = True
    include_comments: bool = True
    include_tables: bool = True
    fast: bool = False


# Elements whose start and end break the line, as a text-mode browser renders them;
# table cells stay on their row's line.
_BLOCK = frozenset(
    "address article aside blockquote body br caption dd details dialog div dl dt fieldset figcaption figure "
    "footer form h1 h2 h3 h4 h5 h6 header hr legend li main nav ol p pre section summary table tbody tfoot "
    "thead tr ul".split())
# Never shown as text.
_HIDDEN = frozenset(
    "script style noscript template head svg math iframe object embed canvas select option textarea "
    "button input".split())


def page_text(tree: Any) -> str:
    """The page's whole visible text, one block per line, list items marked "* "
    (the way a naive scraper saves a page: navigation, teasers and all).

    Walks the tree without recursion, so any nesting depth is fine."""
    from lxml import etree

    lines: list[str] = []
    cur: list[str] = []

    def flush() -> None:
        line = " ".join("".join(cur).split())
        if line and line != "*":
            lines.append(line)
        cur.clear()

    walker = etree.iterwalk(tree, events=("start", "end"))
    for event, el in walker:
        tag = el.tag.lower() if isinstance(el.tag, str) else ""
        if event == "start":
            if tag in _HIDDEN or not tag:
                walker.skip_subtree()
                continue
            if tag in _BLOCK:
                flush()
                if tag == "li":
                    cur.append("* ")
            cur.append(el.text or "")
        else:
            if tag in _BLOCK:
                flush()
            cur.append(el.tail or "")
    flush()
    return "\n".join(lines)


class Extractor:
    """Callable: HTML bytes -> extracted text ('' when nothing is found)."""

    def __init__(self, settings: ExtractSettings | None = None) -> None:
        self.settings = settings or ExtractSettings()
        self._extract: Any = None

    def __call__(self, html: bytes) -> str:
        if self._extract is None:
            import trafilatura

            self._extract = trafilatura.extract
        s = self.settings
        text = self._extract(
            html,
            output_format="txt",
            favor_precision=s.favor_precision,
            favor_recall=s.favor_recall,
            include_comments=s.include_comments,
            include_tables=s.include_tables,
            fast=s.fast,
            deduplicate=False,
            with_metadata=False,
        )
        return text or ""

    @staticmethod
    def whole_text(html: bytes) -> str:
        """The page's whole visible text (see page_text), parsed the way trafilatura parses it."""
        from trafilatura.utils import load_html

        tree = load_html(html)
        return page_text(tree) if tree is not None else ""
