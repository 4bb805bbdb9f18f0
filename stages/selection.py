"""selection@r: IFD_r, the pairs of earlier rounds that join round r's training data.

    python stages/selection.py --history data/history/base.jsonl --round 0 \
        --out data/rounds/round_0/selected.jsonl

`selection.strategy`: ifd (top k by IFD, the paper's), random (k at random, seeded), all, none.
"""

import argparse

from selfevo.config import load_params, load_rounds, load_section
from selfevo.errors import PipelineError, run_stage
from selfevo.jsonio import read_jsonl, write_jsonl
from selfevo.score.selection import HISTORY_FIELDS, select_history
from selfevo.stageargs import stage_args


def main() -> None:
    parser = argparse.ArgumentParser(description="Select history pairs for a round.")
    parser.add_argument("--history", required=True, help="the pool closed by the previous round")
    parser.add_argument("--round", type=int, required=True)
    parser.add_argument("--out", required=True)
    args = stage_args(parser)

    raw = load_params()
    load_rounds(raw)  # a broken chain stops every round's stage before any work
    params = load_section("selection", raw)
    history = read_jsonl(args.history, required=HISTORY_FIELDS)
    late = next((r for r in history if r["round"] >= args.round), None)
    if late:
        raise PipelineError(f"{args.history}: pair {late['id']} is from round {late['round']}; "
                            f"round {args.round} may only select from earlier rounds")
    chosen = select_history(history, params, args.round)
    write_jsonl(args.out, chosen)
    print(f"selection@{args.round}: {params.strategy} chose {len(chosen)} of {len(history)} history pairs -> {args.out}")


if __name__ == "__main__":
    run_stage(main)
