"""Length-sorted batches under an item count and a token budget, for inference (generation, IFD)."""

from __future__ import annotations


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
