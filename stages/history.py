"""history@r: the pool of scored pairs D_0 .. D_r that later rounds select from.

    python stages/history.py --previous data/history/base.jsonl \
        --scored data/rounds/round_0/scored.jsonl --out data/history/round_0.jsonl

DVC cannot take a list of deps, so the pool is a chain: each round appends its scored pairs to the
pool the previous round closed. data/history/base.jsonl, the empty pool before round 0, is in git.
"""

import argparse

from selfevo.config import load_rounds
from selfevo.errors import PipelineError, run_stage
from selfevo.jsonio import read_jsonl, write_jsonl

REQUIRED = ("id", "round", "question", "answer", "ifd")


def main() -> None:
    parser = argparse.ArgumentParser(description="Append a round's scored pairs to the history.")
    parser.add_argument("--previous", required=True)
    parser.add_argument("--scored", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    load_rounds()  # a broken chain stops every round's stage before any work
    previous = read_jsonl(args.previous, required=REQUIRED)
    scored = read_jsonl(args.scored, required=REQUIRED)
    seen = {r["id"] for r in previous}
    clash = next((r["id"] for r in scored if r["id"] in seen), None)
    if clash:
        raise PipelineError(f"{args.scored}: pair {clash} is already in {args.previous}")
    write_jsonl(args.out, previous + scored)
    print(f"history: {len(previous)} + {len(scored)} pairs -> {args.out}")


if __name__ == "__main__":
    run_stage(main)
