"""The benchmark and training scripts import what they use from cleaner: a name renamed or
removed in the library breaks `make train` / `make bench-*` long after the tests pass (session
11 removed `document.split_paragraphs`, which bench/textdata.py still imported)."""

from __future__ import annotations

import importlib
import sys

import pytest
from conftest import ROOT

BENCH = ROOT / "bench"
SCRIPTS = sorted([*BENCH.glob("*.py"), *BENCH.glob("multilingual/*.py")])


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: str(p.relative_to(BENCH)))
def test_a_bench_script_imports(path, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    name = ".".join(path.relative_to(BENCH).with_suffix("").parts)
    try:
        importlib.import_module(name)
    except ModuleNotFoundError as e:
        # a tool of the bench extra (datatrove, readability, ...) that this install lacks
        if e.name and e.name.split(".")[0] not in {"cleaner", *(p.stem for p in SCRIPTS), "multilingual"}:
            pytest.skip(f"needs {e.name} (pip install -e '.[bench]')")
        raise
    finally:
        for mod in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
            del sys.modules[mod]
