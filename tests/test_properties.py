"""Properties that hold for any input (hypothesis): nothing rewritten, idempotent, deterministic."""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

from conftest import ARTICLE, prose, read_audit, tree_bytes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cleaner.pipeline import clean_corpus

JUNK = ["Advertisement", "Share this article", "Subscribe now for just $1 a month", "More from The Gazette",
        "Log in or register to post comments", "© 2024 Example Media. All rights reserved.", "* Home", "* News",
        "Read more", "Follow us on Twitter", "12 Comments", "pic.twitter.com/AbCdEf123 wow"]

line = st.one_of(
    st.builds(lambda s, n: prose(s, n), st.integers(0, 60), st.integers(1, 4)),
    st.sampled_from(ARTICLE),
    st.sampled_from(JUNK),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\x00"), max_size=40),
    st.just(""),
)
doc = st.lists(line, min_size=0, max_size=14)
corpus = st.lists(st.tuples(doc, st.sampled_from(["\n", "\r\n"]), st.booleans()), min_size=1, max_size=4)

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def build(root: Path, files) -> None:
    for k, (lines, eol, pad) in enumerate(files):
        text = eol.join(("  " + x + "\t") if pad else x for x in lines)
        (root / f"d{k}.txt").write_text(text, encoding="utf-8")


def is_subsequence(small: list[str], big: list[str]) -> bool:
    it = iter(big)
    return all(any(x == y for y in it) for x in small)


@SETTINGS
@given(corpus)
def test_output_lines_are_input_lines_in_order_and_cleaning_again_changes_nothing(files):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        src, out, again = root / "in", root / "out", root / "again"
        src.mkdir()
        build(src, files)
        clean_corpus(src, out, workers=0)
        for p in out.glob("*.txt"):
            # the input with lines cut out, trimmed as a whole: each line is an input line (the
            # first and last trimmed), the non-blank ones in order, and the text ends in one break
            text = p.read_bytes().decode("utf-8")
            body = text[:-2] if text.endswith("\r\n") else text[:-1]
            assert text[len(body):] in ("\n", "\r\n", "\r") and body == body.strip() != ""
            got = re.split(r"\r\n|\r|\n", body)
            raw = re.split(r"\r\n|\r|\n", (src / p.name).read_bytes().decode("utf-8"))
            assert all(any(x in (y, y.strip(), y.lstrip(), y.rstrip()) for y in raw) for x in got)
            assert is_subsequence([x.strip() for x in got if x.strip()], [y.strip() for y in raw])
        clean_corpus(out, again, workers=0)
        a, b = tree_bytes(out), tree_bytes(again)
        # Every document comes out of a second run as it went in. The one thing a second run
        # can still find (README, "Repeats"): a document that the final decisions, after a
        # corpus-wide repeat went, left with the same text as another; it goes as its twin.
        assert set(b) <= set(a) and all(b[k] == a[k] for k in b)
        docs = {x["file"]: x for x in read_audit(root / "again.report") if x["level"] == "document"}
        for name in set(a) - set(b):
            x = docs[name]
            assert x["reason"] == "duplicate-document" and a[x["twin"]["file"]] == a[name], x


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(corpus)
def test_same_bytes_with_any_number_of_workers(files):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        src = root / "in"
        src.mkdir()
        build(src, files)
        outs = []
        for w in (0, 1, 2):
            out = root / f"o{w}"
            clean_corpus(src, out, workers=w)
            outs.append((tree_bytes(out), (root / f"o{w}.report/removed.jsonl").read_bytes()))
            shutil.rmtree(root / f"o{w}.report")
        assert outs[0] == outs[1] == outs[2]


def test_a_document_that_keeps_another_documents_text_once_its_repeats_go_is_its_duplicate(tmp_path):
    """Found by the property above: the repeats inside a document go, then its headline
    (now alone) does; its keys must be those of what it keeps, or a second run finds the
    duplicate document that the first did not."""
    head = "City council approves plan to rebuild the old harbour bridge"
    src, out, again = tmp_path / "in", tmp_path / "out", tmp_path / "again"
    src.mkdir()
    build(src, [([head, head, head, "* News"], "\n", False), (["* News"], "\n", False)])
    clean_corpus(src, out, workers=0)
    clean_corpus(out, again, workers=0)
    assert tree_bytes(again) == tree_bytes(out)



def test_a_document_that_keeps_another_documents_text_once_a_corpus_repeat_goes_is_its_duplicate(tmp_path):
    """Also found by the property: a corpus-wide repeat leaves a document with the text of a
    later one, which a second run would remove as its duplicate; the first run does."""
    src, out, again = tmp_path / "in", tmp_path / "out", tmp_path / "again"
    src.mkdir()
    build(src, [([ARTICLE[1], ARTICLE[2]], "\n", False), ([ARTICLE[1], "* News"], "\n", False),
                (["* News"], "\n", False)])
    clean_corpus(src, out, workers=0)
    clean_corpus(out, again, workers=0)
    assert tree_bytes(again) == tree_bytes(out)
    assert not (out / "d2.txt").exists()
