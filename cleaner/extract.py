"""Main-text extraction from HTML with trafilatura (imported on first use)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ExtractSettings:
    """trafilatura options; defaults chosen on the dragnet dev set (see bench/quality.py)."""

    favor_precision: bool = False
    favor_recall: bool = True
    include_comments: bool = True
    include_tables: bool = True
    fast: bool = False


class Extractor:
    """Callable: HTML bytes -> extracted text ('' when nothing is found)."""

    def __init__(self, settings: ExtractSettings | None = None) -> None:
        self.settings = settings or ExtractSettings()
        self._extract: Any = None

    def __call__(self, html: bytes) -> str:
        if self._extract is None:
            import trafilatura

            self._extract = trafilatura.extract
        s = self.settings
        text = self._extract(
            html,
            output_format="txt",
            favor_precision=s.favor_precision,
            favor_recall=s.favor_recall,
            include_comments=s.include_comments,
            include_tables=s.include_tables,
            fast=s.fast,
            deduplicate=False,
            with_metadata=False,
        )
        return text or ""
