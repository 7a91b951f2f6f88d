"""Run options: defaults, validation, and the fingerprint that guards --resume."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import Any

KEEP_CHOICES = ("first", "longest")


class StorageOptions(dict):
    """Options of the fsspec file systems of remote locations (endpoint_url, anon, key, ...);
    they may hold credentials, so nothing shows their values."""

    def __repr__(self) -> str:
        return f"StorageOptions({', '.join(sorted(map(str, self)))}: values not shown)"


class ConfigError(ValueError):
    """An option value that cannot work; the message is shown as one line."""


# The sections of the options: in `clean --help`, in the TOML that `clean config` prints.
SECTIONS = {"io": "Input and output", "strip": "Boilerplate", "dedup": "Deduplication", "run": "Running"}


def _opt(default: Any = dataclasses.MISSING, section: str = "run", help: str = "", flag: str | None = None,
         metavar: str | None = None, short: str | None = None, default_text: str | None = None,
         factory: Any = dataclasses.MISSING) -> Any:
    """A Config field with what the command line needs of it. `flag`: the option of
    `clean` (none: config file and API only); for a bool, the flag that sets the
    opposite of the default (--no-strip). `default_text`: the default as --help says
    it, when the value itself would not tell."""
    meta = {"section": section, "help": help, "flag": flag, "metavar": metavar, "short": short,
            "default_text": default_text}
    if factory is not dataclasses.MISSING:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class Config:
    """Every option of a run. CLI flags, a TOML file and the Python API all fill this;
    each field says its section, flag and help (the command line is built from them)."""

    strip: bool = _opt(True, "strip", "Do not remove boilerplate (dedup only).", "--no-strip")
    rules: tuple[str, ...] = _opt((), "strip", "Extra pattern rules (TOML); may be repeated.", "--rules", "FILE")
    default_rules: bool = _opt(True, "strip", "Use the shipped pattern rules (cleaner/data/rules.toml).")
    regex_timeout: float = _opt(0.25, "strip", "Time limit of one pattern on one paragraph, in seconds.")
    model: str | None = _opt(None, "strip", "The paragraph model (a model.json of `make train`)", "--model", "FILE",
                             default_text="the shipped one")
    html_model: str | None = _opt(None, "strip", "The HTML block model (an html_model.json of `make train-html`)",
                                  "--html-model", "FILE", default_text="the shipped one")
    # Dragnet dev set (346 pages, few per site), F1 fulltext / html: 3 -> 0.915 / 0.917,
    # 5 -> 0.914 / 0.917, 10 -> 0.914 / 0.917, off -> 0.911 / 0.917. Kept at 5: 3 would
    # also take quotes that a few articles share on a larger corpus.
    template_min_docs: int = _opt(5, "strip", "A paragraph in at least N documents is site template and removed "
                                  "from all", "--template-min-docs", "N")
    dedup: bool = _opt(True, "dedup", "Do not remove duplicate paragraphs or documents.", "--no-dedup")
    threshold: float = _opt(0.8, "dedup", "Jaccard similarity (word 5-grams) from which documents are "
                            "near-duplicates", "--threshold", "J")
    num_perm: int = _opt(128, "dedup", "MinHash permutations per document.")
    shingle: int = _opt(5, "dedup", "Words per shingle of a document.")
    keep: str = _opt("first", "dedup", "Which document of a duplicate cluster survives", "--keep",
                     "first|longest", default_text="first in sorted path order")
    paragraph_threshold: float = _opt(0.8, "dedup", "The same for paragraphs (word 3-grams)",
                                      "--paragraph-threshold", "J")
    min_dup_words: int = _opt(5, "dedup", "Fewest words of a paragraph removed as a repeat of another document's.")
    # The same holds across documents: a short line that another document also has is a label
    # ("What We Don't Like", "What's in the box:") or a line of code ("Traceback (most recent
    # call last):") unless a repeated block holds it. Repeats of other documents' paragraphs took
    # 0.15 % of the words of wcxb-dev gold/ (a few of its sites have several pages) before this
    # rule, 0.08 % after (12 words, as inside a document): gold/ removed overall 1.14 -> 1.05 %,
    # the multilingual set 0.25 -> 0.14 %, Dragnet gold/ unchanged (3.01 %); the whole page text
    # and 3 pre-extracted inputs of both dev sets within 0.0004 F1 (in-sample, with dedup).
    min_corpus_dup_words: int = _opt(12, "dedup", "Fewest words of a repeat of another document's paragraph "
                                     "removed on its own; a shorter one goes only inside a repeated block.")
    min_inner_dup_chars: int = _opt(10, "dedup", "Fewest characters of a paragraph removed as a repeat inside "
                                    "its document.")
    # A short line that recurs in a document is a label ("Weight Limit:", "Key Features",
    # a date) unless it sits in a block that repeats: on wcxb-dev gold/ 1 % of the words went
    # as such repeats before this rule, 0.02 % after. A repeat goes on its own from 12 words:
    # below that, the repeats of clean pages are labels and facts ("Credit is per room, per
    # stay.", "Posted October 29, 2012 at 10:50 am", a line of code shown twice); 5 -> 12 took
    # wcxb-dev gold/ from 1.93 to 1.34 % of its words removed, whole page text F1 +0.003,
    # the other text inputs of both dev sets within 0.001.
    min_inner_dup_words: int = _opt(12, "dedup", "Fewest words of a repeat inside a document removed on its own; "
                                    "a shorter one goes only inside a repeated block of paragraphs.")
    # Near repeats of a short paragraph are templated facts ("187 reviews with an average rating
    # of 4.6 out of 5 stars" / "1299 reviews ... 4.2 ..."), not copies: 12 -> 20 words kept
    # 0.07 % more of wcxb-dev gold/, no dev-set F1 moved.
    min_near_words: int = _opt(20, "dedup", "Fewest words of a paragraph checked for near repeats (MinHash), "
                               "within and across documents.")
    paragraph_num_perm: int = _opt(64, "dedup", "MinHash permutations per paragraph.")
    paragraph_shingle: int = _opt(3, "dedup", "Words per shingle of a paragraph.")
    text_field: str = _opt("text", "io", "JSONL field / Parquet column with the text", "--text-field", "NAME")
    id_field: str = _opt("id", "io", "Field with the document id", "--id-field", "NAME",
                         default_text="id; else path:line")
    encoding: str | None = _opt(None, "io", "Encoding of text files without a BOM", "--encoding", "NAME",
                                default_text="utf-8")
    max_bytes: int = _opt(256 * 1024 * 1024, "io", "Largest document read into memory, decompressed "
                          "(a file, or a JSONL line)", "--max-bytes", "N", default_text="256 MiB")
    # A .gz/.zst file may decompress to at most this many times its size (past
    # 8 MiB): text compresses 3-10x, repetitive JSONL up to ~50x; a gzip stream of
    # one repeated byte reaches 1000x (deflate's limit), zstd far more.
    max_ratio: int = _opt(200, "io", "A .gz/.zst file may decompress to at most N times its size "
                          "(compression bombs)", "--max-ratio", "N")
    output_format: str = _opt("same", "io", "same (mirror the input) | txt | jsonl | jsonl.gz | jsonl.zst | "
                              "parquet", "--output-format", "FORMAT")
    shard_size: int = _opt(100_000, "io", "Documents per part-NNNNN file with --output-format jsonl*/parquet",
                           "--shard-size", "N")
    annotate: bool = _opt(False, "io", "Add to each JSONL record / Parquet row a field `cleaner_copies`: how many "
                          "copies of the document the corpus had (itself and the duplicates removed for it), "
                          "to upsample by.", "--annotate")
    engine: str = _opt("local", "run", "Run on worker processes here, or on a Dask cluster", "--engine",
                       "local|dask")
    scheduler: str | None = _opt(None, "run", "Dask scheduler (tcp://host:8786); without it --engine dask "
                                 "starts a LocalCluster of --workers processes.", "--scheduler", "ADDRESS")
    workers: int = _opt(section="run", help="Worker processes; 0 runs all in this process (no crash isolation)",
                        flag="--workers", metavar="N", short="-j", default_text="number of cores",
                        factory=lambda: os.cpu_count() or 1)
    doc_timeout: float = _opt(60.0, "run", "Time limit per document", "--doc-timeout", "SECONDS", default_text="60")
    # Per worker process (RLIMIT_DATA); 0 means no limit.
    max_memory: int = _opt(8 * 1024 ** 3, "run", "Memory limit per worker process, 0 for none", "--max-memory",
                           "BYTES", default_text="8 GiB")
    follow_symlinks: bool = _opt(False, "io", "Follow symbolic links, also to outside INPUT_DIR.",
                                 "--follow-symlinks")
    seed: int = _opt(1, "dedup", "Seed of the MinHash permutations.")
    index: str | None = _opt(None, "dedup", "Dedup index of earlier runs: the batch is deduplicated against it, and "
                             "its survivors are added to it", "--index", "DIR", default_text="none")
    index_readonly: bool = _opt(False, "dedup", "Check against --index without adding this run to it.",
                                "--index-readonly")
    index_exact: bool = _opt(False, "dedup", "Keep the shingle sets of the indexed documents and the signatures "
                             "and sets of their long paragraphs in --index too (about 8.5 times the disk), so that "
                             "batches decide as one run over all of them.", "--index-exact")
    # The config file's [storage] table (and CLEANER_STORAGE_OPTIONS, see storage.py): no flag,
    # not shown (not in repr, as_dict, the report or `clean config`), no part of the fingerprint.
    storage: StorageOptions = field(default_factory=StorageOptions, repr=False, compare=False,
                                    metadata={"section": "storage"})

    def __post_init__(self) -> None:
        if not isinstance(self.storage, StorageOptions):
            if not isinstance(self.storage, dict):
                raise ConfigError(f"storage options must be a table of options, got {type(self.storage).__name__}")
            object.__setattr__(self, "storage", StorageOptions(self.storage))

    def validate(self) -> Config:
        def need(ok: bool, msg: str) -> None:
            if not ok:
                raise ConfigError(msg)

        need(0.0 < self.threshold <= 1.0, f"--threshold must be in (0, 1], got {self.threshold}")
        need(0.0 < self.paragraph_threshold <= 1.0,
             f"--paragraph-threshold must be in (0, 1], got {self.paragraph_threshold}")
        from .writers import OUTPUT_FORMATS

        need(self.output_format in OUTPUT_FORMATS,
             f"--output-format must be one of {', '.join(OUTPUT_FORMATS)}, got {self.output_format!r}")
        need(self.engine in ("local", "dask"), f"--engine must be local or dask, got {self.engine!r}")
        need(self.scheduler is None or self.engine == "dask", "--scheduler goes with --engine dask")
        need(self.shard_size >= 1, f"--shard-size must be at least 1, got {self.shard_size}")
        need(self.keep in KEEP_CHOICES, f"--keep must be one of {', '.join(KEEP_CHOICES)}, got {self.keep!r}")
        need(1 <= self.shingle <= 8, f"--shingle must be between 1 and 8, got {self.shingle}")
        need(8 <= self.num_perm <= 1024, f"--num-perm must be between 8 and 1024, got {self.num_perm}")
        need(8 <= self.paragraph_num_perm <= 1024,
             f"paragraph_num_perm must be between 8 and 1024, got {self.paragraph_num_perm}")
        need(1 <= self.paragraph_shingle <= 8, f"paragraph_shingle must be between 1 and 8, got {self.paragraph_shingle}")
        need(self.workers >= 0, f"--workers must be 0 (in this process) or more, got {self.workers}")
        need(self.max_ratio >= 2, f"--max-ratio must be at least 2, got {self.max_ratio}")
        need(self.max_memory == 0 or self.max_memory >= 256 * 1024 ** 2,
             f"--max-memory must be 0 (no limit) or at least 256 MiB, got {self.max_memory}")
        need(self.template_min_docs >= 2, f"--template-min-docs must be at least 2, got {self.template_min_docs}")
        need(self.max_bytes >= 1024, f"--max-bytes must be at least 1024, got {self.max_bytes}")
        need(self.doc_timeout > 0, f"--doc-timeout must be positive, got {self.doc_timeout}")
        need(self.regex_timeout > 0, f"regex_timeout must be positive, got {self.regex_timeout}")
        need(bool(self.text_field), "--text-field must not be empty")
        need(self.index is None or bool(self.index), "--index must not be empty")
        need(not self.index_readonly or self.index is not None, "--index-readonly goes with --index DIR")
        need(not self.index_exact or self.index is not None, "--index-exact goes with --index DIR")
        need(self.index is None or self.dedup, "--index deduplicates against earlier runs: not with --no-dedup")
        need(self.min_dup_words >= 1 and self.min_near_words >= 1 and self.min_inner_dup_words >= 1
             and self.min_corpus_dup_words >= 1,
             "minimum word counts must be at least 1")
        if self.encoding is not None:
            import codecs

            try:
                codecs.lookup(self.encoding)
            except LookupError:
                raise ConfigError(f"--encoding: unknown encoding {self.encoding!r}") from None
        return self

    def replace(self, **changes: object) -> Config:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def as_dict(self) -> dict[str, object]:
        d = dataclasses.asdict(self)
        d.pop("storage")
        d["rules"] = list(self.rules)
        return d

    def fingerprint(self) -> str:
        """Hash of every option that changes the output (not workers, not timeouts)."""
        d = self.as_dict()
        # the index changes the reduce only, which a resumed run does again (against the index as it is)
        for k in ("workers", "doc_timeout", "max_memory", "engine", "scheduler", "index", "index_readonly",
                  "index_exact"):
            d.pop(k, None)
        rule_text = []
        for r in (*self.rules, self.model, self.html_model):
            if r is None:
                continue
            try:
                with open(r, "rb") as fh:
                    rule_text.append(hashlib.sha256(fh.read()).hexdigest())
            except OSError:
                rule_text.append("missing")
        d["rule_hashes"] = rule_text
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Option:
    """One option as the command line and `clean config` show it."""

    name: str  # the Config field (or run option), also its TOML key
    type: Any
    default: Any
    section: str
    help: str
    flag: str | None  # None: config file and API only
    metavar: str | None = None
    short: str | None = None
    default_text: str | None = None


# Options of a run that are not part of Config (they do not change what is kept).
RUN_OPTIONS = (
    Option("report", str, None, "io", "Report folder (or URL)", "--report", "DIR",
           default_text="OUTPUT_DIR.report next to OUTPUT_DIR"),
    Option("overwrite", bool, False, "io", "Allow a non-empty OUTPUT_DIR; replace its files.", "--overwrite"),
    Option("quiet", bool, False, "run", "No progress bar and no summary.", "--quiet", short="-q"),
)


def options() -> list[Option]:
    """Every option: Config's fields (from their metadata), then the run options."""
    types = _field_types()
    out = []
    for f in dataclasses.fields(Config):
        m = f.metadata
        if m["section"] not in SECTIONS:  # storage: config file and API only, never shown
            continue
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[operator]
        out.append(Option(f.name, types[f.name], default, m["section"], m["help"], m["flag"], m["metavar"],
                          m["short"], m["default_text"]))
    return out + list(RUN_OPTIONS)


def _field_types() -> dict[str, object]:
    import typing

    hints = typing.get_type_hints(Config)
    return {f.name: hints[f.name] for f in dataclasses.fields(Config)}


def _coerce(key: str, value: object, typ: object, origin: str) -> object:
    import typing

    def bad(expected: str) -> ConfigError:
        return ConfigError(f"{origin}: {key} must be {expected}, got {value!r}")

    args = typing.get_args(typ)
    if typ is bool:
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if typ is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad("a whole number")
        return value
    if typ is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad("a number")
        return float(value)
    if typ is str:
        if not isinstance(value, str):
            raise bad("a string")
        return value
    if type(None) in args:  # Optional[str]
        if value is None or isinstance(value, str):
            return value
        raise bad("a string")
    if typing.get_origin(typ) is tuple:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise bad("a list of strings")
        return tuple(value)
    return value


def load_config_file(path: str | os.PathLike[str]) -> dict[str, object]:
    """Options from a TOML file: keys are option names (dashes or underscores), at the
    top level, in section tables ([io], [strip], [dedup], [run]) or in a [cleaner] table;
    rule paths are relative to the file."""
    import sys

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    from pathlib import Path

    from . import storage

    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except OSError as e:
        raise ConfigError(f"{p}: cannot read config: {e.strerror or e}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{p}: not valid TOML: {e}") from None
    if isinstance(data.get("cleaner"), dict):
        extra = set(data) - {"cleaner"}
        if extra:
            raise ConfigError(f"{p}: keys outside the [cleaner] table: {sorted(extra)}")
        data = data["cleaner"]
    flat: dict[str, object] = {}
    for k, v in data.items():
        if k in SECTIONS and isinstance(v, dict):
            flat.update(v)  # a section table ([dedup], ...), as `clean config` prints them
        else:
            flat[k] = v
    types = _field_types()
    run_types = {o.name: o.type for o in RUN_OPTIONS}
    out: dict[str, object] = {}
    for raw_key, value in flat.items():
        key = raw_key.replace("-", "_")
        if key in run_types:
            out[key] = _coerce(key, value, run_types[key], str(p))
            if key == "report" and not storage.is_url(value) and not Path(str(value)).is_absolute():
                out[key] = str((p.parent / str(value)).resolve())
            continue
        if key == "storage":
            if not isinstance(value, dict):
                raise ConfigError(f"{p}: storage must be a table ([storage]) of storage options")
            out[key] = StorageOptions(value)
            continue
        if key not in types:
            raise ConfigError(f"{p}: unknown option {raw_key!r}")
        out[key] = _coerce(key, value, types[key], str(p))
    if "rules" in out:
        rules = out["rules"]
        assert isinstance(rules, tuple)
        out["rules"] = tuple(str(r) if Path(r).is_absolute() else str((p.parent / r).resolve()) for r in rules)
    return out


def to_toml(values: dict[str, object]) -> str:
    """The options as TOML, a table per section (what `clean config` shows; loadable with --config)."""

    def fmt(v: object) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return repr(v)
        if isinstance(v, (list, tuple)):
            return "[" + ", ".join(fmt(x) for x in v) + "]"
        return json.dumps(str(v), ensure_ascii=False)

    section_of = {o.name: o.section for o in options()}
    lines: list[str] = []
    for section, title in SECTIONS.items():
        keys = [k for k in values if section_of.get(k, "run") == section]
        if not keys:
            continue
        lines += ([""] if lines else []) + [f"# {title}", f"[{section}]"]
        for k in keys:
            v = values[k]
            lines.append(f"# {k} = (not set)" if v is None else f"{k} = {fmt(v)}")
    return "\n".join(lines) + "\n"
