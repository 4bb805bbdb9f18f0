"""A training run's checkpoint: one safetensors file holding the trainable weights, AdamW's moments and
the random states (CPU and every GPU), with the progress (step, schedule, loss history, the run's key,
accelerate's fp16 loss scaler) in its metadata. So the step lives inside the unit it describes, and the
file is written to a temporary name, flushed to disk and renamed once: a kill at any moment leaves the previous checkpoint or
this one, never a mix. Nothing to unpickle (accelerate's own `save_state` writes the random states and
the scaler with pickle, and its `load_state` unpickles them: not used for that reason).

A checkpoint that cannot be read, or does not fit the run (another run's key, other tensors, a step past
the plan), is set aside as `checkpoint.safetensors.damaged` with a warning and training starts afresh.
One that cannot be written (a full or read-only disk) costs a warning, not the run. The folder is removed
by the stage once the adapter is safely written (`clear`), never before."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import torch

CHECKPOINT = "checkpoint.safetensors"


def save(folder: Path, key: str, step: int, params: list[torch.nn.Parameter], optimizer, schedule, scaler,
         history: dict) -> bool:
    """Write the state after `step` steps; False (with a warning) where it cannot be written."""
    from safetensors.torch import save_file

    tensors = {f"param.{i}": p.detach().cpu().contiguous() for i, p in enumerate(params)}
    for i, p in enumerate(params):
        state = optimizer.state.get(p, {})
        for name in ("exp_avg", "exp_avg_sq"):
            if name in state:
                tensors[f"{name}.{i}"] = state[name].cpu().contiguous()
    tensors["rng.cpu"] = torch.get_rng_state()
    if torch.cuda.is_available():
        for i, state in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{i}"] = state
    progress = {"key": key, "step": step, "schedule": schedule.state_dict(), "scaler": scaler.state_dict() if scaler else None,
                "optimizer_steps": [float(optimizer.state.get(p, {}).get("step", 0)) for p in params], **history}
    tmp = folder / (CHECKPOINT + ".tmp")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        save_file(tensors, tmp, metadata={"progress": json.dumps(progress)})
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        tmp.replace(folder / CHECKPOINT)
        return True
    except OSError as e:
        print(f"warning: the checkpoint after step {step} could not be written to {folder} ({e.strerror or e}); "
              f"training goes on, and a killed run would start afresh", file=sys.stderr)
        if tmp.parent.is_dir():
            tmp.unlink(missing_ok=True)
        return False


def _set_aside(path: Path, why: str) -> None:
    damaged = path.with_name(path.name + ".damaged")
    try:
        path.replace(damaged)
        where = f"set aside as {damaged}"
    except OSError:
        where = f"delete {path} by hand if it stays"
    print(f"warning: {path}: {why}; {where}, and training starts afresh", file=sys.stderr)


def load(folder: Path, key: str, steps: int, params: list[torch.nn.Parameter], optimizer, schedule,
         scaler) -> dict | None:
    """The progress of a checkpoint of this very run (same `key`), its state restored; None if none."""
    from safetensors import safe_open

    path = folder / CHECKPOINT
    if not path.is_file():
        return None
    try:
        with safe_open(str(path), framework="pt") as f:
            progress = json.loads((f.metadata() or {})["progress"])
            tensors = {name: f.get_tensor(name) for name in f.keys()}
    except Exception as e:  # a truncated or foreign file: safetensors and json raise several kinds
        _set_aside(path, f"not a readable checkpoint ({type(e).__name__}: {e})")
        return None
    if progress.get("key") != key:
        _set_aside(path, "a checkpoint of another run (other data, params or model)")
        return None
    shapes_fit = all(tensors.get(f"param.{i}", torch.empty(0)).shape == p.shape for i, p in enumerate(params))
    if not shapes_fit or not 0 < progress.get("step", 0) < steps:
        _set_aside(path, f"its tensors or its step ({progress.get('step')}) do not fit this run of {steps} steps")
        return None
    with torch.no_grad():
        for i, p in enumerate(params):
            p.copy_(tensors[f"param.{i}"])
            if f"exp_avg.{i}" in tensors:
                optimizer.state[p] = {"step": torch.tensor(progress["optimizer_steps"][i]),
                                      "exp_avg": tensors[f"exp_avg.{i}"].to(p.device),
                                      "exp_avg_sq": tensors[f"exp_avg_sq.{i}"].to(p.device)}
    schedule.load_state_dict(progress["schedule"])
    for group, rate in zip(optimizer.param_groups, schedule.get_last_lr()):
        group["lr"] = rate  # the scheduler's state holds the rate; the optimizer's group must get it too
    if progress.get("scaler") and scaler:
        scaler.load_state_dict(progress["scaler"])
    torch.set_rng_state(tensors["rng.cpu"])
    cuda = [tensors[f"rng.cuda.{i}"] for i in range(torch.cuda.device_count()) if f"rng.cuda.{i}" in tensors]
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda)
    return progress


def clear(folder: str | Path | None) -> None:
    """Remove a finished run's checkpoints: call it only once the adapter is written."""
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
