"""File names that are not UTF-8, record ids and texts with lone surrogates or NUL: the run never
dies on them, the report, the audit and stderr are strict UTF-8 (JSON any parser reads), and
the output keeps the input's bytes as file names."""

from __future__ import annotations

import json
import os
from pathlib import Path

import orjson
import pytest
from conftest import ARTICLE, prose, read_report

TEXT = "\n".join(ARTICLE) + "\n"


def put(root: Path, rel: bytes, content: bytes) -> None:
    p = os.path.join(os.fsencode(root), rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "wb") as fh:
        fh.write(content)


def strict_utf8_json(data: bytes) -> object:
    """orjson refuses what Python's json lets through (escaped lone surrogates)."""
    return orjson.loads(data.decode("utf-8"))


def hostile_corpus(src: Path) -> None:
    put(src, b"d\xff/n\xfe.txt", TEXT.encode())
    put(src, b"d\xff/dup\xfd.txt", TEXT.encode())  # a duplicate: the audit names both files
    put(src, b"bad\xfc.txt", b"caf\xe9\n")  # not UTF-8: an error line naming the file
    odd = json.dumps(prose(1, 3) + "\n" + prose(3, 2) + " half SURROGATE surrogate " + prose(4, 2))
    odd = odd.replace("SURROGATE", "\\ud800")  # a JSON escape of a lone surrogate, as some scrapers write
    nul = json.dumps(prose(2, 3) + "\n" + prose(5, 2) + " with a NUL \u0000 inside " + prose(6, 2))
    recs = [
        '{"id": "lone\\ud800id", "text": ' + odd + "}",
        '{"id": "nul\\u0000id", "text": ' + nul + "}",
        '{"id": "again\\udcffid", "text": ' + odd + "}",
        '{"id": "empty\\udfff", "text": ""}',  # an error whose message carries nothing odd, next to an odd id
    ]
    put(src, b"r\xfb.jsonl", ("\n".join(recs) + "\n").encode())


@pytest.mark.parametrize("fmt", ["same", "txt", "jsonl", "parquet"])
def test_odd_names_ids_and_texts_through_every_writer(cli, tmp_path, fmt):
    src, out, rep = tmp_path / "in", tmp_path / "out", tmp_path / "out.report"
    hostile_corpus(src)
    # capsys captures stderr as strict UTF-8: a lone surrogate reaching stderr fails the run here
    r = cli(src, out, "--output-format", fmt, "--workers", "0" if fmt != "same" else "2")
    assert r.code == 1, r.err
    assert "Traceback" not in r.err
    assert "bad\\xfc.txt:1: not valid UTF-8" in r.err
    quiet = cli(src, tmp_path / "q", "-q", "--output-format", fmt, "--workers", "0")
    assert quiet.code == 1 and quiet.err.startswith("clean: bad\\xfc.txt:1: not valid UTF-8"), quiet.err

    for p in rep.rglob("*"):
        if p.is_file():
            p.read_bytes().decode("utf-8")
    report = strict_utf8_json((rep / "report.json").read_bytes())
    assert isinstance(report, dict)
    files = {row["file"] for row in report["per_file"]}
    assert files == {"bad\\xfc.txt", "d\\xff/dup\\xfd.txt", "d\\xff/n\\xfe.txt", "r\\xfb.jsonl"}
    assert report["undecodable_names"]["d\\xff/n\\xfe.txt"] == b"d\xff/n\xfe.txt".hex()
    assert any(e.startswith("r\\xfb.jsonl:4:") for e in report["errors"])
    audit = [strict_utf8_json(line) for line in (rep / "removed.jsonl").read_bytes().splitlines()]
    docs = {a["id"]: a for a in audit if isinstance(a, dict) and a["level"] == "document"}
    assert docs["d\\xff/n\\xfe.txt"]["file"] == "d\\xff/n\\xfe.txt"
    assert docs["d\\xff/n\\xfe.txt"]["twin"]["file"] == "d\\xff/dup\\xfd.txt"
    # a surrogate of the range that stands for an undecodable byte reads as that byte, others as \\uXXXX
    assert docs["again\\xffid"]["twin"]["id"] == "lone\\ud800id"
    summary = (rep / "summary.txt").read_text(encoding="utf-8")
    assert "error: bad\\xfc.txt:1:" in summary

    written = {os.path.relpath(os.path.join(d, n), os.fsencode(out)) for d, _, ns in os.walk(os.fsencode(out))
               for n in ns}
    if fmt == "same":
        assert written == {b"d\xff/dup\xfd.txt", b"r\xfb.jsonl"}
        with open(os.path.join(os.fsencode(out), b"d\xff/dup\xfd.txt"), "rb") as fh:
            assert fh.read() == TEXT.encode()
        lines = (out / os.fsdecode(b"r\xfb.jsonl")).read_bytes().splitlines()
        recs = [json.loads(x.decode("utf-8")) for x in lines]
        assert [x["id"] for x in recs] == ["lone\ud800id", "nul\x00id"]  # JSONL keeps the input's escapes
        assert "with a NUL \x00 inside" in recs[1]["text"]
    elif fmt == "txt":
        texts = {n: (out / os.fsdecode(n)).read_bytes().decode("utf-8") for n in written}
        assert texts[b"d\xff/dup\xfd.txt"] == TEXT
        assert "half \ufffd surrogate" in texts[b"r\xfb/00000001.txt"]
    elif fmt == "jsonl":
        recs = [json.loads(x) for x in (out / "part-00000.jsonl").read_bytes().decode("utf-8").splitlines()]
        assert [x["id"] for x in recs] == ["d\\xff/dup\\xfd.txt", "lone\ud800id", "nul\x00id"]
    else:
        import pyarrow.parquet as pq

        t = pq.read_table(out / "part-00000.parquet").to_pylist()
        assert [x["id"] for x in t] == ["d\\xff/dup\\xfd.txt", "lone\ufffdid", "nul\x00id"]
        assert "half \ufffd surrogate" in t[1]["text"]


def test_overwrite_removes_a_stale_output_whose_name_is_not_utf8(cli, tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    put(src, b"keep.txt", TEXT.encode())
    put(src, b"gone\xff.txt", prose(5, 4).encode())
    assert cli(src, out, "-q").code == 0
    assert os.path.exists(os.path.join(os.fsencode(out), b"gone\xff.txt"))
    os.unlink(os.path.join(os.fsencode(src), b"gone\xff.txt"))
    assert cli(src, out, "-q", "--overwrite").code == 0
    assert os.listdir(os.fsencode(out)) == [b"keep.txt"]
    assert read_report(tmp_path / "out.report")["outputs"] == ["keep.txt"]
