"""everyday: θ_0's own replies to everyday requests, which every round replays beside its domain pairs
(`train.everyday`) to keep θ_0's general ability (selfevo/train/everyday.py).

    python stages/everyday.py --model models/base --requests prompts/en/everyday.txt \
        --out data/everyday.jsonl --stats metrics/everyday.json

With `train.everyday: 0` (the paper's: no replay) it writes no reply and loads no model.
"""

import argparse
import time

from selfevo.config import load_params, load_section
from selfevo.errors import run_stage
from selfevo.jsonio import write_json, write_jsonl
from selfevo.models.hardware import autocast
from selfevo.models.modeling import load_model, load_tokenizer
from selfevo.stageargs import stage_args
from selfevo.train.everyday import everyday_replies, read_requests


def main() -> None:
    parser = argparse.ArgumentParser(description="Write θ_0's replies to the everyday requests.")
    parser.add_argument("--model", required=True, help="θ_0")
    parser.add_argument("--requests", required=True, help="one everyday request per line")
    parser.add_argument("--out", required=True)
    parser.add_argument("--stats", required=True)
    args = stage_args(parser)

    raw = load_params()
    train, generate, model_params = (load_section(name, raw) for name in ("train", "generate", "model"))
    requests = read_requests(args.requests)
    start = time.perf_counter()
    replies = []
    if train.everyday:
        tokenizer = load_tokenizer(args.model, model_params)
        model = load_model(args.model, model_params)
        with autocast(model_params):
            replies = everyday_replies(model, tokenizer, requests, max_new_tokens=train.everyday_tokens,
                                       max_prompt_tokens=generate.max_prompt_tokens,
                                       batch_size=generate.batch_size, no_repeat_ngram=generate.no_repeat_ngram)
    write_jsonl(args.out, replies)
    write_json(args.stats, {"requests": len(requests), "replies": len(replies),
                            "seconds": round(time.perf_counter() - start, 2)})
    print(f"everyday: {len(replies)} replies of θ_0 to {len(requests)} requests -> {args.out}")


if __name__ == "__main__":
    run_stage(main)
