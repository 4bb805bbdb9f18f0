"""One stage in several processes: each runs a share of the batches, process 0 writes the files.

A stage started by `accelerate launch` or `torchrun` (WORLD_SIZE > 1 in the environment) shards its
inference by batch: the batches are cut exactly as in one process (length-sorted, selfevo.batching),
batch b runs in process b % world, and every result is gathered back into input order. Each item is
computed in the same batch, with the same padding and the same seed, whatever the number of
processes, so the output files are the same bytes (in fp32; bf16 products also depend on the thread
count, `model.threads`). Only process 0 writes (selfevo.jsonio).
"""

from __future__ import annotations

import atexit
import os
import sys
from pathlib import Path
from typing import Callable, Sequence, TypeVar

from tqdm import tqdm

T = TypeVar("T")


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    return int(os.environ.get("RANK", "0"))


def local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", "0"))


def local_world_size() -> int:
    return int(os.environ.get("LOCAL_WORLD_SIZE", os.environ.get("WORLD_SIZE", "1")))


def is_main() -> bool:
    return rank() == 0


PROCESSES = "SELFEVO_PROCESSES"


def launch_on_every_gpu() -> None:
    """Run this stage again under `accelerate launch`, one process per GPU, when plain `python` started
    it on a machine with several (`SELFEVO_PROCESSES=n` caps the count; 1 keeps one process). A
    no-op under a launcher already, and with one GPU or none."""
    if world_size() > 1:
        return
    import torch

    count = torch.cuda.device_count()
    if os.environ.get(PROCESSES):
        count = min(count, int(os.environ[PROCESSES]))
    if count < 2:
        return
    print(f"{Path(sys.argv[0]).name}: {count} GPUs: running again under accelerate launch, one process each",
          file=sys.stderr)
    os.execv(sys.executable, [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_machines",
                              "1", "--num_processes", str(count), "--mixed_precision", "no", "--dynamo_backend",
                              "no", *sys.argv])


def process_group() -> None:
    """The processes' group, joined on first use: NCCL between GPUs, gloo on CPUs."""
    import torch
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
        atexit.register(_leave_group)


def _leave_group() -> None:
    """Close the group before the interpreter exits. A process that exits with it open can abort in
    gloo's teardown ("terminate called without an active exception", SIGABRT): 6 of 20 two-process
    runs did without this, 0 of 80 with it. No barrier first, so a process that failed does not wait
    on the others."""
    import torch.distributed as dist

    if dist.is_initialized():
        dist.destroy_process_group()


def gather_objects(mine: dict) -> dict:
    """Every process's {index: result}, merged (all processes get the whole mapping)."""
    if world_size() == 1:
        return mine
    import torch.distributed as dist

    process_group()
    parts: list[dict | None] = [None] * world_size()
    dist.all_gather_object(parts, mine)
    return {k: v for part in parts for k, v in part.items()}


def map_batches(batches: Sequence[list[int]], total: int, work: Callable[[list[int]], list[T]], *,
                desc: str, progress: bool = True) -> list[T]:
    """`work(indices)` on every batch, this process's share only when several run; the results of
    all `total` items, in input order, in every process."""
    mine = batches[rank()::world_size()]
    results: dict[int, T] = {}
    with tqdm(total=sum(map(len, mine)), desc=desc, unit="item", disable=not progress) as bar:
        for idx in mine:
            values = work(idx)
            results.update(zip(idx, values))
            bar.update(len(idx))
    results = gather_objects(results)
    return [results[i] for i in range(total)]


def sum_across(values: tuple[int, ...]) -> tuple[int, ...]:
    """Counts summed over every process (themselves when one runs)."""
    parts = gather_objects({rank(): values})
    return tuple(map(sum, zip(*parts.values())))
