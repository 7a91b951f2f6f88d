"""Every format's broken forms (truncated or corrupt .gz/.zst, WARC, Parquet): each is reported
with the file and the line, record or row where it broke, what came before the break is kept
where the format has records, and the rest of the corpus is cleaned (exit 1).

All inputs are generated here."""

from __future__ import annotations

import gzip
import io
import json
import re
from collections.abc import Callable

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard
from conftest import ARTICLE, prose, read_report, write

GOOD = "\n".join(ARTICLE) + "\n"


def lines_text(n: int) -> bytes:
    return "".join(prose(7000 + i, 2) + "\n" for i in range(n)).encode()


def jsonl(n: int, base: int = 0) -> bytes:
    return "".join(json.dumps({"id": f"r{base + i}", "text": prose(base + i, 3)}) + "\n" for i in range(n)).encode()


def page(i: int) -> bytes:
    return (f"<html><body><article><h1>Story {i}</h1>" + "".join(f"<p>{prose(100 * i + k, 3)}</p>" for k in range(4))
            + "</article></body></html>").encode()


def warc(n: int, gz: bool) -> bytes:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    buf = io.BytesIO()
    w = WARCWriter(buf, gzip=gz)
    for i in range(n):
        headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.0")
        w.write_record(w.create_warc_record(f"https://example.org/{i}", "response", payload=io.BytesIO(page(i)),
                                            http_headers=headers))
    return buf.getvalue()


def zst(data: bytes) -> bytes:
    return zstandard.ZstdCompressor(write_checksum=True).compress(data)  # as the zstd tool writes it


def flip(data: bytes, at: float = 0.5) -> bytes:
    b = bytearray(data)
    k = int(len(b) * at)
    b[k:k + 4] = bytes(x ^ 0x5A for x in b[k:k + 4])
    return bytes(b)


def parquet(rows: int, group: int, text: list[object] | None = None) -> bytes:
    sink = io.BytesIO()
    t = pa.table({"id": [f"p{i}" for i in range(rows)], "text": text or [prose(300 + i, 2) for i in range(rows)]})
    pq.write_table(t, sink, row_group_size=group)
    return sink.getvalue()


def bad_row_group() -> bytes:
    data = bytearray(parquet(30, 10))
    md = pq.ParquetFile(io.BytesIO(bytes(data))).metadata
    off = md.row_group(1).column(1).data_page_offset
    data[off:off + 64] = bytes(x ^ 0x5A for x in data[off:off + 64])
    return bytes(data)


# name -> (content, what the error says, where: the position it names, None: the file as a whole)
BROKEN: dict[str, tuple[Callable[[], bytes], str, str | None]] = {
    "cut.txt.gz": (lambda: gzip.compress(lines_text(3000))[:15_000], "truncated gzip", r":\d+: .* after [\d,]+ bytes"),
    "bad.txt.gz": (lambda: flip(gzip.compress(lines_text(3000))), "corrupt or truncated gzip", r":\d+:"),
    "cut.txt.zst": (lambda: zst(lines_text(3000))[:2_000], "truncated zstd", r":\d+:"),
    "cut.html.gz": (lambda: gzip.compress(page(1))[:300], "truncated gzip", r":\d+:"),
    "bad.html.zst": (lambda: flip(zst(page(2) * 20), 0.3), "corrupt or truncated zstd", r":\d+:"),
    "cut.jsonl.zst": (lambda: zst(jsonl(2000))[: len(zst(jsonl(2000))) // 2], "truncated zstd", r":\d+: .* after line \d+"),
    "bad.jsonl.gz": (lambda: flip(gzip.compress(jsonl(2000)), 0.7), "gzip", r":\d+:"),
    "cut.warc": (lambda: warc(3, False)[: len(warc(3, False)) * 5 // 6], "cut short", r":3: record 3 is cut short"),
    "cut.warc.gz": (lambda: warc(4, True)[: len(warc(4, True)) * 5 // 8], "truncated gzip", r":\d+: .*after record \d"),
    "bad.warc.gz": (lambda: flip(warc(4, True), 0.6), "gzip", r":\d+: .*after record \d"),
    "junk.warc": (lambda: b"this is not an archive\n" * 5, "not a WARC file", None),
    "inserted.warc": (lambda: warc(1, False) + b"garbage between records\n" + warc(1, False), "Invalid WARC record",
                      r":2: record 2"),
    "short.parquet": (lambda: parquet(30, 10)[:-40], "not a readable Parquet file", None),
    "nofooter.parquet": (lambda: parquet(30, 10)[:-4] + b"XXXX", "not a readable Parquet file", None),
    "group.parquet": (bad_row_group, "cannot read row group 1", r":11: .*after row 10"),
    "numbers.parquet": (lambda: parquet(3, 3, [1, 2, 3]), "column 'text' is of type int64, expected strings", None),
}


@pytest.fixture(scope="module")
def broken_run(tmp_path_factory):
    from cleaner.cli import main

    tmp = tmp_path_factory.mktemp("broken")
    src = tmp / "in"
    write(src, "good.txt", GOOD)
    write(src, "good.jsonl.zst", zst(jsonl(3, 900)) + zst(jsonl(3, 903)))  # two frames: both are read
    write(src, "pages.warc.zst", zst(warc(2, False)))  # zstd WARC: decompressed here, not by warcio
    for name, (content, _, _) in BROKEN.items():
        write(src, name, content())
    # nothing is removed on purpose: what is missing from the output is what could not be read
    code = main([str(src), str(tmp / "out"), "-q", "--no-strip", "--no-dedup", "--workers", "2"])
    return code, tmp / "out", read_report(tmp / "out.report")


def test_the_run_fails_only_the_broken_files(broken_run):
    code, out, rep = broken_run
    assert code == 1
    assert (out / "good.txt").read_text(encoding="utf-8") == GOOD
    with zstandard.ZstdDecompressor().stream_reader(open(out / "good.jsonl.zst", "rb"), read_across_frames=True) as r:
        assert [json.loads(x)["id"] for x in r.read().decode().splitlines()] == [f"r{900 + i}" for i in range(6)]
    with zstandard.ZstdDecompressor().stream_reader(open(out / "pages.jsonl.zst", "rb")) as r:
        assert len(r.read().decode().splitlines()) == 2
    failed = {row["file"] for row in rep["per_file"] if row["status"] == "error"}
    assert failed == set(BROKEN)


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_each_broken_file_is_reported_with_where_it_broke(broken_run, name):
    _, _, rep = broken_run
    _, says, where = BROKEN[name]
    mine = [e for e in rep["errors"] if e.startswith(name + ":")]
    assert mine and any(says in e for e in mine), rep["errors"]
    if where is None:
        assert any(e.startswith(f"{name}: ") for e in mine), mine
    else:
        assert any(re.match(re.escape(name) + where, e) for e in mine), mine
    assert all("\n" not in e for e in mine)


def test_records_before_the_break_are_kept(broken_run):
    _, out, rep = broken_run
    with zstandard.ZstdDecompressor().stream_reader(open(out / "cut.jsonl.zst", "rb")) as r:
        ids = [json.loads(x)["id"] for x in r.read().decode().splitlines()]
    assert 100 < len(ids) < 2000 and ids == [f"r{i}" for i in range(len(ids))]
    pages = [json.loads(x)["id"] for x in gzip.decompress((out / "cut.jsonl.gz").read_bytes()).splitlines()]
    assert 1 <= len(pages) < 4 and pages == [f"https://example.org/{i}" for i in range(len(pages))]  # cut.warc.gz
    assert pq.read_table(out / "group.parquet").column("id").to_pylist() == [f"p{i}" for i in range(10)]
    row = next(r for r in rep["per_file"] if r["file"] == "cut.warc")
    assert row["documents"] == 2  # the two records before the one cut short
