# The two commands a learner needs: `make lab` and `make test`. Everything else is for developers.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# torch first, pinned to the CPU wheel: a bare `torch` would pull a multi-GB CUDA build.
TORCH_SPEC ?= torch==2.13.0
# JupyterLab refuses to run as root without --allow-root.
ROOT_FLAG := $(shell [ "$$(id -u)" = "0" ] && echo --allow-root)
PORT ?= 8888

.PHONY: lab test bench figures assignments e2e venv clean book pdf site-test docs-venv

venv: $(STAMP)

$(STAMP): pyproject.toml
	@[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet $(TORCH_SPEC)
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

# Serve the repository root (the notebooks link ../figures/*.png) and open the first notebook.
lab: venv
	$(VENV)/bin/jupyter lab --ServerApp.root_dir=. \
	    --LabApp.default_url=/lab/tree/notebooks/00_overview.ipynb --port=$(PORT) $(ROOT_FLAG)

test: venv
	$(PY) -m pytest -n 2

bench: venv
	@for script in benchmarks/[!_]*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

figures: venv
	$(PY) -m swin_edu.figures

clean:
	rm -rf $(VENV) build .pytest_cache .hypothesis

# Classroom assignments (nbgrader): student versions into assignments_release/ (git-ignored).
assignments: venv
	bash scripts/assignments.sh generate

# End-to-end test in headless Chromium (needs Debian's chromium; .ci/run installs it).
e2e: venv
	$(PY) -m pip install --quiet -e '.[test,e2e]'
	$(PY) -m pytest tests/e2e -p no:xdist -p no:cacheprovider -s

# The course as a website and a PDF (the `docs` extra: Sphinx, MyST-NB, sphinx-book-theme).
# `make book`: build/book/index.html, every notebook executed in a fresh kernel.
# `make pdf`: build/swin-edu-course.pdf, printed by Debian's Chromium (installed if missing).
DOCS_STAMP := $(VENV)/.docs-stamp
docs-venv: $(DOCS_STAMP)

$(DOCS_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[test,docs]'
	@touch $(DOCS_STAMP)

book: docs-venv
	$(PY) scripts/build_site.py html

pdf: docs-venv
	bash scripts/ci_e2e_setup.sh
	$(PY) scripts/build_site.py pdf

# The site in headless Chromium and the PDF's pages (after `make book pdf`).
site-test: docs-venv
	$(PY) -m pytest tests/site -p no:xdist -p no:cacheprovider -p no:randomly
