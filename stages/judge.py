"""judge@r: the fixed scorer θ_ifd rates every pair of D_r on four dimensions (answerable, faithful,
self-contained, one question), each from the probability of "Yes" against "No" after a judging
prompt (selfevo/score/judge.py); pairs under a dimension's `judge.min_*` are dropped, and counted. With
`judge.enabled: false` the pairs pass unrated and no model is loaded.

    python stages/judge.py --scorer models/base --scored data/rounds/round_0/scored.jsonl \
        --chunks data/prepared/chunks.jsonl --prompts prompts/en \
        --out data/rounds/round_0/judged.jsonl --stats metrics/judge/round_0.json

The judged pairs (IFD and judge scores) are what round r trains on and adds to the history.
"""

import argparse

from selfevo.config import load_params, load_rounds, load_section
from selfevo.distributed import launch_on_every_gpu
from selfevo.errors import PipelineError, run_stage
from selfevo.jsonio import read_jsonl, write_json, write_jsonl
from selfevo.models.hardware import autocast, processor
from selfevo.models.modeling import load_model, load_tokenizer
from selfevo.score.judge import DIMENSIONS, judge_pairs, load_judge
from selfevo.stageargs import stage_args


def main() -> None:
    parser = argparse.ArgumentParser(description="Judge a round's QA pairs on four dimensions.")
    parser.add_argument("--scorer", required=True, help="θ_ifd: the base model folder")
    parser.add_argument("--scored", required=True)
    parser.add_argument("--chunks", required=True)
    parser.add_argument("--prompts", required=True, help="the folder holding judge.yaml")
    parser.add_argument("--out", required=True)
    parser.add_argument("--stats", required=True)
    args = stage_args(parser)

    launch_on_every_gpu()  # one process per GPU when there are several (selfevo/distributed.py)
    raw = load_params()
    load_rounds(raw)  # a broken chain stops every round's stage before any work
    params = load_section("judge", raw)
    model_params = load_section("model", raw)
    judge = load_judge(args.prompts)
    pairs = read_jsonl(args.scored, required=("id", "chunk_id", "question", "answer"))
    chunks = {c["id"]: c["text"] for c in read_jsonl(args.chunks, required=("id", "text"))}
    unknown = next((p for p in pairs if p["chunk_id"] not in chunks), None)
    if unknown:
        raise PipelineError(f"{args.scored}: pair {unknown['id']} names chunk {unknown['chunk_id']}, "
                            f"which is not in {args.chunks}")
    if not params.enabled:
        write_json(args.stats, {"enabled": False, "pairs": len(pairs), "kept": len(pairs)})
        write_jsonl(args.out, pairs)
        print(f"judge: off (judge.enabled); {len(pairs)} pairs passed on unrated -> {args.out}")
        return
    scores = []
    if pairs:
        tokenizer = load_tokenizer(args.scorer, model_params)
        model = load_model(args.scorer, model_params)
        with autocast(model_params):
            scores = judge_pairs(model, tokenizer, pairs, chunks, judge, batch_size=params.batch_size,
                                 max_length=params.max_length, max_batch_tokens=params.max_batch_tokens)
    minimum = params.minimum()
    kept, dropped = [], {d: 0 for d in DIMENSIONS}
    for pair, score in zip(pairs, scores):
        failed = [d for d in DIMENSIONS if score[d] < minimum[d]]
        for d in failed:
            dropped[d] += 1
        if not failed:
            kept.append({**pair, "judge": score})
    mean = {d: round(sum(s[d] for s in scores) / len(scores), 4) if scores else None for d in DIMENSIONS}
    stats = {"enabled": True, "pairs": len(pairs), "kept": len(kept), "mean": mean, "dropped_below_min": dropped,
             "processor": processor()}
    write_json(args.stats, stats)
    if pairs and not kept:
        raise PipelineError(f"{args.scored}: the judge dropped all {len(pairs)} pairs (below judge.min_*: "
                            + ", ".join(f"{d} {n}" for d, n in dropped.items()) + f"); lower those params "
                            f"(the mean scores are in {args.stats})")
    write_jsonl(args.out, kept)
    print(f"judge: {len(kept)} of {len(pairs)} pairs kept; mean " +
          ", ".join(f"{d} {m}" for d, m in mean.items()) + f" -> {args.out}")


if __name__ == "__main__":
    run_stage(main)
