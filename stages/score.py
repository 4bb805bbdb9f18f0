"""score@r: the IFD of every pair of D_r under the fixed scorer θ_ifd (the base model, never trained).

    python stages/score.py --scorer models/base --qa data/rounds/round_0/qa.jsonl \
        --out data/rounds/round_0/scored.jsonl

Each round's pairs are scored once, here; later rounds reuse these scores through the history.
"""

import argparse

from selfevo.config import load_params, load_rounds, load_section
from selfevo.distributed import launch_on_every_gpu
from selfevo.errors import run_stage
from selfevo.jsonio import read_jsonl, write_jsonl
from selfevo.models.hardware import autocast
from selfevo.models.modeling import load_model, load_tokenizer
from selfevo.score.ifd import ifd_scores
from selfevo.stageargs import stage_args


def main() -> None:
    parser = argparse.ArgumentParser(description="IFD-score a round's QA pairs.")
    parser.add_argument("--scorer", required=True, help="θ_ifd: the base model folder")
    parser.add_argument("--qa", required=True)
    parser.add_argument("--out", required=True)
    args = stage_args(parser)

    launch_on_every_gpu()  # one process per GPU when there are several (selfevo/distributed.py)
    raw = load_params()
    load_rounds(raw)  # a broken chain stops every round's stage before any work
    params = load_section("score", raw)
    model_params = load_section("model", raw)
    pairs = read_jsonl(args.qa, required=("id", "round", "question", "answer"))
    scored = []
    if pairs:
        tokenizer = load_tokenizer(args.scorer, model_params)
        model = load_model(args.scorer, model_params)
        with autocast(model_params):
            scores = ifd_scores(model, tokenizer, [(p["question"], p["answer"]) for p in pairs],
                                batch_size=params.batch_size, max_length=params.max_length,
                                max_batch_tokens=params.max_batch_tokens)
        scored = [{**p, **s} for p, s in zip(pairs, scores)]
    write_jsonl(args.out, scored)
    valid = [s["ifd"] for s in scored if s["ifd"] is not None]
    mean = sum(valid) / len(valid) if valid else float("nan")
    print(f"score: {len(scored)} pairs, mean IFD {mean:.4f} -> {args.out}")


if __name__ == "__main__":
    run_stage(main)
