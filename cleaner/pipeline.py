"""The old home of the run, kept so that `from cleaner.pipeline import clean_corpus` still works.

The run now lives in cleaner/run/ (phases), cleaner/dedup/ (corpus algorithms) and
cleaner/document_cleaner.py (one document's steps); see the README's "Architecture".
"""

from .document_cleaner import DocumentCleaner
from .run import Interrupted, Run, RunError, clean_corpus, default_report_dir

__all__ = ["DocumentCleaner", "Interrupted", "Run", "RunError", "clean_corpus", "default_report_dir"]
