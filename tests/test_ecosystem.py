"""Formats in and out, the Python API, config files: cleaner as a step of an ML data pipeline."""

from __future__ import annotations

import gzip
import io
import json
import pickle
import subprocess
import sys

import pytest
from conftest import ARTICLE, prose, read_report, write

GOOD = "\n".join(ARTICLE)
JUNK = ["Advertisement", "Share this article", "Subscribe now for just $1 a month"]


def dirty(seed: int) -> str:
    return "\n".join([ARTICLE[0] + f" ({seed})", prose(seed, 4), JUNK[seed % 3], prose(seed + 1, 3),
                      prose(seed + 2, 4), JUNK[(seed + 1) % 3]])


def clean_of(seed: int) -> str:
    return "\n".join([ARTICLE[0] + f" ({seed})", prose(seed, 4), prose(seed + 1, 3), prose(seed + 2, 4)])


# --- round trips, same format out as in ---------------------------------------------

def test_jsonl_zst_round_trip(cli, tmp_path):
    import zstandard

    src = tmp_path / "in"
    recs = [{"id": f"d{i}", "text": dirty(10 * i), "lang": "en", "score": i / 4} for i in range(5)]
    raw = "".join(json.dumps(r) + "\n" for r in recs).encode()
    write(src, "shard.jsonl.zst", zstandard.ZstdCompressor().compress(raw))
    assert cli(src, tmp_path / "out", "-q").code == 0
    data = zstandard.ZstdDecompressor().stream_reader(io.BytesIO((tmp_path / "out/shard.jsonl.zst").read_bytes()))
    got = [json.loads(x) for x in io.TextIOWrapper(data, encoding="utf-8")]
    assert [g["text"] for g in got] == [clean_of(10 * i) for i in range(5)]
    assert [{k: v for k, v in g.items() if k != "text"} for g in got] == \
        [{k: v for k, v in r.items() if k != "text"} for r in recs]


def test_parquet_round_trip_keeps_columns_and_types(cli, tmp_path):
    import datetime

    import pyarrow as pa
    import pyarrow.parquet as pq

    src = tmp_path / "in"
    src.mkdir()
    n = 6
    table = pa.table({
        "id": pa.array([f"p{i}" for i in range(n)]),
        "text": pa.array([dirty(100 + 10 * i) for i in range(n - 1)] + [GOOD]),
        "n": pa.array(list(range(n)), pa.int32()),
        "when": pa.array([datetime.datetime(2024, 1, i + 1) for i in range(n)], pa.timestamp("s")),
        "tags": pa.array([["a", str(i)] for i in range(n)]),
    })
    table = pa.concat_tables([table, table.slice(0, 1)])  # the last row repeats the first: a duplicate
    pq.write_table(table, src / "data.parquet", row_group_size=3)
    assert cli(src, tmp_path / "out", "-q").code == 0
    out = pq.read_table(tmp_path / "out/data.parquet")
    assert out.schema == pq.read_table(src / "data.parquet").schema
    assert out.column("id").to_pylist() == [f"p{i}" for i in range(n)]
    assert out.column("text").to_pylist() == [clean_of(100 + 10 * i) for i in range(n - 1)] + [GOOD]
    assert out.column("tags").to_pylist() == [["a", str(i)] for i in range(n)]
    rep = read_report(tmp_path / "out.report")
    assert rep["documents"]["removed"] == {"duplicate-document": 1}


def _warc(path, pages):
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with open(path, "wb") as fh:
        w = WARCWriter(fh, gzip=True)
        for url, body, ctype, *status in pages:
            headers = StatusAndHeaders(status[0] if status else "200 OK", [("Content-Type", ctype)],
                                       protocol="HTTP/1.0")
            w.write_record(w.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=headers))
        w.write_record(w.create_warc_record("https://example.org/robots.txt", "request",
                                            payload=io.BytesIO(b"GET / HTTP/1.0\r\n\r\n")))


def page(title: str, paras: list[str]) -> bytes:
    return (f"<html><head><title>{title}</title></head><body><nav><a href='/'>Home</a> <a href='/n'>News</a></nav>"
            f"<article><h1>{title}</h1>" + "".join(f"<p>{p}</p>" for p in paras) +
            "</article><footer>© 2024 Example. All rights reserved.</footer></body></html>").encode()


def test_warc_response_records_go_through_the_html_path(cli, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    _warc(src / "crawl.warc.gz", [
        ("https://example.org/a", page(ARTICLE[0], ARTICLE[1:]), "text/html; charset=utf-8"),
        ("https://example.org/b", page("Other story", [prose(i, 3) for i in range(4)]), "text/html"),
        ("https://example.org/img.png", b"\x89PNG....", "image/png"),
    ])
    assert cli(src, tmp_path / "out", "-q").code == 0
    with gzip.open(tmp_path / "out/crawl.jsonl.gz", "rt", encoding="utf-8") as fh:
        got = [json.loads(x) for x in fh]
    assert [g["id"] for g in got] == ["https://example.org/a", "https://example.org/b"]
    assert got[0]["url"] == "https://example.org/a" and got[0]["warc_record_id"].startswith("<urn:uuid:")
    assert ARTICLE[2] in got[0]["text"] and "All rights reserved" not in got[0]["text"]
    rep = read_report(tmp_path / "out.report")  # the records that are not pages are accounted for
    assert rep["documents"]["warc_records_not_documents"] == {"not HTML": 1, "not a response": 1}
    assert rep["per_file"][0]["records_not_documents"] == {"not HTML": 1, "not a response": 1}


def test_warc_redirects_error_pages_and_empty_bodies_are_counted_not_failed(cli, tmp_path):
    """A crawl is full of them: they are no pages (and no errors: the run exits 0)."""
    src = tmp_path / "in"
    src.mkdir()
    _warc(src / "crawl.warc.gz", [
        ("https://example.org/a", page(ARTICLE[0], ARTICLE[1:]), "text/html"),
        ("https://example.org/r", b"", "text/html", "301 Moved Permanently"),
        ("https://example.org/gone", page("Not found", ["Sorry, this page does not exist."]), "text/html",
         "404 Not Found"),
        ("https://example.org/e", b"  ", "text/html"),
    ])
    r = cli(src, tmp_path / "out", "-q")
    assert r.code == 0, r.err
    with gzip.open(tmp_path / "out/crawl.jsonl.gz", "rt", encoding="utf-8") as fh:
        assert [json.loads(x)["id"] for x in fh] == ["https://example.org/a"]
    rep = read_report(tmp_path / "out.report")
    assert rep["documents"]["warc_records_not_documents"] == {
        "HTTP status 3xx": 1, "HTTP status 4xx": 1, "empty body": 1, "not a response": 1}


def test_jsonl_on_stdin_to_stdout(tmp_path):
    recs = [{"id": "x", "text": dirty(7), "keep": True}, {"id": "y", "text": dirty(7)}]
    r = subprocess.run([sys.executable, "-m", "cleaner", "-", "-", "-q"], input="".join(json.dumps(x) + "\n"
                       for x in recs), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    got = [json.loads(x) for x in r.stdout.splitlines()]
    assert got == [{"id": "x", "text": clean_of(7), "keep": True}]


def test_stdin_to_a_folder_and_a_folder_to_stdout(tmp_path):
    src = tmp_path / "in"
    write(src, "a.txt", dirty(3))
    r = subprocess.run([sys.executable, "-m", "cleaner", str(src), "-", "-q"], capture_output=True, text=True)
    assert r.returncode == 0 and [json.loads(x) for x in r.stdout.splitlines()] == [{"id": "a.txt", "text": clean_of(3)}]
    r = subprocess.run([sys.executable, "-m", "cleaner", "-", str(tmp_path / "o"), "-q"],
                       input=json.dumps({"text": dirty(4)}) + "\n", capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / "o/stdin.jsonl").read_text())["text"] == clean_of(4)


# --- conversions and shards ------------------------------------------------------------

def test_output_format_jsonl_gz_shards_from_text_files(cli, tmp_path):
    src = tmp_path / "in"
    for i in range(7):
        write(src, f"d/{i}.txt", dirty(20 * i))
    assert cli(src, tmp_path / "out", "-q", "--output-format", "jsonl.gz", "--shard-size", "3").code == 0
    shards = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert shards == ["part-00000.jsonl.gz", "part-00001.jsonl.gz", "part-00002.jsonl.gz"]
    recs = []
    for s in shards:
        with gzip.open(tmp_path / "out" / s, "rt", encoding="utf-8") as fh:
            recs += [json.loads(x) for x in fh]
    assert [r["id"] for r in recs] == [f"d/{i}.txt" for i in range(7)]
    assert recs[4]["text"] == clean_of(80)
    assert read_report(tmp_path / "out.report")["outputs"] == shards


def test_output_format_parquet_and_txt(cli, tmp_path):
    import pyarrow.parquet as pq

    src = tmp_path / "in"
    write(src, "x.jsonl", "".join(json.dumps({"id": f"r{i}", "text": dirty(30 * i), "k": i}) + "\n" for i in range(4)))
    assert cli(src, tmp_path / "pq", "-q", "--output-format", "parquet").code == 0
    t = pq.read_table(tmp_path / "pq/part-00000.parquet")
    assert t.column_names == ["id", "text", "k"] and t.column("k").to_pylist() == [0, 1, 2, 3]
    assert cli(src, tmp_path / "txt", "-q", "--output-format", "txt").code == 0
    files = sorted(p.relative_to(tmp_path / "txt").as_posix() for p in (tmp_path / "txt").rglob("*.txt"))
    assert files == [f"x/{n:08d}.txt" for n in (1, 2, 3, 4)]
    assert (tmp_path / "txt/x/00000002.txt").read_text(encoding="utf-8") == clean_of(30) + "\n"


def test_output_format_txt_never_writes_two_records_to_one_name(cli, tmp_path):
    """x.jsonl beside x.jsonl.gz, a.jsonl beside an input folder a/: each file's records
    get a folder of their own (the first keeps the short name) and nothing is overwritten."""
    import gzip

    src = tmp_path / "in"
    write(src, "x.jsonl", json.dumps({"text": ARTICLE[0]}) + "\n")
    (src / "x.jsonl.gz").write_bytes(gzip.compress((json.dumps({"text": ARTICLE[1]}) + "\n").encode()))
    write(src, "a.jsonl", json.dumps({"text": ARTICLE[2]}) + "\n")
    write(src, "a/00000001.txt", ARTICLE[3] + "\n")
    assert cli(src, tmp_path / "txt", "-q", "--output-format", "txt").code == 0
    got = {p.relative_to(tmp_path / "txt").as_posix(): p.read_text(encoding="utf-8")
           for p in (tmp_path / "txt").rglob("*.txt")}
    assert got == {"x/00000001.txt": ARTICLE[0] + "\n", "x.jsonl/00000001.txt": ARTICLE[1] + "\n",
                   "a.jsonl/00000001.txt": ARTICLE[2] + "\n", "a/00000001.txt": ARTICLE[3] + "\n"}


def test_outputs_load_with_pyarrow_and_datasets(cli, tmp_path, monkeypatch):
    import pyarrow.json as paj
    import pyarrow.parquet as pq

    src = tmp_path / "in"
    write(src, "a.jsonl", "".join(json.dumps({"id": f"a{i}", "text": dirty(40 * i)}) + "\n" for i in range(3)))
    write(src, "b.jsonl", "".join(json.dumps({"id": f"b{i}", "text": dirty(500 + 40 * i)}) + "\n" for i in range(2)))
    assert cli(src, tmp_path / "j", "-q").code == 0
    assert cli(src, tmp_path / "p", "-q", "--output-format", "parquet").code == 0
    assert sum(paj.read_json(p).num_rows for p in sorted((tmp_path / "j").glob("*.jsonl"))) == 5
    assert pq.read_table(tmp_path / "p").num_rows == 5  # the folder as a dataset: nothing else in it
    datasets = pytest.importorskip("datasets")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    cache = str(tmp_path / "hf-cache")
    dj = datasets.load_dataset("json", data_files=str(tmp_path / "j" / "*.jsonl"), split="train", cache_dir=cache)
    dp = datasets.load_dataset("parquet", data_files=str(tmp_path / "p" / "*"), split="train", cache_dir=cache)
    assert sorted(dj["id"]) == sorted(dp["id"]) == ["a0", "a1", "a2", "b0", "b1"]
    assert dict(zip(dj["id"], dj["text"]))["a1"] == clean_of(40)


# --- Python API ----------------------------------------------------------------------------

def test_cleaner_clean_text():
    from cleaner import Cleaner

    r = Cleaner().clean_text(dirty(5) + "\n" + prose(5, 4))
    assert r.text == clean_of(5)
    assert r.reasons == {"advertisement": 1, "share-prompt": 1, "duplicate-paragraph": 1} or \
        set(r.reasons) >= {"duplicate-paragraph"}
    assert [x.line for x in r.removed] == [3, 6, 7]
    assert Cleaner(strip=False, dedup=False).clean_text(dirty(5)).text == dirty(5)


def test_cleaner_pickles_and_works_in_datasets_map(tmp_path):
    from cleaner import Cleaner

    c = Cleaner(threshold=0.9)
    c.clean_text("warm up")
    c2 = pickle.loads(pickle.dumps(c))
    assert c2.config.threshold == 0.9 and c2.clean_text(dirty(9)).text == clean_of(9)
    datasets = pytest.importorskip("datasets")
    ds = datasets.Dataset.from_dict({"text": [dirty(1), dirty(2)]})
    out = ds.map(lambda ex: {"text": c.clean_text(ex["text"]).text})
    assert out["text"] == [clean_of(1), clean_of(2)]


def test_clean_html_api():
    from cleaner import Cleaner

    r = Cleaner().clean_html(page(ARTICLE[0], ARTICLE[1:]))
    assert ARTICLE[3] in r.kept and "Home" not in r.text


def test_clean_corpus_returns_the_report(tmp_path):
    from cleaner import Report, clean_corpus

    write(tmp_path / "in", "a.txt", dirty(1))
    rep = clean_corpus(tmp_path / "in", tmp_path / "out", workers=0, keep="longest")
    assert isinstance(rep, Report) and rep.ok and rep.documents["kept"] == 1
    assert rep.config["keep"] == "longest"
    with pytest.raises(Exception, match="threshold"):
        clean_corpus(tmp_path / "in", tmp_path / "o2", threshold=2)
    with pytest.raises(Exception, match="unexpected keyword"):
        clean_corpus(tmp_path / "in", tmp_path / "o3", no_such_option=1)


# --- config files -----------------------------------------------------------------------

def test_config_file_and_cli_override_and_print_config(cli, tmp_path):
    write(tmp_path, "rules/extra.toml", '[[rule]]\nname = "podcast"\nreason = "advertisement"\n'
          "pattern = '''listen to our podcast'''\n")
    write(tmp_path, "cleaner.toml", 'threshold = 0.9\nworkers = 1\nrules = ["rules/extra.toml"]\n'
          'text-field = "body"\n[other]\n')
    r = cli("--config", tmp_path / "cleaner.toml", "--print-config")
    assert r.code == 2 and "outside" not in r.err and "unknown option 'other'" in r.err
    write(tmp_path, "cleaner.toml", 'threshold = 0.9\nworkers = 1\nrules = ["rules/extra.toml"]\n'
          'text-field = "body"\nreport = "rep"\n')
    r = cli("--config", tmp_path / "cleaner.toml", "--print-config", "--threshold", "0.7")
    assert r.code == 0
    assert "threshold = 0.7" in r.out and "workers = 1" in r.out and 'text_field = "body"' in r.out
    assert str(tmp_path / "rules/extra.toml") in r.out and f'report = "{tmp_path / "rep"}"' in r.out
    # what --print-config prints is a config file
    write(tmp_path, "printed.toml", r.out)
    r2 = cli("--config", tmp_path / "printed.toml", "--print-config")
    assert r2.code == 0 and r2.out == r.out
    # and the options act
    src = tmp_path / "in"
    write(src, "x.jsonl", json.dumps({"body": ARTICLE[1] + "\nListen to our podcast every week!"}) + "\n")
    assert cli(src, tmp_path / "out", "--config", tmp_path / "cleaner.toml", "-q").code == 0
    assert json.loads((tmp_path / "out/x.jsonl").read_text())["body"] == ARTICLE[1]
    assert (tmp_path / "rep/report.json").exists()


def test_bad_config_values_are_one_line_errors(cli, tmp_path):
    for body, msg in (('threshold = "high"', "threshold must be a number"), ("workers = 1.5", "whole number"),
                      ("threshold = 3", "--threshold must be in"), ("[[x]]\ny = 1", "unknown option"),
                      ("not toml at all =", "not valid TOML")):
        write(tmp_path, "c.toml", body + "\n")
        r = cli("--config", tmp_path / "c.toml", "--print-config")
        assert r.code == 2 and msg in r.err and r.err.count("\n") == 1, (body, r.err)


def test_large_files_in_parts_give_the_same_output(tmp_path, monkeypatch):
    """A JSONL or Parquet file read and written in parts (in parallel) gives the same bytes."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    import cleaner.readers
    from cleaner.pipeline import clean_corpus

    src = tmp_path / "in"
    recs = [{"id": f"r{i}", "text": dirty(10 * (i % 40)) if i % 7 else GOOD, "n": i} for i in range(300)]
    write(src, "big.jsonl", "".join(json.dumps(r) + "\n" for r in recs))
    other = [{**r, "text": dirty(10 * (i % 40) + 1000)} for i, r in enumerate(recs)]
    pq.write_table(pa.Table.from_pylist(other), src / "big.parquet", row_group_size=25)
    whole = clean_corpus(src, tmp_path / "whole", workers=2)
    monkeypatch.setattr(cleaner.readers, "PART_BYTES", 20_000)
    monkeypatch.setattr(cleaner.readers, "PARQUET_PART_ROWS", 60)
    parts = clean_corpus(src, tmp_path / "parts", workers=2)
    assert (tmp_path / "whole/big.jsonl").read_bytes() == (tmp_path / "parts/big.jsonl").read_bytes()
    assert pq.read_table(tmp_path / "whole/big.parquet").equals(pq.read_table(tmp_path / "parts/big.parquet"))
    assert (tmp_path / "whole.report/removed.jsonl").read_bytes() == (tmp_path / "parts.report/removed.jsonl").read_bytes()
    assert whole.documents == parts.documents and parts.documents["removed"]
