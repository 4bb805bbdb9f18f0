"""report: every evaluation in one curve (score by round, for `dvc plots show`) and a summary metric.

    python stages/report.py --metrics metrics/eval --plot reports/scores.json --summary reports/summary.json
"""

import argparse
from pathlib import Path

from selfevo.errors import PipelineError, run_stage
from selfevo.jsonio import read_json, write_json


def main() -> None:
    parser = argparse.ArgumentParser(description="Collect per-round metrics.")
    parser.add_argument("--metrics", required=True, help="folder of evaluate metrics JSON files")
    parser.add_argument("--plot", required=True)
    parser.add_argument("--summary", required=True)
    args = parser.parse_args()

    files = sorted(Path(args.metrics).glob("*.json"))
    if not files:
        raise PipelineError(f"{args.metrics}: no evaluation metrics; run the evaluate stages first")
    rows = sorted((read_json(f) for f in files), key=lambda m: m["rounds_trained"])
    curve = [{"rounds_trained": m["rounds_trained"], "bleu": m["bleu"], "chrf": m["chrf"]} for m in rows]
    best = max(curve, key=lambda r: r["bleu"])
    summary = {"rounds": curve[-1]["rounds_trained"], "base_bleu": curve[0]["bleu"], "final_bleu": curve[-1]["bleu"],
               "best_bleu": best["bleu"], "best_rounds_trained": best["rounds_trained"],
               "final_chrf": curve[-1]["chrf"]}
    write_json(args.plot, curve)
    write_json(args.summary, summary)
    for r in curve:
        print(f"  θ_{r['rounds_trained']}: BLEU {r['bleu']:6.2f}  chrF {r['chrf']:6.2f}")
    print(f"report: {len(curve)} models -> {args.plot}, {args.summary}")


if __name__ == "__main__":
    run_stage(main)
