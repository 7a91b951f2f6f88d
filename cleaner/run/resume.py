"""--resume without a flag: a run repeated with the same command picks up the map tasks whose
spills are complete, and a run into a folder removes what an earlier run wrote there and
this one did not."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .. import __version__, storage
from ..config import Config
from ..document import ItemError
from ..escape import printable
from .tasks import MapResult, MapTask, load_result


def is_inside(child: Path, parent: Path) -> bool:
    if storage.is_url(child) or storage.is_url(parent):
        return storage.is_inside(child, parent)
    try:
        child.resolve().relative_to(parent.resolve())
        return True
    except ValueError:
        return False


def identity(cfg: Config, input: Path, output: Path) -> dict[str, Any]:
    """What makes two runs the same command (written to the work folder and the report)."""
    return {"version": __version__, "fingerprint": cfg.fingerprint(),
            "input": str(input.resolve()), "output": str(output.resolve())}


def resumable(ident: dict[str, Any], work: Path, report_dir: Path) -> bool:
    """The work folder (or the last report) belongs to this same command."""
    for p in (work / "manifest.json", report_dir / "run.json"):
        try:
            if json.loads(p.read_text()) == ident:
                return True
        except (OSError, ValueError):
            continue
    return False


def cached(task: MapTask) -> list[MapResult] | None:
    """The results of a map task done before, if its spill is complete, of the same units,
    and their inputs unchanged."""
    try:
        results = load_result(task.spill).unpack()
        if [(r.index, r.rel) for r in results] != [(u.index, u.file.rel) for u in task.units]:
            return None
        for r, u in zip(results, task.units):
            if r.stamp != storage.stamp(u.file.path):
                return None
    except Exception:
        return None
    return results


def remove_stale_outputs(output: Path, report_dir: Path, outputs: list[str]) -> list[ItemError]:
    """Remove the outputs of a previous run into this folder that this run did not write;
    returns the ones that could not be removed."""
    prev: set[str] = set()
    try:
        data = json.loads((report_dir / "report.json").read_text(encoding="utf-8"))
        if data.get("output") == printable(str(output.resolve())):
            # names that are not UTF-8 are escaped in the report; their bytes say which file it was
            raw = data.get("undecodable_names", {})
            prev = {os.fsdecode(bytes.fromhex(raw[rel])) if rel in raw else rel for rel in data.get("outputs", [])}
    except (OSError, ValueError, AttributeError, TypeError):
        pass
    failed: list[ItemError] = []
    for rel in sorted(prev - set(outputs)):
        p = output / rel
        try:
            if p.is_file() and is_inside(p, output):
                p.unlink()
                parent = p.parent
                while parent != output and is_inside(parent, output) and not any(parent.iterdir()):
                    parent.rmdir()
                    parent = parent.parent
        except OSError as e:  # read-only output, a folder made unwritable: this file only
            failed.append(ItemError(rel, f"cannot remove this output of the previous run: {e.strerror or e}"))
    return failed
