"""One QA pair per chunk, written by a model with the pipeline's two prompts: the question from the
chunk, then the answer from the chunk and the question. Used by generate@r (θ_r) and by the teacher
of the θ_HQ baseline.

What the cleaning drops (not a question, empty answer, an answer that points at "the document") is
counted by reason.
"""

from __future__ import annotations

import hashlib
from collections import Counter

from selfevo.config import SamplingParams
from selfevo.generation import generate
from selfevo.prompts import Prompts, answer_messages, clean_answer, clean_question, question_messages


def item_seed(seed: int, label: int | str, chunk: str, step: str) -> int:
    """A seed per item and step, so an item's sample never depends on its batch or neighbours."""
    digest = hashlib.sha256(f"{seed}:{label}:{chunk}:{step}".encode()).hexdigest()
    return int(digest[:8], 16)


def generate_pairs(model, tokenizer, chunks: list[dict], prompts: Prompts, params: SamplingParams,
                   label: int | str) -> tuple[list[dict], dict]:
    """Pairs `{id, chunk_id, round, question, answer}` (round = label) and stats with drop reasons."""
    sampling = dict(temperature=params.temperature, top_p=params.top_p, batch_size=params.batch_size,
                    max_prompt_tokens=params.max_prompt_tokens)
    raw_questions = generate(
        model, tokenizer, [question_messages(prompts, c["text"]) for c in chunks],
        [item_seed(params.seed, label, c["id"], "q") for c in chunks],
        max_new_tokens=params.max_question_tokens, desc=f"questions@{label}", **sampling)
    reasons: Counter = Counter()
    kept = []
    for chunk, raw in zip(chunks, raw_questions):
        question, why = clean_question(raw)
        reasons[why] += 1
        if question:
            kept.append((chunk, question))
    raw_answers = generate(
        model, tokenizer, [answer_messages(prompts, c["text"], q) for c, q in kept],
        [item_seed(params.seed, label, c["id"], "a") for c, _ in kept],
        max_new_tokens=params.max_answer_tokens, desc=f"answers@{label}", **sampling)
    pairs = []
    for (chunk, question), raw in zip(kept, raw_answers):
        answer, why = clean_answer(raw)
        if answer:
            pairs.append({"id": f"{chunk['id']}-r{label}", "chunk_id": chunk["id"], "round": label,
                          "question": question, "answer": answer})
        else:
            reasons[why] += 1
    del reasons["ok"]
    stats = {"chunks": len(chunks), "pairs": len(pairs), "dropped": dict(sorted(reasons.items()))}
    return pairs, stats
