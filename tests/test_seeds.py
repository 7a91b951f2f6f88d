"""The seed articles come out exactly as hand-labelled (the same scoring as check_seeds.py)."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import SEEDS, read_report, tree_bytes


def norm(s: str) -> str:
    return " ".join(s.split())


def score(out_dir: Path, seeds: Path = SEEDS) -> tuple[int, int, int, int, list[str]]:
    """(true keeps, wrongly kept, wrongly dropped, altered lines, messages) against labels.json."""
    labels = json.loads((seeds / "labels.json").read_text())
    tp = fp = fn = altered = 0
    msgs = []
    for name, lab in sorted(labels.items()):
        src = (seeds / name).read_text(encoding="utf-8").split("\n")
        keep = set(lab["keep"])
        drop = {int(k): v for k, v in lab["drop"].items()}
        out_path = out_dir / name
        if not out_path.exists():
            fn += len(keep)
            msgs.append(f"{name}: missing")
            continue
        out = [norm(x) for x in out_path.read_text(encoding="utf-8").split("\n") if x.strip()]
        pos, kept = 0, []
        for line in out:
            j = pos
            while j < len(src) and norm(src[j]) != line:
                j += 1
            if j == len(src):
                altered += 1
                msgs.append(f"{name}: altered {line[:60]!r}")
                continue
            kept.append(j + 1)
            pos = j + 1
        ks = set(kept)
        tp += len(keep & ks)
        wrong_kept = [n for n in kept if n in drop]
        wrong_dropped = sorted(keep - ks)
        fp += len(wrong_kept)
        fn += len(wrong_dropped)
        msgs += [f"{name}: kept L{n} [{drop[n]}]" for n in wrong_kept]
        msgs += [f"{name}: dropped L{n}" for n in wrong_dropped]
    return tp, fp, fn, altered, msgs


def test_seeds_precision_and_recall_are_one(cli, tmp_path):
    out = tmp_path / "out"
    r = cli(SEEDS, out, "--quiet")
    assert r.code == 0, r.err
    tp, fp, fn, altered, msgs = score(out)
    assert (fp, fn, altered) == (0, 0, 0), msgs
    assert tp == sum(len(v["keep"]) for v in json.loads((SEEDS / "labels.json").read_text()).values())


def test_seed_scoring_can_fail(tmp_path):
    """The scorer notices a kept boilerplate line and a dropped article line."""
    out = tmp_path / "out"
    out.mkdir()
    for p in SEEDS.glob("*.txt"):
        (out / p.name).write_text(p.read_text(encoding="utf-8"), encoding="utf-8")
    _, fp, fn, _, _ = score(out)
    assert fp > 0
    (out / "000_39415d093c4ebce8.txt").write_text("", encoding="utf-8")
    _, _, fn, _, _ = score(out)
    assert fn == 24


def test_labels_file_is_listed_as_skipped_not_silently(cli, tmp_path):
    out = tmp_path / "out"
    cli(SEEDS, out, "--quiet")
    rep = read_report(tmp_path / "out.report")
    assert {"file": "labels.json", "reason": "unsupported file type"} in rep["skipped"]


def test_twice_gives_identical_bytes_and_cleaning_again_changes_nothing(cli, tmp_path):
    a, b, again = tmp_path / "a", tmp_path / "b", tmp_path / "again"
    assert cli(SEEDS, a, "-q").code == 0
    assert cli(SEEDS, b, "-q", "--workers", "1").code == 0
    assert tree_bytes(a) == tree_bytes(b)
    assert cli(a, again, "-q").code == 0
    assert tree_bytes(again) == tree_bytes(a)
    rep = read_report(tmp_path / "again.report")
    assert rep["paragraphs"]["removed"] == {} and rep["documents"]["removed"] == {}
