"""Python API: clean one text in memory, the same way the `clean` command cleans a document.

    from cleaner import Cleaner
    c = Cleaner(threshold=0.85)
    r = c.clean_text(scraped)
    r.text       # the kept paragraphs
    r.removed    # what went, with line, reason and detail

Only what concerns one document applies here (boilerplate, repeats inside the
document); corpus-wide steps (site templates, duplicates across documents,
near-duplicate documents) need the whole corpus: use `clean_corpus`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import Config, ConfigError, load_config_file
from .document import Document, split_record


@dataclass(frozen=True, slots=True)
class Removed:
    """One removed paragraph."""

    line: int  # 1-based line in the text given
    text: str
    reason: str  # a reason code (see README)
    detail: str


@dataclass(frozen=True, slots=True)
class Result:
    """The outcome of cleaning one text."""

    text: str  # kept paragraphs, joined the way the input separated them
    kept: list[str] = field(default_factory=list)
    removed: list[Removed] = field(default_factory=list)

    @property
    def reasons(self) -> dict[str, int]:
        """Number of removed paragraphs per reason."""
        out: dict[str, int] = {}
        for r in self.removed:
            out[r.reason] = out.get(r.reason, 0) + 1
        return out


class Cleaner:
    """Cleans texts one at a time with the options of `clean` (keyword arguments
    named like the long flags, e.g. ``Cleaner(no_strip...)`` is ``strip=False``).

    Picklable (only the options travel), so it works in ``datasets.map(num_proc=N)``.
    """

    def __init__(self, config: str | Path | None = None, **options: Any) -> None:
        values: dict[str, Any] = dict(load_config_file(config)) if config else {}
        for k in ("report", "overwrite", "quiet"):
            values.pop(k, None)
        values.update(options)
        try:
            self.config = Config(**values).validate()
        except TypeError as e:
            raise ConfigError(str(e)) from None
        self._engine: Any = None

    def __getstate__(self) -> dict[str, Any]:
        return {"config": self.config}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.config = state["config"]
        self._engine = None

    @property
    def engine(self) -> Any:
        """The per-document cleaner (a DocumentCleaner), built on first use."""
        if self._engine is None:
            from .document_cleaner import DocumentCleaner

            self._engine = DocumentCleaner.get(self.config)
        return self._engine

    def clean_text(self, text: str) -> Result:
        """Remove boilerplate and repeated paragraphs from one document's text
        (paragraphs are its non-blank lines)."""
        paragraphs, lines, gaps = split_record(text)
        return self._clean(Document("text", "text", paragraphs, lines, gaps=gaps))

    def clean_html(self, html: str | bytes) -> Result:
        """Extract the main text of a page (trafilatura), then clean it like clean_text."""
        data = html.encode("utf-8") if isinstance(html, str) else html
        return self._clean(Document("page", "page", [], [], html=data))

    def _clean(self, doc: Document) -> Result:
        dec = self.engine.clean(doc)
        removed = [Removed(doc.lines[i], doc.paragraphs[i], d.reason, d.detail) for i, d in sorted(dec.drops.items())]
        kept_text = [doc.paragraphs[i] for i in dec.kept]
        return Result(doc.kept_text(dec.kept), kept_text, removed)
