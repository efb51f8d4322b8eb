# fast_style — set-up, training and tests in one place.
#   make train   set everything up, then train starry_night with the CPU preset (about 13 min of training on 2 cores, 1-2 min of set-up)
#   make test    set everything up, then lint (ruff) and run the test suite on two workers (122 s of pytest time on 2 idle cores; budget 150 s)
#   make test-full  the same, and the slow tests too (torch.compile's C++ build: about a minute more)
#   make app     set everything up, then serve the web page on http://127.0.0.1:7860
#   make docs    set everything up, then build the documentation site (mkdocs.yml, docs/) into site/, strictly
# The asset mirror is found through FAST_STYLE_ASSETS (default: ../shared/assets).

PYTHON ?= python3
VENV ?= .venv
STYLE ?= starry_night
export FAST_STYLE_ASSETS ?= ../shared/assets

BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup train test test-full bench app docs clean

setup: $(STAMP)

# torch and torchvision are pinned to the builds that install from local disk here;
# the project's own requirements are ranges that these satisfy.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.14.1 torchvision==0.29.1
	$(BIN)/pip install --quiet -e '.[test,onnx,plot,video,app,docs]'
	touch $(STAMP)

train: $(STAMP)
	$(BIN)/python scripts/train.py style=$(STYLE) experiment=cpu_quick

test: $(STAMP)
	$(BIN)/ruff check fast_style scripts tests
	$(BIN)/python -m pytest

test-full: $(STAMP)
	$(BIN)/ruff check fast_style scripts tests
	$(BIN)/python -m pytest -m ""

app: $(STAMP)
	$(BIN)/python scripts/app.py

# --strict: a broken link, a missing page or an anchor that does not exist fails the build.
docs: $(STAMP)
	$(BIN)/mkdocs build --strict --site-dir site

bench: $(STAMP)
	$(BIN)/python scripts/bench_train.py

clean:
	rm -rf $(VENV) outputs .pytest_cache site
