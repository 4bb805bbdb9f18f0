"""generate@r: θ_r writes one question per chunk, then answers it with the chunk in context (D_r).

    python stages/generate.py --model models/base --chunks data/prepared/chunks.jsonl \
        --prompts prompts/en --round 0 --out data/rounds/round_0/qa.jsonl \
        --stats metrics/generate/round_0.json --cache .cache/generate

What the cleaning drops is counted by reason in the stats file (selfevo/pairs.py). With --cache,
each chunk's generation is recorded per setting there and reused on a rerun: after editing a few
documents only those are generated again (selfevo/pairs.py, ItemCache). Clear it with `make clean-cache`.
"""

import argparse

from selfevo.config import load_params, load_rounds, load_section
from selfevo.errors import PipelineError, run_stage
from selfevo.jsonio import read_jsonl, write_json, write_jsonl
from selfevo.modeling import autocast, fingerprint, load_model, load_tokenizer
from selfevo.pairs import ItemCache, generate_pairs
from selfevo.prompts import load_prompts


def main() -> None:
    parser = argparse.ArgumentParser(description="Generate one QA pair per chunk with the round's model.")
    parser.add_argument("--model", required=True, help="θ_r: models/base or models/round_<r-1>")
    parser.add_argument("--chunks", required=True)
    parser.add_argument("--prompts", required=True)
    parser.add_argument("--round", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--stats", required=True)
    parser.add_argument("--cache", help="folder of per-item generation records (incremental generation)")
    args = parser.parse_args()

    raw = load_params()
    load_rounds(raw)  # a broken chain stops every round's stage before any work
    params = load_section("generate", raw)
    model_params = load_section("model", raw)
    prompts = load_prompts(args.prompts)
    chunks = read_jsonl(args.chunks, required=("id", "text"))
    if not chunks:
        raise PipelineError(f"{args.chunks}: no chunks to generate from")
    tokenizer = load_tokenizer(args.model, model_params)
    model = load_model(args.model, model_params)
    cache = ItemCache(args.cache, model_fingerprint=fingerprint(args.model), prompts=prompts, params=params,
                      label=args.round, cpu_autocast=model_params.cpu_autocast)
    with autocast(model_params):
        pairs, stats = generate_pairs(model, tokenizer, chunks, prompts, params, args.round, cache)
    write_jsonl(args.out, pairs)
    write_json(args.stats, stats)
    print(f"generate@{args.round}: {stats['pairs']} pairs from {stats['chunks']} chunks -> {args.out} "
          f"(dropped: {stats['dropped'] or 'none'}; generated {stats['generated']}, reused {stats['reused']})")


if __name__ == "__main__":
    run_stage(main)
