"""generate@r: θ_r writes one question per chunk, then answers it with the chunk in context (D_r).

    python stages/generate.py --model models/base --chunks data/prepared/chunks.jsonl \
        --prompts prompts/en --round 0 --out data/rounds/round_0/qa.jsonl \
        --stats metrics/generate/round_0.json

What the cleaning drops (not a question, empty answer, an answer that points at "the document") is
counted by reason in the stats file.
"""

import argparse
import hashlib
from collections import Counter

from selfevo.config import load_params, load_section
from selfevo.errors import PipelineError, run_stage
from selfevo.generation import generate
from selfevo.jsonio import read_jsonl, write_json, write_jsonl
from selfevo.modeling import load_model, load_tokenizer
from selfevo.prompts import answer_messages, clean_answer, clean_question, load_prompts, question_messages


def item_seed(seed: int, round_index: int, chunk: str, step: str) -> int:
    """A seed per item and step, so an item's sample never depends on its batch or neighbours."""
    digest = hashlib.sha256(f"{seed}:{round_index}:{chunk}:{step}".encode()).hexdigest()
    return int(digest[:8], 16)


def generate_pairs(model, tokenizer, chunks: list[dict], prompts, params, round_index: int) -> tuple[list[dict], dict]:
    sampling = dict(temperature=params.temperature, top_p=params.top_p, batch_size=params.batch_size,
                    max_prompt_tokens=params.max_prompt_tokens)
    raw_questions = generate(
        model, tokenizer, [question_messages(prompts, c["text"]) for c in chunks],
        [item_seed(params.seed, round_index, c["id"], "q") for c in chunks],
        max_new_tokens=params.max_question_tokens, desc=f"questions@{round_index}", **sampling)
    reasons: Counter = Counter()
    kept = []
    for chunk, raw in zip(chunks, raw_questions):
        question, why = clean_question(raw)
        reasons[why] += 1
        if question:
            kept.append((chunk, question))
    raw_answers = generate(
        model, tokenizer, [answer_messages(prompts, c["text"], q) for c, q in kept],
        [item_seed(params.seed, round_index, c["id"], "a") for c, _ in kept],
        max_new_tokens=params.max_answer_tokens, desc=f"answers@{round_index}", **sampling)
    pairs = []
    for (chunk, question), raw in zip(kept, raw_answers):
        answer, why = clean_answer(raw)
        if answer:
            pairs.append({"id": f"{chunk['id']}-r{round_index}", "chunk_id": chunk["id"], "round": round_index,
                          "question": question, "answer": answer})
        else:
            reasons[why] += 1
    del reasons["ok"]
    stats = {"chunks": len(chunks), "pairs": len(pairs), "dropped": dict(sorted(reasons.items()))}
    return pairs, stats


def main() -> None:
    parser = argparse.ArgumentParser(description="Generate one QA pair per chunk with the round's model.")
    parser.add_argument("--model", required=True, help="θ_r: models/base or models/round_<r-1>")
    parser.add_argument("--chunks", required=True)
    parser.add_argument("--prompts", required=True)
    parser.add_argument("--round", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--stats", required=True)
    args = parser.parse_args()

    raw = load_params()
    params = load_section("generate", raw)
    model_params = load_section("model", raw)
    prompts = load_prompts(args.prompts)
    chunks = read_jsonl(args.chunks, required=("id", "text"))
    if not chunks:
        raise PipelineError(f"{args.chunks}: no chunks to generate from")
    tokenizer = load_tokenizer(args.model, model_params)
    model = load_model(args.model, model_params)
    pairs, stats = generate_pairs(model, tokenizer, chunks, prompts, params, args.round)
    write_jsonl(args.out, pairs)
    write_json(args.stats, stats)
    print(f"generate@{args.round}: {stats['pairs']} pairs from {stats['chunks']} chunks -> {args.out} "
          f"(dropped: {stats['dropped'] or 'none'})")


if __name__ == "__main__":
    run_stage(main)
