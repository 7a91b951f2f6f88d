"""Fault injection for the robustness tests, outside the product: this folder is put on
PYTHONPATH of the `clean` they start (see conftest.fault_env), so that Python imports it
at start-up in that process and in its worker processes.

CLEANER_FAULT="crash:MARK" kills the process cleaning a document whose first paragraph
contains MARK, "hang:MARK" hangs it where no signal reaches (like a parser stuck in C
code), "slow:MARK" loops in Python (where the time limit can stop it).
"""

import os

_KIND, _, _MARK = os.environ.get("CLEANER_FAULT", "").partition(":")

if _MARK:
    import signal
    import time

    from cleaner.document_cleaner import DocumentCleaner

    _extract = DocumentCleaner.extract

    def _faulty_extract(self, doc):  # type: ignore[no-untyped-def]
        if doc.paragraphs and _MARK in doc.paragraphs[0]:
            if _KIND == "crash":
                os.kill(os.getpid(), signal.SIGKILL)
            elif _KIND == "hang":
                signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
                time.sleep(3600)
            elif _KIND == "slow":
                while True:
                    pass
        return _extract(self, doc)

    # extract is the one step the map phase takes a document at a time (stripping goes in batches)
    DocumentCleaner.extract = _faulty_extract  # type: ignore[method-assign]

# CLEANER_TASK_FILES=N: map tasks of at most N files, so that a small corpus is many tasks
# (a run killed in the middle has finished some of them: what the resume tests need)
if os.environ.get("CLEANER_TASK_FILES"):
    import cleaner.run.tasks

    cleaner.run.tasks.TASK_FILES = int(os.environ["CLEANER_TASK_FILES"])

# CLEANER_INDEX_FAULT=before-manifest|after-manifest: kill -9 the run while it updates its --index,
# once its new part is in place but before the manifest lists it, or right after the manifest
if os.environ.get("CLEANER_INDEX_FAULT"):
    import signal

    import cleaner.run.index

    _when = os.environ["CLEANER_INDEX_FAULT"]
    _write_manifest = cleaner.run.index.Index._write_manifest

    def _faulty_manifest(self):  # type: ignore[no-untyped-def]
        if _when == "before-manifest":
            os.kill(os.getpid(), signal.SIGKILL)
        _write_manifest(self)
        if _when == "after-manifest":
            os.kill(os.getpid(), signal.SIGKILL)

    cleaner.run.index.Index._write_manifest = _faulty_manifest  # type: ignore[method-assign]
