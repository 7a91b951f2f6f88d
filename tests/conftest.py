"""Shared helpers: run the CLI in-process, build small corpora in tmp dirs."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from cleaner.cli import main

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "fixtures" / "seeds"


def pytest_sessionstart(session: pytest.Session) -> None:
    # CI sets this: there the compiled kernels must have been built, so that the tests
    # comparing them with their numpy twins run instead of being skipped.
    if os.environ.get("CLEANER_REQUIRE_SPEEDUPS"):
        from cleaner import minhash, textfeat

        for name, mod in (("_speedups", minhash._speedups), ("_textstats", textfeat._kernels())):
            if mod is None:
                raise pytest.UsageError(f"CLEANER_REQUIRE_SPEEDUPS is set but cleaner.{name} was not built "
                                        "(a C compiler and Python headers are needed: see `make install`)")


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


def fault_env(fault: str) -> dict[str, str]:
    """Environment for a `clean` subprocess that fails on purpose (tests/faults/sitecustomize.py)."""
    # ROOT too: sitecustomize imports cleaner before the working folder is on sys.path, so without
    # it a checkout other than the installed one (a git worktree) would test the installed code
    path = [str(ROOT / "tests" / "faults"), str(ROOT)] + \
        ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else [])
    return {"CLEANER_FAULT": fault, "PYTHONPATH": os.pathsep.join(path)}


def kill_9_after(args: list[str], seconds: float, env: dict[str, str] | None = None,
                 until: Callable[[], bool] | None = None) -> int:
    """Start `clean ARGS` and kill -9 it (with its workers) after `seconds`, or as soon as
    until() holds (looked at every 20 ms, for `seconds` at most); its exit code (-9: killed)."""
    import signal
    import subprocess
    import sys
    import time

    p = subprocess.Popen([sys.executable, "-m", "cleaner", *args], start_new_session=True,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    if until is None:
        time.sleep(seconds)
    else:
        end = time.monotonic() + seconds
        while time.monotonic() < end and p.poll() is None and not until():
            time.sleep(0.02)
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    return p.wait()


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

_SYLLABLES = ("ka", "lo", "mer", "ta", "vin", "sol", "de", "ran", "bu", "phi", "or", "el", "tas", "nor", "qui",
              "sa", "ber", "go", "lum", "tri")
_CONTENT = sorted({a + b + c for a in _SYLLABLES for b in _SYLLABLES for c in ("", "s", "ed", "ing", "ly")})
_FUNCTION = ("the of and to in a is that for it as was with be by on not he this are or his from at which but "
             "have an they you were her she there one all we their would said will been when who more").split()


def prose(seed: int, sentences: int = 3) -> str:
    """A deterministic paragraph of English-like prose: real function words (about
    half the words, as in news text) and made-up content words. Seeds in the same
    block of ten share a topic (a vocabulary of 60 content words), like the
    paragraphs of one article; two different seeds share almost no word 3-grams."""
    import random

    topic = random.Random(seed // 10).sample(_CONTENT, 60)
    rnd = random.Random(seed)
    out = []
    for _ in range(sentences):
        n = rnd.randint(12, 22)
        words = [rnd.choice(_FUNCTION) if rnd.random() < 0.5 else rnd.choice(topic) for _ in range(n)]
        out.append(" ".join(words).capitalize() + ".")
    return " ".join(out)
