"""One document, three ways in (`clean`, `Cleaner.clean_text`, `clean explain`): the same decisions."""

from __future__ import annotations

import re

from conftest import prose, read_audit, write


def _document() -> str:
    # Boilerplate, and a paragraph repeated inside the document: once the repeats go, the
    # context of the line after them changes and the final settle drops it (an old API
    # path that skipped that settle kept it).
    rep = prose(31, 2)
    return "\n".join([prose(28, 1), "Comments (3)", prose(29, 2), prose(30, 1), "Share this article",
                      "Share this article", rep, rep, rep, prose(32, 1), "Read more"])


_ROW = re.compile(r"^L(\d+)\s+(keep|DROP)\b(.*)$")


def _explained(out: str) -> tuple[list[int], list[tuple[int, str]]]:
    kept, removed = [], []
    for line in out.splitlines():
        m = _ROW.match(line)
        if not m:
            continue
        if m.group(2) == "keep":
            kept.append(int(m.group(1)))
        else:  # the reason is the first word after the features (name=value words)
            reason = next(w for w in m.group(3).split() if "=" not in w)
            removed.append((int(m.group(1)), reason))
    return kept, removed


def test_clean_cleaner_and_explain_decide_alike(cli, tmp_path):
    from cleaner import Cleaner

    text = _document()
    src = write(tmp_path / "in", "a.txt", text + "\n")
    lines = text.split("\n")
    assert cli(tmp_path / "in", tmp_path / "out", "-q", "--workers", "0").code == 0
    via_clean = [(a["line"], a["reason"]) for a in read_audit(tmp_path / "out.report") if a["level"] == "paragraph"]
    kept_clean = (tmp_path / "out/a.txt").read_text().splitlines()
    assert ("duplicate-paragraph" in {r for _, r in via_clean}
            and len({r for _, r in via_clean}) >= 3 and kept_clean)

    r = Cleaner().clean_text(text)
    assert [(x.line, x.reason) for x in r.removed] == via_clean
    assert r.kept == kept_clean

    for args in (("explain", src), ("--explain", src)):
        res = cli(*args)
        assert res.code == 0, res.err
        kept_lines, removed = _explained(res.out)
        assert removed == via_clean
        assert [lines[n - 1] for n in kept_lines] == kept_clean


def test_the_audit_says_when_a_repeats_first_copy_went_too():
    """A repeat names its first copy as twin; when that copy was removed as well (the decision
    made again without the repeats can drop it), the twin says so: no copy is in the output."""
    from cleaner.document import Document, Drop
    from cleaner.document_cleaner import Decision
    from cleaner.run.tasks import WriteResult
    from cleaner.run.write import _final

    doc = Document("d.txt", "d.txt", ["Intro", "Stop overpaying today", "Body", "Stop overpaying today"], [1, 2, 4, 5])
    dup = Drop("duplicate-paragraph", "same as line 2", twin="d.txt", twin_line=2, twin_file="d.txt")
    audit: list = []
    kept = _final(doc, Decision({1: Drop("low-content", "score 0.1 < 0.2"), 3: dup}, [0, 2]), None,
                  WriteResult(0), audit)
    assert kept == [0, 2]
    assert [a.get("twin") for a in audit] == [None, {"id": "d.txt", "file": "d.txt", "line": 2,
                                                     "removed": "low-content"}]
    audit = []
    _final(doc, Decision({3: dup}, [0, 1, 2]), None, WriteResult(0), audit)
    assert audit[0]["twin"] == {"id": "d.txt", "file": "d.txt", "line": 2}
