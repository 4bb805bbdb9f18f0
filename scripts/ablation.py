"""The ablations as DVC experiments, one `dvc exp run -S ...` each, compared in one table and figure.

    python scripts/ablation.py                 # or: make ablation       (the paper's Fig. 3)
    python scripts/ablation.py --study dial    # or: make ablation-dial  (Dial-insight's additions)

`selection` runs selection.strategy = none, all, random and ifd, in that order (ifd, the default,
last, so the workspace ends where params.yaml says). `dial` runs the default (the fixed question
prompt, judge scores kept but nothing dropped), prompt evolution, a judge filter, and both, the
default last. Each experiment reuses every stage its changes do not reach (DVC prints "didn't
change, skipping"). Writes reports/ablation/ (selection) or reports/ablation-dial/: scores.json,
table.md and a figure. Compare the experiments afterwards with `dvc exp show`.
"""

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from selfevo.errors import PipelineError, run_stage  # noqa: E402
from selfevo.jsonio import read_json, write_json  # noqa: E402
from selfevo.evaluate.plots import score_chart  # noqa: E402

# Every experiment of a study sets every key the study varies: `dvc exp run -S` leaves its change in
# params.yaml, so an experiment that set fewer keys would inherit the one before it.
EVOLVED, FIXED = "generate.evolve_prompts=true", "generate.evolve_prompts=false"
FILTER, NO_FILTER = "judge.min_faithful=0.2", "judge.min_faithful=0.0"  # SmolLM2 rates on-topic ~0.28, off ~0.15
STUDIES = {
    "selection": {"none": ["selection.strategy=none"], "all": ["selection.strategy=all"],
                  "random": ["selection.strategy=random"], "ifd": ["selection.strategy=ifd"]},
    "dial": {name: ["judge.enabled=true", *keys] for name, keys in (
        ("evolved", [EVOLVED, NO_FILTER]), ("judged", [FIXED, FILTER]), ("evolved+judged", [EVOLVED, FILTER]),
        ("fixed", [FIXED, NO_FILTER]))},
}
ORDER = tuple(STUDIES["selection"])


def _with_interval(row: dict, name: str, digits: int) -> str:
    """`value [low, high]` of a scores row's figure, or the value alone where it has no interval."""
    if f"{name}_low" not in row:
        return f"{row[name]:.{digits}f}"
    return f"{row[name]:.{digits}f} [{row[f'{name}_low']:.{digits}f}, {row[f'{name}_high']:.{digits}f}]"


def markdown_table(results: dict[str, list[dict]], summary: dict[str, dict]) -> str:
    """A row per experiment: the score by round, and the final model's score, fact recall (with its
    chance level), BLEU, ROUGE-L and reference NLL, each with its 95% interval where it has one."""
    rounds = [r["rounds_trained"] for r in next(iter(results.values()))]
    head = ("| experiment | " + " | ".join(f"θ_{n}" for n in rounds)
            + " | final score [95%] | final fact recall [95%] (chance) | final BLEU [95%] | final ROUGE-L "
              "| final reference NLL [95%] |")
    lines = [head, "|" + "---|" * (len(rounds) + 6)]
    for strategy, curve in results.items():
        final = curve[-1]
        facts = (f"{_with_interval(final, 'fact_recall', 3)} ({final['fact_chance']:.3f})"
                 if "fact_recall" in final else "-")
        lines.append(f"| {strategy} | " + " | ".join(f"{r['score']:.3f}" for r in curve)
                     + f" | {_with_interval(final, 'score', 3)} | {facts} | {_with_interval(final, 'bleu', 2)} "
                       f"| {final['rouge_l']:.2f} | {_with_interval(final, 'reference_nll', 4)} |")
    hq = next(iter(summary.values()))["theta_HQ"]
    lines.append("")
    lines.append(f"Score = BLEU / BLEU(θ_HQ); θ_HQ BLEU {hq['bleu']['value']:.2f}, reference NLL "
                 f"{hq['reference_nll']['value']:.4f}. "
                 "θ_0 is the untuned base (the same for all). Intervals: 95% bootstrap over the test questions.")
    return "\n".join(lines) + "\n"


def diversity_rows(rounds: int) -> dict:
    """Per round of the workspace's run: distinct-2 and kinds of the questions, similarity to earlier
    questions on the same chunk, and pairs kept; then the general-ability score per model."""
    rows = []
    for r in range(rounds):
        generated = read_json(ROOT / f"metrics/generate/round_{r}.json")
        history = read_json(ROOT / f"metrics/history/round_{r}.json")
        judged = read_json(ROOT / f"metrics/judge/round_{r}.json")
        rows.append({"round": r, "pairs": generated["pairs"], "kept_by_judge": judged["kept"],
                     **generated["diversity"], "repeat_similarity": history["repeat_similarity"]})
    return {"rounds": rows}


def run_experiment(name: str, overrides: list[str]) -> float:
    subprocess.run(["dvc", "exp", "remove", name], cwd=ROOT, capture_output=True)  # a rerun replaces it
    started = time.perf_counter()
    print(f"\n=== ablation {name}: dvc exp run -n {name} {' '.join('-S ' + o for o in overrides)} ===", flush=True)
    done = subprocess.run(["dvc", "exp", "run", "-n", name, *[a for o in overrides for a in ("-S", o)]], cwd=ROOT)
    if done.returncode != 0:
        raise PipelineError(f"dvc exp run for {name} failed (exit {done.returncode}); the experiments already "
                            f"finished are kept (dvc exp show)")
    return time.perf_counter() - started


def dial_table(results: dict[str, list[dict]], details: dict[str, dict]) -> str:
    lines = ["| experiment | final score | final reference NLL | general θ_0 -> final | distinct-2 by round "
             "| kinds of the last round | similarity to earlier questions | pairs kept by round |",
             "|---|---|---|---|---|---|---|---|"]
    for name, curve in results.items():
        rounds = details[name]["rounds"]
        kinds = ", ".join(f"{k} {v:.0%}" for k, v in sorted(rounds[-1]["kinds"].items(), key=lambda kv: -kv[1]))
        lines.append(f"| {name} | {curve[-1]['score']:.3f} | {curve[-1]['reference_nll']:.4f} | "
                     f"{curve[0].get('general_score', float('nan')):.3f} -> {curve[-1].get('general_score', float('nan')):.3f} | "
                     + " / ".join(f"{r['distinct_2']:.3f}" for r in rounds) + f" | {kinds} | "
                     + " / ".join("-" if r["repeat_similarity"] is None else f"{r['repeat_similarity']:.2f}" for r in rounds)
                     + " | " + " / ".join(str(r["kept_by_judge"]) for r in rounds) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description="Run an ablation as DVC experiments.")
    parser.add_argument("--study", choices=sorted(STUDIES), default="selection")
    parser.add_argument("--only", nargs="+", help="run only these experiments of the study")
    args = parser.parse_args()
    experiments = {n: o for n, o in STUDIES[args.study].items() if not args.only or n in args.only}
    out = ROOT / ("reports/ablation" if args.study == "selection" else f"reports/ablation-{args.study}")

    results, summaries, details, seconds = {}, {}, {}, {}
    for name, overrides in experiments.items():
        seconds[name] = run_experiment(f"{args.study}-{name}", overrides)
        results[name] = read_json(ROOT / "reports/scores.json")
        summaries[name] = read_json(ROOT / "reports/summary.json")
        details[name] = diversity_rows(len(results[name]) - 1)
    table = markdown_table(results, summaries)
    if args.study == "dial":
        table += "\n" + dial_table(results, details)
    out.mkdir(parents=True, exist_ok=True)
    (out / "table.md").write_text(table, encoding="utf-8")
    write_json(out / "scores.json", {"curves": results, "details": details,
                                     "seconds": {s: round(t, 1) for s, t in seconds.items()}})
    first = next(iter(results.values()))
    score_chart(out / ("fig3.png" if args.study == "selection" else "scores.png"), [r["rounds_trained"] for r in first],
                {s: [r["score"] for r in curve] for s, curve in results.items()},
                {"θ_HQ (teacher QA)": 1.0}, title=f"{args.study} ablation" + (" (Fig. 3)" if args.study == "selection" else ""))
    print("\n" + table)
    print("seconds per experiment: " + ", ".join(f"{s} {t:.0f}" for s, t in seconds.items()))
    print(f"ablation: wrote {out}/")


if __name__ == "__main__":
    run_stage(main)
