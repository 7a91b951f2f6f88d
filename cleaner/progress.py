"""Progress bar and end-of-run summary on stderr (rich)."""

from __future__ import annotations

import sys
from typing import Any

from .escape import one_line
from .report import Report


class Progress:
    """A bar per phase while a run goes; shown only when stderr is a terminal."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.live = enabled and sys.stderr.isatty()
        self._bar: Any = None
        self._tasks: dict[str, Any] = {}

    def __enter__(self) -> Progress:
        if self.live:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
            from rich.progress import Progress as Bar

            self._bar = Bar(TextColumn("{task.description:>6}"), BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), console=Console(stderr=True), transient=True)
            self._bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)
            self._bar = None

    def update(self, phase: str, done: int, total: int) -> None:
        if self._bar is None:
            return
        task = self._tasks.get(phase)
        if task is None:
            task = self._tasks[phase] = self._bar.add_task(phase, total=total)
        self._bar.update(task, completed=done, total=total)

    def summary(self, report: Report) -> None:
        from rich.console import Console
        from rich.table import Table

        console = Console(stderr=True, highlight=False)
        table = Table(show_header=False, box=None, pad_edge=False)
        table.add_column(style="bold")
        table.add_column()
        for k, v in report.summary_rows():
            table.add_row(k, v)
        where = one_line(report.report_dir)
        table.add_row("report", where if where.startswith("(") else f"{where}/report.json, removed.jsonl")
        console.print(table)
        from rich.markup import escape

        for e in report.errors[:20]:
            console.print(f"[red]error:[/red] {escape(one_line(e))}")
        if len(report.errors) > 20:
            console.print(f"... and {len(report.errors) - 20} more errors in report.json")
