# cleaner — make targets. `make install` once, then `make demo` / `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DRAGNET ?= ../shared/bench/dragnet

.PHONY: install demo test lint typecheck bench bench-quality bench-dedup bench-scale train train-html clean-build

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstalls (and rebuilds the optional C kernels) only when pyproject.toml or the C source changes.
$(VENV)/.installed: pyproject.toml cleaner/_speedups.c | $(BIN)/python
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
BENCH_DEDUP_ARGS ?=
bench-dedup: install
	$(BIN)/python bench/dedup.py --dragnet $(DRAGNET) $(BENCH_DEDUP_ARGS)

bench-scale: install
	$(BIN)/python bench/scale.py --dragnet $(DRAGNET) $(BENCH_SCALE_ARGS)

# Refit cleaner/data/model.json on the dev set (deterministic); CV=5 also reports k-fold scores,
# TRAIN_ARGS='--threshold 0.3' skips the threshold search (as for the numbers in model.json).
CV ?= 0
TRAIN_ARGS ?=
train: install
	$(BIN)/python bench/train.py --dragnet $(DRAGNET) --cv $(CV) $(TRAIN_ARGS)

# Refit cleaner/data/html_model.json on WCXB-dev + Dragnet (5-fold CV grouped by site, cross-set
# scores); TRAIN_HTML_ARGS='--timing 300' instead times the HTML path against trafilatura alone.
TRAIN_HTML_ARGS ?= --cv 5 --cross
train-html: install
	$(BIN)/python bench/train_html.py $(TRAIN_HTML_ARGS)

clean-build:
	rm -rf build dist *.egg-info out out.report
