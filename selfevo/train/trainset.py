"""A round's training data, before tokenising: D_r ∪ IFD_r (`round_pairs`), a seeded sample of pairs to
replay (`replay_sample`), and the question-writing examples that keep a model asking (`question_replay`)."""

from __future__ import annotations

import random
from dataclasses import replace

from selfevo.errors import PipelineError
from selfevo.generate.evolution import question_template
from selfevo.generate.prompts import Messages, Prompts, question_messages


def round_pairs(new: list[dict], selected: list[dict], source: str, selected_source: str | None) -> list[dict]:
    """D_r ∪ IFD_r: the round's new pairs, then the selected history pairs not among them; none at all
    is an error that says where the counts of what was dropped are."""
    new_ids = {p["id"] for p in new}
    data = new + [p for p in selected if p["id"] not in new_ids]
    if not data:
        raise PipelineError(f"{source}: no pairs to train on" + (
            f" (and none selected in {selected_source}): the round's generate and judge stages kept none; their "
            f"metrics (metrics/generate/, metrics/judge/) count why, and generate.min_grounding, "
            f"generate.named_subject and judge.min_* decide it" if selected_source else ""))
    return data


def replay_sample(pairs: list[dict], limit: int | None, seed: int) -> list[dict]:
    """`limit` of the pairs (all with None), drawn with `seed`, in their input order."""
    if limit is None or limit >= len(pairs):
        return pairs
    chosen = set(random.Random(seed).sample(range(len(pairs)), limit))
    return [p for i, p in enumerate(pairs) if i in chosen]


def question_replay(pairs: list[dict], chunks: dict[str, str], prompts: Prompts, source: str,
                    prompt_set: dict | None = None) -> list[tuple[Messages, str]]:
    """Each pair's question-writing example: the question prompt that wrote it (its variant's, of
    `prompt_set`, from prompt evolution or a question slot; else the fixed prompt) on its chunk -> its
    question. Trained beside the closed-book QA, a few of them keep the model writing named questions
    round after round; without them a 135M model trained on QA alone answers the question prompt
    instead (docs/results.md)."""
    templates = {"fixed": prompts.question,
                 **{v["id"]: question_template(prompt_set, v) for v in (prompt_set or {}).get("variants", [])}}
    examples = []
    for pair in pairs:
        if pair.get("chunk_id") not in chunks:
            raise PipelineError(f"{source}: pair {pair['id']}: its chunk {pair.get('chunk_id')!r} is not in the chunks")
        variant = pair.get("variant", "fixed")
        if variant not in templates:
            raise PipelineError(f"{source}: pair {pair['id']}: its question prompt variant {variant!r} is not in "
                                f"the prompt set")
        template = templates[variant]
        examples.append((question_messages(replace(prompts, question=template), chunks[pair["chunk_id"]]),
                         pair["question"]))
    return examples
