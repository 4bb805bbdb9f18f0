"""Rescore saved closed-book predictions with the fact measure (selfevo/evaluate/facts.py): per model, fact recall,
the chance level and recall minus chance, each with its 95% interval (paired resamples; Wilson where the
bootstrap collapses), next to the share the predictions' own `stated` flags gave (the measure they were
written with). Used to compare runs across a change of the measure.

    python scripts/rescore_facts.py --test data/test.jsonl reports/predictions/theta_0.jsonl ...
"""

import argparse
from pathlib import Path

from selfevo.data.testset import read_tests
from selfevo.evaluate.chance import chance_counts
from selfevo.evaluate.facts import compile_tests, stated_facts
from selfevo.evaluate.intervals import difference, interval, ratio_of_sums, resamples
from selfevo.jsonio import read_jsonl


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--test", required=True)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("predictions", nargs="+")
    args = parser.parse_args()
    tests = read_tests(args.test)
    compiled = compile_tests(tests)
    samples = resamples(len(tests), args.draws, args.seed)

    def cell(metric) -> str:
        low, high = interval(metric, samples)
        return f"{metric(range(len(tests))):.3f} [{low:.3f}, {high:.3f}]"
    print("| model | recall as written | fact recall [95%] | chance [95%] | recall - chance [95%] |")
    print("|---|---|---|---|---|")
    for path in args.predictions:
        records = read_jsonl(path, required=("prediction",))
        if len(records) != len(tests):
            raise SystemExit(f"{path}: {len(records)} predictions for {len(tests)} test questions")
        answers = [r["prediction"] for r in records]
        stated = [sum(stated_facts(a, fs)) for a, fs in zip(answers, compiled)]
        total = [len(fs) for fs in compiled]
        chance_stated, chance_total = chance_counts(answers, tests, seed=args.seed)
        recall, chance = ratio_of_sums(stated, total), ratio_of_sums(chance_stated, chance_total)
        old = sum(sum(r.get("stated", [])) for r in records) / sum(total)
        print(f"| {Path(path).stem} | {old:.3f} | {cell(recall)} | {cell(chance)} | {cell(difference(recall, chance))} |")


if __name__ == "__main__":
    main()
