#!/usr/bin/env bash
# The GPU check: what a maintainer runs when a GPU is lent (README, "Several GPUs, vLLM, big models").
# On one GPU, in a few minutes: round 0 of the embedded default (prepare .. evaluate@0) with each
# generation backend (torch; vllm where it is installed), each in its own clone so that nothing is
# shared, then `make bench`; it prints the wall time, generate@0's and evaluate@0's figures per
# backend, whether a killed train@0 resumes to the uninterrupted adapter (bf16 and fp16), the paper profile on a slice of
# the paper's data (2 rounds, Chinese prompts, zh BLEU), and the bench summary.
#
#   bash scripts/gpu_check.sh             # on the GPU machine, from the checkout (after `make install`)
#   bash scripts/gpu_check.sh --dry-run   # anywhere: checks the setup and prints what it would run
set -euo pipefail

DRY=0
[[ "${1:-}" == "--dry-run" ]] && DRY=1
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="${PY:-$ROOT/.venv/bin/python}"
export PATH="$(dirname "$PY"):$PATH" HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false DVC_NO_ANALYTICS=1

run() {
  echo "+ $*"
  if [[ $DRY == 0 ]]; then "$@"; fi
}

echo "== environment"
"$PY" - <<'EOF'
import importlib.util
import torch
gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, GPUs {torch.cuda.device_count()} ({gpu}), "
      f"vllm {'installed' if importlib.util.find_spec('vllm') else 'not installed'}")
EOF
GPUS=$("$PY" -c "import torch; print(torch.cuda.device_count())")
if [[ $DRY == 0 && $GPUS == 0 ]]; then
  echo "no GPU visible: run with --dry-run to check the setup only" >&2
  exit 1
fi
BACKENDS=(torch)
if "$PY" -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('vllm') is None)"; then
  BACKENDS+=(vllm)
else
  echo "vllm not installed: only the torch backend (pip install -e \".[vllm]\")"
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
for backend in "${BACKENDS[@]}"; do
  echo "== round 0 with generate.backend: $backend"
  clone="$WORK/$backend"
  run git clone -q "$ROOT" "$clone"
  run "$PY" -c "import sys, yaml; p = yaml.safe_load(open(sys.argv[1])); p['generate'].update(backend=sys.argv[2]); \
yaml.safe_dump(p, open(sys.argv[1], 'w'), sort_keys=False)" \
    "$clone/params.yaml" "$backend"
  started=$SECONDS
  if [[ $DRY == 0 ]]; then (cd "$clone" && dvc repro -q evaluate@0); else echo "+ (cd $clone && dvc repro -q evaluate@0)"; fi
  echo "$backend: round 0 in $((SECONDS - started)) s"
  if [[ $DRY == 0 ]]; then
    "$PY" - "$clone" "$backend" <<'EOF'
import json, sys
from pathlib import Path
clone, backend = Path(sys.argv[1]), sys.argv[2]
gen = json.loads((clone / "metrics/generate/round_0.json").read_text())
ev = json.loads((clone / "metrics/eval/theta_1.json").read_text())
train = json.loads((clone / "metrics/train/round_0.json").read_text())
print(f"{backend}: generate@0 kept {gen['pairs']} of {gen['chunks']} chunks; train {train['tokens_per_second']} tok/s; "
      f"θ_1 BLEU {ev['bleu']} reference NLL {ev['reference_nll']} general {ev['general_score']}")
EOF
  fi
done

resume_check() {  # train@0 in a dtype, killed and resumed, against an uninterrupted run
  local dtype=$1 clone="$WORK/torch"
  echo "== train@0 in $dtype killed and resumed (train.checkpoint_steps: 2), against an uninterrupted run"
  run "$PY" -c "import sys, yaml; p = yaml.safe_load(open(sys.argv[1])); p['train'].update(checkpoint_steps=2); \
p['model'].update(dtype=sys.argv[2]); yaml.safe_dump(p, open(sys.argv[1], 'w'), sort_keys=False)" "$clone/params.yaml" "$dtype"
  if [[ $DRY == 0 ]]; then
    (cd "$clone" && dvc repro -q -s train@0 && sha256sum models/theta_1/adapter_model.safetensors > "$WORK/whole.sha")
    (cd "$clone" && timeout -s KILL 25 dvc repro -q -f -s train@0 || true)  # killed mid-run, checkpoints kept
    ls "$clone/.cache/train/theta_1" 2>/dev/null || echo "(the run ended before its first checkpoint)"
    (cd "$clone" && dvc repro -q -f -s train@0 && sha256sum models/theta_1/adapter_model.safetensors > "$WORK/resumed.sha")
    if cmp -s "$WORK/whole.sha" "$WORK/resumed.sha"; then echo "$dtype resumed adapter: identical"; \
    else echo "$dtype resumed adapter: DIFFERS (GPU kernels that are not deterministic?)"; fi
  else
    echo "+ (cd $clone && dvc repro -s train@0; timeout -s KILL 25 dvc repro -f -s train@0; dvc repro -f -s train@0)"
  fi
}
resume_check auto      # bf16 on a GPU that has it
resume_check float16   # the V100 path: accelerate's fp16 autocast and loss scaler, its state in the checkpoint

echo "== the paper profile on a slice of the paper's data (scripts/paper_slice.py), the embedded model on CUDA"
clone="$WORK/paper"
run git clone -q "$ROOT" "$clone"
run "$PY" "$clone/scripts/paper_slice.py" --base smollm2 --out "$clone/params/paper-slice.yaml"
run git -C "$clone" -c user.email=gpu@check -c user.name=gpu-check add -A
run git -C "$clone" -c user.email=gpu@check -c user.name=gpu-check commit -qm "paper slice files"
started=$SECONDS
run "$PY" "$clone/scripts/run_profile.py" "$clone/params/paper-slice.yaml" --dir "$WORK/paper-run"
echo "paper slice: 2 rounds in $((SECONDS - started)) s"

echo "== make bench"
run make -C "$ROOT" bench
echo "gpu check: done"
