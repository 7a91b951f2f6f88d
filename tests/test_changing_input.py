"""Input that changes during the run (a file deleted, replaced or rewritten between discovery and
reading, while it is read, or before a Parquet file is written again): reported per file, the
rest is cleaned, never a traceback. The changes are made from hooks in this process (--workers 0)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import ARTICLE, prose, write

import cleaner.run.run as run_module
from cleaner.pipeline import clean_corpus

GOOD = "\n".join(ARTICLE) + "\n"


def corpus(src: Path) -> None:
    write(src, "good.txt", GOOD)
    write(src, "victim.txt", prose(1, 4) + "\n")
    write(src, "rows.jsonl", "".join(json.dumps({"id": f"r{i}", "text": prose(10 + i, 3)}) + "\n" for i in range(40)))


def before_reading(monkeypatch, change) -> None:
    """Run `change` once the files are found and planned, before any is read."""
    real = run_module.plan_map_tasks

    def plan(*args, **kw):
        change()
        return real(*args, **kw)

    monkeypatch.setattr(run_module, "plan_map_tasks", plan)


def errors_for(rep, name: str) -> list[str]:
    return [e for e in rep.errors if e.startswith(name)]


@pytest.mark.parametrize("how, says", [
    ("deleted", "the file is gone (deleted or renamed since the run found it)"),
    ("fifo", "no longer a regular file (replaced since the run found it)"),
    ("directory", "no longer a regular file (replaced since the run found it)"),
])
def test_a_file_gone_or_replaced_before_it_is_read(tmp_path, monkeypatch, how, says):
    src = tmp_path / "in"
    corpus(src)
    victim = src / "victim.txt"

    def change() -> None:
        victim.unlink()
        if how == "fifo":
            os.mkfifo(victim)  # open() of a FIFO without a writer would wait for ever
        elif how == "directory":
            victim.mkdir()

    before_reading(monkeypatch, change)
    rep = clean_corpus(src, tmp_path / "out", workers=0)
    assert rep.errors == [f"victim.txt: cannot read: {says} (file skipped)"]
    assert (tmp_path / "out/good.txt").read_text(encoding="utf-8") == GOOD
    assert (tmp_path / "out/rows.jsonl").exists()


def test_a_file_rewritten_after_it_was_split_into_parts(tmp_path, monkeypatch):
    import cleaner.readers

    src = tmp_path / "in"
    corpus(src)
    monkeypatch.setattr(cleaner.readers, "PART_BYTES", 2000)  # rows.jsonl (~8 KB) in parts
    rows = src / "rows.jsonl"

    def rewrite() -> None:  # the same file, other lines: the parts' byte ranges no longer fit it
        rows.write_text("".join(json.dumps({"id": f"new{i}", "text": prose(90 + i, 2)}) + "\n" for i in range(60)))

    before_reading(monkeypatch, rewrite)
    rep = clean_corpus(src, tmp_path / "out", workers=0)
    mine = errors_for(rep, "rows.jsonl")
    assert mine and all("changed since the run split it into parts" in e for e in mine), rep.errors
    assert not (tmp_path / "out/rows.jsonl").exists()  # a file with a failed part is not written
    assert (tmp_path / "out/good.txt").read_text(encoding="utf-8") == GOOD


def test_a_file_that_changes_while_it_is_read(tmp_path, monkeypatch):
    from cleaner.document_cleaner import DocumentCleaner

    src = tmp_path / "in"
    corpus(src)
    rows = src / "rows.jsonl"
    real = DocumentCleaner.extract
    done = []

    def extract(self, doc):  # while the reader is between two records of rows.jsonl
        if doc.source == "rows.jsonl" and not done:
            done.append(1)
            with open(rows, "a", encoding="utf-8") as fh:
                fh.write(json.dumps({"id": "late", "text": prose(77, 3)}) + "\n")
        return real(self, doc)

    monkeypatch.setattr(DocumentCleaner, "extract", extract)
    rep = clean_corpus(src, tmp_path / "out", workers=0)
    mine = errors_for(rep, "rows.jsonl")
    assert len(mine) == 1 and "changed while it was being read" in mine[0] and "after line" in mine[0], rep.errors
    assert (tmp_path / "out/good.txt").read_text(encoding="utf-8") == GOOD


def test_a_parquet_file_rewritten_before_it_is_written_again(tmp_path, monkeypatch):
    """The write phase reads a Parquet input again (to keep every column's type): a file that
    changed since it was read is reported and not written, instead of writing other rows."""
    src = tmp_path / "in"
    corpus(src)
    table = pa.table({"id": [f"p{i}" for i in range(6)], "text": [prose(50 + i, 3) for i in range(6)]})
    pq.write_table(table, src / "t.parquet")
    real = run_module.reduce

    def reduce(*args, **kw):  # between reading and writing
        pq.write_table(table.slice(0, 2), src / "t.parquet")
        return real(*args, **kw)

    monkeypatch.setattr(run_module, "reduce", reduce)
    rep = clean_corpus(src, tmp_path / "out", workers=0)
    assert errors_for(rep, "t.parquet") == ["t.parquet: changed after it was read (its size or modification time); "
                                            "not written: run again to clean it as it is now"]
    assert not (tmp_path / "out/t.parquet").exists()
    assert (tmp_path / "out/good.txt").read_text(encoding="utf-8") == GOOD
