"""Finding the input files under a folder, in sorted path order, and what was passed over."""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from pathlib import Path

from . import compression, formats, storage
from .readers import InputFile


@dataclass(frozen=True, slots=True)
class Skipped:
    rel: str
    reason: str


def _may_be_folder(ent: os.DirEntry[str]) -> bool:
    """The output and report folders are folders: a plain file is never one of them
    (and its realpath, for a million files, is costly)."""
    try:
        return ent.is_symlink() or ent.is_dir()
    except OSError:
        return True


def discover(root: str | Path, follow_symlinks: bool = False,
             exclude: tuple[str, ...] = ()) -> tuple[list[InputFile], list[Skipped]]:
    """Every supported file under root, in sorted path order, and what was passed over.

    Hidden files and directories, unsupported types, and symbolic links that
    leave root (unless follow_symlinks) are listed as skipped, never silently.
    `exclude` holds absolute paths (the output and report directories) to leave out.
    """
    if storage.is_url(root):
        return _discover_remote(str(root), exclude)
    root = Path(root)
    root_real = os.path.realpath(root)
    excluded = {os.path.realpath(e) for e in exclude}
    files: list[InputFile] = []
    skipped: list[Skipped] = []
    seen_dirs: set[tuple[int, int]] = set()

    prefix = os.path.join(str(root), "")

    def rel_of(p: str) -> str:
        if p.startswith(prefix):  # what scandir gives: cheaper than relpath for a million files
            rel = p[len(prefix):]
            return rel if os.sep == "/" else rel.replace(os.sep, "/")
        return Path(os.path.relpath(p, root)).as_posix()

    def inside(real: str) -> bool:
        return real == root_real or real.startswith(root_real.rstrip(os.sep) + os.sep)

    def walk(d: str) -> None:
        try:
            st = os.stat(d)
        except OSError as e:
            skipped.append(Skipped(rel_of(d), f"cannot read directory: {e.strerror}"))
            return
        key = (st.st_dev, st.st_ino)
        if key in seen_dirs:
            skipped.append(Skipped(rel_of(d), "directory already visited (symlink loop)"))
            return
        seen_dirs.add(key)
        try:
            entries = sorted(os.scandir(d), key=lambda x: x.name)
        except OSError as e:
            skipped.append(Skipped(rel_of(d), f"cannot read directory: {e.strerror}"))
            return
        for ent in entries:
            p = ent.path
            rel = rel_of(p)
            if _may_be_folder(ent) and os.path.realpath(p) in excluded:
                continue
            if ent.name.startswith("."):
                skipped.append(Skipped(rel, "hidden"))
                continue
            is_link = ent.is_symlink()
            if is_link:
                real = os.path.realpath(p)
                if not os.path.exists(real):
                    skipped.append(Skipped(rel, "broken or looping symbolic link"))
                    continue
                if not follow_symlinks and not inside(real):
                    skipped.append(Skipped(rel, "symbolic link to outside the input (use --follow-symlinks)"))
                    continue
            try:
                is_dir = ent.is_dir(follow_symlinks=True)
            except OSError:
                is_dir = False
            if is_dir:
                if is_link and not follow_symlinks:
                    skipped.append(Skipped(rel, "symbolic link to a directory (use --follow-symlinks)"))
                    continue
                walk(p)
                continue
            try:
                regular = ent.is_file(follow_symlinks=True)
            except OSError:
                regular = False
            if not regular:
                skipped.append(Skipped(rel, "not a regular file (device, pipe or socket)"))
                continue
            _take(rel, p, files, skipped)

    walk(str(root))
    files.sort(key=lambda f: f.rel)
    _resolve_collisions(files)
    return files, skipped


def _discover_remote(root: str, exclude: tuple[str, ...]) -> tuple[list[InputFile], list[Skipped]]:
    """The objects under a URL: keys are names, so there are no links, special files or
    unreadable folders; a name with a part that starts with "." is hidden, as on disk."""
    files: list[InputFile] = []
    skipped: list[Skipped] = []
    excluded = tuple(e.rstrip("/") + "/" for e in exclude if storage.is_url(e))
    hidden: set[str] = set()
    # what is passed over in the order a walk of folders gives (by name, folder by folder), as on disk
    for rel, url, _ in sorted(storage.listing(root), key=lambda t: t[0].split("/")):
        if url.startswith(excluded):
            continue
        parts = rel.split("/")
        dot = next((i for i, part in enumerate(parts) if part.startswith(".")), None)
        if dot is not None:  # a hidden folder is passed over once, as a whole
            top = "/".join(parts[:dot + 1])
            if top not in hidden:
                hidden.add(top)
                skipped.append(Skipped(top, "hidden"))
            continue
        _take(rel, url, files, skipped)
    files.sort(key=lambda f: f.rel)  # the corpus order, as for local files (which copy comes first)
    _resolve_collisions(files)
    return files, skipped


def _take(rel: str, path: str, files: list[InputFile], skipped: list[Skipped]) -> None:
    f = formats.input_file(rel, path)
    if f is None:
        skipped.append(Skipped(rel, "unsupported file type"))
    else:
        files.append(f)


def _resolve_collisions(files: list[InputFile]) -> None:
    """Two inputs that would write the same output (a.html and a.txt): a file
    whose output keeps its own name wins; a converted one becomes a.html.txt."""
    taken = {f.out_rel for f in files if f.out_rel == f.rel}
    for i, f in enumerate(files):
        if f.out_rel == f.rel:
            continue
        out = f.out_rel
        if out in taken:
            out = f.rel + ".txt"
            n = 2
            while out in taken:
                out = f"{f.rel}.{n}.txt"
                n += 1
            files[i] = InputFile(f.rel, f.path, f.kind, f.compression, out)
        taken.add(out)


def txt_folders(files: list[InputFile]) -> list[InputFile]:
    """--output-format txt: the folder of each many-document file's records (record N of
    x.jsonl goes to x/0000000N.txt) becomes its out_rel. A folder that another input's
    output would share (x.jsonl beside x.jsonl.gz, or beside an input folder x/) takes the
    file's name without its compression suffix, then its whole name, so no record
    overwrites another."""
    taken: set[str] = set()
    for f in files:
        if formats.of(f).one_document:
            parts = f.out_rel.split("/")
            taken.add(f.out_rel)
            taken.update("/".join(parts[:k]) for k in range(1, len(parts)))
    out = []
    for f in files:
        if formats.of(f).one_document:
            out.append(f)
            continue
        plain = compression.split_suffix(f.rel)[0]
        name = plain.rsplit("/", 1)[-1]
        stem = plain[: plain.rfind(".")] if "." in name else plain
        numbered = (f"{f.rel}.{k}" for k in itertools.count(2))
        folder = next(c for c in itertools.chain((stem, plain, f.rel), numbered) if c not in taken)
        taken.add(folder)
        out.append(InputFile(f.rel, f.path, f.kind, f.compression, folder))
    return out
