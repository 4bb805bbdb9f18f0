"""Batched generation with a KV cache and one random stream per item.

Prompts are sorted by length and left-padded, so a batch wastes little on padding. A batch holds at
most `batch_size` prompts and, with `max_batch_tokens`, at most that many tokens of prompt, padding
and new tokens together (the KV cache's size), so long documents on a big model fit in memory. Each
item samples from its own seeded generator, so what it writes does not depend on which batch it
landed in (up to floating-point differences between batch shapes). temperature 0 is greedy.
With `no_repeat_ngram` n > 0, no n tokens in a row are written twice in one reply (only the reply is
checked: copying from the prompt stays free), which stops the loops a small model falls into.
With an `opener`, each reply starts with that text (written after the chat's assistant header) and
the model writes on from it; the returned reply holds it.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable

import torch

from selfevo.batching import length_batches, pad_with_mask
from selfevo.distributed import map_batches
from selfevo.errors import PipelineError
from selfevo.generate.prompts import Messages, render_prompt
from selfevo.models.modeling import stop_token_ids


NO_REPEAT_KEY = "no_repeat_ngram"
"""The vLLM request's `extra_args` entry that asks for `banned_tokens`' rule (selfevo/generate/vllm_logits.py)."""


def banned_tokens(tokens: list[int], n: int) -> list[int]:
    """The tokens that would complete an n-gram already written in `tokens`."""
    if n <= 0 or len(tokens) < n:
        return []
    tail = tokens[len(tokens) - n + 1:]
    return [tokens[i + n - 1] for i in range(len(tokens) - n + 1) if tokens[i:i + n - 1] == tail]


def _filter_top_p(probs: torch.Tensor, top_p: float) -> torch.Tensor:
    if top_p >= 1.0:
        return probs
    sorted_probs, order = probs.sort(dim=-1, descending=True)
    keep = sorted_probs.cumsum(-1) - sorted_probs < top_p  # always keeps the most likely token
    sorted_probs = sorted_probs * keep
    return torch.zeros_like(probs).scatter(-1, order, sorted_probs)


@torch.no_grad()
def _generate_batch(model, prompts: list[list[int]], seeds: list[int], *, pad_id: int, stops: set[int],
                    max_new_tokens: int, temperature: float, top_p: float, no_repeat_ngram: int,
                    line_ends: frozenset[int] = frozenset()) -> list[list[int]]:
    device = next(model.parameters()).device
    ids, mask = pad_with_mask(prompts, pad_id, left=True)
    ids, mask = ids.to(device), mask.to(device)
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    generators = [torch.Generator(device=device).manual_seed(s) for s in seeds]
    out: list[list[int]] = [[] for _ in prompts]
    done = [False] * len(prompts)
    past = None
    step_ids, step_pos = ids, positions
    for _ in range(max_new_tokens):
        result = model(input_ids=step_ids, attention_mask=mask, position_ids=step_pos, past_key_values=past,
                       use_cache=True, logits_to_keep=1)  # the prefill needs only the last position's logits
        past = result.past_key_values
        logits = result.logits[:, -1, :].float()
        if no_repeat_ngram:
            for i, tokens in enumerate(out):
                logits[i, banned_tokens(tokens, no_repeat_ngram)] = float("-inf")
        if temperature == 0:
            next_ids = logits.argmax(-1)
        else:
            probs = _filter_top_p(torch.softmax(logits / temperature, dim=-1), top_p)
            next_ids = torch.stack([torch.multinomial(probs[i], 1, generator=generators[i])[0]
                                    for i in range(len(prompts))])
        for i, token in enumerate(next_ids.tolist()):
            if done[i]:
                continue
            if token in stops or (token in line_ends and any(t not in line_ends for t in out[i])):
                done[i] = True
            else:
                out[i].append(token)
        if all(done):
            break
        step_ids = next_ids.unsqueeze(-1)
        step_pos = step_pos[:, -1:] + 1
        mask = torch.cat([mask, torch.ones_like(step_ids)], dim=-1)
    return out


def engine(model) -> dict:
    """What runs the generation, as far as it can change what an item writes: the backend and its
    version, the weights' dtype and the device type (part of `pairs.ItemCache`'s key)."""
    if hasattr(model, "engine_info"):  # another backend (selfevo.generate.vllm_backend)
        return model.engine_info
    import transformers

    weight = next(model.parameters())
    return {"backend": "torch", "version": f"torch {torch.__version__}, transformers {transformers.__version__}",
            "dtype": str(weight.dtype).removeprefix("torch."), "device": weight.device.type}


def opener_ids(tokenizer, conversation: Messages, opener: str) -> list[int]:
    """The opener's tokens as they follow the assistant header. The reply is decoded with them, so it
    is spaced as the model meant it (a tokenizer that drops a leading space would glue "What" to "is")."""
    if not opener:
        return []
    prompt = render_prompt(tokenizer, conversation)
    without = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    with_opener = tokenizer(prompt + opener, add_special_tokens=False)["input_ids"]
    if with_opener[:len(without)] == without:
        return with_opener[len(without):]
    return tokenizer(opener, add_special_tokens=False)["input_ids"]


@lru_cache(maxsize=4)
def line_end_ids(tokenizer) -> frozenset[int]:
    """The tokens whose text holds a line end: where a completion-style reply's line is over."""
    return frozenset(i for i in range(len(tokenizer)) if "\n" in tokenizer.decode([i]))


def encode_prompt(tokenizer, prompt: Messages | str) -> list[int]:
    """A conversation through the chat template; a plain string as text to continue (completion style,
    with the tokenizer's own special tokens, such as a BOS)."""
    if isinstance(prompt, str):
        return tokenizer(prompt)["input_ids"]
    return tokenizer(render_prompt(tokenizer, prompt), add_special_tokens=False)["input_ids"]


def generate(model, tokenizer, conversations: list[Messages | str], seeds: list[int], *, max_new_tokens: int,
             temperature: float, top_p: float, batch_size: int, max_prompt_tokens: int,
             max_batch_tokens: int | None = None, no_repeat_ngram: int = 0, desc: str = "generate",
             progress: bool = True, opener: str = "", stop_at_line_end: bool = False,
             on_done: Callable[[list[int], list[str]], None] | None = None) -> list[str]:
    """The assistant's reply to each conversation, in input order, each starting with `opener`; a plain
    string is continued as text (`encode_prompt`), and with `stop_at_line_end` the reply ends with the
    end of its first line that holds text (line ends before it are written on from). Every prompt, with the opener, must be within `max_prompt_tokens` (`prompts.fit_prompt`
    makes it so). `on_done(indices, replies)` is called as each batch finishes (an item cache saves
    them), so an interrupted run keeps what it made."""
    opened = opener_ids(tokenizer, conversations[0], opener) if conversations and opener else []
    prompts = [encode_prompt(tokenizer, c) + opened for c in conversations]
    longest = max(map(len, prompts), default=0)
    if longest > max_prompt_tokens:  # callers fit their text first (prompts.fit_prompt)
        raise PipelineError(f"{desc}: a prompt of {longest} tokens is over its budget of {max_prompt_tokens}")
    stops = stop_token_ids(model, tokenizer)
    line_ends = line_end_ids(tokenizer) if stop_at_line_end else frozenset()
    if hasattr(model, "generate_ids"):  # another backend (selfevo.generate.vllm_backend), which batches for itself and
        # writes on past a line end (the cleaning keeps the first line)
        tokens = model.generate_ids(prompts, seeds, stops=stops, max_new_tokens=max_new_tokens,
                                    temperature=temperature, top_p=top_p, no_repeat_ngram=no_repeat_ngram)
        replies = [tokenizer.decode(opened + t, skip_special_tokens=True).strip() for t in tokens]
        if on_done:
            on_done(list(range(len(replies))), replies)
        return replies
    batches = length_batches([len(p) for p in prompts], batch_size, max_batch_tokens, extra=max_new_tokens)

    def work(idx: list[int]) -> list[str]:
        tokens = _generate_batch(model, [prompts[i] for i in idx], [seeds[i] for i in idx],
                                 pad_id=tokenizer.pad_token_id, stops=stops, line_ends=line_ends,
                                 max_new_tokens=max_new_tokens,
                                 temperature=temperature, top_p=top_p, no_repeat_ngram=no_repeat_ngram)
        replies = [tokenizer.decode(opened + t, skip_special_tokens=True).strip() for t in tokens]
        if on_done:
            on_done(idx, replies)
        return replies

    return map_batches(batches, len(prompts), work, desc=desc, progress=progress)


def generate_missing(model, tokenizer, conversations, seeds, cached: list[str | None], **kwargs) -> list[str]:
    """`generate` only where `cached` is None; keep the rest."""
    todo = [i for i, c in enumerate(cached) if c is None]
    on_done = kwargs.pop("on_done", None)
    if on_done:
        kwargs["on_done"] = lambda idx, replies: on_done([todo[i] for i in idx], replies)
    fresh = generate(model, tokenizer, [conversations[i] for i in todo], [seeds[i] for i in todo], **kwargs) \
        if todo else []
    out = list(cached)
    for i, text in zip(todo, fresh):
        out[i] = text
    return out
