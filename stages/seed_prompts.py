"""seed_prompts: the seed question-prompt set of prompt evolution, from prompts/<lang>/variants.yaml.

    python stages/seed_prompts.py --prompts prompts/en --out data/prompts/base.json

Round 0 draws its question prompts from this set when `generate.evolve_prompts` is on (or
`generate.questions_per_chunk` > 1); evolve@r writes the set round r+1 draws from (selfevo/generate/evolution.py).
With neither, the set written holds no variants, so editing variants.yaml reruns no round.
"""

import argparse

from selfevo.config import load_section
from selfevo.errors import run_stage
from selfevo.generate.evolution import set_in_use
from selfevo.jsonio import write_json
from selfevo.stageargs import stage_args


def main() -> None:
    parser = argparse.ArgumentParser(description="Write the seed prompt set.")
    parser.add_argument("--prompts", required=True, help="the folder holding variants.yaml")
    parser.add_argument("--out", required=True)
    args = stage_args(parser)

    params = load_section("generate")
    prompt_set = set_in_use(args.prompts, params.evolve_prompts, params.questions_per_chunk)
    write_json(args.out, prompt_set)
    print(f"seed_prompts: {len(prompt_set['variants'])} question-prompt variants -> {args.out}")


if __name__ == "__main__":
    run_stage(main)
