"""The training loop of a LoRA round (and of the tests' tiny models).

Loss is on completion tokens only. Batches group examples of similar length (sorted within a
shuffled window), so little compute goes to padding; tokens per second are reported.
"""

from __future__ import annotations

import random
import time
from contextlib import nullcontext
from dataclasses import dataclass, replace
from typing import Callable, ContextManager

import torch
from tqdm import tqdm

from selfevo.distributed import process_group, rank, sum_across, world_size
from selfevo.errors import PipelineError
from selfevo.ifd import answer_token_nll
from selfevo.prompts import Messages, Prompts, encode_example, question_messages

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


def replay_sample(pairs: list[dict], limit: int | None, seed: int) -> list[dict]:
    """`limit` of the pairs (all with None), drawn with `seed`, in their input order."""
    if limit is None or limit >= len(pairs):
        return pairs
    chosen = set(random.Random(seed).sample(range(len(pairs)), limit))
    return [p for i, p in enumerate(pairs) if i in chosen]


def question_replay(pairs: list[dict], chunks: dict[str, str], prompts: Prompts, source: str,
                    templates: dict[str, str] | None = None) -> list[tuple[Messages, str]]:
    """Each pair's question-writing example: the question prompt that wrote it (`templates` by the
    pair's variant, from prompt evolution; else the fixed prompt) on its chunk -> its question. Trained
    beside the closed-book QA, a few of them keep the model writing named questions round after round;
    without them a 135M model trained on QA alone answers the question prompt instead (README)."""
    templates = {"fixed": prompts.question, **(templates or {})}
    examples = []
    for pair in pairs:
        if pair.get("chunk_id") not in chunks:
            raise PipelineError(f"{source}: pair {pair['id']}: its chunk {pair.get('chunk_id')!r} is not in the chunks")
        variant = pair.get("variant", "fixed")
        if variant not in templates:
            raise PipelineError(f"{source}: pair {pair['id']}: its question prompt variant {variant!r} is not in "
                                f"the prompt set")
        template = templates[variant]
        examples.append((question_messages(replace(prompts, question=template), chunks[pair["chunk_id"]]),
                         pair["question"]))
    return examples


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
    width = max(len(e.input_ids) for e in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for i, e in enumerate(batch):
        n = len(e.input_ids)
        ids[i, :n] = torch.tensor(e.input_ids)
        labels[i, :n] = torch.tensor(e.labels)
        mask[i, :n] = 1
    return {"input_ids": ids.to(device), "labels": labels.to(device), "attention_mask": mask.to(device)}


def completion_loss(model, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
    """Mean NLL of the completion tokens, as `model(**inputs).loss` computes it, with the output head
    applied to those positions only: with a 49k-152k vocabulary, logits at every prompt position cost
    a third of a small model's training step (README, "Throughput")."""
    rows, cols = (inputs["labels"][:, 1:] != IGNORE).nonzero(as_tuple=True)  # token t is predicted at t-1
    return answer_token_nll(model, inputs["input_ids"], inputs["attention_mask"], rows, cols).mean()


def completion_tokens(batch: list[Example]) -> int:
    """How many completion tokens a batch's loss averages over (as completion_loss counts them)."""
    return sum(sum(label != IGNORE for label in e.labels[1:]) for e in batch)


def data_parallel_step(model, batch: list[Example], params: list[torch.nn.Parameter], pad_id: int,
                       device: torch.device, forward_context, scaler) -> tuple[torch.Tensor, int, int]:
    """One step's gradients when the stage runs in several processes (selfevo.distributed): each
    process takes every world-th example of the batch, its loss is its tokens' NLL sum over the whole
    batch's token count, and the gradients are summed across processes, so the step is the
    one-process step on the same batch, up to the order of floating-point sums. Returns the batch's
    loss and this process's tokens and padded positions."""
    import torch.distributed as dist

    process_group()
    share = batch[rank()::world_size()]
    count = completion_tokens(batch)
    loss, tokens, padded = torch.zeros((), device=device), 0, 0
    if share:
        inputs = collate(share, pad_id, device)
        rows, cols = (inputs["labels"][:, 1:] != IGNORE).nonzero(as_tuple=True)
        with forward_context():
            loss = answer_token_nll(model, inputs["input_ids"], inputs["attention_mask"], rows, cols).sum() / count
        scaler.scale(loss).backward()
        tokens, padded = int(inputs["attention_mask"].sum()), inputs["attention_mask"].numel()
    for p in params:
        if p.grad is None:
            p.grad = torch.zeros_like(p)
        dist.all_reduce(p.grad)
    total = loss.detach().clone()
    dist.all_reduce(total)
    return total, tokens, padded


def train(model, examples: list[Example], *, pad_id: int, lr: float, batch_size: int, seed: int,
          epochs: int = 1, max_steps: int | None = None, desc: str = "train",
          forward_context: Callable[[], ContextManager] = nullcontext) -> dict:
    """Train in place with AdamW and linear decay; returns loss and throughput figures. Each forward
    pass runs in a fresh `forward_context()` (e.g. bf16 autocast); the backward pass and the optimizer
    step run outside it, as autocast requires."""
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
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    # fp16 weights (a GPU without bf16): scale the loss so small gradients do not underflow
    scaler = torch.amp.GradScaler(device.type, enabled=model.dtype == torch.float16)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0 - step / len(plan))
    model.train()
    tokens, padded, losses, started = 0, 0, [], time.perf_counter()
    bar = tqdm(plan, desc=desc, unit="step")
    for batch in bar:
        if world_size() > 1:
            loss, batch_tokens, batch_padded = data_parallel_step(model, batch, params, pad_id, device,
                                                                  forward_context, scaler)
        else:
            inputs = collate(batch, pad_id, device)
            with forward_context():
                loss = completion_loss(model, inputs)
            scaler.scale(loss).backward()
            batch_tokens, batch_padded = int(inputs["attention_mask"].sum()), inputs["attention_mask"].numel()
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        scaler.step(optimizer)
        scaler.update()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        tokens += batch_tokens
        padded += batch_padded
        losses.append(loss.item())
        bar.set_postfix(loss=f"{losses[-1]:.3f}", tok_s=f"{tokens / (time.perf_counter() - started):.0f}")
    model.eval()
    tokens, padded = sum_across((tokens, padded))
    seconds = time.perf_counter() - started
    tail = losses[-max(1, len(losses) // 10):]
    return {"steps": len(plan), "examples": len(examples), "tokens": tokens, "seconds": round(seconds, 2),
            "tokens_per_second": round(tokens / seconds, 1), "padding_share": round(1 - tokens / padded, 4),
            "first_loss": round(losses[0], 4),
            "final_loss": round(sum(tail) / len(tail), 4)}


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
