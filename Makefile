# The two commands of the README:
#   make book   set everything up (virtual environment, packages, offline web assets)
#               and build the book into _build/html, executing every chapter
#   make test   run the unit tests and every chapter under nbval (ci profile)

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
VENDOR := _assets/vendor

.PHONY: book book-saved test setup notebooks handout check-site check-live bench clean

book: setup $(VENDOR)/.installed
	$(BIN)/jupyter-book build . --warningiserror --keep-going
	@echo "The book is in _build/html/index.html"

# The book with the chapters' saved outputs (the ci profile's) rendered, not executed again:
# what CI builds, since `make test` then executes every chapter and checks it reproduces them.
# The execution cache and Sphinx's parsed pages are removed before and after, even when the
# build fails, so that a later `make book` reads and executes every chapter itself.
book-saved: setup $(VENDOR)/.installed
	rm -rf _build/.jupyter_cache _build/.doctrees
	$(BIN)/python scripts/cache_saved_outputs.py _build/.jupyter_cache book/*.ipynb
	$(BIN)/jupyter-book build . --warningiserror --keep-going; status=$$?; \
	  rm -rf _build/.jupyter_cache _build/.doctrees; exit $$status

test: setup
	$(BIN)/python -m pytest

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (set PYTHON=python3.11)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(VENDOR)/.installed: scripts/install_web_assets.sh
	bash scripts/install_web_assets.sh $(VENDOR)
	touch $@

# Re-execute, with the ci profile, the chapters whose saved outputs are stale (their code or
# the course_utils modules they import changed), save their outputs and stamp them.
notebooks: setup
	$(BIN)/python scripts/execute_notebooks.py --stale book/*.ipynb

# The students' version of every chapter, without the exercises' solutions, in _build/handout/;
# fails if a solution's text, code or output is left in it.
handout: setup
	$(BIN)/python scripts/make_handout.py

# Open the built book in headless Chromium with no network: pages, math, the static slider.
check-site: setup
	$(BIN)/python scripts/check_site.py _build/html --screenshots _build/screenshots

# Run a slider figure in a real JupyterLab (headless Chromium): the live widget redraws.
check-live: setup
	$(BIN)/python scripts/check_live_slider.py --screenshots _build/screenshots

bench: setup
	$(BIN)/python benchmarks/bench_theta_slider.py
	$(BIN)/python benchmarks/bench_clip_slider.py
	$(BIN)/python benchmarks/bench_training_loop.py
	$(BIN)/python benchmarks/bench_mnist_loop.py
	$(BIN)/python benchmarks/bench_time_to_digits.py
	$(BIN)/python benchmarks/bench_dot.py
	$(BIN)/python benchmarks/bench_exact_ot.py
	$(BIN)/python benchmarks/bench_ot_gan.py
	$(BIN)/python benchmarks/bench_cycle_gan.py

clean:
	rm -rf _build
