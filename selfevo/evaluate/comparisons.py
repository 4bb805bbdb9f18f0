"""Which differences between models are real: every model's per-question records (evaluate's predictions)
scored on the same bootstrap resamples, so each difference between two models gets a paired 95% interval.
The paper's score of a model on a resample is its BLEU over θ_HQ's BLEU on that same resample."""

from __future__ import annotations

from dataclasses import dataclass

from selfevo.evaluate.intervals import Metric, estimate, paired_difference, ratio, resamples
from selfevo.evaluate.metrics import general_metrics, question_metrics

LOWER_IS_BETTER = {"reference_nll", "question_replies"}


@dataclass
class Scored:
    """One model's figures as functions of question indices: test-set ones and general-set ones."""
    test: dict[str, Metric]
    general: dict[str, Metric]


def scored(records: list[dict], general_records: list[dict], tokenize: str, hq: "Scored | None" = None) -> Scored:
    """A model's metrics from its prediction records; with θ_HQ's (`hq`), the paper's score too."""
    test = question_metrics(records, tokenize)
    if hq is not None:
        test["score"] = ratio(test["bleu"], hq.test["bleu"])
    return Scored(test=test, general=general_metrics(general_records) if general_records else {})


def with_interval(metric: Metric, samples: list[list[int]]) -> dict:
    """The metric on every question and its 95% interval over the resamples (`intervals.interval`)."""
    return dict(zip(("value", "low", "high"), estimate(metric, samples)))


@dataclass
class Resamples:
    """The bootstrap resamples of the test questions and of the general ones, shared by every model."""
    test: list[list[int]]
    general: list[list[int]]

    @classmethod
    def draw(cls, n_test: int, n_general: int, draws: int, seed: int) -> "Resamples":
        return cls(resamples(n_test, draws, seed), resamples(n_general, draws, seed) if n_general else [])


def figures(model: Scored, samples: Resamples) -> dict[str, dict]:
    """{metric: {value, low, high}} for every metric of the model."""
    return {**{name: with_interval(m, samples.test) for name, m in model.test.items()},
            **{name: with_interval(m, samples.general) for name, m in model.general.items()}}


def compare(models: dict[str, Scored], pairs: list[tuple[str, str]], samples: Resamples) -> list[dict]:
    """For each (a, b), every metric both models have: a - b, its paired interval, whether it leaves out 0
    (`differs`), and whether a is the better one there (`better`: lower for an NLL)."""
    rows = []
    for a, b in pairs:
        for kind, draws in (("test", samples.test), ("general", samples.general)):
            for name, metric in getattr(models[a], kind).items():
                other = getattr(models[b], kind).get(name)
                if other is None or not draws:
                    continue
                diff = paired_difference(_defined(metric), _defined(other), draws)
                better = diff["difference"] < 0 if name in LOWER_IS_BETTER else diff["difference"] > 0
                rows.append({"model": a, "against": b, "metric": name, **diff, "better": better})
    return rows


def _defined(metric: Metric) -> Metric:
    """NaN (a ratio over θ_HQ's BLEU of 0 on a resample) as 0, so a difference stays a number."""
    def safe(idx) -> float:
        value = metric(idx)
        return value if value == value else 0.0
    return safe
