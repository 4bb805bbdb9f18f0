"""The training loop of a LoRA round (and of the tests' tiny models), on accelerate.

Loss is on completion tokens only. Batches group examples of similar length (sorted within a
shuffled window), so little compute goes to padding; tokens per second are reported. Several
processes (one per GPU) split each batch and accelerate's DDP sums their gradients; a batch too big
for memory is split into micro-batches (`grad_accum`); a killed run resumes from its last checkpoint.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, ContextManager

import torch
from tqdm import tqdm

import selfevo.train.checkpoint as checkpoint
from selfevo.batching import pad, pad_with_mask
from selfevo.distributed import is_main, rank, sum_across, world_size
from selfevo.errors import PipelineError
from selfevo.generate.prompts import Messages, encode_example
from selfevo.score.nll import answer_token_nll

IGNORE = -100


@dataclass
class Example:
    input_ids: list[int]
    labels: list[int]


def tokenize_examples(tokenizer, pairs: list[tuple[Messages, str]], max_length: int) -> tuple[list[Example], int]:
    """Examples for (messages, completion) pairs; returns them and how many were too long and dropped."""
    examples, dropped = [], 0
    for messages, completion in pairs:
        prompt, answer = encode_example(tokenizer, messages, completion)
        if len(prompt) + len(answer) > max_length:
            dropped += 1
            continue
        examples.append(Example(prompt + answer, [IGNORE] * len(prompt) + answer))
    return examples, dropped


def length_grouped_batches(examples: list[Example], batch_size: int, rng: random.Random) -> list[list[Example]]:
    """Shuffle, sort by length inside windows of 50 batches, then shuffle the batches."""
    order = examples[:]
    rng.shuffle(order)
    window = batch_size * 50
    batches = []
    for start in range(0, len(order), window):
        block = sorted(order[start:start + window], key=lambda e: len(e.input_ids))
        batches += [block[i:i + batch_size] for i in range(0, len(block), batch_size)]
    rng.shuffle(batches)
    return batches


def collate(batch: list[Example], pad_id: int, device: torch.device) -> dict[str, torch.Tensor]:
    ids, mask = pad_with_mask([e.input_ids for e in batch], pad_id)
    labels = pad([e.labels for e in batch], IGNORE)
    return {"input_ids": ids.to(device), "labels": labels.to(device), "attention_mask": mask.to(device)}


def completion_loss(model, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
    """Mean NLL of the completion tokens, as `model(**inputs).loss` computes it, with the output head
    applied to those positions only: with a 49k-152k vocabulary, logits at every prompt position cost
    a third of a small model's training step (docs/throughput.md)."""
    return CompletionNLL(model)(**inputs).mean()


def completion_tokens(batch: list[Example]) -> int:
    """How many completion tokens a batch's loss averages over (as completion_loss counts them)."""
    return sum(sum(label != IGNORE for label in e.labels[1:]) for e in batch)


class CompletionNLL(torch.nn.Module):
    """The model's per-token completion NLL as a module's forward, so that a data-parallel wrapper
    (accelerate's DDP) sees the forward pass it syncs gradients for, while the output head still runs
    on completion positions only."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, labels):
        rows, cols = (labels[:, 1:] != IGNORE).nonzero(as_tuple=True)  # token t is predicted at t-1
        return answer_token_nll(self.model, input_ids, attention_mask, rows, cols)


def _micro_batches(batch: list[Example], grad_accum: int) -> list[list[Example]]:
    """This process's share of a step's batch, in `grad_accum` parts (some may be empty)."""
    share = batch[rank()::world_size()]
    size = -(-len(share) // grad_accum)
    return [share[i * size:(i + 1) * size] for i in range(grad_accum)]


def run_key(examples: list[Example], **settings) -> str:
    """What a checkpoint must match to be resumed: the examples and every training setting."""
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode())
    for e in examples:
        digest.update(json.dumps([e.input_ids, e.labels]).encode())
    return digest.hexdigest()[:32]


def train(model, examples: list[Example], *, pad_id: int, lr: float, batch_size: int, seed: int,
          epochs: int = 1, max_steps: int | None = None, grad_accum: int = 1, desc: str = "train",
          forward_context: Callable[[], ContextManager] = nullcontext, checkpoints: str | Path | None = None,
          checkpoint_steps: int = 0, resume_key: str = "", on_step: Callable[[int, dict], None] | None = None) -> dict:
    """Train in place with AdamW and transformers' linear decay, through accelerate (one process, or one
    per GPU: its DDP sums each step's gradients in buckets; its mixed precision and loss scaler on a GPU,
    `mixed_precision`); returns loss and throughput figures.

    A step's batch is split over the processes and, on each, into `grad_accum` micro-batches; each
    part's loss is its completion tokens' NLL sum over the whole batch's count, so the step is the
    one-process, one-part step up to the order of floating-point sums. Each forward pass runs in a
    fresh `forward_context()` (e.g. bf16 autocast); the backward pass and the optimizer step outside it.
    With `checkpoints` and `checkpoint_steps`, the state is saved there every that many steps and a
    rerun of the same run (`resume_key`) resumes from it: the same final weights as an uninterrupted
    run (selfevo/train/checkpoint.py); the caller removes them once the adapter is written (`checkpoint.clear`).
    `on_step(step, {"loss", "lr"})` is called after every step (DVCLive), resumed ones included."""
    from accelerate import Accelerator
    from transformers import get_scheduler

    if not examples:
        raise ValueError("no training examples")
    torch.manual_seed(seed)
    rng = random.Random(seed)
    device = next(model.parameters()).device
    plan = []
    for _ in range(epochs):
        plan += length_grouped_batches(examples, batch_size, rng)
    if max_steps is not None:
        while len(plan) < max_steps:
            plan += length_grouped_batches(examples, batch_size, rng)
        plan = plan[:max_steps]
    accelerator = Accelerator(cpu=device.type == "cpu", device_placement=False,
                              mixed_precision=mixed_precision(model.dtype, device))
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    # not prepared: accelerate would step it once per process, and a step here is the whole batch's
    schedule = get_scheduler("linear", optimizer, num_warmup_steps=0, num_training_steps=len(plan))
    # prepared: with fp16 weights (a GPU without bf16) the step runs through accelerate's loss scaler
    optimizer = accelerator.prepare_optimizer(optimizer, device_placement=False)
    nll = accelerator.prepare_model(CompletionNLL(model), device_placement=False)
    scaler = accelerator.scaler  # None but in fp16
    folder = Path(checkpoints) if checkpoints and checkpoint_steps else None
    history = {"loss": [], "lr": [], "tokens": 0, "padded": 0, "seconds": 0.0}
    done = 0
    if folder:
        progress = checkpoint.load(folder, resume_key, len(plan), params, optimizer, schedule, scaler)
        if progress:
            done, history = progress["step"], {k: progress[k] for k in history}
            print(f"{desc}: resuming after step {done} of {len(plan)} from {folder}")
    if on_step:
        for step, (loss, rate) in enumerate(zip(history["loss"], history["lr"]), 1):
            on_step(step, {"loss": loss, "lr": rate})
    model.train()
    started = time.perf_counter() - history["seconds"]
    single = world_size() == 1 and grad_accum == 1  # one part per step: its loss is the batch's mean
    bar = tqdm(plan, desc=desc, unit="step", initial=done)
    for step, batch in enumerate(plan[done:], done + 1):
        count = completion_tokens(batch)
        parts = _micro_batches(batch, grad_accum)
        total = torch.zeros((), device=device)
        for i, part in enumerate(parts):
            empty = not part
            inputs = collate(part or batch[:1], pad_id, device)  # an empty part runs, weighted 0, so DDP syncs
            sync = nullcontext() if i == len(parts) - 1 else accelerator.no_sync(nll)
            with sync:
                with forward_context():
                    token_nll = nll(**inputs)
                    # one part: the mean, as `completion_loss`; several: each part's share of the batch's sum
                    loss = token_nll.mean() if single else token_nll.sum() / count * (0.0 if empty else world_size())
                accelerator.backward(loss)
            total += loss.detach() / (1 if single else world_size())
            if not empty:
                history["tokens"] += int(inputs["attention_mask"].sum())
                history["padded"] += inputs["attention_mask"].numel()
        if world_size() > 1:
            total = accelerator.reduce(total, "sum")
        accelerator.clip_grad_norm_(params, 1.0)  # unscales the gradients first in fp16
        optimizer.step()
        history["lr"].append(schedule.get_last_lr()[0])
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        history["loss"].append(total.item())
        history["seconds"] = time.perf_counter() - started
        bar.update(1)
        bar.set_postfix(loss=f"{history['loss'][-1]:.3f}", tok_s=f"{history['tokens'] / history['seconds']:.0f}")
        if on_step:
            on_step(step, {"loss": history["loss"][-1], "lr": history["lr"][-1]})
        if folder and step % checkpoint_steps == 0 and step < len(plan) and is_main():
            checkpoint.save(folder, resume_key, step, params, optimizer, schedule, scaler, history)
    bar.close()
    model.eval()
    tokens, padded = sum_across((history["tokens"], history["padded"]))
    seconds = history["seconds"]
    losses = history["loss"]
    tail = losses[-max(1, len(losses) // 10):]
    return {"steps": len(plan), "examples": len(examples), "tokens": tokens, "seconds": round(seconds, 2),
            "tokens_per_second": round(tokens / seconds, 1), "padding_share": round(1 - tokens / padded, 4),
            "first_loss": round(losses[0], 4),
            "final_loss": round(sum(tail) / len(tail), 4)}


def mixed_precision(dtype: torch.dtype, device: torch.device) -> str:
    """accelerate's mixed precision for weights of `dtype`: on a GPU, autocast to them (and in fp16 the
    loss scaler, so small gradients do not underflow); on a CPU none (`model.cpu_autocast` is the
    forward context's)."""
    if device.type == "cpu":
        return "no"
    return {torch.float16: "fp16", torch.bfloat16: "bf16"}.get(dtype, "no")


@contextmanager
def curves(folder: str | Path | None):
    """An `on_step` callback that logs each step's loss and learning rate with DVCLive into `folder`
    (`<folder>/plots/metrics/*.tsv` and the last values in `<folder>/metrics.json`, which dvc.yaml
    declares), from the main process only; no DVC experiment, dvc.yaml or report is written."""
    if not folder or not is_main():
        yield None
        return
    from dvclive import Live

    shutil.rmtree(folder, ignore_errors=True)  # a resumed run logs its earlier steps again
    live = Live(dir=str(folder), save_dvc_exp=False, dvcyaml=None, report=None)

    def on_step(step: int, values: dict) -> None:
        live.step = step
        for name, value in values.items():
            live.log_metric(name, value)
        live.next_step()

    try:
        yield on_step
    finally:
        live.end()


def add_lora(model, r: int, alpha: int, dropout: float, target_modules, seed: int,
             gradient_checkpointing: bool = False):
    """Wrap a model with fresh LoRA adapters (peft), ready to train. Their random initialisation is
    seeded, so a round trained twice from the same inputs gives the same adapter. With
    gradient_checkpointing, each layer's activations are recomputed in the backward pass instead of
    kept: far less memory for long examples, the same gradients."""
    from peft import LoraConfig, get_peft_model

    if gradient_checkpointing:
        model.config.use_cache = False
        model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
    torch.manual_seed(seed)
    config = LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=target_modules,
                        task_type="CAUSAL_LM", bias="none")
    try:
        return get_peft_model(model, config)
    except ValueError as e:  # peft: "Target modules {...} not found in the base model"
        names = sorted({n.rsplit(".", 1)[-1] for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)})
        raise PipelineError(f"params.yaml: train.target_modules: {target_modules!r} does not match the model's "
                            f"linear layers ({', '.join(names)}), or use all-linear: {e}") from None
