"""report: every evaluation of this run, with its 95% intervals: the paper's score (BLEU / BLEU of θ_HQ),
fact recall against its chance level, BLEU, reference NLL and general score; for each round against the
previous one, θ_0 and θ_HQ, whether each difference is outside its paired interval; the curve for
`dvc plots show`, the Fig. 2 PNG, the summary, and the score metric (θ_N's and the best round's).

    python stages/report.py --rounds metrics/eval --details metrics/evaluate --hq metrics/baselines/hq.json \
        --references metrics/baselines/references.json --predictions reports/predictions \
        --test data/test.jsonl --chunks data/prepared/chunks.jsonl --plot reports/scores.json \
        --figure reports/fig2.png --summary reports/summary.json --score metrics/score.json
"""

import argparse
import sys
from pathlib import Path

from selfevo.comparisons import Resamples, compare, figures, scored
from selfevo.config import PARAMS_FILE, QA_FILE, load_params, load_rounds, load_section
from selfevo.errors import PipelineError, run_stage
from selfevo.facts import unsupported_facts
from selfevo.jsonio import read_json, read_jsonl, write_json
from selfevo.metrics import paper_score
from selfevo.plots import interval_panels
from selfevo.testset import has_facts, read_tests

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


def self_taught(raw: dict) -> bool:
    """Whether θ_HQ's teacher is θ_0 itself, so that the score is measured against a self-taught yardstick."""
    teacher = load_section("baselines", raw).teacher
    return teacher != QA_FILE and teacher == load_section("model", raw).base


def main() -> None:
    parser = argparse.ArgumentParser(description="Score every model against θ_HQ, with intervals; Fig. 2.")
    for name, text in (("rounds", "folder of evaluate metrics (θ_0 and every round)"),
                       ("details", "folder of evaluate stats (the same names, and theta_HQ)"), ("hq", "θ_HQ's metrics"),
                       ("references", "reference models' metrics"), ("predictions", "folder of evaluate predictions"),
                       ("test", "the test set"), ("chunks", "the corpus' chunks"), ("plot", "the curve (JSON)"),
                       ("figure", "Fig. 2 (PNG)"), ("summary", "every model and comparison (JSON)"),
                       ("score", "the score metric: θ_N's and the best round's")):
        parser.add_argument(f"--{name}", required=True, help=text)
    args = parser.parse_args()

    raw = load_params()
    rounds, params = load_rounds(raw), load_section("evaluate", raw)
    if not Path(args.hq).is_file():
        raise PipelineError(f"{args.hq}: θ_HQ's metrics are missing, and every score is relative to them; "
                            f"run `dvc repro evaluate_hq` (or the whole pipeline, `dvc repro`)")
    theta = ["theta_0"] + [r.trains for r in rounds]  # every file about a model is named after it
    names = ["theta_HQ"] + theta
    evaluations = {"theta_HQ": read_evaluation(Path(args.hq), Path(args.details) / "theta_HQ.json"),
                   **dict(zip(theta, read_models(Path(args.rounds), Path(args.details), theta)))}
    tests = read_tests(args.test)
    records = {label: read_predictions(Path(args.predictions), label) for label in names}
    hq = scored(*records["theta_HQ"], params.bleu_tokenize)
    models = {label: scored(*records[label], params.bleu_tokenize, hq) for label in names}  # θ_HQ's score: 1
    n_test, n_general = len(tests), len(records["theta_HQ"][1])
    for label, (recs, _) in records.items():
        if len(recs) != n_test:
            raise PipelineError(f"{args.predictions}/{label}.jsonl: {len(recs)} answers for {n_test} test "
                                f"questions in {args.test}; run `dvc repro`")
    defined = evaluations["theta_HQ"]["bleu"] > 0
    samples = Resamples.draw(n_test, n_general, params.bootstrap_draws, params.seed)
    summary = {}
    for label, model in models.items():
        figs = figures(model, samples)
        if not defined:
            figs.pop("score", None)
        summary[label] = {**figs, **{k: evaluations[label][k] for k in DETAIL if k in evaluations[label]}}
    pairs = [(f"theta_{k}", other) for k in range(1, len(rounds) + 1)
             for other in dict.fromkeys([f"theta_{k - 1}", "theta_0", "theta_HQ"])] + [("theta_0", "theta_HQ")]
    summary["comparisons"] = compare(models, pairs, samples)
    references = read_json(args.references) if Path(args.references).is_file() else {}
    summary["references"] = {name: {**m, "score": paper_score(m["bleu"], evaluations["theta_HQ"]["bleu"])}
                             for name, m in references.items()}
    scores = [summary[t]["score"]["value"] if defined else None for t in theta]
    summary.update(final_score=scores[-1], best_score=max(scores) if defined else None)
    notes = []
    if not defined:
        summary["score_undefined"] = f"θ_HQ's BLEU is 0 ({args.hq})"
        notes.append(f"θ_HQ's BLEU is 0 ({args.hq}): the score BLEU / BLEU(θ_HQ) is undefined; Fig. 2 shows BLEU")
    if self_taught(raw):
        notes.append("θ_HQ was tuned on θ_0's own QA (baselines.teacher is model.base): every score is against a "
                     "self-taught yardstick, not a stronger teacher")
    if has_facts(tests):
        missing = unsupported_facts(tests, [c["text"] for c in read_jsonl(args.chunks, required=("text",))])
        summary["unsupported_facts"] = [{"record": n, "fact": f} for n, f in missing]
        if missing:
            print(f"warning: {args.test}: {len(missing)} facts appear in no chunk of the corpus, so no model can "
                  f"learn them from it: " + ", ".join(f"record {n}: {f!r}" for n, f in missing[:10]), file=sys.stderr)
    else:
        notes.append(f"fact metrics absent: {args.test} lists no `facts` (docs/own-data.md: the test set)")
    summary["notes"] = notes
    for note in notes:
        print(f"note: {note}", file=sys.stderr)

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
    write_json(args.plot, curve)
    write_json(args.summary, summary)
    write_json(args.score, {"score": summary["final_score"], "best_score": summary["best_score"]})
    key = "score" if defined else "bleu"
    panels = [{"title": "Closed-book score (Fig. 2)" if defined else "Closed-book BLEU (score undefined)",
               "ylabel": "Score = BLEU / BLEU(θ_HQ)" if defined else "BLEU", "series": {"Self-Evolution": key},
               "baselines": {"θ_HQ (teacher QA)": summary["theta_HQ"][key]["value"]}}]
    if has_facts(tests):
        panels.append({"title": "Facts stated", "ylabel": "fact recall", "series": {"Self-Evolution": "fact_recall"},
                       "baselines": {"θ_HQ (teacher QA)": summary["theta_HQ"]["fact_recall"]["value"],
                                     "chance (θ_N, other questions' facts)": summary[theta[-1]]["fact_chance"]}})
    interval_panels(args.figure, list(range(len(theta))), curve, panels)
    for label in names:
        row = summary[label]
        shown = "  ".join(f"{m} {row[m]['value']:.3f} [{row[m]['low']:.3f}, {row[m]['high']:.3f}]"
                          for m in ("score", "fact_recall", "bleu", "reference_nll", "general_score") if m in row)
        chance = f"  (chance {row['fact_chance']:.3f})" if "fact_chance" in row else ""
        print(f"  {label}: {shown}{chance}")
    real = [c for c in summary["comparisons"] if c["differs"]]
    print(f"report: {len(theta)} models, {len(real)} of {len(summary['comparisons'])} paired differences outside "
          f"their interval -> {args.plot}, {args.figure}, {args.summary}, {args.score}")


if __name__ == "__main__":
    run_stage(main)
