"""`clean --explain FILE`: every paragraph with its decision, reason and main features."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import formats
from .config import Config
from .document import Document, ItemError
from .readers import ReadError


def explain_docs(path: Path, cfg: Config, errors: list[ItemError] | None = None
                 ) -> list[tuple[Document, list[dict[str, Any]]]]:
    """Per document, one row per paragraph: line, decision, reason, detail, features, text.
    A bad record raises ReadError, or with `errors` is put there and the rest explained (as
    `clean` skips it and cleans the rest)."""
    from .document_cleaner import DocumentCleaner

    f = formats.input_file(path.name, str(path))
    if f is None:
        raise ReadError(f"unsupported file type: {path.name}")
    dc = DocumentCleaner.get(cfg, explain=True)
    out = []
    for item in formats.of(f).read(f, cfg):
        if isinstance(item, ItemError):
            if errors is None:
                raise ReadError(item.message, item.line)
            errors.append(item)
            continue
        doc = item
        dec = dc.clean(doc)
        rows: list[dict[str, Any]] = []
        for i, text in enumerate(doc.paragraphs):
            info = dec.infos[i] if dec.infos else None
            drop = dec.drops.get(i)
            rows.append({"line": doc.lines[i], "keep": drop is None, "reason": drop.reason if drop else None,
                         "detail": drop.detail if drop else "",
                         "features": info.feature_dict() if info else {}, "text": text})
        out.append((doc, rows))
    return out


def explain_file(path: Path, cfg: Config) -> int:
    from rich.console import Console
    from rich.markup import escape

    console = Console(highlight=False, soft_wrap=True)
    err = Console(stderr=True, highlight=False, soft_wrap=True)  # an error line stays one line
    if not path.exists():
        hint = ""
        if str(path).startswith("-"):
            # `clean --explain --model m.json page.txt`: the option took the next word as its FILE
            hint = " (--explain takes the file right after it: clean --explain FILE [OPTIONS])"
        err.print(f"clean: error: {escape(str(path))}: no such file{escape(hint)}")
        return 1
    errors: list[ItemError] = []
    try:
        docs = explain_docs(path, cfg, errors)
    except ReadError as e:
        where = f"{path}:{e.line}" if e.line else str(path)
        err.print(f"clean: error: {escape(where)}: {escape(str(e))}")
        return 1
    except OSError as e:
        err.print(f"clean: error: {escape(str(path))}: {escape(e.strerror or str(e))}")
        return 1
    from .boilerplate import feature_label

    for doc, rows in docs:
        kept = sum(1 for r in rows if r["keep"])
        first = next((r["features"] for r in rows if r["features"]), None)
        if doc.decided:
            via = "  [dim](an HTML page: its blocks as decided by the HTML extractor)[/dim]"
        elif first:
            via = (f"  [dim](whole-page text: {first['p_dump']:.2f}; a paragraph is kept from p = "
                   f"{first['threshold']:.2f})[/dim]")
        else:
            via = ""
        console.print(f"[bold]{escape(doc.id)}[/bold]  {kept} of {len(rows)} paragraphs kept{via}")
        for r in rows:
            f = r["features"]
            probs = "p=rule" if f.get("ruled") else f"p={f['prob']:.2f} own={f['own']:.2f}" if f else ""
            feats = f"w={f['words']:<4} {probs}" if f else ""
            text = str(r["text"])
            short = text if len(text) <= 100 else text[:97] + "..."
            if r["keep"]:
                console.print(f"[green]L{r['line']:<4} keep[/green]  {feats:<46} {'':<26} {escape(short)}")
                if f and not doc.decided and not f.get("ruled") and f["prob"] < f["threshold"]:
                    # the two rules that keep what the model doubts (README, "How boilerplate is found")
                    console.print(f"[dim]{'':12}kept below the threshold: a short line inside the text, or "
                                  "nothing in the document would be kept on the score alone[/dim]")
            else:
                why = str(r["reason"])
                console.print(f"[red]L{r['line']:<4} DROP[/red]  {feats:<46} [red]{escape(why):<26}[/red] "
                              f"{escape(short)}")
                if r["detail"]:
                    console.print(f"[dim]{'':12}{escape(str(r['detail']))}[/dim]")
            top = f.get("top") if f else None
            if top:
                parts = [f"[{'green' if v >= 0 else 'red'}]{v:+.2f}[/] {escape(feature_label(name))} "
                         f"[dim]({name}={x:.3g})[/dim]" for name, x, v in top]
                rules = f" [dim]rules: {escape(', '.join(f['rules']))}[/dim]" if f.get("rules") else ""
                console.print(f"{'':12}{'  '.join(parts)}{rules}")
    for bad in errors:
        where = f"{path}:{bad.line}" if bad.line else str(path)
        err.print(f"clean: error: {escape(where)}: {escape(bad.message)} (record skipped)")
    console.print("\n[dim]p = model's probability of text (kept from the document's threshold); own = from the "
                  "paragraph alone; then the features that moved p most ([green]+[/green] towards keep, [red]-[/red] "
                  "towards drop, in log-odds)[/dim]")
    return 1 if errors else 0
