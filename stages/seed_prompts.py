"""seed_prompts: the seed question-prompt set of prompt evolution, from prompts/<lang>/variants.yaml.

    python stages/seed_prompts.py --prompts prompts/en --out data/prompts/base.json

Round 0 draws its question prompts from this set when `generate.evolve_prompts` is on; evolve@r
writes the set round r+1 draws from (selfevo/evolution.py).
"""

import argparse

from selfevo.errors import run_stage
from selfevo.evolution import load_seed_set
from selfevo.jsonio import write_json


def main() -> None:
    parser = argparse.ArgumentParser(description="Write the seed prompt set.")
    parser.add_argument("--prompts", required=True, help="the folder holding variants.yaml")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    prompt_set = load_seed_set(args.prompts)
    write_json(args.out, prompt_set)
    print(f"seed_prompts: {len(prompt_set['variants'])} question-prompt variants -> {args.out}")


if __name__ == "__main__":
    run_stage(main)
