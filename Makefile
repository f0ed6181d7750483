# spiking: two commands set everything up.
#   make run    create .venv, install, run the default simulation, print the run folder
#   make test   create .venv, install, run the fast tier of the tests (a few minutes)
# More: make install | make lint (ruff) | make test-slow (tests/slow: long simulations) | make mpi (NEST with MPI
#       in .venv-mpi) | make test-mpi | make test-browser | make test-all (every tier) | make bench
#       make bench-bindsnet (the peer BindsNET in benchmarks/.venv-bindsnet, for benchmarks/learn_digits_speed.py)

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
MPI_VENV ?= .venv-mpi
MPI_STAMP := $(MPI_VENV)/.installed
PYTEST_ARGS ?=

.PHONY: install lint run test test-slow test-all mpi test-mpi test-browser browser bench bench-bindsnet clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/spiking run

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks tutorials
	$(VENV)/bin/ruff format --check src tests benchmarks tutorials

# the tiers are the folders of tests/ (tests/conftest.py marks each test by its folder)
# the fast tier on every core (pytest-xdist; a file's tests stay on one worker, so a shared run is made once)
test: $(STAMP) lint
	$(PY) -m pytest -m "not slow and not mpi and not browser" -n auto --dist loadfile --durations=15 $(PYTEST_ARGS)

test-slow: $(STAMP)
	$(PY) -m pytest -m "slow" --durations=15 $(PYTEST_ARGS)

test-all: test test-slow test-browser test-mpi

# NEST built with MPI from the PyPI source distribution (cached; ~10-30 min the first time)
$(MPI_STAMP): pyproject.toml scripts/build-nest-mpi.sh
	$(PYTHON) -m venv $(MPI_VENV)
	$(MPI_VENV)/bin/python -m pip install -q --upgrade pip
	$(MPI_VENV)/bin/python -m pip install -q -e '.[test]'
	bash scripts/build-nest-mpi.sh $(MPI_VENV)
	touch $(MPI_STAMP)

mpi: $(MPI_STAMP)

test-mpi: $(STAMP) $(MPI_STAMP)
	SPIKING_MPI_PYTHON=$(abspath $(MPI_VENV))/bin/python $(PY) -m pytest -m mpi $(PYTEST_ARGS)

browser:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

test-browser: $(STAMP) browser
	$(PY) -m pytest -m browser $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) benchmarks/run_benchmarks.py default

# BindsNET, a peer measured beside spiking, in its own environment (never a dependency; about 3 GB with torch)
BINDSNET_VENV := benchmarks/.venv-bindsnet
$(BINDSNET_VENV)/.installed: benchmarks/bindsnet/requirements.txt
	$(PYTHON) -m venv $(BINDSNET_VENV)
	$(BINDSNET_VENV)/bin/python -m pip install -q -r benchmarks/bindsnet/requirements.txt
	touch $@

bench-bindsnet: $(BINDSNET_VENV)/.installed

clean:
	rm -rf $(VENV) $(MPI_VENV) $(BINDSNET_VENV) build *.egg-info
