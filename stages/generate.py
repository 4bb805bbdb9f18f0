"""generate@r: θ_r writes questions about each chunk (generate.questions_per_chunk), then answers
each with the chunk in context (D_r); with `generate.anchor`, also one anchored pair per window of
every chunk (selfevo/generate/anchors.py: θ_r's question, or θ_0's with `generate.anchor_writer: base`, and the
window itself as the answer).

    python stages/generate.py --model models/base --chunks data/prepared/chunks.jsonl \
        --prompts prompts/en --round 0 --out data/rounds/round_0/qa.jsonl \
        --stats metrics/generate/round_0.json --prompt-set data/prompts/base.json --cache .cache/generate

With `generate.evolve_prompts`, each chunk's question prompt is a variant drawn (seeded, weighted)
from --prompt-set, the set evolve@r-1 wrote (selfevo/generate/evolution.py); otherwise the fixed question
prompt. With `generate.questions_per_chunk` n > 1, each chunk's slots 1..n-1 ask for other kinds of
question: variants of --prompt-set of kinds no earlier slot has (selfevo/generate/evolution.py, chunk_slots).
The stats hold the questions' diversity (distinct-2, kinds) either way.

What the cleaning drops is counted by reason in the stats file (selfevo/generate/cleaning.py). With --cache,
each chunk's generation is recorded per setting there and reused on a rerun: after editing a few
documents only those are generated again (selfevo/generate/itemcache.py). Clear it with `make clean-cache`.
"""

import argparse
import sys
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

from selfevo.config import load_params, load_rounds, load_section
from selfevo.distributed import launch_on_every_gpu
from selfevo.errors import PipelineError, run_stage
from selfevo.generate.anchors import generate_anchored, load_anchor_prompt
from selfevo.generate.cleaning import check_kept
from selfevo.generate.diversity import diversity, line_coverage
from selfevo.generate.evolution import asks_from_set, chunk_slots
from selfevo.generate.generation import engine
from selfevo.generate.itemcache import ItemCache
from selfevo.generate.pairs import generate_pairs
from selfevo.generate.prompts import load_prompts
from selfevo.generate.vllm_backend import VllmModel
from selfevo.jsonio import read_json, read_jsonl, write_json, write_jsonl
from selfevo.models.hardware import autocast, autocast_threads, processor
from selfevo.models.lineage import fingerprint, model_chain
from selfevo.models.modeling import load_model, load_tokenizer
from selfevo.stageargs import stage_args


def main() -> None:
    parser = argparse.ArgumentParser(description="Generate QA pairs about each chunk with the round's model.")
    parser.add_argument("--model", required=True, help="θ_r: models/base (θ_0) or models/theta_<r>")
    parser.add_argument("--chunks", required=True)
    parser.add_argument("--prompts", required=True)
    parser.add_argument("--round", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--stats", required=True)
    parser.add_argument("--prompt-set", required=True,
                        help="the question-prompt variants this round draws from (generate.evolve_prompts)")
    parser.add_argument("--history", help="the pairs of earlier rounds: a question that repeats one on its chunk "
                        "is dropped")
    parser.add_argument("--cache", help="folder of per-item generation records (incremental generation)")
    parser.add_argument("--merged-models", help="folder of merged round models vLLM serves, kept for the next "
                        "stage that serves the same model (generate.backend: vllm)")
    args = stage_args(parser)

    raw = load_params()
    load_rounds(raw)  # a broken chain stops every round's stage before any work
    params = load_section("generate", raw)
    if params.evolve_prompts and not load_section("judge", raw).enabled:
        raise PipelineError("params.yaml: generate.evolve_prompts needs judge.enabled: true (a variant's fitness "
                            "is its pairs' judge ratings)")
    if params.backend == "torch":  # vLLM spreads a model over GPUs itself
        launch_on_every_gpu()
    model_params = load_section("model", raw)
    prompts = load_prompts(args.prompts)
    chunks = read_jsonl(args.chunks, required=("id", "text"))
    if not chunks:
        raise PipelineError(f"{args.chunks}: no chunks to generate from")
    prompt_set = read_json(args.prompt_set)
    variants = chunk_slots(prompt_set, prompts.question, chunks, evolve=params.evolve_prompts,
                           n=params.questions_per_chunk, seed=params.seed, label=args.round)
    earlier: dict[str, list[str]] = {}
    for pair in read_jsonl(args.history, required=("chunk_id", "question")) if args.history else []:
        earlier.setdefault(pair["chunk_id"], []).append(pair["question"])
    anchor = load_anchor_prompt(args.prompts) if params.anchor else None
    base_dir, adapters = model_chain(args.model)
    by_base = bool(anchor and params.anchor_writer == "base" and adapters)  # θ_0 writes the anchored questions
    tokenizer = load_tokenizer(args.model, model_params)
    with autocast(model_params):
        with loaded(args.model, model_params, params, args.merged_models) as model:
            cache = item_cache(args.cache, args.model, model, prompts, params, model_params, args.round, prompt_set,
                               None if by_base else anchor)
            pairs, stats = generate_pairs(model, tokenizer, chunks, prompts, params, args.round, cache, variants,
                                          earlier)
            if anchor and not by_base:
                anchored, stats["anchored"] = generate_anchored(model, tokenizer, chunks, anchor, params, args.round,
                                                                cache)
        if by_base:
            with loaded(base_dir, model_params, params, args.merged_models) as model:
                cache = item_cache(args.cache, base_dir, model, prompts, params, model_params, args.round, prompt_set,
                                   anchor)
                anchored, stats["anchored"] = generate_anchored(model, load_tokenizer(base_dir, model_params), chunks,
                                                                anchor, params, args.round, cache)
    paper_pairs = len(pairs)
    if anchor:
        pairs += anchored
        stats.update(pairs=len(pairs), paper_pairs=paper_pairs)
    stats["diversity"] = diversity([p["question"] for p in pairs])
    stats["line_coverage"] = line_coverage(chunks, pairs)
    if asks_from_set(params.evolve_prompts, params.questions_per_chunk):
        stats["variants_drawn"] = dict(sorted(Counter(v for slots in variants for v, _ in slots).items()))
        stats["pairs_by_variant"] = dict(sorted(Counter(p["variant"] for p in pairs).items()))
    if any(stats["prompts_cut"].values()):
        print(f"warning: generate@{args.round}: prompts over generate.max_prompt_tokens ({params.max_prompt_tokens}) "
              f"kept their chunk's start only: {stats['prompts_cut']['question']} question prompts and "
              f"{stats['prompts_cut']['answer']} answer prompts; raise it (within the model's context) or lower "
              f"corpus.max_chunk_chars", file=sys.stderr)
    stats["processor"] = processor()
    write_json(args.stats, stats)  # first, so the reasons are on disk even when nothing was kept
    check_kept(f"generate@{args.round}", stats, params, args.prompts, f"The counts are in {args.stats}"
               + (f", the raw replies in {args.cache}" if args.cache else ""))
    write_jsonl(args.out, pairs)
    print(f"generate@{args.round}: {stats['pairs']} pairs from {stats['chunks']} chunks"
          + (f" ({paper_pairs} the paper's, {stats['anchored']['pairs']} anchored on {stats['anchored']['units']} units "
             f"in {stats['anchored']['windows']} windows)" if anchor else "")
          + f" -> {args.out} (dropped: {stats['dropped'] or 'none'}; generated {stats['generated']}, "
          f"reused {stats['reused']})")


@contextmanager
def loaded(model_dir: str | Path, model_params, params, merged_models: str | None = None):
    """The model of a folder on the generation backend, closed (vLLM's engine) when done."""
    model = (VllmModel.for_model_dir(model_dir, model_params, seed=params.seed, merged_models=merged_models)
             if params.backend == "vllm"
             else load_model(model_dir, model_params))
    try:
        yield model
    finally:
        if params.backend == "vllm":
            model.close()


def item_cache(folder, model_dir, model, prompts, params, model_params, label, prompt_set, anchor) -> ItemCache:
    """The generation records of one writer: keyed by its fingerprint (a round's covers its whole chain)."""
    return ItemCache(folder, model_fingerprint=fingerprint(model_dir), prompts=prompts, params=params, label=label,
                     cpu_autocast=model_params.cpu_autocast, threads=autocast_threads(model_params),
                     engine=engine(model), prompt_set=prompt_set, anchor=anchor.as_dict() if anchor else None)


if __name__ == "__main__":
    run_stage(main)
