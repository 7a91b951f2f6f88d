"""Preloaded by the worker pool's fork server: workers fork with the pipeline imported and
its per-process set-up done once, here, instead of in every worker of every phase."""

import signal

# The fork server ignores Ctrl-C once it runs (multiprocessing does that after the
# preload); ignore it from the start, or a Ctrl-C during this import prints a traceback.
signal.signal(signal.SIGINT, signal.SIG_IGN)

import cleaner.run.map  # noqa: E402, F401
import cleaner.run.write  # noqa: E402, F401


def _warm() -> None:
    """What every worker builds the same way whatever the config: the function-word tables
    (~0.2-0.35 s), the shipped rules and models, and the lazy set-up of trafilatura and
    lxml on a first page (~0.3 s of a worker's first HTML page; a tiny page costs ~0.15 s
    and takes most of it). A failure here is left for the worker to meet and report."""
    import gc

    from cleaner import boilerplate, html_extract, rules, textfeat

    try:
        textfeat.stoplists()
        built = rules.RuleSet(rules.default_rules())
        boilerplate.default_model()
        html_extract.HtmlExtractor(rules=built).clean_page(
            b"<html><head><title>Warm-up</title></head><body><nav><a href='/'>Home</a></nav>"
            b"<article><h1>A title</h1><p>A first paragraph, with a sentence or two of text in it "
            b"for the extractor to find.</p><p>Another paragraph, to give the page a body.</p>"
            b"</article><footer>Copyright 2024</footer></body></html>")
    except Exception:  # noqa: BLE001 - the worker builds these again and reports what fails
        pass
    # what is built now is shared with the workers page for page (copy on write); frozen, the
    # workers' collections neither walk it nor write to its pages
    gc.collect()
    gc.freeze()


_warm()
