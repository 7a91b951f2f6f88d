"""How a run batches its work: many small files per task, large files and parts alone."""

from __future__ import annotations

from conftest import prose, read_report, tree_bytes, write


def test_small_files_are_batched_and_large_ones_go_alone():
    from cleaner.config import Config
    from cleaner.readers import InputFile, Part
    from cleaner.run.tasks import TASK_BYTES, TASK_FILES, Unit, plan_map_tasks

    f = InputFile("a.txt", "a.txt", "text", None, "a.txt")
    units = [Unit(i, i, f) for i in range(TASK_FILES + 10)] + [Unit(TASK_FILES + 10, 0, f, Part(0, 5, 1))]
    sizes = [100] * (TASK_FILES + 10) + [TASK_BYTES]
    sizes[5] = TASK_BYTES + 1  # a large file in the middle of small ones
    tasks = plan_map_tasks(units, sizes, Config(), "/w")
    assert [len(t.units) for t in tasks] == [5, 1, TASK_FILES, 4, 1]
    assert [u.index for t in tasks for u in t.units] == list(range(len(units)))
    assert len({t.spill for t in tasks}) == len(tasks)


def test_a_batch_gives_the_bytes_of_one_task_per_file(cli, tmp_path, monkeypatch):
    import cleaner.run.tasks

    src = tmp_path / "in"
    for i in range(40):
        write(src, f"d/{i:02d}.txt", "\n".join([prose(i % 13, 3), prose(100 + i, 2), "Advertisement"]) + "\n")
    assert cli(src, tmp_path / "batched", "-q").code == 0
    monkeypatch.setattr(cleaner.run.tasks, "TASK_FILES", 1)
    assert cli(src, tmp_path / "alone", "-q", "--workers", "0").code == 0
    assert tree_bytes(tmp_path / "batched") == tree_bytes(tmp_path / "alone")
    assert (tmp_path / "batched.report/removed.jsonl").read_bytes() == \
        (tmp_path / "alone.report/removed.jsonl").read_bytes()
    assert read_report(tmp_path / "batched.report")["per_file"] == read_report(tmp_path / "alone.report")["per_file"]


def test_files_of_a_new_folder_are_staged_and_appear_with_one_rename(tmp_path):
    import os

    from cleaner.writers import Staging, atomic_writer, remove_stale_temp

    out = tmp_path / "out"
    out.mkdir()
    (out / "old").mkdir()
    st = Staging()
    for name in ("new/a.txt", "new/b.txt", "old/c.txt", "deep/er/d.txt"):
        with atomic_writer(st.place(str(out / name))) as fh:
            fh.write(name.encode())
    # nothing under a final name before the commit, except what went into a folder that exists
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.txt") if ".cleaner-tmp" not in str(p)) \
        == ["old/c.txt"]
    assert st.commit() == {}
    assert {p.relative_to(out).as_posix(): p.read_text() for p in out.rglob("*.txt")} == \
        {n: n for n in ("new/a.txt", "new/b.txt", "old/c.txt", "deep/er/d.txt")}
    assert not [p for p in out.rglob("*") if ".cleaner-tmp" in p.name]
    # a folder another task made meanwhile: the files go in one by one; one that cannot is reported
    st = Staging()
    for name in ("late/x.txt", "late/y.txt"):
        with atomic_writer(st.place(str(out / name))) as fh:
            fh.write(b"new")
    (out / "late").mkdir()
    (out / "late/x.txt").write_text("other")
    (out / "late/y.txt").mkdir()  # in the way
    failed = st.commit()
    assert list(failed) == [os.path.join(str(out), "late", "y.txt")]
    assert (out / "late/x.txt").read_text() == "new"
    assert not [p for p in out.rglob("*") if ".cleaner-tmp" in p.name]
    # staged files left by a killed run are not outputs: the next run removes them
    st = Staging()
    with atomic_writer(st.place(str(out / "killed/z.txt"))) as fh:
        fh.write(b"z")
    assert remove_stale_temp(out) == 1
    assert not (out / "killed").exists() and not [p for p in out.rglob("*") if ".cleaner-tmp" in p.name]
