"""The `clean` command line (Typer). Heavy modules are imported only when a run starts."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, Optional

import typer

from .config import Config, ConfigError, load_config_file, to_toml

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None,
                  context_settings={"help_option_names": ["-h", "--help"]})

EXIT_OK, EXIT_ITEMS_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageFailure(Exception):
    """Bad arguments: one line on stderr, exit 2."""


def _err(msg: str) -> None:
    sys.stderr.write(f"clean: error: {msg}\n")


@app.command(help="Strip boilerplate from and deduplicate the corpus in INPUT_DIR, writing a clean copy "
                  "to OUTPUT_DIR (same layout) and a report of everything removed. "
                  "Use - for INPUT_DIR to read JSONL from stdin, - for OUTPUT_DIR to write JSONL to stdout.")
def run(
    input_dir: Optional[str] = typer.Argument(None, metavar="INPUT_DIR", show_default=False,
                                              help="Folder of .txt/.md, .html, .jsonl, .parquet, .warc files "
                                                   "(.gz/.zst too), or - for JSONL on stdin."),
    output_dir: Optional[str] = typer.Argument(None, metavar="OUTPUT_DIR", show_default=False,
                                               help="Where the cleaned corpus goes (corpus files only), "
                                                    "or - for JSONL on stdout."),
    config: Optional[Path] = typer.Option(None, "--config", metavar="FILE",
                                          help="Options from a TOML file; flags given here override it."),
    print_config: bool = typer.Option(False, "--print-config", help="Print the effective options as TOML and exit."),
    report: Optional[Path] = typer.Option(None, "--report", metavar="DIR",
                                          help="Report folder [default: OUTPUT_DIR.report next to OUTPUT_DIR]."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Allow a non-empty OUTPUT_DIR; replace its files."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar and no summary."),
    workers: Optional[int] = typer.Option(None, "--workers", "-j", metavar="N",
                                          help="Worker processes [default: number of cores]; 0 runs all in "
                                               "this process (no crash isolation)."),
    engine: Optional[str] = typer.Option(None, "--engine", metavar="local|dask",
                                         help="Run on worker processes here, or on a Dask cluster [default: local]."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", metavar="ADDRESS",
                                            help="Dask scheduler (tcp://host:8786); without it --engine dask "
                                                 "starts a LocalCluster of --workers processes."),
    no_dedup: bool = typer.Option(False, "--no-dedup", help="Do not remove duplicate paragraphs or documents."),
    no_strip: bool = typer.Option(False, "--no-strip", help="Do not remove boilerplate (dedup only)."),
    threshold: Optional[float] = typer.Option(None, "--threshold", metavar="J",
                                              help="Jaccard similarity (word 5-grams) from which documents are "
                                                   "near-duplicates [default: 0.8]."),
    paragraph_threshold: Optional[float] = typer.Option(None, "--paragraph-threshold", metavar="J",
                                                        help="The same for paragraphs (word 3-grams) [default: 0.8]."),
    keep: Optional[str] = typer.Option(None, "--keep", metavar="first|longest",
                                       help="Which document of a duplicate cluster survives [default: first "
                                            "in sorted path order]."),
    template_min_docs: Optional[int] = typer.Option(None, "--template-min-docs", metavar="N",
                                                    help="A paragraph in at least N documents is site template "
                                                         "and removed from all [default: 5]."),
    rules: Optional[list[Path]] = typer.Option(None, "--rules", metavar="FILE",
                                               help="Extra pattern rules (TOML); may be repeated."),
    text_field: Optional[str] = typer.Option(None, "--text-field", metavar="NAME",
                                             help="JSONL field / Parquet column with the text [default: text]."),
    id_field: Optional[str] = typer.Option(None, "--id-field", metavar="NAME",
                                           help="Field with the document id [default: id; else path:line]."),
    output_format: Optional[str] = typer.Option(None, "--output-format", metavar="FORMAT",
                                                help="same (mirror the input) | txt | jsonl | jsonl.gz | "
                                                     "jsonl.zst | parquet [default: same]."),
    shard_size: Optional[int] = typer.Option(None, "--shard-size", metavar="N",
                                             help="Documents per part-NNNNN file with --output-format "
                                                  "jsonl*/parquet [default: 100000]."),
    encoding: Optional[str] = typer.Option(None, "--encoding", metavar="NAME",
                                           help="Encoding of text files without a BOM [default: utf-8]."),
    max_bytes: Optional[int] = typer.Option(None, "--max-bytes", metavar="N",
                                            help="Largest document read into memory, decompressed "
                                                 "(a file, or a JSONL line) [default: 256 MiB]."),
    max_ratio: Optional[int] = typer.Option(None, "--max-ratio", metavar="N",
                                            help="A .gz/.zst file may decompress to at most N times its size "
                                                 "(compression bombs) [default: 200]."),
    doc_timeout: Optional[float] = typer.Option(None, "--doc-timeout", metavar="SECONDS",
                                                help="Time limit per document [default: 60]."),
    max_memory: Optional[int] = typer.Option(None, "--max-memory", metavar="BYTES",
                                             help="Memory limit per worker process, 0 for none [default: 8 GiB]."),
    follow_symlinks: bool = typer.Option(False, "--follow-symlinks",
                                         help="Follow symbolic links, also to outside INPUT_DIR."),
    explain: Optional[Path] = typer.Option(None, "--explain", metavar="FILE",
                                           help="Show every paragraph of FILE with its decision, reason and "
                                                "features, then exit."),
) -> None:
    options: dict[str, Any] = {}
    if config is not None:
        try:
            options.update(load_config_file(config))
        except ConfigError as e:
            raise UsageFailure(str(e)) from None
    for key, value in (("workers", workers), ("threshold", threshold),
                       ("paragraph_threshold", paragraph_threshold), ("keep", keep),
                       ("template_min_docs", template_min_docs), ("text_field", text_field),
                       ("id_field", id_field), ("encoding", encoding), ("max_bytes", max_bytes),
                       ("doc_timeout", doc_timeout), ("max_ratio", max_ratio), ("max_memory", max_memory),
                       ("output_format", output_format), ("shard_size", shard_size), ("engine", engine),
                       ("scheduler", scheduler)):
        if value is not None:
            options[key] = value
    if rules:
        for r in rules:
            if not r.is_file():
                raise UsageFailure(f"--rules: {r} is not a file")
        options["rules"] = tuple(options.get("rules", ())) + tuple(str(r) for r in rules)
    for flag, key, value in ((no_dedup, "dedup", False), (no_strip, "strip", False),
                             (follow_symlinks, "follow_symlinks", True)):
        if flag:
            options[key] = value
    run_opts = {"report": options.pop("report", None), "overwrite": options.pop("overwrite", False),
                "quiet": options.pop("quiet", False)}
    if report is not None:
        run_opts["report"] = str(report)
    run_opts["overwrite"] = run_opts["overwrite"] or overwrite
    run_opts["quiet"] = run_opts["quiet"] or quiet
    try:
        cfg = Config(**options).validate()
    except ConfigError as e:
        raise UsageFailure(str(e)) from None
    _check_rules(cfg)

    if print_config:
        sys.stdout.write(to_toml({**cfg.as_dict(), **run_opts}))
        raise typer.Exit(EXIT_OK)
    if explain is not None:
        from .explain import explain_file

        raise typer.Exit(explain_file(explain, cfg))
    if input_dir is None or output_dir is None:
        raise UsageFailure("INPUT_DIR and OUTPUT_DIR are required (see clean --help)")
    rep_dir = Path(run_opts["report"]) if run_opts["report"] else None
    if input_dir == "-" or output_dir == "-":
        raise typer.Exit(_run_streams(input_dir, output_dir, cfg, rep_dir, bool(run_opts["quiet"]),
                                      bool(run_opts["overwrite"])))
    raise typer.Exit(_run(Path(input_dir), Path(output_dir), cfg, rep_dir, bool(run_opts["overwrite"]),
                          bool(run_opts["quiet"])))


def _check_rules(cfg: Config) -> None:
    from .rules import RuleError, RuleSet

    try:
        RuleSet.build(cfg.rules, cfg.default_rules, cfg.regex_timeout)
    except RuleError as e:
        raise UsageFailure(str(e)) from None


def _run(input_dir: Path, output_dir: Path, cfg: Config, report_dir: Optional[Path], overwrite: bool,
         quiet: bool, report_note: str | None = None) -> int:
    from .progress import Progress
    from .run import Interrupted, Run, RunError

    show = not quiet
    progress = Progress(enabled=show)
    try:
        with progress:
            rep = Run(input_dir, output_dir, cfg, report_dir, overwrite, progress.update).execute()
    except RunError as e:
        raise UsageFailure(str(e)) from None
    except Interrupted as e:
        sys.stderr.write(f"clean: {e}\n")
        return EXIT_INTERRUPTED
    except OSError as e:  # the report or the work folder cannot be written (disk full, permissions)
        _err(f"{e.filename or ''}: {e.strerror or e}".lstrip(": "))
        return EXIT_ITEMS_FAILED
    if show:
        if report_note:
            rep.report_dir = report_note
        progress.summary(rep)
    elif rep.errors:
        for msg in rep.errors[:20]:
            sys.stderr.write(f"clean: {msg}\n")
    return EXIT_ITEMS_FAILED if rep.errors else EXIT_OK


def _run_streams(input_arg: str, output_arg: str, cfg: Config, report_dir: Optional[Path], quiet: bool,
                 overwrite: bool) -> int:
    """`clean - -`, `clean - OUT`, `clean IN -`: JSONL through stdin/stdout via a temp folder.

    Without --report the audit goes away with the temp folder; the summary
    (stderr) still says how much was removed and why.
    """
    with tempfile.TemporaryDirectory(prefix="cleaner-") as tmp:
        t = Path(tmp)
        if input_arg == "-":
            src = t / "in"
            src.mkdir()
            with open(src / "stdin.jsonl", "wb") as fh:
                shutil.copyfileobj(sys.stdin.buffer, fh, 1 << 20)
        else:
            src = Path(input_arg)
        to_stdout = output_arg == "-"
        out = t / "out" if to_stdout else Path(output_arg)
        if to_stdout:
            cfg = cfg.replace(output_format="jsonl", shard_size=2**62)
        rep_dir = report_dir or (t / "report" if to_stdout else None)
        code = _run(src, out, cfg, rep_dir, overwrite, quiet,
                    None if report_dir else "(not kept: pass --report DIR to keep the audit)")
        if to_stdout and code in (EXIT_OK, EXIT_ITEMS_FAILED):
            for part in sorted(out.glob("part-*.jsonl")):
                with open(part, "rb") as fh:
                    shutil.copyfileobj(fh, sys.stdout.buffer, 1 << 20)
            sys.stdout.buffer.flush()
        return code


def main(argv: Optional[list[str]] = None) -> int:
    """Entry point of the `clean` command; returns the exit code."""
    cmd = typer.main.get_command(app)
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        rv = cmd.main(args=args, prog_name="clean", standalone_mode=False)
    except UsageFailure as e:
        _err(str(e))
        return EXIT_USAGE
    except typer.Exit as e:
        return int(e.exit_code)
    except typer.Abort:
        sys.stderr.write("clean: aborted\n")
        return EXIT_INTERRUPTED
    except typer.TyperException as e:  # click's usage errors (typer >= 0.29 vendors click)
        _err(e.format_message().replace("\n", " "))
        return int(getattr(e, "exit_code", EXIT_USAGE)) or EXIT_USAGE
    except KeyboardInterrupt:
        sys.stderr.write("clean: interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # the reader of our output went away (e.g. `clean ... | head`); not an error of ours
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    return int(rv or 0)
