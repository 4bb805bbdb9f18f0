"""The machine a stage runs on: its device and dtype, bf16 autocast on a CPU, torch's thread count, and
what processor produced a result (bf16 products differ between processors and thread counts)."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import torch

from selfevo.config_data import ModelParams
from selfevo.distributed import local_rank, local_world_size
from selfevo.errors import PipelineError


def pick_device() -> torch.device:
    """The GPU when there is one (this process's own when a stage runs in several), else the CPU."""
    if not torch.cuda.is_available():
        return torch.device("cpu")
    device = torch.device("cuda", local_rank() % torch.cuda.device_count())
    torch.cuda.set_device(device)
    return device


def pick_dtype(params: ModelParams, device: torch.device) -> torch.dtype:
    """`auto`: bf16 on a GPU that has it, fp16 on one that does not (a V100, the paper's), fp32 on CPU."""
    if params.dtype == "auto":
        if device.type != "cuda":
            return torch.float32
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return getattr(torch, params.dtype)


_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2}


def check_fits_gpus(config: Path, key: str, dtype: torch.dtype, quantization: str | None = None) -> None:
    """Stop before a model loads on GPUs its weights alone would outgrow (with a tenth left for the
    activations and the KV cache): accelerate would put the rest in CPU memory and a 72B teacher would
    run for weeks. The size is its safetensors files' beside `config` (check_source's), rescaled from
    their stored dtype to `dtype`, or to 4 or 8 bits under `quantization`. No GPU, or no safetensors
    file to size (a hub id not yet cached), checks nothing."""
    files = list(config.parent.glob("*.safetensors"))
    if not torch.cuda.is_available() or not files:
        return
    stored = json.loads(config.read_text(encoding="utf-8"))
    stored = _BYTES.get(str(stored.get("torch_dtype") or stored.get("dtype") or "float32"), 4)
    per_param = {"4bit": 0.5, "8bit": 1.0}.get(quantization or "", _BYTES.get(str(dtype).removeprefix("torch."), 4))
    need = sum(f.stat().st_size for f in files) / stored * per_param
    gpus = torch.cuda.device_count()
    have = sum(torch.cuda.get_device_properties(i).total_memory for i in range(gpus))
    if need > 0.9 * have:
        held = f"{quantization} quantized" if quantization else str(dtype).removeprefix("torch.")
        raise PipelineError(f"params.yaml: {key}: {config.parent}'s weights take ~{need / 1e9:.0f} GB in {held}, "
                            f"more than the {have / 1e9:.0f} GB of the {gpus} GPU(s) visible leave room for; use "
                            f"baselines.quantization: 4bit (a teacher or reference), a smaller model, more GPUs, or "
                            f"for the teacher a ready QA file (the table in docs/scale.md)")


def autocast(params: ModelParams, device: torch.device | None = None):
    """The context every model runs in: with `model.cpu_autocast` on a CPU, matrix products in bf16
    over fp32 weights (docs/throughput.md); elsewhere a no-op."""
    device = device or pick_device()
    return torch.autocast("cpu", dtype=torch.bfloat16, enabled=params.cpu_autocast and device.type == "cpu")


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, which containers and `taskset` narrow)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def busy_cores(interval: float = 0.1) -> float | None:
    """How many cores other work keeps busy now, from two readings of /proc/stat `interval` seconds
    apart (this process is asleep in between); None where there is no /proc/stat."""
    def read() -> list[int]:
        with open("/proc/stat") as f:
            return [int(v) for v in f.readline().split()[1:]]
    try:
        first = read()
        time.sleep(interval)
        second = read()
    except OSError:
        return None
    delta = [b - a for a, b in zip(first, second)]
    idle = delta[3] + (delta[4] if len(delta) > 4 else 0)  # idle + iowait
    return (os.cpu_count() or 1) * (1 - idle / max(sum(delta), 1))


def set_threads(params: ModelParams, device: torch.device) -> int:
    """torch's CPU threads, chosen once per stage: `model.threads`, or every core this process may use
    (shared out when a stage runs in several processes).
    A fixed count keeps runs reproducible (bf16 products differ with it); when other work already
    holds cores, a warning says what that costs and which param to set."""
    threads = params.threads or max(1, available_cores() // local_world_size())
    torch.set_num_threads(threads)
    if device.type == "cpu" and threads > 1:
        busy = busy_cores()
        if busy is not None and busy >= 0.5 and threads > available_cores() - busy + 0.5:
            print(f"warning: model.threads: {threads} torch threads, but other work keeps {busy:.1f} of "
                  f"{available_cores()} cores busy; threads that wait for a core slow every step (measured "
                  f"here: training 2.3x slower with 2 threads than with 1 while one core was taken). On a "
                  f"shared machine set model.threads to the free cores (docs/throughput.md)", file=sys.stderr)
    return threads


def processor() -> dict:
    """What a stage ran on, for its stats: results in bf16 (and greedy near-ties in any dtype) can differ
    between processors. The CPU's model name and whether it multiplies bf16 natively; the GPU's, where
    there is one; and torch's thread count."""
    import platform

    cpu, flags = platform.processor() or platform.machine(), set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                cpu = value.strip()
            elif key.strip() in ("flags", "Features") and not flags:
                flags = set(value.split())
    except OSError:
        pass
    info = {"cpu": cpu, "cpu_bf16": bool(flags & {"avx512_bf16", "amx_bf16", "bf16"}), "threads": torch.get_num_threads()}
    if torch.cuda.is_available():
        info.update(gpu=torch.cuda.get_device_name(0), gpu_bf16=torch.cuda.is_bf16_supported())
    return info


def autocast_threads(params: ModelParams, device: torch.device | None = None) -> int | None:
    """The thread count results depend on: torch's, where bf16 autocast runs on a CPU; None elsewhere."""
    device = device or pick_device()
    return torch.get_num_threads() if params.cpu_autocast and device.type == "cpu" else None
