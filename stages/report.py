"""report: every evaluation of this run, scored as in the paper (Score = BLEU / BLEU of θ_HQ), as a
curve for `dvc plots show`, the Fig. 2 PNG, a summary of every model, and the score metric (θ_N's and
the best round's).

    python stages/report.py --rounds metrics/eval --details metrics/evaluate --hq metrics/baselines/hq.json \
        --references metrics/baselines/references.json --plot reports/scores.json \
        --figure reports/fig2.png --summary reports/summary.json --score metrics/score.json
"""

import argparse
import sys
from pathlib import Path

from selfevo.config import PARAMS_FILE, load_rounds
from selfevo.errors import PipelineError, run_stage
from selfevo.jsonio import read_json, write_json
from selfevo.metrics import paper_score
from selfevo.plots import score_chart

METRICS = ("bleu", "chrf", "rouge_l", "reference_nll")


GENERAL = ("general_score", "general_nll")  # the general-ability set (evaluate); reference models skip it


def scored(metrics: dict, hq_bleu: float) -> dict:
    return {**{k: metrics[k] for k in (*METRICS, *GENERAL) if k in metrics},
            "score": paper_score(metrics["bleu"], hq_bleu)}


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


def main() -> None:
    parser = argparse.ArgumentParser(description="Score every model against θ_HQ; Fig. 2.")
    parser.add_argument("--rounds", required=True, help="folder of evaluate metrics (θ_0 and every round)")
    parser.add_argument("--details", required=True, help="folder of evaluate stats (the same names, and hq)")
    parser.add_argument("--hq", required=True, help="θ_HQ's evaluate metrics")
    parser.add_argument("--references", required=True, help="reference models' metrics")
    parser.add_argument("--plot", required=True)
    parser.add_argument("--figure", required=True)
    parser.add_argument("--summary", required=True)
    parser.add_argument("--score", required=True, help="the score metric: θ_N's and the best round's")
    args = parser.parse_args()

    rounds = load_rounds()
    if not Path(args.hq).is_file():
        raise PipelineError(f"{args.hq}: θ_HQ's metrics are missing, and every score is relative to them; "
                            f"run `dvc repro evaluate_hq` (or the whole pipeline, `dvc repro`)")
    hq = read_evaluation(Path(args.hq), Path(args.details) / "hq.json")
    models = read_models(Path(args.rounds), Path(args.details), ["base"] + [f"round_{r.round}" for r in rounds])
    references = read_json(args.references) if Path(args.references).is_file() else {}

    curve = [{"rounds_trained": m["rounds_trained"], **scored(m, hq["bleu"])} for m in models]
    defined = hq["bleu"] > 0
    if not defined:
        print(f"warning: {args.hq}: θ_HQ has BLEU 0, so the score BLEU / BLEU(θ_HQ) is undefined (null in the "
              f"summary); Fig. 2 shows BLEU itself, and every other metric is reported", file=sys.stderr)
    base = curve[0]
    for row in curve:
        row.update(theta_0=base["score"], theta_HQ=1.0 if defined else None, theta_HQ_reference_nll=hq["reference_nll"])
        if "general_score" in hq:
            row.update(theta_HQ_general_score=hq["general_score"])
    summary = {
        "theta_HQ": scored(hq, hq["bleu"]),
        **{f"theta_{r['rounds_trained']}": {k: r[k] for k in (*METRICS, *GENERAL, "score") if k in r}
           for r in curve},
        "references": {name: scored(m, hq["bleu"]) for name, m in references.items()},
        "final_score": curve[-1]["score"], "best_score": max(r["score"] for r in curve) if defined else None,
    }
    if not defined:
        summary["score_undefined"] = f"θ_HQ's BLEU is 0 ({args.hq})"
    write_json(args.plot, curve)
    write_json(args.summary, summary)
    write_json(args.score, {"score": summary["final_score"], "best_score": summary["best_score"]})
    key = "score" if defined else "bleu"
    series = {"Self-Evolution": [r[key] for r in curve]}
    if all("general_score" in r for r in curve):
        series["general questions right (share)"] = [r["general_score"] for r in curve]
    score_chart(args.figure, [r["rounds_trained"] for r in curve], series,
                {"θ_0 (base)": base[key], "θ_HQ (teacher QA)": 1.0 if defined else hq["bleu"],
                 **{name: m[key] for name, m in summary["references"].items()}},
                title="Closed-book score by round (Fig. 2)" if defined else
                "Closed-book BLEU by round (score undefined: θ_HQ's BLEU is 0)",
                ylabel="Score = BLEU / BLEU(θ_HQ)" if defined else "BLEU")
    print(f"  θ_HQ: BLEU {hq['bleu']:6.2f}  (score 1 by definition)  reference NLL {hq['reference_nll']:.4f}")
    for r in curve:
        general = f"  general {r['general_score']:.3f} (NLL {r['general_nll']:.4f})" if "general_score" in r else ""
        print(f"  θ_{r['rounds_trained']}: BLEU {r['bleu']:6.2f}  chrF {r['chrf']:6.2f}  ROUGE-L {r['rouge_l']:6.2f}"
              f"  score {'undefined' if r['score'] is None else format(r['score'], '.3f')}"
              f"  reference NLL {r['reference_nll']:.4f}{general}")
    print(f"report: {len(curve)} models -> {args.plot}, {args.figure}, {args.summary}, {args.score}")


if __name__ == "__main__":
    run_stage(main)
