# ganlab — the two commands a newcomer needs: `make run-all` and `make test`.
# Variables: PROFILE (smoke|quick|full), DEVICE (auto|cpu|cuda|mps), DATA_DIR, RESULTS_DIR,
# NOTEBOOKS (a subset), JOBS (notebooks at a time), GPUS (0,1,...: one notebook per GPU),
# PRETRAINED=1 (load each notebook's shipped headline runs instead of training them).

PYTHON      ?= python3
VENV        ?= .venv
PY          := $(VENV)/bin/python
PROFILE     ?= quick
DEVICE      ?= auto
DATA_DIR    ?= $(CURDIR)/data/cache
PRETRAINED  ?=
RESULTS_DIR ?= $(CURDIR)/build/results/$(PROFILE)$(if $(PRETRAINED),-pretrained)
NOTEBOOKS   ?=
JOBS        ?= 2
GPUS        ?=
PYTEST_ARGS ?=
STAMP       := $(VENV)/.installed
REPO        ?=
REF         ?= main

.PHONY: setup test run-all readme-results smoke lint clean bench ddp-check extractors checkpoints stamp sources student-notebooks help

help:
	@echo "make setup        create .venv and install ganlab with its dev extras"
	@echo "make run-all      run every notebook (PROFILE=$(PROFILE)) into build/notebooks/<profile>/"
	@echo "make readme-results  paste the last run-all's summary and tables into README.md"
	@echo "make test         run the whole test suite"
	@echo "make smoke        run every notebook with PROFILE=smoke"
	@echo "make lint         ruff + notebook storage checks"
	@echo "make bench        measure training and metric throughput (JSON lines)"
	@echo "make ddp-check    the same short run in one process and on 2 gloo CPU processes (DDP): one JSON line, exit 1 if they differ > 1e-4"
	@echo "make extractors   retrain the shipped feature extractors (mnist_cnn, shapes_cnn)"
	@echo "make checkpoints  rebuild the shipped generators and finished headline runs (PRETRAINED=1)"
	@echo "make repoint REPO=owner/name [REF=main]  point badges, setup cells and checkpoint downloads at a fork"
	@echo "make stamp        stamp setup cell, badge and Sources cell into notebooks/; write docs/SOURCES.md"
	@echo "make sources      write docs/SOURCES.md from ganlab/course/sources.toml"
	@echo "make student-notebooks  write copies without exercise solutions to build/student/"
	@echo "make book         the course website: build/notebooks/<profile>/ -> build/book/<profile>/index.html"
	@echo "make clean        remove build/ and caches (keeps .venv and data/cache)"

# Reinstalls only when pyproject.toml changed since the last install.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

test: setup
	GANLAB_DATA_DIR=$(DATA_DIR) $(PY) -m pytest $(PYTEST_ARGS)

run-all: setup
	GANLAB_DATA_DIR=$(DATA_DIR) $(PY) -m ganlab.course.runner --profile $(PROFILE) --device $(DEVICE) \
		--data-dir $(DATA_DIR) --results-dir $(RESULTS_DIR) --jobs $(JOBS) $(if $(GPUS),--gpus $(GPUS)) $(if $(PRETRAINED),--pretrained) $(NOTEBOOKS)

readme-results: setup
	$(PY) tools/readme_results.py --profile $(PROFILE)

smoke:
	$(MAKE) run-all PROFILE=smoke

lint: setup
	$(PY) -m ruff check .
	$(PY) tools/stamp_notebooks.py --check
	$(PY) tools/sources_doc.py --check

stamp: setup
	$(PY) tools/stamp_notebooks.py
	$(PY) tools/sources_doc.py

sources: setup
	$(PY) tools/sources_doc.py

bench: setup
	$(PY) -m ganlab.bench train --model dcgan --image-size 64 --channels 3 --batch-size 64 --steps 30 --compare-plain
	$(PY) -m ganlab.bench metrics

ddp-check: setup
	$(PY) -m ganlab.train.ddp_check

extractors: setup
	$(PY) -m ganlab.metrics.train_extractors --all --out ganlab/weights

# the shipped generators (notebooks 17, 18) and each notebook's finished headline runs
# (PRETRAINED = True), harvested from a quick run-all's checkpoints (made first if absent; after
# changing a headline run: rm -rf build/results/quick && make checkpoints)
checkpoints: setup
	GANLAB_DATA_DIR=$(DATA_DIR) $(PY) -m ganlab.course.pretrained --all --out data/checkpoints
	test -d build/results/quick/checkpoints || $(MAKE) run-all PROFILE=quick PRETRAINED=
	$(PY) -m ganlab.course.shipped_runs --from build/results/quick/checkpoints

.PHONY: repoint
repoint: setup
	@test -n "$(REPO)" || { echo "usage: make repoint REPO=owner/name [REF=main]"; exit 2; }
	$(PY) tools/repoint.py --repo '$(REPO)' --ref '$(REF)'

student-notebooks: setup
	$(PY) -m ganlab.course.student --out build/student

.PHONY: book
book: setup
	$(PY) -m ganlab.course.book --notebooks build/notebooks/$(PROFILE) --out build/book/$(PROFILE)

clean:
	rm -rf build .pytest_cache .ruff_cache
	find . -name __pycache__ -not -path './$(VENV)/*' -prune -exec rm -rf {} +
