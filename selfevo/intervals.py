"""95% bootstrap intervals over test questions, paired across models.

Every model is scored on the same resamples of the test questions (`resamples`: a fixed seed and the
number of questions decide them), so the difference between two models is measured on each resample
and its interval says whether the models differ by more than the choice of questions does. A metric
is any function of a list of question indices: corpus BLEU recomputed on the resample, a ratio of
sums (fact recall), or a mean (reference NLL).
"""

from __future__ import annotations

import random
from typing import Callable, Sequence

Metric = Callable[[Sequence[int]], float]


def resamples(n: int, draws: int, seed: int) -> list[list[int]]:
    """`draws` lists of n question indices drawn with replacement, the same for a given (n, draws, seed)."""
    rng = random.Random(f"bootstrap:{seed}:{n}")
    return [[rng.randrange(n) for _ in range(n)] for _ in range(draws)]


def percentile_interval(values: list[float], level: float = 0.95) -> tuple[float, float]:
    """The central `level` share of the values (the percentile bootstrap), by linear interpolation."""
    ordered = sorted(values)
    def at(q: float) -> float:
        pos = q * (len(ordered) - 1)
        low = int(pos)
        high = min(low + 1, len(ordered) - 1)
        return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)
    tail = (1 - level) / 2
    return at(tail), at(1 - tail)


def interval(metric: Metric, samples: list[list[int]]) -> tuple[float, float]:
    return percentile_interval([metric(s) for s in samples])


def paired_difference(a: Metric, b: Metric, samples: list[list[int]]) -> dict:
    """a - b on the full set and its interval over the same resamples; `differs` when the interval
    leaves out 0 (a model compared with itself never differs: its differences are all 0)."""
    n = len(samples[0]) if samples else 0
    everything = list(range(n))
    low, high = percentile_interval([a(s) - b(s) for s in samples])
    return {"difference": round(a(everything) - b(everything), 4), "low": round(low, 4), "high": round(high, 4),
            "differs": low > 0 or high < 0}


def mean_of(values: Sequence[float]) -> Metric:
    return lambda idx: sum(values[i] for i in idx) / len(idx)


def ratio_of_sums(numerators: Sequence[float], denominators: Sequence[float]) -> Metric:
    def metric(idx: Sequence[int]) -> float:
        total = sum(denominators[i] for i in idx)
        return sum(numerators[i] for i in idx) / total if total else 0.0
    return metric
