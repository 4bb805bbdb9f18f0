# Two commands on a fresh machine: `make repro` runs the whole default pipeline, `make test` the tests.
# Each creates .venv and installs the pinned dependencies on first use.

VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
# pip options for torch; e.g. TORCH_PIP="--index-url https://download.pytorch.org/whl/cpu" on a laptop
TORCH_PIP ?=
IMAGE ?= selfevo:latest

export PATH := $(abspath $(VENV))/bin:$(PATH)
export HF_HUB_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false
export DVC_NO_ANALYTICS := 1

.PHONY: install repro ablation bench clean-cache test data docker-build docker-repro clean

install: $(STAMP)

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH_PIP) torch==2.13.0
	$(PY) -m pip install -q -e ".[test]"
	rm -f $(VENV)/.installed-* && touch $@

repro: $(STAMP)
	dvc repro
	dvc metrics show

# The selection ablation (Fig. 3): four DVC experiments, one per strategy -> reports/ablation/
ablation: $(STAMP)
	$(PY) scripts/ablation.py

# Throughput figures (IFD, generation, incremental generate@0, training, memory) -> reports/bench.json
bench: $(STAMP)
	dvc repro base
	$(PY) scripts/bench.py

test: $(STAMP)
	$(PY) -m pytest -q

# Rewrite the shipped sample corpus, test set and general reading set (deterministic).
data: $(STAMP)
	$(PY) scripts/make_sample_data.py --seed 0

docker-build:
	docker build -t $(IMAGE) .

docker-repro:
	docker run --rm --gpus all -v $(CURDIR):/work -w /work $(IMAGE) dvc repro

# Per-item generation records (incremental generation); safe to delete at any time
clean-cache:
	rm -rf .cache/generate

clean:
	rm -rf $(VENV)
