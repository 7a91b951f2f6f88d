"""Each reader and writer, through the CLI on small corpora."""

from __future__ import annotations

import gzip
import json

from conftest import ARTICLE, read_audit, read_report, write

from cleaner.document import split_record

HTML = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>Harbour bridge</title></head>
<body><nav><ul><li><a href="/">Home</a></li><li><a href="/news">News</a></li><li><a href="/sport">Sport</a></li></ul></nav>
<article><h1>{title}</h1>{paras}</article>
<footer><p>Copyright 2024 Example Media. All rights reserved.</p><a href="/privacy">Privacy policy</a></footer>
</body></html>"""


def html_page() -> str:
    return HTML.format(title=ARTICLE[0], paras="".join(f"<p>{p}</p>" for p in ARTICLE[1:]))


def test_text_lines_are_paragraphs_and_come_out_unchanged(cli, tmp_path):
    src = tmp_path / "in"
    write(src, "a/b.txt", "\n".join(ARTICLE) + "\n")
    write(src, "c.md", "\n\n".join(ARTICLE) + "\n")
    assert cli(src, tmp_path / "out", "-q", "--no-dedup").code == 0
    assert (tmp_path / "out/a/b.txt").read_text(encoding="utf-8") == "\n".join(ARTICLE) + "\n"
    # blank lines between paragraphs stay: joined into consecutive lines, Markdown's paragraphs
    # would become one
    assert (tmp_path / "out/c.md").read_text(encoding="utf-8") == "\n\n".join(ARTICLE) + "\n"


def test_surrounding_white_space_is_trimmed_but_text_is_not_rewritten(cli, tmp_path):
    src = tmp_path / "in"
    lines = ["  " + ARTICLE[1] + "\t", ARTICLE[2] + "   "]
    write(src, "a.txt", "\r\n".join(lines) + "\r\n")
    assert cli(src, tmp_path / "out", "-q").code == 0
    # the text is trimmed at its start and end; between its lines it is as it was (a \r\n file
    # stays one)
    assert (tmp_path / "out/a.txt").read_bytes() == (ARTICLE[1] + "\t\r\n" + ARTICLE[2] + "\r\n").encode()


PITCH = "Subscribe now for unlimited digital access for just $1 a week."


def test_a_text_file_comes_out_with_the_removed_lines_cut_out_and_its_layout_kept(cli, tmp_path):
    src = tmp_path / "in"
    code = "    def rebuild(bridge):\n        return bridge.close() and bridge.open()"
    body = [ARTICLE[0], "", ARTICLE[1], "", PITCH, "", ARTICLE[2], "", code, "", ARTICLE[4], "", ARTICLE[5]]
    write(src, "notes.md", "\n".join(body) + "\n")
    assert cli(src, tmp_path / "out", "-q").code == 0
    out = (tmp_path / "out/notes.md").read_text(encoding="utf-8")
    gone = [(r["line"], r["text"]) for r in read_audit(tmp_path / "out.report")]
    assert gone == [(5, PITCH)]
    # the pitch's line went with one of the blank lines around it; the indented code is as it was
    expected = body[:4] + body[6:]
    assert out == "\n".join(expected) + "\n"
    # the API gives the same text
    from cleaner import Cleaner

    assert Cleaner().clean_text("\n".join(body) + "\n").text == out.rstrip("\n")


def test_split_record_line_endings_and_blank_lines():
    paras, lines, gaps = split_record("one\r\ntwo\rthree\n\n\nfour")
    assert paras == ["one", "two", "three", "four"] and lines == [1, 2, 3, 6]
    assert gaps == ["", "\r\n", "\r", "\n\n\n"]


def test_html_is_extracted_and_written_as_txt(cli, tmp_path):
    src = tmp_path / "in"
    write(src, "site/page.html", html_page())
    write(src, "site/old.htm.gz", gzip.compress(html_page().replace("harbour", "river").encode()))
    assert cli(src, tmp_path / "out", "-q", "--no-dedup").code == 0
    out = (tmp_path / "out/site/page.txt").read_text(encoding="utf-8").splitlines()
    assert ARTICLE[1] in out and ARTICLE[-1] in out
    assert not any("Privacy policy" in line or line == "Home" for line in out)
    assert (tmp_path / "out/site/old.txt").exists()


def test_page_blocks_are_a_line_per_block_without_scripts():
    from cleaner.html_extract import extract_blocks

    blocks = extract_blocks(html_page().replace("<article>", "<script>var x = 'hidden';</script><article>")
                            .encode())
    lines = [b.text for b in blocks]
    assert lines[:3] == ["Home", "News", "Sport"]
    assert ARTICLE[1] in lines and "Privacy policy" in lines
    assert not any("hidden" in line or "Harbour bridge" == line for line in lines)  # no script, no <head>


CODE_PAGE = """<html><body><nav><a href="/">Home</a> <a href="/docs">Docs</a></nav>
<article><h1>Reading a file</h1><p>{intro}</p>
<pre><code>
    with open("notes.txt") as f:
\ttext = f.read()

    print(len(text)){trailing}
</code></pre>
<p>{outro}</p><pre>one line   of  code</pre></article>
<footer><p>Copyright 2024 Example Media. All rights reserved.</p><a href="/privacy">Privacy policy</a></footer>
</body></html>"""


def test_a_pre_block_keeps_its_lines_and_their_indentation(cli, tmp_path):
    from cleaner.html_extract import extract_blocks

    page = CODE_PAGE.format(intro=ARTICLE[1], outro=ARTICLE[2], trailing="   ")
    pre = [b for b in extract_blocks(page.encode()) if b.tag == "pre"]
    # the shared margin (spaces here, a tab there: only what they share, none) and trailing white
    # space trimmed; the words seen by the features are the block's words, a space between them
    assert [b.raw for b in pre] == ['with open("notes.txt") as f:\n\ttext = f.read()\n\n    print(len(text))', None]
    assert pre[0].text == 'with open("notes.txt") as f: text = f.read() print(len(text))'
    assert pre[1].shown == "one line of code"
    write(tmp_path / "in", "p.html", page)
    assert cli(tmp_path / "in", tmp_path / "out", "-q").code == 0
    out = (tmp_path / "out/p.txt").read_text(encoding="utf-8")
    assert "\n" + pre[0].raw + "\n" + ARTICLE[2] + "\none line of code\n" in out
    # the audit's line is where the block starts in the page's text, its lines counted: the menu
    # 1, the heading 2, the intro 3, the code 4-7, the outro 8, the one-line code 9
    gone = {r["text"]: r["line"] for r in read_audit(tmp_path / "out.report")}
    assert gone["Copyright 2024 Example Media. All rights reserved."] == 10
    assert "Privacy policy" in gone


def test_jsonl_text_replaced_other_fields_pass_through(cli, tmp_path):
    src = tmp_path / "in"
    recs = [
        {"id": "doc-1", "text": "\n".join(ARTICLE + ["Share this article", "Subscribe now for just $1 a month"]),
         "url": "https://example.org/1", "meta": {"lang": "en", "score": 0.5}, "n": 3},
        {"text": "\n\n".join(ARTICLE[1:3]), "source": "web"},
    ]
    write(src, "part.jsonl", "".join(json.dumps(r) + "\n" for r in recs))
    assert cli(src, tmp_path / "out", "-q", "--no-dedup").code == 0
    got = [json.loads(x) for x in (tmp_path / "out/part.jsonl").read_text(encoding="utf-8").splitlines()]
    assert got[0]["text"] == "\n".join(ARTICLE)
    assert {k: v for k, v in got[0].items() if k != "text"} == {k: v for k, v in recs[0].items() if k != "text"}
    assert got[1] == recs[1]  # blank-line separation kept
    audit = read_audit(tmp_path / "out.report")
    assert {a["id"] for a in audit} == {"doc-1"}
    assert all(a["record"] == 1 for a in audit)


def test_jsonl_gz_round_trip_and_custom_fields(cli, tmp_path):
    src = tmp_path / "in"
    lines = [json.dumps({"body": "\n".join(ARTICLE), "key": 7}), json.dumps({"body": ARTICLE[2] + " Also new."})]
    write(src, "x.jsonl.gz", gzip.compress(("\n".join(lines) + "\n").encode()))
    r = cli(src, tmp_path / "out", "-q", "--text-field", "body", "--id-field", "key", "--no-dedup")
    assert r.code == 0, r.err
    with gzip.open(tmp_path / "out/x.jsonl.gz", "rt", encoding="utf-8") as fh:
        got = [json.loads(x) for x in fh]
    assert got[0] == {"body": "\n".join(ARTICLE), "key": 7}
    assert len(got) == 2


def test_removed_documents_are_omitted_from_jsonl_and_audited(cli, tmp_path):
    src = tmp_path / "in"
    text = "\n".join(ARTICLE)
    recs = [{"id": "a", "text": text}, {"id": "b", "text": text}, {"id": "c", "text": "Advertisement"}]
    write(src, "d.jsonl", "".join(json.dumps(r) + "\n" for r in recs))
    assert cli(src, tmp_path / "out", "-q").code == 0
    got = [json.loads(x)["id"] for x in (tmp_path / "out/d.jsonl").read_text(encoding="utf-8").splitlines()]
    assert got == ["a"]
    docs = [a for a in read_audit(tmp_path / "out.report") if a["level"] == "document"]
    assert [(a["id"], a["reason"]) for a in docs] == [("b", "duplicate-document"), ("c", "empty-document")]
    assert docs[0]["twin"]["id"] == "a" and docs[0]["similarity"] == 1.0


def test_unsupported_and_hidden_files_are_listed_as_skipped(cli, tmp_path):
    src = tmp_path / "in"
    write(src, "a.txt", "\n".join(ARTICLE))
    write(src, "image.png", b"\x89PNG\r\n\x1a\n")
    write(src, ".hidden.txt", "secret")
    assert cli(src, tmp_path / "out", "-q").code == 0
    rep = read_report(tmp_path / "out.report")
    assert {(s["file"], s["reason"]) for s in rep["skipped"]} == {
        ("image.png", "unsupported file type"), (".hidden.txt", "hidden")}
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.txt"]


def test_html_and_txt_with_the_same_stem_do_not_overwrite_each_other(cli, tmp_path):
    src = tmp_path / "in"
    write(src, "a.html", html_page())
    write(src, "a.txt", "\n".join(ARTICLE[3:]))
    assert cli(src, tmp_path / "out", "-q", "--no-dedup").code == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.html.txt", "a.txt"]


def test_gzip_output_is_deterministic(cli, tmp_path):
    src = tmp_path / "in"
    write(src, "x.jsonl.gz", gzip.compress((json.dumps({"text": "\n".join(ARTICLE)}) + "\n").encode()))
    cli(src, tmp_path / "o1", "-q")
    cli(src, tmp_path / "o2", "-q")
    assert (tmp_path / "o1/x.jsonl.gz").read_bytes() == (tmp_path / "o2/x.jsonl.gz").read_bytes()


def test_record_fields_keep_big_integers_and_nan(cli, tmp_path):
    """Other fields pass through as they were: an integer over 64 bits stays exact (orjson
    would read it as a float), a NaN stays NaN in the shards (orjson writes null)."""
    src = tmp_path / "in"
    big = 1180591620717411303424
    text = json.dumps("\n".join(ARTICLE))
    line = f'{{"id":"a","text":{text},"big":{big},"neg":-9223372036854775809,"score":NaN}}\n'
    write(src, "x.jsonl", line)
    for fmt in ("same", "jsonl"):
        out = tmp_path / fmt
        assert cli(src, out, "-q", "--output-format", fmt).code == 0
        raw = (out / ("x.jsonl" if fmt == "same" else "part-00000.jsonl")).read_text(encoding="utf-8")
        assert f'"big":{big}' in raw and '"neg":-9223372036854775809' in raw and '"score":NaN' in raw, raw[-120:]
        assert json.loads(raw)["big"] == big
