"""The report's content: every model's evaluation read back and checked against the rounds chain, its
figures with 95% intervals (shared resamples, so differences are paired), the comparisons of each
round with the one before, θ_0 and θ_HQ, and the curve `dvc plots` draws."""

from __future__ import annotations

import sys
from pathlib import Path

from selfevo.config_train import EvaluateParams
from selfevo.errors import PARAMS_FILE
from selfevo.errors import PipelineError
from selfevo.evaluate.comparisons import Resamples, compare, figures, scored
from selfevo.jsonio import read_json, read_jsonl

DETAIL = ("chrf", "rouge_l", "facts_all", "fact_chance", "general_nll")  # reported without an interval


def read_evaluation(metrics: Path, details: Path) -> dict:
    """One model's evaluation: its headline metrics and its stats file, as one mapping."""
    for path in (metrics, details):
        if not path.is_file():
            raise PipelineError(f"{path}: evaluation missing; run `dvc repro`")
    return {**read_json(details), **read_json(metrics)}


def read_models(folder: Path, details: Path, names: list[str]) -> list[dict]:
    """The metrics of θ_0 .. θ_N, exactly the models of the `rounds` chain, each checked to have been
    trained that many rounds; files of rounds no longer in params.yaml are left out, with a warning."""
    models = []
    for trained, name in enumerate(names):
        metrics = read_evaluation(folder / f"{name}.json", details / f"{name}.json")
        if metrics.get("rounds_trained") != trained:
            raise PipelineError(f"{details / f'{name}.json'}: a model trained {metrics.get('rounds_trained')} rounds, "
                                f"where the rounds chain in {PARAMS_FILE} gives {trained}; run `dvc repro`")
        models.append(metrics)
    stale = sorted(set(p.stem for p in folder.glob("*.json")) - set(names))
    if stale:
        print(f"warning: {folder}: {', '.join(stale)} left out, not in the rounds of {PARAMS_FILE}", file=sys.stderr)
    return models


def read_predictions(folder: Path, name: str) -> tuple[list[dict], list[dict]]:
    general = folder / "general" / f"{name}.jsonl"
    return (read_jsonl(folder / f"{name}.jsonl", required=("prediction", "reference", "nll")),
            read_jsonl(general, required=("prediction", "keywords")) if general.is_file() else [])


def model_summary(records: dict[str, tuple[list[dict], list[dict]]], evaluations: dict[str, dict], theta: list[str],
                  params: EvaluateParams, n_test: int) -> tuple[dict, bool]:
    """Per model (θ_HQ and `theta`, from their prediction records and evaluations) its figures with
    intervals, and the comparisons; and whether the paper's score is defined (θ_HQ's BLEU above 0)."""
    hq = scored(*records["theta_HQ"], params.bleu_tokenize)
    models = {label: scored(*records[label], params.bleu_tokenize, hq) for label in records}  # θ_HQ's score: 1
    defined = evaluations["theta_HQ"]["bleu"] > 0
    samples = Resamples.draw(n_test, len(records["theta_HQ"][1]), params.bootstrap_draws, params.seed)
    summary = {}
    for label, model in models.items():
        figs = figures(model, samples)
        if not defined:
            figs.pop("score", None)
        summary[label] = {**figs, **{k: evaluations[label][k] for k in DETAIL if k in evaluations[label]}}
    pairs = [(theta[k], other) for k in range(1, len(theta))
             for other in dict.fromkeys([theta[k - 1], "theta_0", "theta_HQ"])] + [("theta_0", "theta_HQ")]
    summary["comparisons"] = compare(models, pairs, samples)
    return summary, defined


def curve_rows(summary: dict, theta: list[str], defined: bool) -> list[dict]:
    """One row per model of `theta`, by rounds trained: every figure with its interval, and θ_0's and
    θ_HQ's as flat lines (Fig. 2 and the plots of dvc.yaml)."""
    curve = [{"rounds_trained": n, **{f"{metric}{part}": summary[t][metric][key]
                                      for metric in summary[t] if isinstance(summary[t][metric], dict)
                                      for part, key in (("", "value"), ("_low", "low"), ("_high", "high"))},
              **{k: summary[t][k] for k in DETAIL if k in summary[t]},
              **{f"theta_0{'' if m == 'score' else '_' + m}": summary["theta_0"][m]["value"] for m in ("score",) if defined},
              **{f"theta_HQ{'' if m == 'score' else '_' + m}": summary["theta_HQ"][m]["value"]
                 for m in ("score", "reference_nll", "fact_recall", "general_score") if m in summary["theta_HQ"]}}
             for n, t in enumerate(theta)]
    if not defined:
        for row in curve:
            row["score"] = None
    return curve
