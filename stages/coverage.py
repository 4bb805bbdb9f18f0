"""coverage@r: what round r's training data (D_r ∪ IFD_r) states: the share of the corpus's units some
training answer states, the share of a fact set's facts (--facts: the test set as a diagnostic, or a
dev set when the corpus is a dev corpus) some pair about the fact's chunk states, and the share of D_r's
questions that open with the same four words. Nothing trains on it: it is a measure only.

    python stages/coverage.py --qa data/rounds/round_0/judged.jsonl --selected data/rounds/round_0/selected.jsonl \
        --chunks data/prepared/chunks.jsonl --facts data/test.jsonl --out metrics/coverage/round_0.json
"""

import argparse

from selfevo.data.testset import has_facts, read_tests
from selfevo.errors import run_stage
from selfevo.evaluate.coverage import fact_coverage, top_opening, unit_coverage
from selfevo.jsonio import read_jsonl, write_json
from selfevo.stageargs import stage_args


def main() -> None:
    parser = argparse.ArgumentParser(description="What a round's training data states.")
    parser.add_argument("--qa", required=True, help="D_r")
    parser.add_argument("--selected", required=True, help="IFD_r")
    parser.add_argument("--chunks", required=True)
    parser.add_argument("--facts", required=True, help="JSONL of {question, answer, facts}")
    parser.add_argument("--out", required=True)
    args = stage_args(parser)
    new = read_jsonl(args.qa, required=("id", "question", "answer"))
    selected = read_jsonl(args.selected, required=("id", "question", "answer"))
    pairs = new + [p for p in selected if p["id"] not in {q["id"] for q in new}]
    chunks = read_jsonl(args.chunks, required=("id", "text"))
    tests = read_tests(args.facts)
    metrics = {"pairs": len(pairs), **unit_coverage(chunks, pairs),
               **({"fact_coverage": fact_coverage(tests, chunks, pairs)} if has_facts(tests) else {}),
               "top_opening": top_opening([p["question"] for p in new])}
    write_json(args.out, metrics)
    facts = (f", {metrics['fact_coverage']['facts_stated']:.1%} of the {metrics['fact_coverage']['facts']} facts of "
             f"{args.facts}" if "fact_coverage" in metrics else "")
    print(f"coverage: {len(pairs)} training pairs state {metrics['units_stated']:.1%} of {metrics['units']} units"
          f"{facts}; {metrics['top_opening']['share']:.0%} of the questions open with "
          f"{metrics['top_opening']['opening']!r} -> {args.out}")


if __name__ == "__main__":
    run_stage(main)
