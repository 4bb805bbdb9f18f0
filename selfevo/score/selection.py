"""Choosing which pairs of earlier rounds join a round's training data (IFD_i in the paper).

The history holds only rounds before the current one: the stage reads the pool that the previous
round closed, so the current round's pairs cannot leak in.
"""

from __future__ import annotations

import math
import random

from selfevo.config_train import SelectionParams
from selfevo.errors import PipelineError

ANCHORED = "anchored"
"""The `variant` of a pair anchored on a document's units (selfevo/generate/anchors.py)."""


def select_history(history: list[dict], params: SelectionParams, round_index: int) -> list[dict]:
    """The chosen pairs, ordered as chosen. Each history record has `id`, `round` and `ifd`. With
    selection.anchored, every anchored pair comes first and the strategy chooses among the others."""
    if params.anchored:
        kept = [r for r in history if r.get("variant") == ANCHORED]
        others = [r for r in history if r.get("variant") != ANCHORED]
        return kept + _choose(others, params, round_index)
    return _choose(history, params, round_index)


def _choose(history: list[dict], params: SelectionParams, round_index: int) -> list[dict]:
    if params.strategy == "none" or not history:
        return []
    if params.strategy == "all":
        return list(history)
    if params.k >= len(history):
        raise PipelineError(f"selection.k ({params.k}) is not below the {len(history)} pairs of round {round_index}'s "
                            f"history: {params.strategy} selection would take every pair, as strategy `all` does. "
                            f"Lower selection.k (the paper's release took 2000 of a pool growing ~4000 a round), or "
                            f"set strategy: all")
    if params.strategy == "random":
        rng = random.Random(f"{params.seed}:{round_index}")
        return rng.sample(history, min(params.k, len(history)))
    eligible = [r for r in history if r["ifd"] is not None and math.isfinite(r["ifd"])
                and (params.max_ifd is None or r["ifd"] <= params.max_ifd)]
    eligible.sort(key=lambda r: (-r["ifd"], r["id"]))
    return eligible[:params.k]


HISTORY_FIELDS = ("id", "round", "question", "answer", "ifd")
"""What every pair of the history holds (the scored pairs of a round, history@r's input)."""


def extend_history(previous: list[dict], scored: list[dict], source: str, previous_source: str) -> list[dict]:
    """The pool the previous round closed, with this round's scored pairs appended; a pair already in
    it (the same round run twice into one chain) is an error naming both files."""
    seen = {r["id"] for r in previous}
    clash = next((r["id"] for r in scored if r["id"] in seen), None)
    if clash:
        raise PipelineError(f"{source}: pair {clash} is already in {previous_source}")
    return previous + scored
