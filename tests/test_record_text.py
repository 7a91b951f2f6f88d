"""A record's text field is its input text with the removed paragraphs cut out: kept text is
never rewritten (blank lines, single line breaks, indentation and \\r\\n stay as they were)."""

from __future__ import annotations

import json
import pickle
import random

from conftest import ARTICLE, read_audit, write

from cleaner.document import Document, split_record


def split_paragraphs(text: str) -> tuple[list[str], list[int]]:
    """What a paragraph is, said simply: a non-blank line (ending at \\r\\n, \\r or \\n), stripped,
    with its 1-based line number."""
    stripped = [line.strip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return [s for s in stripped if s], [n for n, s in enumerate(stripped, 1) if s]

LIST = "Intro line here.\n\nIngredients:\n- tomatoes\n- onion\n\nCook it all."
CODE = "Here is code:\n\ndef double(x):\n    y = x * 2\n    return y\n\nprint(double(21))"
# three paragraphs, the middle one spanning two lines
THREE = ARTICLE[1] + "\n\n" + ARTICLE[2] + "\n" + ARTICLE[4] + "\n\n" + ARTICLE[5]
AD = "Advertisement"
PITCH = "Subscribe now for unlimited digital access for just $1 a week."
# junk paragraphs between real ones; what the record must become without them (the
# advertisement stood between a single and a double line break: the double one stays)
WITH_JUNK = (ARTICLE[0] + "\n\n" + ARTICLE[1] + "\n\n" + PITCH + "\n\n" + ARTICLE[2] + "\n" + ARTICLE[4]
             + "\n" + AD + "\n\n" + ARTICLE[5] + "\n\n" + ARTICLE[6])
WITHOUT_JUNK = (ARTICLE[0] + "\n\n" + ARTICLE[1] + "\n\n" + ARTICLE[2] + "\n" + ARTICLE[4]
                + "\n\n" + ARTICLE[5] + "\n\n" + ARTICLE[6])


def record(text: str, kept: list[int] | None = None) -> str:
    paras, lines, gaps = split_record(text)
    doc = Document("d", "d.jsonl", paras, lines, record=1, gaps=gaps)
    return doc.kept_text(kept)


def _random_texts(n: int, seed: int = 7) -> list[str]:
    pieces = ["word", "two words", " ", "  ", "\t", "\n", "\n", "\n\n", "\r\n", "\r", "\u2028", "\x0b", "\u3000",
              "    indented", "x"]
    rng = random.Random(seed)
    return ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 16))) for _ in range(n)]


def test_split_record_sees_the_paragraphs_split_paragraphs_sees():
    for text in [LIST, CODE, THREE, WITH_JUNK, "  a \r\n\r\n b\rc\n", "\n\n", ""] + _random_texts(3000):
        paras, lines, gaps = split_record(text)
        assert (paras, lines) == split_paragraphs(text), repr(text)
        assert len(gaps) == len(paras) and (not gaps or gaps[0] == "")
        assert all(not g.strip() for g in gaps)  # white space only: no second copy of the text


def test_kept_text_is_the_input_when_nothing_is_removed():
    for text in [LIST, CODE, THREE, WITH_JUNK, "one\r\ntwo\r\n\r\n  three  \n"] + _random_texts(3000, seed=8):
        assert record(text) == text.strip(), repr(text)  # the text as a whole is trimmed


def test_kept_text_cuts_out_removed_paragraphs_and_their_separator():
    assert record(WITH_JUNK, [0, 1, 3, 4, 6, 7]) == WITHOUT_JUNK
    # indentation and single line breaks of what stays are the input's
    assert record(CODE, [0, 1, 3, 4]) == "Here is code:\n\ndef double(x):\n    return y\n\nprint(double(21))"
    assert record(CODE, [1, 2, 3]) == "def double(x):\n    y = x * 2\n    return y"
    assert record(LIST, [0, 2, 3, 4]) == "Intro line here.\n\n- tomatoes\n- onion\n\nCook it all."
    # the widest separator of a cut-out stretch stays: the paragraphs around it were blocks apart
    assert record("a\nAd\n\nb", [0, 2]) == "a\n\nb"
    assert record("a\n\nAd\nb", [0, 2]) == "a\n\nb"
    assert record("a\nAd1\n\n\nAd2\nb\nc", [0, 3, 4]) == "a\n\n\nb\nc"
    # line breaks as they were; trailing white space of a kept line and indentation of the next stay
    assert record("a \r\nAd\r\n\r\n  b\r\n", [0, 2]) == "a \r\n\r\n  b"
    # first or last paragraphs cut out: the text starts and ends with a kept paragraph
    assert record("Ad\n\n  a\n  b\n\nAd", [1, 2]) == "a\n  b"
    assert record(LIST, []) == ""


def test_cleaning_the_kept_text_again_gives_the_same_paragraphs():
    rng = random.Random(9)
    for text in _random_texts(2000, seed=10):
        paras = split_record(text)[0]
        kept = sorted(rng.sample(range(len(paras)), rng.randint(0, len(paras))))
        out = record(text, kept)
        assert split_paragraphs(out)[0] == [paras[i] for i in kept], repr(text)
        assert record(out) == out


def test_gaps_pickle_with_the_document_and_are_shared():
    paras, lines, gaps = split_record("\n\n".join(ARTICLE))
    doc = Document("d", "d.jsonl", paras, lines, record=1, gaps=gaps)
    assert len({id(g) for g in gaps[1:]}) == 1  # one "\n\n" object for all
    back = pickle.loads(pickle.dumps(doc))
    assert back.gaps == gaps and back.kept_text() == "\n\n".join(ARTICLE)
    # a document without gaps (an HTML page's blocks) joins its kept paragraphs by its separator
    assert Document("p", "p.html", ["a", "b", "c"], [1, 2, 3]).kept_text([0, 2]) == "a\nc"


def _jsonl(tmp_path, recs: list[dict]) -> None:
    write(tmp_path / "in", "x.jsonl", "".join(json.dumps(r) + "\n" for r in recs))


def _out(tmp_path) -> dict[str, dict]:
    lines = (tmp_path / "out/x.jsonl").read_text(encoding="utf-8").splitlines()
    return {r["id"]: r for r in map(json.loads, lines)}


def test_records_come_back_byte_identical_when_nothing_is_removed(cli, tmp_path):
    recs = [{"id": "list", "text": LIST, "n": 1}, {"id": "code", "text": CODE, "n": 2},
            {"id": "three", "text": THREE, "n": 3}]
    _jsonl(tmp_path, recs)
    assert cli(tmp_path / "in", tmp_path / "out", "-q").code == 0
    assert not [a for a in read_audit(tmp_path / "out.report")]  # nothing was removed
    assert _out(tmp_path) == {r["id"]: r for r in recs}


def test_a_record_loses_exactly_its_junk_paragraphs(cli, tmp_path):
    _jsonl(tmp_path, [{"id": "junk", "text": WITH_JUNK, "url": "https://example.org/a"}])
    assert cli(tmp_path / "in", tmp_path / "out", "-q").code == 0
    assert _out(tmp_path) == {"junk": {"id": "junk", "text": WITHOUT_JUNK, "url": "https://example.org/a"}}
    removed = [(a["record"], a["paragraph"], a["text"]) for a in read_audit(tmp_path / "out.report")]
    assert removed == [(1, 3, PITCH), (1, 6, AD)]


def test_parquet_rows_keep_their_text_too(cli, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    src = tmp_path / "in"
    src.mkdir()
    pq.write_table(pa.table({"id": ["code", "junk"], "text": [CODE, WITH_JUNK]}), src / "x.parquet")
    assert cli(src, tmp_path / "out", "-q").code == 0
    assert pq.read_table(tmp_path / "out/x.parquet").to_pydict() == {"id": ["code", "junk"],
                                                                     "text": [CODE, WITHOUT_JUNK]}
    assert cli(src, tmp_path / "shards", "-q", "--output-format", "jsonl").code == 0
    got = [json.loads(x) for x in (tmp_path / "shards/part-00000.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["text"] for r in got] == [CODE, WITHOUT_JUNK]


def test_clean_text_keeps_the_text_too():
    from cleaner import Cleaner

    r = Cleaner().clean_text(WITH_JUNK)
    assert r.text == WITHOUT_JUNK and [x.text for x in r.removed] == [PITCH, AD]
    assert Cleaner().clean_text(CODE).text == CODE
