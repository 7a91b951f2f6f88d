"""Shared helpers: run the CLI in-process, build small corpora in tmp dirs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from cleaner.cli import main

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "fixtures" / "seeds"


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys):
    """Run `clean ARGS...` in this process; returns exit code, stdout, stderr."""

    def run(*args: object) -> CliResult:
        capsys.readouterr()
        code = main([str(a) for a in args])
        cap = capsys.readouterr()
        return CliResult(code, cap.out, cap.err)

    return run


def write(root: Path, rel: str, content: str | bytes) -> Path:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        p.write_bytes(content)
    else:
        p.write_text(content, encoding="utf-8")
    return p


def read_audit(report_dir: Path) -> list[dict]:
    text = (report_dir / "removed.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def read_report(report_dir: Path) -> dict:
    return json.loads((report_dir / "report.json").read_text(encoding="utf-8"))


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


ARTICLE = [
    "City council approves plan to rebuild the old harbour bridge",
    "The city council voted on Tuesday to rebuild the harbour bridge, which has been closed to heavy traffic since "
    "engineers found cracks in two of its supports last spring.",
    "The plan, which will cost about 40 million euros, was approved by a large majority after a debate that lasted "
    "most of the evening and drew a crowd of residents to the town hall.",
    "Construction Timeline",
    "Work is expected to begin in the autumn and to last two years, during which a temporary ferry will carry "
    "pedestrians and cyclists across the harbour at no charge.",
    "Residents who live near the bridge said they were relieved that a decision had finally been made, although some "
    "worried about the noise and the dust that the work will bring to their street.",
    "The mayor said the council would publish the full schedule of the works and hold a public meeting in each of "
    "the neighbourhoods that will be affected by the closures.",
]

_NOUNS = ("council harbour bridge ferry mayor residents budget school teacher river market farmer museum library "
          "station train driver weather storm garden festival hospital nurse factory worker village road").split()
_VERBS = "approved delayed opened closed visited repaired praised questioned funded moved".split()
_ADJ = "old new small large busy quiet local public early late".split()


def prose(seed: int, sentences: int = 3) -> str:
    """A deterministic paragraph of plain English-like prose, different for each seed."""
    import random

    rnd = random.Random(seed)
    out = []
    for _ in range(sentences):
        out.append(f"The {rnd.choice(_ADJ)} {rnd.choice(_NOUNS)} {rnd.choice(_VERBS)} the {rnd.choice(_NOUNS)} "
                   f"on {rnd.choice(['Monday', 'Tuesday', 'Friday'])}, and it was said that the "
                   f"{rnd.choice(_NOUNS)} would be {rnd.choice(_VERBS)} by the {rnd.choice(_NOUNS)} "
                   f"before the end of the {rnd.choice(['year', 'month', 'week'])} number {rnd.randint(1, 999)}.")
    return " ".join(out)
