"""Preloaded by the worker pool's fork server: workers fork with the pipeline imported."""

import signal

# The fork server ignores Ctrl-C once it runs (multiprocessing does that after the
# preload); ignore it from the start, or a Ctrl-C during this import prints a traceback.
signal.signal(signal.SIGINT, signal.SIG_IGN)

import cleaner.run.map  # noqa: E402, F401
import cleaner.run.write  # noqa: E402, F401
