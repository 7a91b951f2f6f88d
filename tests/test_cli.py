"""Command-line behaviour: arguments, refusals, exit codes, the report."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import ARTICLE, prose, read_audit, read_report, write


def corpus(tmp_path):
    src = tmp_path / "in"
    write(src, "a.txt", "\n".join(ARTICLE + ["Advertisement", "Log in or register to post comments"]))
    write(src, "b/c.txt", "\n".join(ARTICLE[1:3]) + "\n" + "A different closing paragraph that only this "
          "document has, so that the two files are not near-duplicates of each other at all.")
    return src


def test_help_is_fast_and_does_not_import_heavy_modules():
    code = ("import sys\nfrom cleaner.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('datasketch', 'scipy', 'numpy', 'trafilatura', 'lxml', 'fsspec', 's3fs', 'botocore') if m in sys.modules]\n"
            "print('HEAVY', heavy)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "Usage:" in out and "HEAVY []" in out


def test_python_dash_m_runs_the_command(tmp_path):
    src = corpus(tmp_path)
    r = subprocess.run([sys.executable, "-m", "cleaner", str(src), str(tmp_path / "out"), "-q"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out/b/c.txt").exists()


def test_report_goes_next_to_output_and_output_holds_corpus_only(cli, tmp_path):
    src = corpus(tmp_path)
    assert cli(src, tmp_path / "out", "-q").code == 0
    files = sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*"))
    assert files == ["a.txt", "b", "b/c.txt"]
    rep = read_report(tmp_path / "out.report")
    assert rep["ok"] is True
    assert rep["documents"] == {"read": 2, "kept": 2, "removed": {}, "warc_records_not_documents": {}}
    assert rep["paragraphs"]["removed"] == {"advertisement": 1, "comment-prompt": 1,
                                            "corpus-duplicate-paragraph": 2}
    assert rep["paragraphs"]["read"] == rep["paragraphs"]["kept"] + 4
    assert {r["file"] for r in rep["per_file"]} == {"a.txt", "b/c.txt"}
    assert set(rep["timings"]) >= {"map", "reduce", "write", "total"}
    # b/c.txt decided again once its corpus-wide repeats went: a stage of its own, not "write"
    assert {"strip", "settle", "write"} <= set(rep["timings"]["stages_cpu"])
    audit = read_audit(tmp_path / "out.report")
    assert {(a["file"], a["line"], a["reason"]) for a in audit} == {
        ("a.txt", 8, "advertisement"), ("a.txt", 9, "comment-prompt"),
        ("b/c.txt", 1, "corpus-duplicate-paragraph"), ("b/c.txt", 2, "corpus-duplicate-paragraph")}
    assert all(a["text"] for a in audit)


def test_report_option_and_summary_on_stderr(cli, tmp_path):
    src = corpus(tmp_path)
    r = cli(src, tmp_path / "out", "--report", tmp_path / "rep")
    assert r.code == 0
    assert "paragraphs" in r.err and "advertisement" in r.err and r.out == ""
    assert (tmp_path / "rep/report.json").exists() and (tmp_path / "rep/removed.jsonl").exists()
    assert not (tmp_path / "out.report").exists()


def test_quiet_prints_nothing(cli, tmp_path):
    r = cli(corpus(tmp_path), tmp_path / "out", "--quiet")
    assert (r.code, r.out, r.err) == (0, "", "")


def test_output_inside_input_is_refused(cli, tmp_path):
    src = corpus(tmp_path)
    r = cli(src, src / "out")
    assert r.code == 2 and r.err.count("\n") == 1 and "inside input" in r.err
    assert not (src / "out").exists()


def test_report_inside_output_or_input_is_refused(cli, tmp_path):
    src = corpus(tmp_path)
    assert cli(src, tmp_path / "out", "--report", tmp_path / "out/rep").code == 2
    assert cli(src, tmp_path / "out", "--report", src / "rep").code == 2


def test_non_empty_output_needs_overwrite(cli, tmp_path):
    src = corpus(tmp_path)
    write(tmp_path / "out", "old.txt", "x")
    r = cli(src, tmp_path / "out")
    assert r.code == 2 and "not empty" in r.err and "--overwrite" in r.err
    assert cli(src, tmp_path / "out", "-q", "--overwrite").code == 0
    assert (tmp_path / "out/a.txt").exists()


def test_overwrite_removes_outputs_of_the_previous_run_that_are_gone(cli, tmp_path):
    src = corpus(tmp_path)
    assert cli(src, tmp_path / "out", "-q").code == 0
    (src / "b/c.txt").unlink()
    assert cli(src, tmp_path / "out", "-q", "--overwrite").code == 0
    assert sorted(p.name for p in (tmp_path / "out").rglob("*.txt")) == ["a.txt"]


def test_bad_arguments_exit_2_with_one_line(cli, tmp_path):
    src = corpus(tmp_path)
    for args in ([src], [src, tmp_path / "o", "--threshold", "1.5"], [src, tmp_path / "o", "--workers", "-1"],
                 [src, tmp_path / "o", "--keep", "last"], [src, tmp_path / "o", "--no-such-flag"],
                 [tmp_path / "missing", tmp_path / "o"], [src / "a.txt", tmp_path / "o"],
                 [src, tmp_path / "o", "--rules", tmp_path / "none.toml"],
                 [src, tmp_path / "o", "--encoding", "klingon"]):
        r = cli(*args)
        assert r.code == 2, args
        assert r.err.startswith("clean: error: ") and r.err.count("\n") == 1, r.err


def test_bad_rule_files_are_refused_before_the_run_and_good_ones_apply(cli, tmp_path):
    # the up-front check compiles the user's files only (the shipped ones: test below); it
    # must still refuse what the workers' full build would refuse
    src = corpus(tmp_path)
    cases = {
        "bad regex": ('[[rule]]\nname = "mine"\nreason = "promo"\npattern = "(unclosed"\n', "bad pattern"),
        "name clash": ('[[rule]]\nname = "ad-label"\nreason = "promo"\npattern = "x"\n', "already defined in the shipped rules"),
        "not toml": ('[[rule]\n', "not valid TOML"),
        "bad reason": ('[[rule]]\nreason = "Promo Code"\npattern = "x"\n', "reason"),
    }
    for name, (text, msg) in cases.items():
        f = write(tmp_path, f"{name}.toml", text)
        r = cli(src, tmp_path / "o", "--rules", f)
        assert r.code == 2 and msg in r.err and f.name in r.err, (name, r.err)
        assert not (tmp_path / "o").exists()
    f = write(tmp_path, "good.toml", '[[rule]]\nname = "closing"\nreason = "promo"\npattern = "different closing"\n')
    assert cli(src, tmp_path / "o", "-q", "--rules", f).code == 0
    assert any(r["detail"] == "rule closing" for r in read_audit(tmp_path / "o.report"))


def test_shipped_rules_build():
    from cleaner.rules import RuleSet, _default_names, default_rules

    rules = RuleSet.build().rules
    assert [r.name for r in rules] == list(_default_names()) and len(rules) > 20
    assert all(r.compiled.pattern == r.pattern for r in default_rules())


def test_unreadable_file_is_reported_run_goes_on_exit_1(cli, tmp_path):
    src = corpus(tmp_path)
    write(src, "bad.txt", b"caf\xe9 au lait\nsecond line\n")
    r = cli(src, tmp_path / "out")
    assert r.code == 1
    assert "bad.txt:1" in r.err and "UTF-8" in r.err
    assert (tmp_path / "out/a.txt").exists() and (tmp_path / "out/b/c.txt").exists()
    assert not (tmp_path / "out/bad.txt").exists()
    rep = read_report(tmp_path / "out.report")
    assert rep["ok"] is False and rep["files"]["failed"] == 1
    assert any(e.startswith("bad.txt:1: not valid UTF-8") for e in rep["errors"])


def test_encoding_option_reads_legacy_text(cli, tmp_path):
    src = tmp_path / "in"
    write(src, "latin.txt", ("\n".join(ARTICLE[:3]) + "\nThe café on the corner said that it would stay open "
                             "during the works, and its owner told reporters that she was glad of it.\n"
                             + "\n".join(ARTICLE[3:])).encode("latin-1"))
    assert cli(src, tmp_path / "out", "-q", "--encoding", "latin-1").code == 0
    assert "café" in (tmp_path / "out/latin.txt").read_text(encoding="utf-8")


def test_explain_shows_each_paragraph_with_decision(cli, tmp_path):
    src = corpus(tmp_path)
    r = cli("--explain", src / "a.txt")
    assert r.code == 0
    lines = r.out.splitlines()
    assert "7 of 9 paragraphs kept" in lines[0]
    assert any(line.startswith("L8") and "DROP" in line and "advertisement" in line for line in lines)
    assert any(line.startswith("L2") and "keep" in line for line in lines)
    assert "\x1b[" not in r.out  # plain when not a terminal


def test_explain_says_why_a_line_below_the_threshold_stays(cli, tmp_path):
    """The model doubts a one-line record, which stays (a document is not emptied on doubt
    alone): --explain says so rather than show a keep under the threshold unexplained."""
    p = write(tmp_path, "title.txt", b"There are\n")
    r = cli("--explain", p)
    assert r.code == 0 and "1 of 1 paragraphs kept" in r.out
    assert "kept below the threshold" in r.out
    r = cli("--explain", src := corpus(tmp_path) / "a.txt")
    assert r.code == 0 and "kept below the threshold" not in r.out, src


def test_explain_bad_file_is_a_clear_error(cli, tmp_path):
    p = write(tmp_path, "x.txt", b"\xff\xfe\x00bad")
    r = cli("--explain", tmp_path / "nope.txt")
    assert r.code == 1 and "nope.txt" in r.err
    # an option right after --explain is taken for its FILE: the error says how to call it
    r = cli("--explain", "--no-dedup", p)
    assert r.code == 1 and "--explain takes the file right after it" in r.err
    r = cli("--explain", p)
    assert r.code in (0, 1)


def test_explain_skips_a_bad_record_and_explains_the_rest(cli, tmp_path):
    """As `clean` does: the bad record is an error naming its line, the others are explained."""
    p = write(tmp_path, "x.jsonl", "\n".join([json.dumps({"id": "a", "text": ARTICLE[1]}), "not json",
                                              json.dumps({"id": "c", "text": ARTICLE[2]})]) + "\n")
    r = cli("--explain", p)
    assert r.code == 1
    assert "x.jsonl:2:" in r.err and "invalid JSON" in r.err
    heads = [line.split()[0] for line in r.out.splitlines() if "paragraphs kept" in line]
    assert heads == ["a", "c"]


def test_workers_1_and_2_give_the_same_bytes(cli, tmp_path):
    src = corpus(tmp_path)
    for i in range(6):
        write(src, f"more/{i}.txt", "\n".join([prose(i), ARTICLE[2 + i % 4], prose(100 + i), "Advertisement"]))
    assert cli(src, tmp_path / "o1", "-q", "--workers", "1").code == 0
    assert cli(src, tmp_path / "o2", "-q", "--workers", "2").code == 0
    a = {p.relative_to(tmp_path / "o1"): p.read_bytes() for p in (tmp_path / "o1").rglob("*") if p.is_file()}
    b = {p.relative_to(tmp_path / "o2"): p.read_bytes() for p in (tmp_path / "o2").rglob("*") if p.is_file()}
    assert a == b and len(a) >= 3
    assert (tmp_path / "o1.report/removed.jsonl").read_bytes() == (tmp_path / "o2.report/removed.jsonl").read_bytes()
