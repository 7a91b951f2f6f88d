"""Finding input files and reading them into documents (text, HTML, JSONL; gzip, zstd)."""

from __future__ import annotations

import codecs
import gzip
import io
import json
import os
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from .document import Document, ItemError, split_paragraphs

TEXT_EXT = {".txt", ".md", ".text", ".markdown"}
HTML_EXT = {".html", ".htm", ".xhtml"}
JSONL_EXT = {".jsonl", ".ndjson"}
PARQUET_EXT = {".parquet"}
WARC_EXT = {".warc", ".arc"}
COMPRESSION_EXT = {".gz": "gz", ".zst": "zst", ".zstd": "zst"}


@dataclass(frozen=True, slots=True)
class InputFile:
    rel: str  # path relative to the input root, '/'-separated
    path: str  # path to open
    kind: str  # "text" | "html" | "jsonl" | "parquet" | "warc"
    compression: str | None
    out_rel: str  # where the cleaned file goes, relative to the output root


@dataclass(frozen=True, slots=True)
class Skipped:
    rel: str
    reason: str


class ReadError(Exception):
    """A whole file cannot be read; the message says why (and where)."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


def classify_name(name: str) -> tuple[str, str | None, str] | None:
    """(kind, compression, output suffix handling) for a file name, or None if unsupported."""
    lower = name.lower()
    comp = None
    base = lower
    for ext, c in COMPRESSION_EXT.items():
        if base.endswith(ext):
            comp, base = c, base[: -len(ext)]
            break
    ext = os.path.splitext(base)[1]
    if ext in TEXT_EXT:
        return "text", comp, ext
    if ext in HTML_EXT:
        return "html", comp, ext
    if ext in JSONL_EXT:
        return "jsonl", comp, ext
    if ext in PARQUET_EXT and comp is None:
        return "parquet", None, ext
    if ext in WARC_EXT:
        return "warc", comp, ext  # warcio decompresses by itself
    return None


def output_name(rel: str, kind: str, compression: str | None) -> str:
    """a/b.txt -> a/b.txt; a/b.html(.gz) -> a/b.txt; x.jsonl.gz -> x.jsonl.gz; t.txt.gz -> t.txt;
    x.parquet -> x.parquet; crawl.warc.gz -> crawl.jsonl.gz."""
    if kind in ("jsonl", "parquet"):
        return rel
    if kind == "warc":
        base = rel[: rel.rfind(".")] if compression else rel
        base = base[: base.rfind(".")]
        return base + ".jsonl" + ({"gz": ".gz", "zst": ".zst"}.get(compression or "", ""))
    stem = rel
    if compression:
        stem = stem[: stem.rfind(".")]
    if kind == "html":
        return stem[: stem.rfind(".")] + ".txt"
    return stem


def discover(root: str | Path, follow_symlinks: bool = False,
             exclude: tuple[str, ...] = ()) -> tuple[list[InputFile], list[Skipped]]:
    """Every supported file under root, in sorted path order, and what was passed over.

    Hidden files and directories, unsupported types, and symbolic links that
    leave root (unless follow_symlinks) are listed as skipped, never silently.
    `exclude` holds absolute paths (the output and report directories) to leave out.
    """
    root = Path(root)
    root_real = os.path.realpath(root)
    excluded = {os.path.realpath(e) for e in exclude}
    files: list[InputFile] = []
    skipped: list[Skipped] = []
    seen_dirs: set[tuple[int, int]] = set()

    def rel_of(p: str) -> str:
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
            if os.path.realpath(p) in excluded:
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
            kind = classify_name(ent.name)
            if kind is None:
                skipped.append(Skipped(rel, "unsupported file type"))
                continue
            files.append(InputFile(rel, p, kind[0], kind[1], output_name(rel, kind[0], kind[1])))

    walk(str(root))
    files.sort(key=lambda f: f.rel)
    _resolve_collisions(files)
    return files, skipped


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


# --- opening, with bounded decompression --------------------------------------------

# Below this many decompressed bytes the expansion ratio is not checked.
BOMB_CHECK_FROM = 8 * 1024 * 1024


class _Bounded(io.RawIOBase):
    """A decompressed stream that refuses to grow past `limit` bytes (gzip bombs)."""

    def __init__(self, inner: IO[bytes], limit: int, what: str) -> None:
        self.inner = inner
        self.limit = limit
        self.what = what
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        data = self.inner.read(len(b))
        n = len(data)
        self.count += n
        if self.count > self.limit:
            raise ReadError(f"decompresses to more than {self.limit:,} bytes ({self.what}); "
                            "a compression bomb? (see --max-ratio)")
        b[:n] = data
        return n

    def close(self) -> None:
        self.inner.close()
        super().close()


class _Gunzip(io.RawIOBase):
    """gzip decompression that hands out everything before a truncation or
    corruption, then raises (GzipFile loses the last block it was reading)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.d = zlib.decompressobj(wbits=31)
        self.pending = b""
        self.done = False
        self.started = False

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        while not self.pending and not self.done:
            chunk = self.raw.read(1 << 16)
            if not chunk:
                self.done = True
                if self.started and not self.d.eof:
                    if self.pending:
                        break
                    raise EOFError("compressed file ended before the end-of-stream marker")
                break
            self.started = True
            data = chunk
            while data:
                self.pending += self.d.decompress(data)
                data = b""
                if self.d.eof and self.d.unused_data:
                    data = self.d.unused_data
                    if not data.strip(b"\0"):
                        break
                    self.d = zlib.decompressobj(wbits=31)
        n = min(len(b), len(self.pending))
        b[:n] = self.pending[:n]
        self.pending = self.pending[n:]
        return n

    def close(self) -> None:
        self.raw.close()
        super().close()


def _open_file(path: str) -> IO[bytes]:
    return open(path, "rb")  # noqa: SIM115 - closed by the caller through the wrapper


def _open_binary(f: InputFile, max_ratio: int = 200, offset: int = 0) -> IO[bytes]:
    raw = _open_file(f.path)
    if offset:
        raw.seek(offset)
    if f.compression is None:
        return raw
    size = os.fstat(raw.fileno()).st_size
    inner: IO[bytes]
    if f.compression == "gz":
        inner = _Gunzip(raw)  # type: ignore[assignment]
    else:
        import zstandard

        inner = zstandard.ZstdDecompressor().stream_reader(raw, closefd=True)
    limit = max(BOMB_CHECK_FROM, max_ratio * size)
    return io.BufferedReader(_Bounded(inner, limit, f"{max_ratio}x its {size:,} bytes"), 1 << 20)


_DECOMPRESS_ERRORS: tuple[type[BaseException], ...] = (EOFError, zlib.error, gzip.BadGzipFile)


def _decompress_error(f: InputFile, e: BaseException) -> ReadError:
    kind = {"gz": "gzip", "zst": "zstd"}.get(f.compression or "", "compressed")
    return ReadError(f"corrupt or truncated {kind} data ({type(e).__name__}: {e})")


def _is_zstd_error(e: BaseException) -> bool:
    return type(e).__module__.startswith("zstandard")


def read_bytes(f: InputFile, max_bytes: int, max_ratio: int = 200) -> bytes:
    """The whole (decompressed) file, refusing more than max_bytes."""
    try:
        with _open_binary(f, max_ratio) as fh:
            data = fh.read(max_bytes + 1)
    except _DECOMPRESS_ERRORS as e:
        raise _decompress_error(f, e) from None
    except ReadError:
        raise
    except Exception as e:  # zstandard.ZstdError and friends
        if _is_zstd_error(e):
            raise _decompress_error(f, e) from None
        raise
    if len(data) > max_bytes:
        raise ReadError(f"larger than --max-bytes ({max_bytes:,} bytes{' decompressed' if f.compression else ''})")
    return data


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
)


def decode_text(data: bytes, encoding: str | None = None) -> str:
    """Decode file bytes: a BOM decides, else UTF-8 (or `encoding`); binary is refused."""
    if encoding is None:
        for bom, enc in _BOMS:
            if data.startswith(bom):
                encoding = enc
                break
    if encoding is None:
        if b"\x00" in data[:65536]:
            raise ReadError("binary file (NUL bytes), not text")
        encoding = "utf-8"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise ReadError(f"not valid {encoding.upper()} (byte {e.start}); "
                        f"pass --encoding if the file uses another one", line) from None
    except LookupError:
        raise ReadError(f"unknown encoding {encoding!r}") from None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise ReadError("binary content (NUL character)", line)
    return text


# --- the formats ------------------------------------------------------------------------

def read_text(f: InputFile, max_bytes: int, encoding: str | None = None, max_ratio: int = 200) -> list[Document]:
    text = decode_text(read_bytes(f, max_bytes, max_ratio), encoding)
    paras, lines, _ = split_paragraphs(text)
    if not paras:
        raise ReadError("empty file" if not text else "no text (white space only)")
    return [Document(id=f.rel, source=f.rel, paragraphs=paras, lines=lines)]


def read_html(f: InputFile, max_bytes: int, max_ratio: int = 200) -> list[Document]:
    """The page, to be extracted by the caller (under its time limit)."""
    data = read_bytes(f, max_bytes, max_ratio)
    if not data.strip():
        raise ReadError("empty file" if not data else "no text (white space only)")
    if b"\x00" in data[:65536] and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ReadError("binary file (NUL bytes), not HTML")
    return [Document(id=f.rel, source=f.rel, paragraphs=[], lines=[], html=data)]


def _type_name(v: Any) -> str:
    return {dict: "an object", list: "an array", int: "a number", float: "a number",
            bool: "a boolean", type(None): "null"}.get(type(v), type(v).__name__)


def parse_record(line: bytes, f: InputFile, n: int, text_field: str, id_field: str) -> Document:
    """One JSONL line to a document; raises ReadError (with the line) if it is not usable.

    orjson reads standard JSON fast; what it refuses (NaN, integers over 64
    bits, escaped lone surrogates, deep nesting, invalid UTF-8) goes through the
    standard library, for the same result or a precise error.
    """
    try:
        rec = orjson.loads(line)
        strict = True
    except orjson.JSONDecodeError:
        strict = False
        try:
            s = line.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ReadError(f"record is not valid UTF-8 (byte {e.start} of the line)", n) from None
        try:
            rec = json.loads(s)
        except RecursionError:
            raise ReadError("record nested too deeply to parse", n) from None
        except ValueError as e:
            raise ReadError(f"invalid JSON: {e}", n) from None
    if not isinstance(rec, dict):
        raise ReadError(f"record is {_type_name(rec)}, expected a JSON object", n)
    doc = record_document(rec, f, n, text_field, id_field, "field")
    doc.strict_json = strict
    return doc


def record_document(rec: dict[str, Any], f: InputFile, n: int, text_field: str, id_field: str,
                    what: str = "field") -> Document:
    """A record (JSONL object, Parquet row) to a document; ReadError if its text is unusable."""
    if text_field not in rec:
        raise ReadError(f"record has no {text_field!r} {what} (see --text-field)", n)
    text = rec[text_field]
    if not isinstance(text, str):
        raise ReadError(f"{what} {text_field!r} is {_type_name(text)}, expected a string", n)
    if not text.strip():
        raise ReadError(f"{what} {text_field!r} is empty" if not text else f"{what} {text_field!r} is only white space", n)
    rid = rec.get(id_field)
    if isinstance(rid, bool) or not isinstance(rid, (str, int)) or rid == "":
        doc_id = f"{f.rel}:{n}"
    else:
        doc_id = str(rid)
    paras, lines, sep = split_paragraphs(text)
    return Document(id=doc_id, source=f.rel, paragraphs=paras, lines=lines, record=n,
                    metadata=rec, separator=sep)


@dataclass(frozen=True, slots=True)
class Part:
    """A byte range of an uncompressed JSONL file, read by one task."""

    start: int = 0
    end: int | None = None
    first_line: int = 1


# Uncompressed JSONL files larger than this are read in parts, in parallel.
PART_BYTES = 32 * 1024 * 1024


def plan_parts(f: InputFile, part_bytes: int | None = None) -> list[Part]:
    """Split a large uncompressed JSONL file at line ends; one part otherwise."""
    part_bytes = part_bytes or PART_BYTES
    if f.kind != "jsonl" or f.compression is not None:
        return [Part()]
    try:
        size = os.path.getsize(f.path)
    except OSError:
        return [Part()]
    if size <= part_bytes:
        return [Part()]
    parts = []
    start, line = 0, 1
    with open(f.path, "rb") as fh:
        while start < size:
            fh.seek(min(start + part_bytes, size))
            if fh.tell() < size:
                fh.readline()
            end = fh.tell()
            parts.append(Part(start, end, line))
            fh.seek(start)
            remaining = end - start
            while remaining:
                chunk = fh.read(min(remaining, 16 << 20))
                if not chunk:
                    break
                line += chunk.count(b"\n")
                remaining -= len(chunk)
            start = end
    return parts


def iter_jsonl(f: InputFile, max_bytes: int, text_field: str, id_field: str, part: Part | None = None,
               skip: frozenset[int] = frozenset(), max_ratio: int = 200) -> Iterator[Document | ItemError]:
    """Records of a JSONL file (or of one part); a bad record yields an ItemError and reading goes on.

    A file that cannot be opened or decompressed further raises ReadError after
    the records read so far (the line says where it broke off). Lines in `skip`
    are not parsed (records that hung or crashed a worker before).
    """
    part = part or Part()
    n = part.first_line - 1
    pos = part.start
    try:
        with _open_binary(f, max_ratio, part.start) as fh:
            while part.end is None or pos < part.end:
                line = fh.readline(max_bytes + 1)
                if not line:
                    break
                pos += len(line)
                n += 1
                if len(line) > max_bytes and not line.endswith(b"\n"):
                    yield ItemError(f.rel, f"record longer than --max-bytes ({max_bytes:,} bytes); skipped", n)
                    while line and not line.endswith(b"\n"):
                        line = fh.readline(1 << 20)
                        pos += len(line)
                    continue
                if n == 1 and line.startswith(codecs.BOM_UTF8):
                    line = line[3:]
                if n in skip or not line.strip():
                    continue
                try:
                    yield parse_record(line, f, n, text_field, id_field)
                except ReadError as e:
                    yield ItemError(f.rel, str(e), e.line)
    except _DECOMPRESS_ERRORS as e:
        raise ReadError(str(_decompress_error(f, e)) + f" after line {n}", n + 1) from None
    except ReadError as e:
        raise ReadError(f"{e} (after line {n})", n + 1) from None
    except Exception as e:
        if _is_zstd_error(e):
            raise ReadError(str(_decompress_error(f, e)) + f" after line {n}", n + 1) from None
        raise


# --- Parquet -----------------------------------------------------------------------------

# Rows per task when a Parquet file is read in parts (whole row groups).
PARQUET_PART_ROWS = 50_000


def plan_parquet_parts(f: InputFile, rows_per_part: int | None = None) -> list[Part]:
    """Row-group ranges [start, end) of a Parquet file, first_line = first row (1-based)."""
    rows_per_part = rows_per_part or PARQUET_PART_ROWS
    try:
        import pyarrow.parquet as pq

        md = pq.ParquetFile(f.path).metadata
    except Exception:
        return [Part(0, None, 1)]  # the reader reports the error
    parts, start, rows, first = [], 0, 0, 1
    for g in range(md.num_row_groups):
        rows += md.row_group(g).num_rows
        if rows >= rows_per_part or g == md.num_row_groups - 1:
            parts.append(Part(start, g + 1, first))
            first += rows
            start, rows = g + 1, 0
    return parts or [Part(0, 0, 1)]


def iter_parquet(f: InputFile, max_bytes: int, text_field: str, id_field: str, part: Part | None = None,
                 skip: frozenset[int] = frozenset()) -> Iterator[Document | ItemError]:
    """Rows of a Parquet file (or of a range of its row groups) as documents; the
    text is column `text_field`, every column is kept in the document's metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    part = part or Part(0, None, 1)
    try:
        pf = pq.ParquetFile(_open_file(f.path))
        names = pf.schema_arrow.names
    except (pa.ArrowException, OSError, ValueError) as e:
        raise ReadError(f"not a readable Parquet file: {e}") from None
    if text_field not in names:
        raise ReadError(f"no column {text_field!r} (see --text-field); columns: {', '.join(names)}")
    end = pf.metadata.num_row_groups if part.end is None else part.end
    n = part.first_line - 1
    for g in range(part.start, end):
        try:
            table = pf.read_row_group(g)
        except (pa.ArrowException, OSError, ValueError) as e:
            raise ReadError(f"cannot read row group {g}: {e} (after row {n})", n + 1) from None
        for batch in table.to_batches(max_chunksize=4096):
            cols = batch.to_pydict()
            keys = list(cols)
            for k in range(batch.num_rows):
                n += 1
                if n in skip:
                    continue
                rec = {c: cols[c][k] for c in keys}
                text = rec.get(text_field)
                if isinstance(text, str) and len(text) > max_bytes:
                    yield ItemError(f.rel, f"text longer than --max-bytes ({max_bytes:,}); skipped", n)
                    continue
                try:
                    yield record_document(rec, f, n, text_field, id_field, "column")
                except ReadError as e:
                    yield ItemError(f.rel, str(e), e.line)


# --- WARC --------------------------------------------------------------------------------------

def iter_warc(f: InputFile, max_bytes: int, skip: frozenset[int] = frozenset(),
              counts: dict[str, int] | None = None) -> Iterator[Document | ItemError]:
    """HTML response records of a WARC file, as pages to extract; id = target URI.

    Other records (requests, metadata, non-HTML responses) are counted in `counts`.
    """
    try:
        from warcio.archiveiterator import ArchiveIterator
        from warcio.exceptions import ArchiveLoadFailed
    except ImportError:
        raise ReadError("reading WARC files needs warcio: pip install warcio") from None
    counts = counts if counts is not None else {}
    n = 0
    try:
        with _open_file(f.path) as fh:
            for rec in ArchiveIterator(fh):
                n += 1
                if rec.rec_type != "response" or rec.http_headers is None:
                    counts["not a response"] = counts.get("not a response", 0) + 1
                    continue
                ctype = (rec.http_headers.get_header("Content-Type") or "").lower()
                if "html" not in ctype:
                    counts["not HTML"] = counts.get("not HTML", 0) + 1
                    continue
                if n in skip:
                    continue
                body = rec.content_stream().read(max_bytes + 1)
                if len(body) > max_bytes:
                    yield ItemError(f.rel, f"record larger than --max-bytes ({max_bytes:,}); skipped", n)
                    continue
                url = rec.rec_headers.get_header("WARC-Target-URI") or ""
                meta = {"url": url, "warc_record_id": rec.rec_headers.get_header("WARC-Record-ID"),
                        "warc_date": rec.rec_headers.get_header("WARC-Date")}
                if not body.strip():
                    yield ItemError(f.rel, f"empty response body for {url}", n)
                    continue
                yield Document(id=url or f"{f.rel}:{n}", source=f.rel, paragraphs=[], lines=[], record=n,
                               metadata=meta, html=body)
    except ArchiveLoadFailed as e:
        raise ReadError(f"not a readable WARC file: {e} (after record {n})", n + 1) from None
    except _DECOMPRESS_ERRORS as e:
        raise ReadError(f"corrupt or truncated WARC data ({type(e).__name__}: {e}) after record {n}", n + 1) from None


def read_documents(f: InputFile, cfg: Any, part: Part | None = None, skip: frozenset[int] = frozenset(),
                   counts: dict[str, int] | None = None) -> Iterable[Document | ItemError]:
    """The documents of one input file (or part of it), with the options of `cfg` (a Config)."""
    if f.kind == "text":
        return read_text(f, cfg.max_bytes, cfg.encoding, cfg.max_ratio)
    if f.kind == "html":
        return read_html(f, cfg.max_bytes, cfg.max_ratio)
    if f.kind == "parquet":
        return iter_parquet(f, cfg.max_bytes, cfg.text_field, cfg.id_field, part, skip)
    if f.kind == "warc":
        return iter_warc(f, cfg.max_bytes, skip, counts)
    return iter_jsonl(f, cfg.max_bytes, cfg.text_field, cfg.id_field, part, skip, cfg.max_ratio)
