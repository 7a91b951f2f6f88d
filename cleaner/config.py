"""Run options: defaults, validation, and the fingerprint that guards --resume."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass, field

KEEP_CHOICES = ("first", "longest")


class ConfigError(ValueError):
    """An option value that cannot work; the message is shown as one line."""


@dataclass(frozen=True)
class Config:
    """Every option of a run. CLI flags, a TOML file and the Python API all fill this."""

    # boilerplate
    strip: bool = True
    rules: tuple[str, ...] = ()
    default_rules: bool = True
    regex_timeout: float = 0.25
    # Dragnet dev set (346 pages, few per site), F1 fulltext / html: 3 -> 0.915 / 0.917,
    # 5 -> 0.914 / 0.917, 10 -> 0.914 / 0.917, off -> 0.911 / 0.917. Kept at 5: 3 would
    # also take quotes that a few articles share on a larger corpus.
    template_min_docs: int = 5
    # dedup
    dedup: bool = True
    threshold: float = 0.8
    num_perm: int = 128
    shingle: int = 5
    keep: str = "first"
    paragraph_threshold: float = 0.8
    min_dup_words: int = 5  # cross-document exact paragraph dedup
    min_inner_dup_chars: int = 10  # within-document exact paragraph dedup
    min_near_words: int = 12  # near-duplicate paragraphs (MinHash), within and across documents
    paragraph_num_perm: int = 64
    paragraph_shingle: int = 3
    # formats
    text_field: str = "text"
    id_field: str = "id"
    encoding: str | None = None
    max_bytes: int = 256 * 1024 * 1024
    # A .gz/.zst file may decompress to at most this many times its size (past
    # 8 MiB): text compresses 3-10x, repetitive JSONL up to ~50x; a gzip stream of
    # one repeated byte reaches 1000x (deflate's limit), zstd far more.
    max_ratio: int = 200
    # output
    output_format: str = "same"
    shard_size: int = 100_000
    # running
    engine: str = "local"
    scheduler: str | None = None
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    doc_timeout: float = 60.0
    # Per worker process (RLIMIT_DATA); 0 means no limit.
    max_memory: int = 8 * 1024 ** 3
    follow_symlinks: bool = False
    seed: int = 1

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
        need(self.min_dup_words >= 1 and self.min_near_words >= 1, "minimum word counts must be at least 1")
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
        d["rules"] = list(self.rules)
        return d

    def fingerprint(self) -> str:
        """Hash of every option that changes the output (not workers, not timeouts)."""
        d = self.as_dict()
        for k in ("workers", "doc_timeout", "max_memory", "engine", "scheduler"):
            d.pop(k, None)
        rule_text = []
        for r in self.rules:
            try:
                with open(r, "rb") as fh:
                    rule_text.append(hashlib.sha256(fh.read()).hexdigest())
            except OSError:
                rule_text.append("missing")
        d["rule_hashes"] = rule_text
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


# Options of a run that are not part of Config (they do not change what is kept).
RUN_OPTIONS = {"report": str, "overwrite": bool, "quiet": bool}


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
    """Options from a TOML file: keys are option names (dashes or underscores),
    at the top level or in a [cleaner] table; rule paths are relative to the file."""
    import sys

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    from pathlib import Path

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
    types = _field_types()
    out: dict[str, object] = {}
    for raw_key, value in data.items():
        key = raw_key.replace("-", "_")
        if key in RUN_OPTIONS:
            out[key] = _coerce(key, value, RUN_OPTIONS[key], str(p))
            if key == "report":
                out[key] = str((p.parent / str(value)).resolve()) if not Path(str(value)).is_absolute() else value
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
    """The options as TOML (what --print-config shows; loadable with --config)."""

    def fmt(v: object) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return repr(v)
        if isinstance(v, (list, tuple)):
            return "[" + ", ".join(fmt(x) for x in v) + "]"
        return json.dumps(str(v), ensure_ascii=False)

    lines = []
    for k, v in values.items():
        if v is None:
            lines.append(f"# {k} = (not set)")
        else:
            lines.append(f"{k} = {fmt(v)}")
    return "\n".join(lines) + "\n"
