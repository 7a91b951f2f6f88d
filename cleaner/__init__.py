"""cleaner: strip boilerplate and deduplicate text corpora for ML training data."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Cleaner", "Result", "clean_corpus", "Config", "Report", "__version__"]

if TYPE_CHECKING:
    from .api import Cleaner, Result
    from .config import Config
    from .report import Report
    from .run import clean_corpus

_LAZY = {
    "Cleaner": ".api",
    "Result": ".api",
    "clean_corpus": ".run",
    "Config": ".config",
    "Report": ".report",
}


def __getattr__(name: str) -> Any:
    # Lazy so that `clean --help` and `import cleaner` stay fast (no numpy, trafilatura).
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'cleaner' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(mod, __name__), name)
