"""Remote storage: INPUT_DIR, OUTPUT_DIR and the report folder as fsspec URLs (s3://bucket/prefix,
gs://..., memory://...). Local paths never come here: `path()` gives them back as pathlib Paths and
every helper below hands them to the same os/open calls the run made before, so a local run is
what it was.

A URL location is a RemotePath: the handful of Path methods a run calls, over an fsspec file
system. fsspec and its protocol packages are imported on first use, not with the command line.

Writing never leaves part of an object under its final name: an object is spooled to a local
temp file and sent in one upload when it is complete (object stores make an upload visible only
once it has finished, a multipart one included); on a file system that is not an object store
the upload goes to a temp name that is then moved over the final one.

Storage options (endpoint_url, anon, key, ...) come from CLEANER_STORAGE_OPTIONS (a JSON object)
and from the config file's [storage] table, which overrides it; they travel with the run's Config
(to worker processes and Dask workers), and are never shown: not in the report, not by
`clean config`.
"""

from __future__ import annotations

import atexit
import io
import json
import os
import re
import shutil
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, cast

ENV_OPTIONS = "CLEANER_STORAGE_OPTIONS"
TEMP_MARK = ".cleaner-tmp"  # of temp files and staging folders (writers.TEMP_MARK is this one)

_URL = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://")
# s3:/bucket/x: a URL short of a slash, which as a local path would make a folder "s3:" here
_TYPO = re.compile(r"(s3|s3a|gs|gcs|az|abfs|abfss|memory|file):/(?!/)", re.IGNORECASE)
# Protocols whose uploads become visible only when complete (no temp name needed) and that
# have no folders of their own (a "folder" is a key prefix: nothing to create or remove).
OBJECT_STORES = frozenset({"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "adl", "memory", "oss"})
# The package each protocol needs, for the message when it is missing.
_PACKAGES = {"s3": "s3fs (pip install 'cleaner[s3]')", "s3a": "s3fs (pip install 'cleaner[s3]')",
             "gs": "gcsfs (pip install gcsfs)", "gcs": "gcsfs (pip install gcsfs)", "az": "adlfs (pip install adlfs)",
             "abfs": "adlfs (pip install adlfs)", "abfss": "adlfs (pip install adlfs)"}
# Objects up to this size go in one request from memory; larger ones are uploaded from the spool file.
_PIPE_BYTES = 16 * 1024 * 1024


class StorageError(OSError):
    """Remote storage cannot be used (unknown protocol, no credentials, unreachable endpoint);
    the message names the URL. An OSError, so that a file that fails this way is reported as
    one that cannot be read or written."""


def is_url(p: object) -> bool:
    """A remote location (file:// URLs are local paths: path() turns them into Paths)."""
    if isinstance(p, RemotePath):
        return True
    return isinstance(p, str) and "://" in p and _URL.match(p) is not None and not p.startswith("file://")


def path(p: str | os.PathLike[str] | RemotePath) -> Path:
    """The location a run works with: a Path for a local path (or a file:// URL), a
    RemotePath for any other URL. Typed as Path: a RemotePath offers the methods of Path
    that a run calls, so the run's code is one for both."""
    if isinstance(p, RemotePath):
        return cast(Path, p)
    if isinstance(p, str):
        if _TYPO.match(p):
            raise StorageError(f"{p}: a URL needs two slashes after the protocol ({p.split(':', 1)[0]}://...)")
        if p.startswith("file://"):
            return Path(p[len("file://"):] or "/")
        if is_url(p):
            return cast(Path, RemotePath(p))
    return Path(p)


# --- options and file systems --------------------------------------------------------------

_options: dict[str, Any] = {}
_filesystems: dict[str, Any] = {}  # per protocol, with the options of use()


def env_options() -> dict[str, Any]:
    """The options in CLEANER_STORAGE_OPTIONS (a JSON object), or {}."""
    raw = os.environ.get(ENV_OPTIONS, "").strip()
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError as e:
        raise ValueError(f"{ENV_OPTIONS} is not valid JSON: {e}") from None
    if not isinstance(value, dict):
        raise ValueError(f"{ENV_OPTIONS} must be a JSON object of storage options")
    return value


def use(options: dict[str, Any]) -> None:
    """The storage options of the run this process works for (the client, each worker)."""
    global _options
    if options != _options:
        _options = dict(options)
        _filesystems.clear()


def _split(url: str) -> tuple[str, str]:
    m = _URL.match(url)
    if m is None:
        raise StorageError(f"{url}: not a URL")
    return m.group()[:-3].lower(), url[m.end():]


def filesystem(url: str) -> tuple[Any, str]:
    """The fsspec file system of a URL (one per protocol and process) and the URL's path in it."""
    protocol, rest = _split(url)
    key = protocol  # use() empties the cache when the options change
    fs = _filesystems.get(key)
    if fs is None:
        try:
            import fsspec
        except ImportError:
            raise StorageError(f"{url}: remote storage needs fsspec: pip install 'cleaner[s3]'") from None
        try:
            # no listings cache: other processes (the workers) write the run's objects, and a
            # cached listing would hide them or give a stale size to read
            fs = fsspec.filesystem(protocol, **{**_options, "use_listings_cache": False})
        except ImportError:
            need = _PACKAGES.get(protocol, f"the fsspec package for {protocol}://")
            raise StorageError(f"{url}: {protocol}:// needs {need}") from None
        except ValueError as e:
            if "not known" in str(e).lower() or "protocol" in str(e).lower():
                raise StorageError(f"{url}: unknown storage protocol {protocol!r}") from None
            raise StorageError(f"{url}: bad storage options: {e}") from None
        except TypeError as e:
            raise StorageError(f"{url}: bad storage options: {e}") from None
        _filesystems[key] = fs
    path_in_fs = fs._strip_protocol(url)
    if protocol in OBJECT_STORES and protocol != "memory" and not rest.split("/", 1)[0]:
        raise StorageError(f"{url}: no bucket in the URL")
    return fs, path_in_fs


def _failure(url: str, e: BaseException) -> StorageError:
    msg = " ".join(str(e).split()) or type(e).__name__
    return StorageError(f"{url}: {type(e).__name__}: {msg}" if type(e).__name__ not in msg else f"{url}: {msg}")


@contextmanager
def _calls(url: str) -> Iterator[None]:
    """File system calls on `url`: FileNotFoundError passes (the callers tell what is missing);
    anything else (access denied, no credentials, an endpoint that does not answer) becomes a
    StorageError that names the URL."""
    try:
        yield
    except (StorageError, FileNotFoundError):
        raise
    except Exception as e:
        raise _failure(url, e) from None


# --- a location -------------------------------------------------------------------------------

class RemotePath:
    """A folder or object at a URL, with the Path methods a run uses."""

    __slots__ = ("url",)

    def __init__(self, url: str) -> None:
        protocol, rest = _split(url)
        self.url = f"{protocol}://{rest.rstrip('/')}" if rest.rstrip("/") else f"{protocol}://{rest}"

    def __str__(self) -> str:
        return self.url

    def __repr__(self) -> str:
        return f"RemotePath({self.url!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RemotePath) and other.url == self.url

    def __hash__(self) -> int:
        return hash(self.url)

    def __truediv__(self, other: str) -> RemotePath:
        return RemotePath(f"{self.url}/{other}")

    @property
    def name(self) -> str:
        return _split(self.url)[1].rsplit("/", 1)[-1]

    @property
    def parent(self) -> RemotePath:
        protocol, rest = _split(self.url)
        return RemotePath(f"{protocol}://{rest.rsplit('/', 1)[0]}") if "/" in rest else self

    def resolve(self) -> RemotePath:
        return self

    def relative_to(self, other: object) -> str:
        base = str(other).rstrip("/") + "/"
        if not self.url.startswith(base):
            raise ValueError(f"{self.url} is not inside {other}")
        return self.url[len(base):]

    def _fs(self) -> tuple[Any, str]:
        return filesystem(self.url)

    def exists(self) -> bool:
        fs, p = self._fs()
        with _calls(self.url):
            return bool(fs.exists(p))

    def is_dir(self) -> bool:
        fs, p = self._fs()
        with _calls(self.url):
            return bool(fs.isdir(p))

    def is_file(self) -> bool:
        fs, p = self._fs()
        with _calls(self.url):
            return bool(fs.isfile(p))

    def iterdir(self) -> Iterator[RemotePath]:
        fs, p = self._fs()
        with _calls(self.url):
            try:
                names = fs.ls(p, detail=False)
            except FileNotFoundError:
                names = []
        base = p.rstrip("/") + "/"
        for n in sorted(names):
            if n.startswith(base) and n.rstrip("/") != p.rstrip("/"):
                yield self / n[len(base):].rstrip("/")

    def mkdir(self, parents: bool = False, exist_ok: bool = False) -> None:
        if _protocol(self.url) in OBJECT_STORES:
            return  # a prefix: it exists as soon as an object has it
        fs, p = self._fs()
        with _calls(self.url):
            fs.makedirs(p, exist_ok=True)

    def rmdir(self) -> None:
        if _protocol(self.url) in OBJECT_STORES:
            return
        fs, p = self._fs()
        with _calls(self.url):
            fs.rmdir(p)

    def unlink(self) -> None:
        fs, p = self._fs()
        with _calls(self.url):
            fs.rm_file(p)

    def read_bytes(self) -> bytes:
        fs, p = self._fs()
        with _calls(self.url):
            return cast(bytes, fs.cat_file(p))

    def read_text(self, encoding: str = "utf-8") -> str:
        return self.read_bytes().decode(encoding)

    def write_text(self, text: str, encoding: str = "utf-8") -> int:
        with upload(self.url) as fh:
            fh.write(text.encode(encoding))
        return len(text)


def _protocol(url: str) -> str:
    return _split(url)[0]


def is_inside(child: object, parent: object) -> bool:
    """For locations of which one at least is remote: a local path is never inside a URL."""
    if not (is_url(child) and is_url(parent)):
        return False
    c, p = str(child).rstrip("/"), str(parent).rstrip("/")
    return c == p or c.startswith(p + "/")


# --- the calls a run makes on strings (local: what it did before) ----------------------------

def open_read(p: str | os.PathLike[str]) -> IO[bytes]:
    """A file of the run's own (a spill, an audit piece, a part) for reading."""
    if not is_url(p):
        return open(p, "rb")  # noqa: SIM115 - the caller closes it
    url = str(p)
    fs, fp = filesystem(url)
    with _calls(url):
        return cast(IO[bytes], fs.open(fp, "rb"))


def exists(p: str | os.PathLike[str]) -> bool:
    if not is_url(p):
        return os.path.exists(p)
    return RemotePath(str(p)).exists()


def rmtree(p: str | os.PathLike[str], ignore_errors: bool = False) -> None:
    if not is_url(p):
        shutil.rmtree(p, ignore_errors=ignore_errors)
        return
    url = str(p)
    try:
        fs, fp = filesystem(url)
        with _calls(url):
            try:
                fs.rm(fp, recursive=True)
            except FileNotFoundError:
                pass
    except OSError:
        if not ignore_errors:
            raise


def remove_stale_temp(root: str | os.PathLike[str]) -> int:
    """Temp objects an interrupted run left under a remote root (probes, moves not done); how many."""
    url = str(root)
    fs, fp = filesystem(url)
    with _calls(url):
        try:
            found = fs.find(fp)
        except FileNotFoundError:
            return 0
        stale = [n for n in found if n.rsplit("/", 1)[-1].startswith(".") and n.endswith(TEMP_MARK)]
        for n in stale:
            try:
                fs.rm_file(n)
            except FileNotFoundError:
                pass
    return len(stale)


# --- input files: listing, stamps, reading ---------------------------------------------------

# (size, mtime) of the objects the last listing found: what the client checks them against
# (resume, sizes for batching) without a request per file
_listed: dict[str, tuple[int, int]] = {}


def _stamp_of_info(info: dict[str, Any]) -> tuple[int, int]:
    """(size, a number that changes when the object does): the ETag where the store has one
    (the listing and a HEAD give the same one), else its modification time (as a number:
    a listing may give a datetime where info() gives a timestamp, or the other way round)."""
    tag: Any = None
    for k in ("ETag", "etag", "md5Hash", "md5", "generation", "LastModified", "mtime", "updated", "created"):
        if info.get(k) is not None:
            tag = info[k]
            break
    if hasattr(tag, "timestamp"):
        tag = tag.timestamp()
    size = int(info.get("size") or 0)
    return size, zlib.crc32(str(tag).encode()) if tag is not None else 0


def listing(root: str) -> Iterator[tuple[str, str, tuple[int, int]]]:
    """(rel, url, stamp) of every object under a remote folder, in any order."""
    fs, fp = filesystem(root)
    with _calls(root):
        try:
            found = fs.find(fp, detail=True)
        except FileNotFoundError:
            found = {}
    base = fp.rstrip("/") + "/"
    for name, info in found.items():
        if info.get("type") == "directory" or name.endswith("/") or not name.startswith(base):
            continue
        url = f"{root.rstrip('/')}/{name[len(base):]}"  # the root's spelling (fsspec may give file:// for local://)
        stamp = _stamp_of_info(info)
        _listed[url] = stamp
        yield name[len(base):], url, stamp


def stamp(p: str, fresh: bool = False) -> tuple[int, int]:
    """(size, mtime) of an input file: os.stat for a local one; for an object, what the
    listing found (fresh: asked again)."""
    if not is_url(p):
        st = os.stat(p)
        return st.st_size, st.st_mtime_ns
    if not fresh and p in _listed:
        return _listed[p]
    fs, fp = filesystem(p)
    with _calls(p):
        fs.invalidate_cache(fp)
        return _stamp_of_info(fs.info(fp))


def open_input(url: str) -> IO[bytes]:
    """An input object for reading, streamed (read in blocks as the reader asks)."""
    fs, fp = filesystem(url)
    with _calls(url):
        fh = fs.open(fp, "rb")
    fh.cleaner_url = url  # for handle_stamp
    # the io interface in full (fsspec's files have no readline(size), which JSONL reading needs)
    return io.BufferedReader(fh, 1 << 20)


def handle_stamp(fh: Any) -> tuple[int, int] | None:
    """The stamp of the object an open_input handle (or a reader around it) reads, asked
    again; None for a handle that is not of remote storage."""
    inner = fh
    while not hasattr(inner, "cleaner_url"):
        inner = getattr(inner, "raw", None)
        if inner is None:
            return None
    return stamp(inner.cleaner_url, fresh=True)


def local_copy(p: str) -> str:
    """A local file with the content of `p` (itself when local): for numpy's memory mapping."""
    if not is_url(p):
        return p
    global _cache_dir
    if _cache_dir is None:
        _cache_dir = tempfile.mkdtemp(prefix="cleaner-remote-")
        atexit.register(forget_local_copies)
    local = os.path.join(_cache_dir, f"{zlib.crc32(p.encode()):08x}-{p.rsplit('/', 1)[-1]}")
    if not os.path.exists(local):
        fs, fp = filesystem(p)
        with _calls(p):
            fs.get_file(fp, local + TEMP_MARK)
        os.replace(local + TEMP_MARK, local)
    return local


_cache_dir: str | None = None


def forget_local_copies() -> None:
    global _cache_dir
    if _cache_dir is not None:
        shutil.rmtree(_cache_dir, ignore_errors=True)
        _cache_dir = None


# --- writing ---------------------------------------------------------------------------------

_count = 0


@contextmanager
def upload(target: object) -> Iterator[IO[bytes]]:
    """A binary handle whose content appears at the URL `target` only if the block
    completes: spooled locally, then sent whole."""
    url = str(target)
    fs, fp = filesystem(url)
    with tempfile.TemporaryFile(prefix="cleaner-upload-") as spool:
        yield cast(IO[bytes], spool)
        size = spool.tell()
        spool.seek(0)
        if _protocol(url) in OBJECT_STORES:
            _send(fs, url, fp, spool, size)
        else:
            global _count
            _count += 1
            parent, name = fp.rsplit("/", 1) if "/" in fp else ("", fp)
            tmp = f"{parent}/.{name[:80]}.{os.getpid()}-{_count}{TEMP_MARK}"
            with _calls(url):
                fs.makedirs(parent, exist_ok=True)
            _send(fs, url, tmp, spool, size)
            with _calls(url):
                fs.mv(tmp, fp)


def _send(fs: Any, url: str, fp: str, spool: IO[bytes], size: int) -> None:
    with _calls(url):
        if size <= _PIPE_BYTES:
            fs.pipe_file(fp, spool.read())
        else:  # s3fs sends a large object as a multipart upload: it appears when the last part is in
            with tempfile.NamedTemporaryFile(prefix="cleaner-upload-") as named:
                shutil.copyfileobj(spool, named, 1 << 20)
                named.flush()
                fs.put_file(named.name, fp)


def probe(target: object) -> str | None:
    """Write a small object under a remote folder and remove it: a missing bucket, missing
    credentials or missing permissions are found before the work. The reason, or None."""
    url = f"{str(target).rstrip('/')}/.write-check.{os.getpid()}{TEMP_MARK}"
    try:
        fs, fp = filesystem(url)
        with _calls(url):
            fs.pipe_file(fp, b"\0" * 16)
            fs.rm_file(fp)
    except OSError as e:
        msg = " ".join(str(e).split()) or type(e).__name__
        return msg.removeprefix(f"{url}: ")
    return None
