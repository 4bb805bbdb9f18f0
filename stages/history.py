"""history@r: the pool of scored pairs D_0 .. D_r that later rounds select from.

    python stages/history.py --previous data/history/base.jsonl \
        --scored data/rounds/round_0/judged.jsonl --out data/history/round_0.jsonl \
        --stats metrics/history/round_0.json

DVC cannot take a list of deps, so the pool is a chain: each round appends its scored pairs to the
pool the previous round closed. data/history/base.jsonl, the empty pool before round 0, is in git.
"""

import argparse

from selfevo.config import load_rounds
from selfevo.errors import PipelineError, run_stage
from selfevo.evolution import jaccard
from selfevo.jsonio import read_jsonl, write_json, write_jsonl

REQUIRED = ("id", "round", "question", "answer", "ifd")


def main() -> None:
    parser = argparse.ArgumentParser(description="Append a round's scored pairs to the history.")
    parser.add_argument("--previous", required=True)
    parser.add_argument("--scored", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--stats", required=True)
    args = parser.parse_args()

    load_rounds()  # a broken chain stops every round's stage before any work
    previous = read_jsonl(args.previous, required=REQUIRED)
    scored = read_jsonl(args.scored, required=REQUIRED)
    seen = {r["id"] for r in previous}
    clash = next((r["id"] for r in scored if r["id"] in seen), None)
    if clash:
        raise PipelineError(f"{args.scored}: pair {clash} is already in {args.previous}")
    write_jsonl(args.out, previous + scored)
    similarity = repeat_similarity(previous, scored)
    write_json(args.stats, {"pool": len(previous) + len(scored), "new_pairs": len(scored),
                            "repeat_similarity": similarity})
    print(f"history: {len(previous)} + {len(scored)} pairs -> {args.out} (new questions' similarity to "
          f"earlier ones on the same chunk: {similarity})")


def repeat_similarity(previous: list[dict], new: list[dict]) -> float | None:
    """Mean over the new pairs whose chunk was asked about before of the highest word-set (Jaccard)
    similarity of its question to those earlier questions: 1 when a round asks the same again."""
    earlier: dict[str, list[str]] = {}
    for pair in previous:
        earlier.setdefault(pair.get("chunk_id"), []).append(pair["question"])
    scores = [max(jaccard(p["question"], q) for q in earlier[p.get("chunk_id")])
              for p in new if p.get("chunk_id") in earlier]
    return round(sum(scores) / len(scores), 4) if scores else None


if __name__ == "__main__":
    run_stage(main)
