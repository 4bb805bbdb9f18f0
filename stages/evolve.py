"""evolve@r: the question-prompt set of round r+1, evolved from round r's by how well the pairs each
variant wrote scored (judge and IFD): the fittest `generate.evolve_keep` variants stay, weighted by
fitness, and θ_r writes a mutation of each with the evolution prompt (selfevo/generate/evolution.py).

    python stages/evolve.py --model models/base --previous data/prompts/base.json \
        --chunks data/prepared/chunks.jsonl --judged data/rounds/round_0/judged.jsonl --round 0 \
        --out data/prompts/theta_1.json --stats metrics/evolve/round_0.json

With `generate.evolve_prompts: false` (the paper's single fixed prompt) it writes the set unchanged.
"""

import argparse
import os
from collections import Counter

from selfevo.config import load_params, load_rounds, load_section
from selfevo.distributed import launch_on_every_gpu
from selfevo.errors import run_stage
from selfevo.generate.evolution import choose_variant, clean_task, evolve_messages, fitness, fittest, next_generation
from selfevo.generate.generation import generate
from selfevo.generate.itemcache import item_seed
from selfevo.jsonio import read_json, read_jsonl, write_json
from selfevo.models.hardware import autocast
from selfevo.models.modeling import load_model, load_tokenizer
from selfevo.stageargs import stage_args


def main() -> None:
    parser = argparse.ArgumentParser(description="Evolve the question-prompt set after a round.")
    parser.add_argument("--model", required=True, help="θ_r, which wrote round r and writes the mutations")
    parser.add_argument("--previous", required=True, help="the prompt set round r drew from")
    parser.add_argument("--chunks", required=True)
    parser.add_argument("--judged", required=True, help="round r's kept pairs, with judge and IFD scores")
    parser.add_argument("--round", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--stats", required=True)
    args = stage_args(parser)

    launch_on_every_gpu()  # one process per GPU when there are several (selfevo/distributed.py)
    raw = load_params()
    load_rounds(raw)
    params = load_section("generate", raw)
    prompt_set = read_json(args.previous)
    if not params.evolve_prompts:
        write_json(args.out, prompt_set)
        write_json(args.stats, {"evolved": False})
        print(f"evolve@{args.round}: generate.evolve_prompts is off; the set is unchanged -> {args.out}")
        return
    model_params = load_section("model", raw)
    variants = prompt_set["variants"]
    chunks = read_jsonl(args.chunks, required=("id", "text"))
    drawn = Counter(choose_variant(variants, params.seed, args.round, c["id"])["id"] for c in chunks)
    scores = fitness(variants, drawn, read_jsonl(args.judged, required=("variant", "judge")))
    parents = fittest(variants, scores, params.evolve_keep)
    tokenizer, model = load_tokenizer(args.model, model_params), load_model(args.model, model_params)
    with autocast(model_params):
        raw_tasks = generate(model, tokenizer, [evolve_messages(prompt_set, v["task"]) for v in parents],
                             [item_seed(params.seed, args.round, v["id"], "evolve") for v in parents],
                             max_new_tokens=params.evolve_max_tokens, temperature=params.evolve_temperature,
                             top_p=params.top_p,
                             batch_size=params.batch_size, max_prompt_tokens=params.max_prompt_tokens,
                             no_repeat_ngram=params.no_repeat_ngram, desc=f"evolve@{args.round}")
    lead = os.path.commonprefix([v["task"] for v in variants if v["born"] == "seed"]).rsplit(" ", 1)[0]
    existing = {v["task"] for v in variants}
    mutations = {}
    for parent, text in zip(parents, raw_tasks):
        mutations[parent["id"]] = clean_task(text, lead, existing)
        existing.add(mutations[parent["id"]] or "")
    evolved = next_generation(prompt_set, scores, mutations, keep=params.evolve_keep, label=args.round)
    write_json(args.out, evolved)
    stats = {"evolved": True, "fitness": scores, "drawn": dict(drawn),
             "mutations_valid": sum(bool(m) for m in mutations.values()), "mutations_tried": len(mutations),
             "variants": len(evolved["variants"])}
    write_json(args.stats, stats)
    print(f"evolve@{args.round}: kept {len(parents)} variants, {stats['mutations_valid']} of {len(mutations)} "
          f"mutations valid -> {args.out}")


if __name__ == "__main__":
    run_stage(main)
