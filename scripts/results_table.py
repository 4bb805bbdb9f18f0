"""Print the README's results tables from a finished run: every model's headline figures with their 95%
intervals, the paired differences outside their interval, and closed-book answers with their facts marked.

    python scripts/results_table.py [--answers 3]
"""

import argparse
import json
from pathlib import Path

from selfevo.jsonio import read_json

LABELS = {"theta_HQ": "θ_HQ (base + LoRA on teacher QA)", "theta_0": "θ_0 (SmolLM2-135M-Instruct)"}


def cell(figure: dict, digits: int) -> str:
    return f"{figure['value']:.{digits}f} [{figure['low']:.{digits}f}, {figure['high']:.{digits}f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--summary", default="reports/summary.json")
    parser.add_argument("--predictions", default="reports/predictions")
    parser.add_argument("--answers", type=int, default=3)
    args = parser.parse_args()
    summary = read_json(args.summary)
    models = ["theta_HQ"] + sorted((k for k in summary if k.startswith("theta_") and k != "theta_HQ"),
                                   key=lambda k: int(k.split("_")[1]))
    print("| model | fact recall [95%] | chance [95%] | recall - chance [95%] | open-book recall [95%] | BLEU [95%] "
          "| general [95%] | score [95%] |")
    print("|---|---|---|---|---|---|---|---|")
    for m in models:
        row = summary[m]
        score = cell(row["score"], 3) if "score" in row else "undefined"
        optional = [cell(row[k], 3) if k in row else "-" for k in ("chance_recall", "recall_above_chance",
                                                                   "open_fact_recall")]
        print(f"| {LABELS.get(m, m.replace('theta_', 'θ_'))} | {cell(row['fact_recall'], 3)} | {' | '.join(optional)} "
              f"| {cell(row['bleu'], 2)} | {cell(row['general_score'], 3)} | {score} |")
    if summary.get("coverage"):
        print("\n| round | units stated by its training data | test facts stated | top four-word opening (share) |")
        print("|---|---|---|---|")
        for c in summary["coverage"]:
            facts = f"{c['fact_coverage']['facts_stated']:.3f}" if "fact_coverage" in c else "-"
            print(f"| {c['round']} | {c['units_stated']:.3f} ({c['stated']} of {c['units']}) | {facts} "
                  f"| {c['top_opening']['opening']!r} ({c['top_opening']['share']:.2f}) |")
    print("\nDifferences outside their paired 95% interval (model - against):\n")
    for c in summary["comparisons"]:
        if c["differs"]:
            print(f"- {c['model']} vs {c['against']}, {c['metric']}: {c['difference']:+.4f} [{c['low']:+.4f}, "
                  f"{c['high']:+.4f}] ({'better' if c['better'] else 'worse'})")
    print(f"\n{sum(not c['differs'] for c in summary['comparisons'])} of {len(summary['comparisons'])} differences "
          f"are inside their interval.\n")
    records = {m: [json.loads(line) for line in
                   (Path(args.predictions) / f"{m}.jsonl").read_text().splitlines()] for m in models}
    chosen = [i for i, r in enumerate(records["theta_0"]) if r.get("facts")][:args.answers]
    for i in chosen:
        first = records["theta_0"][i]
        print(f"**Q:** {first['question']} (facts: {', '.join(first['facts'])})<br>")
        for m in models:
            r = records[m][i]
            marks = " ".join(("✓" if s else "✗") + f" {f}" for f, s in zip(r["facts"], r["stated"]))
            print(f"**{m.replace('theta_', 'θ_')}:** {r['prediction']} [{marks}]<br>")
        print()


if __name__ == "__main__":
    main()
