# neurosage: the two commands a new user runs.
#   make demo   create .venv, install, fetch Fashion-MNIST (Debian package) when it can, run the demo
#   make test   create/update .venv, install with test extras, run lint (ruff), types (mypy) and pytest
#   make paper  the paper analyses and the channel search at small scale, then their figures and tables (about 1 h 30 min on 2 cores)
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
PIP     = $(PY) -m pip
STAMP   = $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | cksum | cut -d' ' -f1)
FASHION_MNIST_DEBIAN = /usr/share/datasets/fashion-mnist
FASHION_MNIST ?= $(FASHION_MNIST_DEBIAN)
RUN_DIR ?= runs/demo
PAPER_DIR ?= runs/paper
ANALYSES = predictability search_comparison cell_search neuro_search channel_search

.PHONY: venv test lint types test-interop test-slurm demo paper bench fashion-mnist clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(STAMP): $(PY) pyproject.toml constraints.txt
	$(PIP) install --quiet -c constraints.txt torch==2.14.1 torchvision==0.29.1
	$(PIP) install --quiet -c constraints.txt -e '.[all]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

venv: $(STAMP)

test: venv lint types
	$(PY) -m pytest -q

# ruff: lint and import order (pyproject.toml [tool.ruff])
lint: venv
	$(VENV)/bin/ruff check .

# mypy on the installed layout: analyses/, figures/ and data_adapters/ install as neurosage.*, which mypy cannot follow
# through setuptools' editable hook, so build/mypy/neurosage mirrors that layout with links (made afresh each time)
types: venv
	rm -rf build/mypy && mkdir -p build/mypy/neurosage
	for p in neurosage/* analyses figures data_adapters; do ln -s "../../../$$p" build/mypy/neurosage/; done
	$(VENV)/bin/mypy

# Brain-Score in a venv of its own (built once from the package index, cached in ~/.cache/neurosage-interop-venv)
test-interop: venv
	$(PY) -m pytest -q -m interop tests/test_interop_brainscore.py

# The Slurm tests on a single-node Slurm of this machine (scripts/slurm-local.sh; Debian's slurm-wlm and munge, installed when
# we may: root or passwordless sudo); skipped, with the reason, where none can run. About 2 min.
SLURM_DIR ?= /tmp/neurosage-slurm-test
test-slurm: venv
	@if ! command -v slurmctld >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; else SUDO=none; fi; \
	  if [ "$$SUDO" != none ]; then \
	    $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q slurm-wlm munge >/dev/null 2>&1 || \
	    { $$SUDO apt-get update -q >/dev/null 2>&1; $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q slurm-wlm munge >/dev/null 2>&1; } || \
	    echo "slurm-wlm could not be installed; the Slurm tests will say why they skip"; \
	  fi; \
	fi
	@conf=$$(SLURMCTLD_PORT=$${SLURMCTLD_PORT:-6917} SLURMD_PORT=$${SLURMD_PORT:-6918} scripts/slurm-local.sh start $(SLURM_DIR) | sed -n 's/^export SLURM_CONF=//p'); \
	  SLURM_CONF=$$conf $(PY) -m pytest -q -m slurm tests/search/test_slurm.py; rc=$$?; \
	  scripts/slurm-local.sh stop $(SLURM_DIR); exit $$rc

# The embedded default's data: Debian's dataset-fashion-mnist, installed here when we may (root or passwordless sudo).
fashion-mnist:
	@if [ -f "$(FASHION_MNIST)/train-images-idx3-ubyte.gz" ]; then \
	  echo "Fashion-MNIST found in $(FASHION_MNIST)"; \
	elif [ "$(FASHION_MNIST)" = "$(FASHION_MNIST_DEBIAN)" ] && command -v apt-get >/dev/null 2>&1 \
	     && { [ "$$(id -u)" = 0 ] || sudo -n true 2>/dev/null; }; then \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo -n); \
	  echo "Fashion-MNIST is not installed: installing Debian's dataset-fashion-mnist"; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq dataset-fashion-mnist >/dev/null \
	    && echo "Fashion-MNIST installed in $(FASHION_MNIST)"; \
	elif [ "$(FASHION_MNIST)" != "$(FASHION_MNIST_DEBIAN)" ]; then \
	  echo "No Fashion-MNIST idx files (train-images-idx3-ubyte.gz, ...) in $(FASHION_MNIST)."; \
	  echo "Point FASHION_MNIST at the folder that holds them, or leave it unset to use Debian's package."; \
	  exit 1; \
	else \
	  echo "Fashion-MNIST is not installed at $(FASHION_MNIST), and this user cannot install packages."; \
	  echo "Run:  sudo apt-get update && sudo apt-get install dataset-fashion-mnist"; \
	  echo "(or: make demo FASHION_MNIST=/path/to/folder-with-idx-files)"; \
	  exit 1; \
	fi

demo: venv fashion-mnist
	$(VENV)/bin/neurosage demo --data $(FASHION_MNIST) --run-dir $(RUN_DIR)

paper: venv fashion-mnist
	for a in $(ANALYSES); do $(VENV)/bin/neurosage analyze $$a --data $(FASHION_MNIST) --run-dir $(PAPER_DIR) || exit 1; done
	$(VENV)/bin/neurosage figures $(PAPER_DIR)

bench: venv
	$(PY) benchmarks/bench_rsa.py
	$(PY) benchmarks/bench_train.py

clean:
	rm -rf $(VENV) runs build *.egg-info
