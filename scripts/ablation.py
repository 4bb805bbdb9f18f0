"""The selection ablation (the paper's Fig. 3): one DVC experiment per selection strategy.

    python scripts/ablation.py            # or: make ablation

Runs `dvc exp run -S selection.strategy=<s>` for none, all, random and ifd, in that order (ifd, the
default, last, so the workspace ends where params.yaml says). Each experiment reuses every stage that
does not depend on the strategy (prepare, base, the baselines, round 0), because their dependencies
did not change; DVC prints "didn't change, skipping" for them. Writes reports/ablation/: scores.json,
table.md and fig3.png. Compare the experiments afterwards with `dvc exp show`.
"""

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from selfevo.config import STRATEGIES  # noqa: E402
from selfevo.errors import PipelineError, run_stage  # noqa: E402
from selfevo.jsonio import read_json, write_json  # noqa: E402
from selfevo.plots import score_chart  # noqa: E402

ORDER = ("none", "all", "random", "ifd")


def markdown_table(results: dict[str, list[dict]], summary: dict[str, dict]) -> str:
    rounds = [r["rounds_trained"] for r in next(iter(results.values()))]
    head = ("| strategy | " + " | ".join(f"θ_{n}" for n in rounds)
            + " | final BLEU | final ROUGE-L | final reference NLL |")
    lines = [head, "|" + "---|" * (len(rounds) + 4)]
    for strategy, curve in results.items():
        final = curve[-1]
        lines.append(f"| {strategy} | " + " | ".join(f"{r['score']:.3f}" for r in curve)
                     + f" | {final['bleu']:.2f} | {final['rouge_l']:.2f} | {final['reference_nll']:.4f} |")
    hq = next(iter(summary.values()))["theta_HQ"]
    lines.append("")
    lines.append(f"Score = BLEU / BLEU(θ_HQ); θ_HQ BLEU {hq['bleu']:.2f}, reference NLL {hq['reference_nll']:.4f}. "
                 "θ_0 is the untuned base (the same for all).")
    return "\n".join(lines) + "\n"


def run_strategy(strategy: str) -> float:
    name = f"ablation-{strategy}"
    subprocess.run(["dvc", "exp", "remove", name], cwd=ROOT, capture_output=True)  # a rerun replaces it
    started = time.perf_counter()
    print(f"\n=== ablation: selection.strategy={strategy} (dvc exp run -n {name}) ===", flush=True)
    done = subprocess.run(["dvc", "exp", "run", "-n", name, "-S", f"selection.strategy={strategy}"], cwd=ROOT)
    if done.returncode != 0:
        raise PipelineError(f"dvc exp run for selection.strategy={strategy} failed (exit {done.returncode}); "
                            f"the experiments already finished are kept (dvc exp show)")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the selection ablation as DVC experiments.")
    parser.add_argument("--strategies", nargs="+", default=list(ORDER), choices=STRATEGIES)
    parser.add_argument("--out", default="reports/ablation")
    args = parser.parse_args()

    results, summaries, seconds = {}, {}, {}
    for strategy in args.strategies:
        seconds[strategy] = run_strategy(strategy)
        results[strategy] = read_json(ROOT / "reports/scores.json")
        summaries[strategy] = read_json(ROOT / "reports/summary.json")
    out = ROOT / args.out
    table = markdown_table(results, summaries)
    (out / "table.md").parent.mkdir(parents=True, exist_ok=True)
    (out / "table.md").write_text(table, encoding="utf-8")
    write_json(out / "scores.json", {"curves": results, "seconds": {s: round(t, 1) for s, t in seconds.items()}})
    first = next(iter(results.values()))
    score_chart(out / "fig3.png", [r["rounds_trained"] for r in first],
                {s: [r["score"] for r in curve] for s, curve in results.items()},
                {"θ_HQ (teacher QA)": 1.0}, title="Selection ablation (Fig. 3)")
    print("\n" + table)
    print("seconds per experiment: " + ", ".join(f"{s} {t:.0f}" for s, t in seconds.items()))
    print(f"ablation: wrote {out / 'table.md'}, {out / 'fig3.png'}, {out / 'scores.json'}")


if __name__ == "__main__":
    run_stage(main)
