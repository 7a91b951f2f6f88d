"""Running `clean` over a corpus: tasks, the map and write phases, executors, resume, the run itself."""

from .run import Interrupted, Run, RunError, clean_corpus, default_report_dir

__all__ = ["Interrupted", "Run", "RunError", "clean_corpus", "default_report_dir"]
