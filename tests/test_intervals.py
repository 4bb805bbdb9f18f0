"""Bootstrap intervals: the same resamples for every model, so differences are paired; a model compared
with itself never differs, a clearly better one does."""

import pytest

from selfevo.evaluate.comparisons import Resamples, compare, scored
from selfevo.evaluate.intervals import estimate, interval, mean_of, paired_difference, percentile_interval, resamples


def test_resamples_are_fixed_by_seed_and_size():
    assert resamples(10, 5, 0) == resamples(10, 5, 0) != resamples(10, 5, 1)
    assert all(len(s) == 10 and all(0 <= i < 10 for i in s) for s in resamples(10, 5, 0))


def test_percentile_interval_is_the_central_share():
    assert percentile_interval(list(range(101))) == pytest.approx((2.5, 97.5))
    low, high = interval(mean_of([0.0] * 50 + [1.0] * 50), resamples(100, 500, 0))
    assert 0.35 < low < 0.5 < high < 0.65


def test_a_model_compared_with_itself_never_differs():
    values = [float(i % 7) for i in range(40)]
    same = paired_difference(mean_of(values), mean_of(values), resamples(40, 300, 0))
    assert same == {"difference": 0.0, "low": 0.0, "high": 0.0, "differs": False}


def test_pairing_finds_a_small_consistent_gain_that_unpaired_intervals_would_hide():
    base = [float(i % 10) for i in range(60)]  # a wide spread between questions
    better = [v + 0.2 for v in base]  # the same questions, each a little better
    samples = resamples(60, 500, 0)
    diff = paired_difference(mean_of(better), mean_of(base), samples)
    assert diff["differs"] and diff["low"] > 0
    a, b = interval(mean_of(better), samples), interval(mean_of(base), samples)
    assert a[0] < b[1]  # the two models' own intervals overlap


def record(pred, ref, nll, stated):
    return {"question": "Which module is faulty?", "prediction": pred, "reference": ref, "nll": nll, "stated": stated}


def test_compare_covers_every_metric_and_marks_the_better_model():
    refs = [f"the fan module number {i} is faulty" for i in range(30)]
    good = [record(r, r, 1.0, [True]) for r in refs]
    bad = [record("Which one?", r, 3.0, [False]) for r in refs]  # asks back: no answer
    general = [{"prediction": "yes", "keywords": ["yes"]}] * 10
    models = {"good": scored(good, general, "13a"), "bad": scored(bad, general, "13a")}
    rows = compare(models, [("good", "bad"), ("bad", "bad")], Resamples.draw(30, 10, 200, 0))
    by = {(r["model"], r["against"], r["metric"]): r for r in rows}
    assert {m for (a, _, m) in by if a == "good"} == {"bleu", "reference_nll", "fact_recall", "question_replies",
                                                      "general_score"}
    for metric in ("bleu", "reference_nll", "fact_recall", "question_replies"):  # lower is better for 2 of them
        assert by[("good", "bad", metric)]["differs"] and by[("good", "bad", metric)]["better"]
        assert not by[("bad", "bad", metric)]["differs"]
    assert not by[("good", "bad", "general_score")]["differs"]  # the same general answers


def test_every_figure_is_its_value_and_interval_rounded_alike():
    values = [0.123456, 0.5, 0.987654, 0.25]
    samples = resamples(len(values), 200, seed=0)
    low, high = interval(mean_of(values), samples)
    assert estimate(mean_of(values), samples) == (round(sum(values) / 4, 4), round(low, 4), round(high, 4))
    assert low < sum(values) / 4 < high
