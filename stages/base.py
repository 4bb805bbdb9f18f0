"""base: the round-0 model θ_0 (also the fixed IFD scorer θ_ifd).

    python stages/base.py --general data/general.jsonl --prompts prompts/en --out models/base \
        --stats metrics/base.json

With `model.base: embedded` it trains a tiny chat model from scratch on the general reading set
(never the target documents), keeping its last `embedded.heldout_cards` cards out of training for a
reading check: does the model's NLL of a card's question and answer drop when it is given that card
rather than another one (metrics/base.json, `reading`)? With a path or hub id it checks that the
model can be found and writes a pointer to it, so the weights are not copied into the DVC cache.
"""

import argparse
import shutil
from pathlib import Path

from selfevo.config import load_params, load_section
from selfevo.embedded import general_examples, read_general, reading_check, tokenizer_texts
from selfevo.errors import PipelineError, run_stage
from selfevo.jsonio import write_json
from selfevo.modeling import EMBEDDED, build_tiny_model, build_tokenizer, check_source, write_pointer
from selfevo.prompts import load_prompts
from selfevo.training import tokenize_examples, train


def build_embedded(general: str, prompts_dir: str, out: Path, params) -> dict:
    prompts = load_prompts(prompts_dir)
    cards = read_general(general)
    if len(cards) <= params.heldout_cards + 1:
        raise PipelineError(f"{general}: {len(cards)} cards; embedded.heldout_cards keeps {params.heldout_cards} "
                            "out of training, which leaves too few to train on")
    cards, heldout = cards[:-params.heldout_cards], cards[-params.heldout_cards:]
    pairs = general_examples(cards, prompts)
    tokenizer = build_tokenizer(tokenizer_texts(pairs), params.vocab_size)
    model = build_tiny_model(params, tokenizer)
    examples, too_long = tokenize_examples(tokenizer, pairs, params.max_length)
    stats = train(model, examples, pad_id=tokenizer.pad_token_id, lr=params.lr, batch_size=params.batch_size,
                  seed=params.seed, max_steps=params.steps, desc="base")
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    reading = reading_check(model, tokenizer, heldout, prompts, params.batch_size)
    return {**stats, "too_long_dropped": too_long, "parameters": sum(p.numel() for p in model.parameters()),
            "reading": reading}


def main() -> None:
    parser = argparse.ArgumentParser(description="Build or point at the base model.")
    parser.add_argument("--general", required=True, help="general reading set (embedded base only)")
    parser.add_argument("--prompts", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--stats", required=True)
    args = parser.parse_args()

    raw = load_params()
    model_params = load_section("model", raw)
    embedded = load_section("embedded", raw)
    out = Path(args.out)
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    if model_params.base == EMBEDDED:
        stats = build_embedded(args.general, args.prompts, tmp, embedded)
    else:
        check_source(model_params.base)
        write_pointer(tmp, model_params.base)
        stats = {"pointer": model_params.base}
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    write_json(args.stats, stats)
    print(f"base: wrote {out} ({stats})")


if __name__ == "__main__":
    run_stage(main)
