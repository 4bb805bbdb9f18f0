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

from selfevo.config import load_params, load_rounds, load_section
from selfevo.config_train import QA_FILE
from selfevo.data.testset import has_facts, read_tests
from selfevo.errors import PipelineError, run_stage
from selfevo.evaluate.facts import unsupported_facts
from selfevo.evaluate.metrics import paper_score
from selfevo.evaluate.plots import interval_panels
from selfevo.evaluate.summary import curve_rows, model_summary, read_evaluation, read_models, read_predictions
from selfevo.jsonio import read_json, read_jsonl, write_json
from selfevo.stageargs import stage_args

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
                       ("score", "the score metric: θ_N's and the best round's"),
                       ("coverage", "folder of coverage metrics (what each round's training data states)")):
        parser.add_argument(f"--{name}", required=True, help=text)
    args = stage_args(parser)

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
    for label, (recs, _) in records.items():
        if len(recs) != len(tests):
            raise PipelineError(f"{args.predictions}/{label}.jsonl: {len(recs)} answers for {len(tests)} test "
                                f"questions in {args.test}; run `dvc repro`")
    summary, defined = model_summary(records, evaluations, theta, params, len(tests))
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
    summary["coverage"] = [{"round": r.round, **read_json(path)} for r in rounds
                           if (path := Path(args.coverage) / f"round_{r.round}.json").is_file()]
    summary["notes"] = notes
    for note in notes:
        print(f"note: {note}", file=sys.stderr)

    curve = curve_rows(summary, theta, defined)
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
    for row in summary["coverage"]:
        facts = (f", {row['fact_coverage']['facts_stated']:.1%} of the test facts" if "fact_coverage" in row else "")
        print(f"  round {row['round']}: training data states {row['units_stated']:.1%} of the units{facts}; "
              f"{row['top_opening']['share']:.0%} of its questions open with {row['top_opening']['opening']!r}")
    real = [c for c in summary["comparisons"] if c["differs"]]
    print(f"report: {len(theta)} models, {len(real)} of {len(summary['comparisons'])} paired differences outside "
          f"their interval -> {args.plot}, {args.figure}, {args.summary}, {args.score}")


if __name__ == "__main__":
    run_stage(main)
