# One-command set-up: every target creates and fills .venv on first use.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export PATH := $(abspath $(BIN)):$(PATH)
# One BLAS thread: fastest for the course's small matrices, and training runs reproduce exactly.
export OPENBLAS_NUM_THREADS := 1
export OMP_NUM_THREADS := 1
export MKL_NUM_THREADS := 1

.PHONY: setup check test test-instructor build build-check execute release lab bench lock clean

# requirements.lock pins every package to the versions the stored outputs were made with (`make lock`).
# PYTHON: the interpreter the environment is built on. Students' accounts (nbgrader's exchange) can use
# it only if they can run that interpreter: `make setup PYTHON=/usr/bin/python3` (Debian/Ubuntu's, with
# python3-venv), not one under /root (pyenv). The note below says when other accounts cannot run it.
$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e ".[dev,postgres]"
	@$(BIN)/python -c 'import os, sys; from pathlib import Path; p = Path(os.path.realpath(sys.executable)); \
	  closed = [q for q in (p, *p.parents) if not os.stat(q).st_mode & 0o001]; \
	  closed and print(f"note: other accounts cannot run {p} ({closed[-1]} is closed to them): students cannot " \
	  "use this environment; build theirs with make setup PYTHON=/usr/bin/python3 VENV=<a folder they can read>")'
	touch $(STAMP)

setup: $(STAMP)

## make check [LESSON=01]: grade your notebooks in lessons/ and print a scorecard
check: $(STAMP)
	$(BIN)/python -m autograder check $(LESSON)

## make test: the whole test suite but the instructor cycle (CI runs both)
test: $(STAMP)
	$(BIN)/ruff check autograder rnnkit tests
	$(BIN)/python -m pytest -n 2 --dist loadfile -m "not instructor" --durations=15

## make test-instructor: the exchange cycle, the hostile suite, formgrader and JupyterLab in Chromium
test-instructor: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile -m instructor --durations=15

## make build: regenerate lessons/ from solutions/ (nbgrader generate_assignment, atomically)
build: $(STAMP)
	$(BIN)/python -m autograder build

build-check: $(STAMP)
	$(BIN)/python -m autograder build --check

## make execute: re-run the solution notebooks and store their outputs
execute: $(STAMP)
	$(BIN)/python -m autograder execute $(LESSON)

## make release LESSONS="03 04" [OUT=handout]: what students get for those lessons (refused if it leaks an answer)
OUT ?= handout
release: $(STAMP)
	$(BIN)/python -m autograder release $(LESSONS) --out $(OUT)

## make lab: JupyterLab on lessons/
lab: $(STAMP)
	$(BIN)/jupyter lab lessons/

## make bench: time each solution notebook, a self-check and an autograde run
bench: $(STAMP)
	$(BIN)/python -m autograder bench

## make lock: re-pin requirements.lock to the newest releases within pyproject.toml's ranges (uv pip
## compile, for CPython LOCK_PYTHON on Linux x86_64), then `make execute` to re-store the solutions'
## outputs and `make test`; `make lock LOCK_UPGRADE=` keeps the pins and only follows pyproject.toml.
LOCK_PYTHON  ?= 3.11.0  # the oldest Python the README promises
LOCK_UPGRADE ?= --upgrade
lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.13.9
	$(BIN)/uv pip compile pyproject.toml --extra dev --extra postgres $(LOCK_UPGRADE) --python-version $(LOCK_PYTHON) \
	  --python-platform x86_64-unknown-linux-gnu --custom-compile-command "make lock" --quiet -o requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
