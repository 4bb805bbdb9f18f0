"""train@r: LoRA on D_r ∪ IFD_r, starting from θ_r, gives θ_{r+1}. Only the adapter is stored.

    python stages/train.py --model models/base --qa data/rounds/round_0/qa.jsonl \
        --selected data/rounds/round_0/selected.jsonl --chunks data/prepared/chunks.jsonl \
        --prompts prompts/en --prompt-set data/prompts/base.json --everyday data/everyday.jsonl \
        --out models/theta_1 \
        --stats metrics/train/round_0.json

With `train.replay_questions`, that many new pairs' question-writing examples (the question prompt on
its chunk -> its question) join the training data, so θ_{r+1} still writes questions; with
`train.everyday`, that many of θ_0's replies to everyday requests (stage `everyday`), so it keeps θ_0's
general ability (docs/results.md).

`train_hq` runs the same file, without --selected, on the teacher's QA: θ_HQ.
"""

import argparse
import dataclasses
import sys
from pathlib import Path

import selfevo.train.checkpoint as checkpoint
from selfevo.config import load_params, load_rounds, load_section
from selfevo.distributed import is_main, launch_on_every_gpu
from selfevo.errors import check_writable, run_stage
from selfevo.generate.prompts import load_prompts, qa_messages
from selfevo.jsonio import read_json, read_jsonl, write_json
from selfevo.models.hardware import autocast, autocast_threads, processor
from selfevo.models.lineage import fingerprint, model_chain, save_adapter
from selfevo.models.modeling import load_model, load_tokenizer
from selfevo.score.selection import ANCHORED
from selfevo.stageargs import stage_args
from selfevo.train.training import add_lora, curves, run_key, tokenize_examples, train
from selfevo.train.trainset import question_replay, replay_sample, round_pairs

PAIR = ("id", "question", "answer")


def main() -> None:
    parser = argparse.ArgumentParser(description="Train one round's LoRA adapter.")
    parser.add_argument("--model", required=True, help="θ_r, the model this round starts from")
    parser.add_argument("--round", type=int, default=0, help="r: the rate is train.lr × train.lr_decay^r (θ_HQ: 0)")
    parser.add_argument("--qa", required=True, help="D_r")
    parser.add_argument("--selected", help="IFD_r (a round); none for θ_HQ")
    parser.add_argument("--chunks", help="the chunks D_r was written from, for train.replay_questions (a round)")
    parser.add_argument("--prompts", help="the question prompt's folder, for train.replay_questions")
    parser.add_argument("--prompt-set", help="the question-prompt variants D_r was written with (prompt evolution)")
    parser.add_argument("--everyday", help="θ_0's replies to everyday requests, for train.everyday (a round)")
    parser.add_argument("--out", required=True)
    parser.add_argument("--stats", required=True)
    parser.add_argument("--curves", help="DVCLive's folder: loss and learning rate per step, for `dvc plots`")
    parser.add_argument("--checkpoints", help="scratch folder of train.checkpoint_steps' checkpoints, which a "
                        "killed run resumes from")
    args = stage_args(parser)

    launch_on_every_gpu()  # one process per GPU when there are several (selfevo/distributed.py)
    raw = load_params()
    load_rounds(raw)  # a broken chain stops every round's stage before any work
    params = load_section("train", raw)
    model_params = load_section("model", raw)
    new = read_jsonl(args.qa, required=PAIR)
    selected = read_jsonl(args.selected, required=PAIR) if args.selected else []
    data = round_pairs(new, selected, args.qa, args.selected)
    pairs = [(qa_messages(p["question"]), p["answer"]) for p in data]
    replay = []
    if params.replay_questions != 0 and args.chunks:
        chunks = {c["id"]: c["text"] for c in read_jsonl(args.chunks, required=("id", "text"))}
        written = [p for p in new if p.get("variant") != ANCHORED]  # an anchored question has no question prompt
        replay = question_replay(replay_sample(written, params.replay_questions, params.seed), chunks,
                                 load_prompts(args.prompts), args.qa,
                                 read_json(args.prompt_set) if args.prompt_set else None)
    everyday = []
    if params.everyday and args.everyday:
        everyday = [(qa_messages(p["question"]), p["answer"])
                    for p in replay_sample(read_jsonl(args.everyday, required=PAIR), params.everyday, params.seed)]
    check_writable(Path(args.out).parent, "--out")  # before the hours of training, not after
    start = model_chain(args.model)[0] if params.from_base else Path(args.model)  # train.from_base: θ_0
    tokenizer = load_tokenizer(start, model_params)
    examples, too_long = tokenize_examples(tokenizer, pairs + replay + everyday, params.max_length)
    if too_long:
        print(f"warning: train {Path(args.out).name}: {too_long} of {len(examples) + too_long} examples are longer than "
              f"train.max_length ({params.max_length}) and are left out; raise it", file=sys.stderr)
    model = add_lora(load_model(start, model_params), params.lora_r, params.lora_alpha, params.lora_dropout,
                     params.target_modules, params.seed, params.gradient_checkpointing)
    out = Path(args.out)
    settings = dict(lr=params.lr * params.lr_decay ** args.round, batch_size=params.batch_size, seed=params.seed,
                    epochs=params.epochs, grad_accum=params.grad_accum)
    # a checkpoint is resumed only by the very same run: these examples, model, params and thread count
    key = run_key(examples, model=fingerprint(start), train=dataclasses.asdict(params),
                  model_params=dataclasses.asdict(model_params), threads=autocast_threads(model_params))
    with curves(args.curves) as on_step:
        stats = train(model, examples, pad_id=tokenizer.pad_token_id, desc=f"train {out.name}",
                      forward_context=lambda: autocast(model_params), checkpoints=args.checkpoints,
                      checkpoint_steps=params.checkpoint_steps, resume_key=key, on_step=on_step, **settings)

    if is_main():  # one writer when the stage runs data parallel (selfevo.distributed)
        save_adapter(model, out, start)
        checkpoint.clear(args.checkpoints)  # only now: a failed save leaves the run to resume
    stats.update(lr=settings["lr"], new_pairs=len(new), selected_pairs=len(selected), replayed_questions=len(replay),
                 replayed_everyday=len(everyday),
                 too_long_dropped=too_long, processor=processor())
    write_json(args.stats, stats)
    print(f"train {out.name}: {len(data)} pairs + {len(replay)} question examples + {len(everyday)} everyday ({too_long} too long), loss {stats['first_loss']} -> {stats['final_loss']}, "
          f"{stats['tokens_per_second']} tok/s -> {out}")


if __name__ == "__main__":
    run_stage(main)
