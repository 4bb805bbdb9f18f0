"""Batches: length-sorted ones under an item count and a token budget (inference: generation, NLL,
the judge), and their rows padded into tensors (those and training)."""

from __future__ import annotations

from typing import Sequence

import torch


def length_batches(lengths: list[int], batch_size: int, max_tokens: int | None = None,
                   extra: int = 0) -> list[list[int]]:
    """Indices, shortest first, cut into batches of at most `batch_size` items whose padded size,
    items x (longest length + extra), stays within `max_tokens` (None: no budget). `extra` is what
    every row grows by (new tokens in generation). An item over the budget alone gets its own batch."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:
        over_budget = max_tokens is not None and (len(current) + 1) * (lengths[i] + extra) > max_tokens
        if current and (len(current) == batch_size or over_budget):
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


def pad(rows: Sequence[Sequence[int]], value: int, *, left: bool = False, dtype: torch.dtype = torch.long) -> torch.Tensor:
    """The rows as one tensor as wide as the longest, filled with `value` on the right (or, with
    `left`, on the left: generation's prompts, which all end where the new tokens start)."""
    width = max(map(len, rows))
    out = torch.full((len(rows), width), value, dtype=dtype)
    for i, row in enumerate(rows):
        span = slice(width - len(row), width) if left else slice(0, len(row))
        out[i, span] = torch.tensor(row, dtype=dtype)
    return out


def pad_with_mask(rows: Sequence[Sequence[int]], pad_id: int, *, left: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids padded with `pad_id` (`pad`), and the attention mask: 1 on the rows' own tokens."""
    return pad(rows, pad_id, left=left), pad([[1] * len(row) for row in rows], 0, left=left)
