"""The `clean` command line (Typer), a thin layer over cleaner.run and cleaner.explain: its
options are built from config.options(). Heavy modules are imported only when a run starts."""

from __future__ import annotations

import inspect
import os
import shutil
import sys
import tempfile
import typing
from pathlib import Path
from typing import Any, Optional

import typer

from .config import RUN_OPTIONS, SECTIONS, Config, ConfigError, load_config_file, options, to_toml

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None,
                  context_settings={"help_option_names": ["-h", "--help"]})

EXIT_OK, EXIT_ITEMS_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageFailure(Exception):
    """Bad arguments: one line on stderr, exit 2."""


def _err(msg: str) -> None:
    from .escape import one_line

    sys.stderr.write(f"clean: error: {one_line(msg)}\n")


# --- the options, built from config.options() (one source for name, default and help) ----

def _param(name: str, annotation: Any, default: Any) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)


def _option_params(which: set[str] | None = None) -> list[inspect.Parameter]:
    """Typer parameters for the options that have a flag (all, or those in `which`)."""
    params = []
    order = list(SECTIONS)
    for o in sorted(options(), key=lambda o: order.index(o.section)):  # --help lists them by section
        if o.flag is None or (which is not None and o.name not in which):
            continue
        names = [o.flag] + ([o.short] if o.short else [])
        panel = SECTIONS[o.section]
        if o.type is bool:
            params.append(_param(o.name, bool, typer.Option(False, *names, help=o.help, rich_help_panel=panel)))
            continue
        shown = o.default_text if o.default_text is not None else o.default
        help_text = o.help if o.help.endswith(".") else f"{o.help} [default: {shown}]."
        if o.name == "rules":
            annotation: Any = Optional[list[Path]]
        elif o.name == "report":
            annotation = Optional[str]  # a folder or a URL (a Path would fold s3:// into s3:/)
        else:
            base = next((t for t in typing.get_args(o.type) if t is not type(None)), o.type)
            annotation = Optional[base]
        params.append(_param(o.name, annotation, typer.Option(None, *names, metavar=o.metavar, show_default=False,
                                                              help=help_text, rich_help_panel=panel)))
    return params


_CONFIG = _param("config", Optional[Path], typer.Option(None, "--config", metavar="FILE",
                                                        help="Options from a TOML file; flags given here override it."))


def _options_of(values: dict[str, Any]) -> tuple[Config, dict[str, Any]]:
    """The Config and the run options (report, overwrite, quiet) from a config file and flags."""
    opts: dict[str, Any] = {}
    if values.get("config") is not None:
        try:
            opts.update(load_config_file(values["config"]))
        except ConfigError as e:
            raise UsageFailure(str(e)) from None
    run_names = {o.name for o in RUN_OPTIONS}
    run_opts = {o.name: opts.pop(o.name, o.default) for o in RUN_OPTIONS}
    for o in options():
        v = values.get(o.name)
        if o.flag is None or v is None or v is False:
            continue
        if o.name == "rules":
            for r in v:
                if not r.is_file():
                    raise UsageFailure(f"--rules: {r} is not a file")
            opts["rules"] = tuple(opts.get("rules", ())) + tuple(str(r) for r in v)
        elif o.name in run_names:
            run_opts[o.name] = str(v) if o.name == "report" else v
        else:
            opts[o.name] = (not o.default) if o.type is bool else v
    try:
        cfg = Config(**opts).validate()
    except ConfigError as e:
        raise UsageFailure(str(e)) from None
    _check_rules(cfg)
    return cfg, run_opts


def _command(app: typer.Typer, fn: Any, params: list[inspect.Parameter], help: str) -> None:
    fn.__signature__ = inspect.Signature(params)
    fn.__annotations__ = {p.name: p.annotation for p in params}
    app.command(help=help)(fn)


def _run_command(**values: Any) -> None:
    cfg, run_opts = _options_of(values)
    if values["print_config"]:
        _print_config(cfg, run_opts)
    if values["explain"] is not None:
        _explain(values["explain"], cfg)
    input_dir, output_dir = values["input_dir"], values["output_dir"]
    if input_dir is None or output_dir is None:
        raise UsageFailure("INPUT_DIR and OUTPUT_DIR are required (see clean --help)")
    from .storage import StorageError, path

    try:
        rep_dir = path(run_opts["report"]) if run_opts["report"] else None
        if input_dir == "-" or output_dir == "-":
            raise typer.Exit(_run_streams(input_dir, output_dir, cfg, rep_dir, bool(run_opts["quiet"]),
                                          bool(run_opts["overwrite"])))
        input_path, output_path = path(input_dir), path(output_dir)
    except StorageError as e:
        raise UsageFailure(str(e)) from None
    raise typer.Exit(_run(input_path, output_path, cfg, rep_dir, bool(run_opts["overwrite"]),
                          bool(run_opts["quiet"])))


def _print_config(cfg: Config, run_opts: dict[str, Any]) -> None:
    sys.stdout.write(to_toml({**cfg.as_dict(), **run_opts}))
    raise typer.Exit(EXIT_OK)


def _explain(path: Path, cfg: Config) -> None:
    from .explain import explain_file

    raise typer.Exit(explain_file(path, cfg))


_command(app, _run_command, [
    _param("input_dir", Optional[str], typer.Argument(
        None, metavar="INPUT_DIR", show_default=False,
        help="Folder (or URL: s3://bucket/prefix) of .txt/.md, .html, .jsonl, .parquet, .warc files (.gz/.zst "
             "too), or - for JSONL on stdin.")),
    _param("output_dir", Optional[str], typer.Argument(
        None, metavar="OUTPUT_DIR", show_default=False,
        help="Where the cleaned corpus goes (corpus files only; a folder or a URL), or - for JSONL on stdout.")),
    _CONFIG,
    _param("print_config", bool, typer.Option(False, "--print-config", help="The same as `clean config`.")),
    _param("explain", Optional[Path], typer.Option(None, "--explain", metavar="FILE",
                                                   help="The same as `clean explain FILE`.")),
    *_option_params(),
], help="Strip boilerplate from and deduplicate the corpus in INPUT_DIR, writing a clean copy to OUTPUT_DIR "
        "(same layout) and a report of everything removed. Use - for INPUT_DIR to read JSONL from stdin, - for "
        "OUTPUT_DIR to write JSONL to stdout. Also: `clean explain FILE` shows every paragraph of FILE with its "
        "decision, reason and features; `clean config` prints the effective options as TOML; `clean index compact "
        "DIR` joins the parts of an --index folder.")

explain_app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None,
                          context_settings={"help_option_names": ["-h", "--help"]})
_command(explain_app, lambda **v: _explain(v["file"], _options_of(v)[0]), [
    _param("file", Path, typer.Argument(..., metavar="FILE", show_default=False, help="The file to explain.")),
    _CONFIG, *_option_params({o.name for o in options() if o.section in ("strip", "dedup", "io")
                              and not o.name.startswith("index")}),
], help="Show every paragraph of FILE with its decision (as `clean` decides it for a corpus of that one file), "
        "its reason and the features behind it.")

config_app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None,
                         context_settings={"help_option_names": ["-h", "--help"]})
_command(config_app, lambda **v: _print_config(*_options_of(v)), [_CONFIG, *_option_params()],
         help="Print the effective options (defaults, then --config FILE, then flags) as TOML, a table per "
              "section; the output loads with --config.")

index_app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None,
                        context_settings={"help_option_names": ["-h", "--help"]})


@index_app.callback()
def _index_group() -> None:
    """The dedup index of `clean --index DIR` (see README, "Incremental dedup")."""


@index_app.command("compact")
def _index_compact(folder: Path = typer.Argument(..., metavar="DIR", show_default=False,
                                                 help="The index folder.")) -> None:
    """Join the index's parts, one per run, into one part (each document still names its run)."""
    from .run.index import Index, IndexRefused

    if not (folder / "manifest.json").is_file():
        raise UsageFailure(f"{folder} is not an index (no manifest.json)")
    try:
        # no run id can be in an index: nothing is found as "this run"
        before, docs = Index(folder, None, "", readonly=False).open().compact()
    except IndexRefused as e:
        raise UsageFailure(str(e)) from None
    sys.stdout.write(f"{folder}: {before} part{'s' * (before != 1)} -> {min(before, 1)}, {docs} documents\n")


SUBCOMMANDS = {"explain": explain_app, "config": config_app, "index": index_app}


def _check_rules(cfg: Config) -> None:
    from .rules import RuleError, RuleSet

    try:
        RuleSet.check(cfg.rules, cfg.default_rules)
    except RuleError as e:
        raise UsageFailure(str(e)) from None


def _run(input_dir: Path, output_dir: Path, cfg: Config, report_dir: Optional[Path], overwrite: bool,
         quiet: bool, report_note: str | None = None) -> int:
    if cfg.engine != "dask" and cfg.workers > 0:
        from .pool import start_forkserver

        start_forkserver(early=True)  # first: the workers' set-up overlaps this process's imports below
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
        from .escape import one_line

        for msg in rep.errors[:20]:
            sys.stderr.write(f"clean: {one_line(msg)}\n")
    return EXIT_ITEMS_FAILED if rep.errors else EXIT_OK


def _run_streams(input_arg: str, output_arg: str, cfg: Config, report_dir: Optional[Path], quiet: bool,
                 overwrite: bool) -> int:
    """`clean - -`, `clean - OUT`, `clean IN -`: JSONL through stdin/stdout via a temp folder.

    Without --report the audit goes away with the temp folder; the summary
    (stderr) still says how much was removed and why.
    """
    from . import storage

    with tempfile.TemporaryDirectory(prefix="cleaner-") as tmp:
        t = Path(tmp)
        if input_arg == "-":
            src = t / "in"
            src.mkdir()
            with open(src / "stdin.jsonl", "wb") as fh:
                shutil.copyfileobj(sys.stdin.buffer, fh, 1 << 20)
        else:
            src = storage.path(input_arg)
        to_stdout = output_arg == "-"
        out = t / "out" if to_stdout else storage.path(output_arg)
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
    args = list(sys.argv[1:] if argv is None else argv)
    # `clean explain FILE`, `clean config`, `clean index compact DIR`; anything else is `clean INPUT_DIR OUTPUT_DIR`
    # (a folder named like a subcommand: ./explain)
    sub = args[0] if args and args[0] in SUBCOMMANDS else None
    cmd = typer.main.get_command(SUBCOMMANDS[sub] if sub else app)
    try:
        rv = cmd.main(args=args[1:] if sub else args, prog_name=f"clean {sub}" if sub else "clean",
                      standalone_mode=False)
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
