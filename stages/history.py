"""history@r: the pool of scored pairs D_0 .. D_r that later rounds select from.

    python stages/history.py --previous data/history/base.jsonl \
        --scored data/rounds/round_0/judged.jsonl --out data/history/theta_1.jsonl \
        --stats metrics/history/round_0.json

DVC cannot take a list of deps, so the pool is a chain: each round appends its scored pairs to the
pool the previous round closed. data/history/base.jsonl, the empty pool before round 0, is in git.
"""

import argparse

from selfevo.config import load_rounds
from selfevo.errors import run_stage
from selfevo.generate.diversity import repeat_similarity
from selfevo.jsonio import read_jsonl, write_json, write_jsonl
from selfevo.score.selection import HISTORY_FIELDS, extend_history
from selfevo.stageargs import stage_args


def main() -> None:
    parser = argparse.ArgumentParser(description="Append a round's scored pairs to the history.")
    parser.add_argument("--previous", required=True)
    parser.add_argument("--scored", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--stats", required=True)
    args = stage_args(parser)

    load_rounds()  # a broken chain stops every round's stage before any work
    previous = read_jsonl(args.previous, required=HISTORY_FIELDS)
    scored = read_jsonl(args.scored, required=HISTORY_FIELDS)
    write_jsonl(args.out, extend_history(previous, scored, args.scored, args.previous))
    similarity = repeat_similarity(previous, scored)
    write_json(args.stats, {"pool": len(previous) + len(scored), "new_pairs": len(scored),
                            "repeat_similarity": similarity})
    print(f"history: {len(previous)} + {len(scored)} pairs -> {args.out} (new questions' similarity to "
          f"earlier ones on the same chunk: {similarity})")


if __name__ == "__main__":
    run_stage(main)
