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

.PHONY: setup check test build build-check execute lab bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

## make check [LESSON=01]: grade your notebooks in lessons/ and print a scorecard
check: $(STAMP)
	$(BIN)/python -m autograder check $(LESSON)

## make test: the whole test suite (what CI runs)
test: $(STAMP)
	$(BIN)/ruff check autograder tests
	$(BIN)/python -m pytest -n 2 --dist loadfile

## make build: regenerate lessons/ from solutions/ (nbgrader generate_assignment, atomically)
build: $(STAMP)
	$(BIN)/python -m autograder build

build-check: $(STAMP)
	$(BIN)/python -m autograder build --check

## make execute: re-run the solution notebooks and store their outputs
execute: $(STAMP)
	$(BIN)/python -m autograder execute $(LESSON)

## make lab: JupyterLab on lessons/
lab: $(STAMP)
	$(BIN)/jupyter lab lessons/

## make bench: time each solution notebook, a self-check and an autograde run
bench: $(STAMP)
	$(BIN)/python -m autograder bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
