"""95% bootstrap intervals over test questions, paired across models.

Every model is scored on the same resamples of the test questions (`resamples`: a fixed seed and the
number of questions decide them), so the difference between two models is measured on each resample
and its interval says whether the models differ by more than the choice of questions does. A metric
is any function of a list of question indices: corpus BLEU recomputed on the resample, a ratio of
sums (fact recall), or a mean (reference NLL). A share that no resample moves off one value (0 facts
stated) gets the Wilson interval of its counts, so that "none" still has an upper bound.
"""

from __future__ import annotations

import math
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


def wilson(successes: float, trials: float, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a share: unlike the bootstrap's, it does not collapse to [0, 0] when
    nothing succeeded in the sample (0 of 88 facts: [0, 0.042])."""
    if trials <= 0:
        return 0.0, 0.0
    share = successes / trials
    centre = (share + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * math.sqrt(share * (1 - share) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    return max(0.0, centre - half), min(1.0, centre + half)


def interval(metric: Metric, samples: list[list[int]]) -> tuple[float, float]:
    """The 95% percentile-bootstrap interval over the resamples where the metric is defined (not NaN); for
    a share of counts (`ratio_of_sums`) whose bootstrap collapses to one value (every resample 0), the
    Wilson interval of its counts instead."""
    values = [v for v in (metric(s) for s in samples) if v == v]
    if not values:
        return float("nan"), float("nan")
    low, high = percentile_interval(values)
    if low == high and isinstance(metric, RatioOfSums):
        return wilson(*metric.counts())
    return low, high


def estimate(metric: Metric, samples: list[list[int]]) -> tuple[float, float, float]:
    """The metric on every question, and its 95% interval over the resamples (`interval`), rounded to 4
    places: the one form every reported figure takes."""
    low, high = interval(metric, samples)
    return round(metric(range(len(samples[0]))), 4), round(low, 4), round(high, 4)


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


class RatioOfSums:
    """A share of counts over the questions (facts stated / facts listed), as a metric."""

    def __init__(self, numerators: Sequence[float], denominators: Sequence[float]):
        self.numerators, self.denominators = list(numerators), list(denominators)

    def __call__(self, idx: Sequence[int]) -> float:
        total = sum(self.denominators[i] for i in idx)
        return sum(self.numerators[i] for i in idx) / total if total else 0.0

    def counts(self) -> tuple[float, float]:
        """Successes and trials on every question."""
        return sum(self.numerators), sum(self.denominators)


def ratio_of_sums(numerators: Sequence[float], denominators: Sequence[float]) -> Metric:
    return RatioOfSums(numerators, denominators)


def difference(a: Metric, b: Metric) -> Metric:
    return lambda idx: a(idx) - b(idx)


def ratio(numerator: Metric, denominator: Metric) -> Metric:
    """numerator / denominator on each resample; NaN (left out of an interval) where the denominator is 0."""
    def metric(idx) -> float:
        below = denominator(idx)
        return numerator(idx) / below if below > 0 else float("nan")
    return metric
