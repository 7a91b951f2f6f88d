"""Hostile and broken input: each bad item is reported and skipped, the rest is cleaned.

All inputs are generated here; nothing large is committed.
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ARTICLE, fault_env, kill_9_after, prose, read_audit, read_report, tree_bytes, write

GOOD = "\n".join(ARTICLE) + "\n"


def good_corpus(src: Path) -> None:
    write(src, "good.txt", GOOD)
    write(src, "more/other.txt", "\n".join(prose(i, 3) for i in range(6)) + "\n")


def assert_good_files_cleaned(out: Path) -> None:
    assert (out / "good.txt").read_text(encoding="utf-8") == GOOD
    assert (out / "more/other.txt").exists()


def errors_of(report_dir: Path) -> list[str]:
    return read_report(report_dir)["errors"]


def run_clean(*args: object, env: dict[str, str] | None = None, preexec=None, timeout: float = 300,
              **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cleaner", *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, preexec_fn=preexec, timeout=timeout, **kw)


# --- files that cannot be read -------------------------------------------------------

@pytest.mark.parametrize("name,content,message", [
    ("empty.txt", b"", "empty file"),
    ("blank.txt", b"  \n\t\n\r\n", "white space only"),
    ("empty.html", b"", "empty file"),
    ("empty.jsonl", b"", "empty file"),
    ("blank.jsonl", b"\n  \n\n", "no records (blank lines only)"),
    ("empty.jsonl.gz", b"", "empty file"),
    ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10", "binary file"),
    ("nul.md", b"some text\x00more text\n", "binary"),
    ("bad-utf8.txt", b"line one\nline two\n" + b"caf\xe9\n", "not valid UTF-8"),
    ("trunc.txt.gz", gzip.compress(GOOD.encode())[:40], "corrupt or truncated gzip"),
    ("garbage.html.gz", b"\x1f\x8b\x08\x00not really gzip at all", "corrupt or truncated gzip"),
    ("bad.jsonl.zst", b"\x28\xb5\x2f\xfd\x00\x00 garbage", "corrupt or truncated zstd"),
])
def test_unreadable_file_is_reported_and_the_rest_is_cleaned(cli, tmp_path, name, content, message):
    src = tmp_path / "in"
    good_corpus(src)
    write(src, name, content)
    r = cli(src, tmp_path / "out", "-q")
    assert r.code == 1
    assert name in r.err and message in r.err
    assert_good_files_cleaned(tmp_path / "out")
    errs = errors_of(tmp_path / "out.report")
    assert len(errs) == 1 and errs[0].startswith(name) and message in errs[0]
    assert read_report(tmp_path / "out.report")["files"]["failed"] == 1
    if name == "bad-utf8.txt":
        assert errs[0].startswith("bad-utf8.txt:3:")


def test_utf16_with_bom_and_line_endings(cli, tmp_path):
    src = tmp_path / "in"
    write(src, "u16.txt", "\r\n".join(ARTICLE).encode("utf-16"))
    write(src, "cr.txt", ("\r".join(ARTICLE[:4]) + "\r" + "\r".join(ARTICLE[4:])).replace("harbour", "river")
          .encode("utf-8"))
    write(src, "bom8.txt", b"\xef\xbb\xbf" + "\n".join(ARTICLE).replace("harbour", "lake").encode())
    assert cli(src, tmp_path / "out", "-q", "--no-dedup").code == 0
    assert (tmp_path / "out/u16.txt").read_text(encoding="utf-8") == GOOD
    assert (tmp_path / "out/cr.txt").read_text(encoding="utf-8").splitlines() == \
        [a.replace("harbour", "river") for a in ARTICLE]
    assert (tmp_path / "out/bom8.txt").read_bytes().startswith(ARTICLE[0].replace("harbour", "lake").encode())


def test_latin1_html_that_declares_its_charset(cli, tmp_path):
    src = tmp_path / "in"
    paras = [p.replace("residents", "résidents") for p in ARTICLE[1:]] + \
        ["Le café du port restera ouvert pendant les travaux, a précisé la propriétaire à la presse."]
    page = ('<html><head><meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">'
            f"<title>Pont</title></head><body><article><h1>{ARTICLE[0]}</h1>"
            + "".join(f"<p>{p}</p>" for p in paras) + "</article></body></html>")
    write(src, "page.html", page.encode("latin-1"))
    assert cli(src, tmp_path / "out", "-q").code == 0
    text = (tmp_path / "out/page.txt").read_text(encoding="utf-8")
    assert "résidents" in text and "\ufffd" not in text and "Ã" not in text


# --- JSONL records -------------------------------------------------------------------

def test_bad_jsonl_records_are_skipped_one_by_one(cli, tmp_path):
    src = tmp_path / "in"
    deep = "[" * 200_000 + "]" * 200_000
    lines = [
        json.dumps({"id": "r1", "text": GOOD}),
        '{"id": "r2", "text": "unterminated',
        json.dumps({"id": "r3", "title": "no text field"}),
        json.dumps({"id": "r4", "text": None}),
        json.dumps({"id": "r5", "text": 42}),
        json.dumps({"id": "r6", "text": {"nested": "object"}}),
        json.dumps(["not", "an", "object"]),
        deep,
        '{"text": ' + deep + "}",
        json.dumps({"id": "r10", "text": ""}),
        "",
        json.dumps({"id": "r12", "text": "\n".join(prose(i, 2) for i in range(5))}),
    ]
    raw = ("\n".join(lines) + "\n").encode() + b'{"id": "r13", "text": "caf\xe9"}\n'
    write(src, "data.jsonl", raw)
    r = cli(src, tmp_path / "out", "-q")
    assert r.code == 1
    out = [json.loads(x) for x in (tmp_path / "out/data.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [o["id"] for o in out] == ["r1", "r12"]
    errs = errors_of(tmp_path / "out.report")
    lines_with_errors = sorted(int(e.split(":")[1]) for e in errs)
    assert lines_with_errors == [2, 3, 4, 5, 6, 7, 8, 9, 10, 13]
    by_line = {int(e.split(":")[1]): e for e in errs}
    assert "invalid JSON" in by_line[2]
    assert "no 'text' field" in by_line[3]
    assert "is null" in by_line[4] and "is a number" in by_line[5] and "is an object" in by_line[6]
    assert "expected a JSON object" in by_line[7]
    assert "nested too deeply" in by_line[8] or "invalid JSON" in by_line[8]
    assert "is empty" in by_line[10] and "UTF-8" in by_line[13]


def test_truncated_jsonl_gz_keeps_the_records_before_the_break(cli, tmp_path):
    src = tmp_path / "in"
    recs = [json.dumps({"id": f"r{i}", "text": "\n".join(prose(10 * i + k, 2) for k in range(4))})
            for i in range(200)]
    data = gzip.compress(("\n".join(recs) + "\n").encode())
    write(src, "cut.jsonl.gz", data[: len(data) * 2 // 3])
    r = cli(src, tmp_path / "out", "-q")
    assert r.code == 1 and "cut.jsonl.gz" in r.err and "truncated" in r.err
    with gzip.open(tmp_path / "out/cut.jsonl.gz", "rt", encoding="utf-8") as fh:
        got = [json.loads(x)["id"] for x in fh]
    assert 50 < len(got) < 200 and got == [f"r{i}" for i in range(len(got))]


def test_record_ids_are_never_used_as_paths(cli, tmp_path):
    src = tmp_path / "in"
    recs = [{"id": "../../etc/evil", "text": GOOD}, {"id": "/abs/path", "text": prose(501, 4)},
            {"id": "a\nb", "text": prose(502, 4)}]
    write(src, "ids.jsonl", "".join(json.dumps(r) + "\n" for r in recs))
    assert cli(src, tmp_path / "out", "-q").code == 0
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file() and "report" not in str(p)) == \
        ["ids.jsonl", "ids.jsonl"]
    out = [json.loads(x)["id"] for x in (tmp_path / "out/ids.jsonl").read_text(encoding="utf-8").splitlines()]
    assert out == ["../../etc/evil", "/abs/path", "a\nb"]


# --- size and nesting bombs --------------------------------------------------------

def test_gzip_bomb_is_refused_by_ratio(cli, tmp_path):
    src = tmp_path / "in"
    good_corpus(src)
    bomb = gzip.compress(b"\n" * (80 * 1024 * 1024), compresslevel=9)
    write(src, "bomb.jsonl.gz", bomb)
    write(src, "bomb.txt.gz", bomb)
    r = cli(src, tmp_path / "out", "-q")
    assert r.code == 1
    errs = errors_of(tmp_path / "out.report")
    assert len(errs) == 2 and all("compression bomb" in e for e in errs)
    assert_good_files_cleaned(tmp_path / "out")


def test_max_bytes_bounds_one_document(cli, tmp_path):
    src = tmp_path / "in"
    good_corpus(src)
    write(src, "big.txt", "word " * 100_000)
    write(src, "rows.jsonl", json.dumps({"text": "word " * 100_000}) + "\n" + json.dumps({"text": GOOD}) + "\n")
    r = cli(src, tmp_path / "out", "-q", "--max-bytes", "100000", "--no-dedup")
    assert r.code == 1
    errs = errors_of(tmp_path / "out.report")
    assert any(e.startswith("big.txt") and "--max-bytes" in e for e in errs)
    assert any(e.startswith("rows.jsonl:1") and "--max-bytes" in e for e in errs)
    assert json.loads((tmp_path / "out/rows.jsonl").read_text(encoding="utf-8"))["text"] == GOOD.strip()


def test_a_single_50_mb_line(cli, tmp_path):
    src = tmp_path / "in"
    words = prose(7, 40).split()
    line = " ".join(words[i % len(words)] for i in range(9_000_000))[: 50 * 1024 * 1024]
    write(src, "long.txt", line + "\n")
    good_corpus(src)
    r = cli(src, tmp_path / "out", "-q")
    assert r.code == 0, r.err
    assert_good_files_cleaned(tmp_path / "out")
    out = tmp_path / "out/long.txt"
    kept = out.read_text(encoding="utf-8") if out.exists() else ""
    removed = [a for a in read_audit(tmp_path / "out.report") if a["file"] == "long.txt"]
    assert kept == line + "\n" or (removed and removed[0]["text"] == line)


def test_a_million_one_word_lines(cli, tmp_path):
    src = tmp_path / "in"
    vocab = ["alpha", "beta", "gamma", "delta", "river", "the"]
    write(src, "million.txt", "\n".join(vocab[(i * 7) % 6] for i in range(1_000_000)) + "\n")
    good_corpus(src)
    r = cli(src, tmp_path / "out", "-q")
    assert r.code == 0, r.err
    assert_good_files_cleaned(tmp_path / "out")
    rep = read_report(tmp_path / "out.report")
    row = next(f for f in rep["per_file"] if f["file"] == "million.txt")
    assert row["paragraphs"] == 1_000_000


def test_html_nested_100k_levels(cli, tmp_path):
    src = tmp_path / "in"
    good_corpus(src)
    deep = "<html><body>" + "<div>" * 100_000 + "<p>" + ARTICLE[1] + "</p>" + "</div>" * 100_000 + "</body></html>"
    write(src, "deep.html", deep)
    r = cli(src, tmp_path / "out", "-q")
    assert r.code in (0, 1)
    assert_good_files_cleaned(tmp_path / "out")
    errs = errors_of(tmp_path / "out.report")
    assert all(e.startswith("deep.html") for e in errs)


def test_html_entity_tricks_do_not_expand_or_read_files(cli, tmp_path):
    src = tmp_path / "in"
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT", encoding="utf-8")
    laughs = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    page = (f'<?xml version="1.0"?><!DOCTYPE html [<!ENTITY l0 "lol">{laughs}'
            f'<!ENTITY xxe SYSTEM "file://{secret}">]>'
            f"<html><body><article><h1>{ARTICLE[0]}</h1><p>&l9;</p><p>&xxe;</p>"
            + "".join(f"<p>{p}</p>" for p in ARTICLE[1:]) + "</article></body></html>")
    write(src, "tricks.html", page)
    t0 = time.monotonic()
    r = cli(src, tmp_path / "out", "-q")
    assert time.monotonic() - t0 < 60
    assert r.code in (0, 1)
    out = tmp_path / "out/tricks.txt"
    text = out.read_text(encoding="utf-8") if out.exists() else ""
    assert "TOP-SECRET" not in text and "lollollol" not in text
    assert "TOP-SECRET" not in (tmp_path / "out.report/removed.jsonl").read_text(encoding="utf-8")


# --- time limits and crashes -----------------------------------------------------------

@pytest.mark.parametrize("fault, seed, message", [
    ("slow", 201, "--doc-timeout"),  # a loop in Python: the time limit stops it
    ("hang", 301, "killed"),  # stuck where no signal reaches (like a parser in C code): the worker is killed
])
def test_slow_or_stuck_document_is_left_out_and_the_run_goes_on(tmp_path, fault, seed, message):
    src = tmp_path / "in"
    good_corpus(src)
    recs = [{"id": "a", "text": prose(seed, 4)}, {"id": "bad", "text": "BADDOC " + prose(seed + 1, 4)},
            {"id": "b", "text": prose(seed + 2, 4)}]
    write(src, "r.jsonl", "".join(json.dumps(r) + "\n" for r in recs))
    t0 = time.monotonic()
    r = run_clean(src, tmp_path / "out", "-q", "--doc-timeout", "1", env=fault_env(f"{fault}:BADDOC"))
    assert time.monotonic() - t0 < 60
    assert r.returncode == 1, r.stderr
    assert "r.jsonl:2:" in r.stderr and message in r.stderr, r.stderr
    ids = [json.loads(x)["id"] for x in (tmp_path / "out/r.jsonl").read_text(encoding="utf-8").splitlines()]
    assert ids == ["a", "b"]
    assert_good_files_cleaned(tmp_path / "out")


def test_worker_crash_costs_one_document(tmp_path):
    src = tmp_path / "in"
    good_corpus(src)
    recs = [{"id": f"r{i}", "text": ("CRASHDOC " if i == 3 else "") + prose(400 + i, 3)} for i in range(6)]
    write(src, "r.jsonl", "".join(json.dumps(r) + "\n" for r in recs))
    write(src, "crash.txt", "CRASHDOC " + prose(99, 3) + "\n")
    r = run_clean(src, tmp_path / "out", "-q", env=fault_env("crash:CRASHDOC"))
    assert r.returncode == 1
    assert "r.jsonl:4" in r.stderr and "SIGKILL" in r.stderr and "crash.txt" in r.stderr
    ids = [json.loads(x)["id"] for x in (tmp_path / "out/r.jsonl").read_text(encoding="utf-8").splitlines()]
    assert ids == ["r0", "r1", "r2", "r4", "r5"]
    assert not (tmp_path / "out/crash.txt").exists()
    assert_good_files_cleaned(tmp_path / "out")


# --- file system ------------------------------------------------------------------------

def test_symlink_loop_and_links_outside_the_input(cli, tmp_path):
    src = tmp_path / "in"
    good_corpus(src)
    outside = tmp_path / "outside"
    write(outside, "secret.txt", "\n".join(prose(50 + i, 3) for i in range(3)))
    (src / "loop").symlink_to(src, target_is_directory=True)
    (src / "more" / "self").symlink_to("../more", target_is_directory=True)
    (src / "out-link.txt").symlink_to(outside / "secret.txt")
    (src / "out-dir").symlink_to(outside, target_is_directory=True)
    (src / "dangling.txt").symlink_to(tmp_path / "nowhere.txt")
    (src / "inside-link.txt").symlink_to(src / "good.txt")
    assert cli(src, tmp_path / "out", "-q").code == 0
    skipped = {s["file"]: s["reason"] for s in read_report(tmp_path / "out.report")["skipped"]}
    assert "outside the input" in skipped["out-link.txt"]
    assert "outside the input" in skipped["out-dir"] and "symbolic link to a directory" in skipped["loop"]
    assert "broken or looping" in skipped["dangling.txt"]
    assert not (tmp_path / "out/out-link.txt").exists() and not (tmp_path / "out/out-dir").exists()
    assert_good_files_cleaned(tmp_path / "out")
    # --follow-symlinks reads them, and still never loops
    assert cli(src, tmp_path / "out2", "-q", "--follow-symlinks").code == 0
    files = {f["file"] for f in read_report(tmp_path / "out2.report")["per_file"]}
    assert {"out-link.txt", "out-dir/secret.txt"} <= files
    assert (tmp_path / "out2/out-dir/secret.txt").exists()  # out-link.txt is its duplicate


def test_names_with_spaces_newlines_and_non_ascii(cli, tmp_path):
    src = tmp_path / "in"
    names = ["with space.txt", "new\nline.txt", "ünïcödé — 文字.txt", "dir with space/ä.jsonl"]
    for i, n in enumerate(names):
        if n.endswith(".jsonl"):
            write(src, n, json.dumps({"text": prose(i, 4)}) + "\n")
        else:
            write(src, n, prose(i, 4) + "\n" + prose(i + 10, 4) + "\n")
    assert cli(src, tmp_path / "out", "-q").code == 0
    assert sorted(tree_bytes(tmp_path / "out")) == sorted(names)
    rep = read_report(tmp_path / "out.report")
    assert {f["file"] for f in rep["per_file"]} == set(names)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file(tmp_path):
    src = tmp_path / "in"
    good_corpus(src)
    write(src, "locked.txt", GOOD)
    os.chmod(src / "locked.txt", 0)
    r = run_clean(src, tmp_path / "out", "-q")
    assert r.returncode == 1, r.stderr
    assert "locked.txt" in r.stderr and "Permission denied" in r.stderr
    assert_good_files_cleaned(tmp_path / "out")


def test_unreadable_file_simulated(tmp_path, monkeypatch):
    """The same for root (who reads any file): opening fails with EACCES."""
    import cleaner.readers
    from cleaner.pipeline import clean_corpus

    src = tmp_path / "in"
    good_corpus(src)
    write(src, "locked.txt", GOOD.replace("harbour", "lake"))
    real = cleaner.readers._open_fd  # under every reader (_open_file too)

    def deny(path):
        if path.endswith("locked.txt"):
            raise PermissionError(13, "Permission denied", path)
        return real(path)

    monkeypatch.setattr(cleaner.readers, "_open_fd", deny)
    rep = clean_corpus(src, tmp_path / "out", workers=0)
    assert rep.errors == ["locked.txt: cannot read: Permission denied (file skipped)"]
    assert_good_files_cleaned(tmp_path / "out")


def test_fifo_and_other_special_files_are_skipped(cli, tmp_path):
    src = tmp_path / "in"
    good_corpus(src)
    os.mkfifo(src / "pipe.txt")
    assert cli(src, tmp_path / "out", "-q").code == 0
    skipped = {s["file"]: s["reason"] for s in read_report(tmp_path / "out.report")["skipped"]}
    assert "not a regular file" in skipped["pipe.txt"]


def test_write_error_leaves_no_partial_file(tmp_path):
    import resource

    src = tmp_path / "in"
    good_corpus(src)
    write(src, "big.txt", "\n".join(prose(i, 4) for i in range(400)) + "\n")  # ~200 KB out

    def small_files() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))

    r = run_clean(src, tmp_path / "out", "-q", "--report", tmp_path / "rep", preexec=small_files)
    assert r.returncode == 1, r.stderr
    assert "big.txt" in r.stderr and "cannot write" in r.stderr
    assert not (tmp_path / "out/big.txt").exists()
    assert not [p for p in (tmp_path / "out").rglob("*") if ".cleaner-tmp" in p.name]
    assert_good_files_cleaned(tmp_path / "out")


# --- interruptions ------------------------------------------------------------------------

def _kill_corpus(src: Path) -> None:
    for f in range(16):
        recs = [json.dumps({"id": f"{f}-{i}", "text": "\n".join(prose(1000 * f + 10 * i + k, 3) for k in range(4))})
                for i in range(30)]
        recs.append(json.dumps({"id": f"{f}-dup", "text": "\n".join(prose(1000 * f + k, 3) for k in range(4))}))
        write(src, f"part-{f:02d}.jsonl", "\n".join(recs) + "\n")
    for f in range(16):
        write(src, f"txt/{f:02d}.txt", "\n".join(prose(50_000 + 10 * f + k, 3) for k in range(6)) + "\nAdvertisement\n")


def test_kill_9_at_any_moment_then_the_same_command_gives_the_same_output(tmp_path):
    src = tmp_path / "in"
    _kill_corpus(src)
    ref = tmp_path / "ref"
    t0 = time.monotonic()
    r = run_clean(src, ref, "-q")
    full = time.monotonic() - t0
    assert r.returncode == 0, r.stderr
    expected = tree_bytes(ref)
    for k, frac in enumerate((0.15, 0.35, 0.55, 0.75, 0.95)):
        out = tmp_path / f"out{k}"
        kill_9_after([str(src), str(out), "-q"], full * frac)
        r = run_clean(src, out, "-q")
        assert r.returncode == 0, (frac, r.stderr)
        assert tree_bytes(out) == expected, frac
        assert (out.parent / f"{out.name}.report/removed.jsonl").read_bytes() == \
            (tmp_path / "ref.report/removed.jsonl").read_bytes()


def test_ctrl_c_stops_cleanly_and_says_what_was_finished(tmp_path):
    src = tmp_path / "in"
    _kill_corpus(src)
    write(src, "zz-slow.txt", "SLOWDOC " + prose(7, 3) + "\n")  # the run stays busy on it (fault injection)
    out = tmp_path / "out"
    p = subprocess.Popen([sys.executable, "-m", "cleaner", str(src), str(out), "--workers", "2", "--doc-timeout", "120"],
                         start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env={**os.environ, **fault_env("slow:SLOWDOC")})
    time.sleep(1.5)
    os.killpg(p.pid, signal.SIGINT)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 130, err
    assert "interrupted during" in err and "run the same command again" in err
    assert not [q for q in tmp_path.rglob("*") if ".cleaner-tmp" in q.name]
    r = run_clean(src, out, "-q")
    assert r.returncode == 0, r.stderr


def test_disk_full_while_writing_an_output_file(tmp_path, monkeypatch):
    import os

    import cleaner.writers
    from cleaner.pipeline import clean_corpus

    src = tmp_path / "in"
    good_corpus(src)
    write(src, "big.txt", "\n".join(prose(i, 4) for i in range(400)) + "\n")
    real = cleaner.writers._write_all

    def filling(fd, data):  # the disk fills up 50 KB into the one large file
        if len(data) > 50_000:
            os.write(fd, data[:50_000])
            raise OSError(28, "No space left on device")
        real(fd, data)

    monkeypatch.setattr(cleaner.writers, "_write_all", filling)
    rep = clean_corpus(src, tmp_path / "out", workers=0)
    assert len(rep.errors) == 1 and rep.errors[0].startswith("big.txt: cannot write")
    assert "No space left on device" in rep.errors[0] and "no partial file" in rep.errors[0]
    assert not (tmp_path / "out/big.txt").exists()
    assert not [p for p in tmp_path.rglob("*") if ".cleaner-tmp" in p.name]
    assert_good_files_cleaned(tmp_path / "out")
