"""QA pairs about chunks, written by a model with the pipeline's two prompts: the question from the
chunk, then the answer from the chunk and the question. Used by generate@r (θ_r) and by the teacher
of the θ_HQ baseline.

What the cleaning (selfevo/generate/cleaning.py) drops is counted by reason. A chunk whose pair is dropped is
tried again, question and answer from that try's own seeds, up to `attempts` tries. With an
`ItemCache` (selfevo/generate/itemcache.py), each item's raw question and answer are recorded and a rerun
generates only what changed.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from functools import partial

from selfevo.config_data import GenerateParams
from selfevo.generate.cleaning import clean_answer, clean_question
from selfevo.generate.generation import generate_missing, opener_ids
from selfevo.generate.itemcache import ItemCache, item_key, item_seed
from selfevo.generate.prompts import Prompts, answer_messages, fit_prompt, question_messages
from selfevo.text import jaccard


def generate_pairs(model, tokenizer, chunks: list[dict], prompts: Prompts, params: GenerateParams,
                   label: int | str, cache: ItemCache | None = None,
                   variants: list[list[tuple[str, str]]] | None = None,
                   earlier: dict[str, list[str]] | None = None) -> tuple[list[dict], dict]:
    """Pairs `{id, chunk_id, round, variant, question, answer}` (round = label) and stats with drop
    reasons (of an item's last try) and how many items were generated or reused from the cache.
    `variants`, per chunk, one (variant id, question template) per question slot: the kinds of
    question its slots ask (`evolution.slot_variants`); None: one slot with the fixed question prompt
    (variant `fixed`). A cache's key must then cover the variant set. Slot 0's pair id is
    `<chunk>-r<label>`, slot s's `<chunk>-r<label>-<s>`. With `repeat_overlap`, a question whose words
    overlap an earlier one on its chunk that much, this round's or one of `earlier` (chunk id ->
    questions of earlier rounds), is dropped as `repeats_question`."""
    cache = cache or ItemCache(None, model_fingerprint="", prompts=prompts, params=params, label=label)
    variants = variants or [[("fixed", prompts.question)]] * len(chunks)
    sampling = dict(temperature=params.temperature, top_p=params.top_p, batch_size=params.batch_size,
                    max_batch_tokens=params.max_batch_tokens, max_prompt_tokens=params.max_prompt_tokens,
                    no_repeat_ngram=params.no_repeat_ngram)
    items = [(i, slot, variant) for i, slots in enumerate(variants) for slot, variant in enumerate(slots)]
    budget = params.max_prompt_tokens
    opener = len(opener_ids(tokenizer, question_messages(prompts, ""), prompts.opener))
    fitted = [fit_prompt(tokenizer, partial(question_messages, dataclasses.replace(prompts, question=template)),
                         chunks[i]["text"], budget, extra=opener, what="the question prompt")
              for i, _, (_, template) in items]
    question_prompts = [messages for messages, _ in fitted]
    shortened = {"question": sum(cut for _, cut in fitted), "answer": 0}

    def answer_prompt(n: int, question: str):
        messages, cut = fit_prompt(tokenizer, lambda text: answer_messages(prompts, text, question),
                                   chunks[items[n][0]]["text"], budget, what="the answer prompt")
        shortened["answer"] += cut
        return messages
    names = [chunks[i]["id"] if slot == 0 else f"{chunks[i]['id']}/{slot}" for i, slot, _ in items]
    reasons: Counter = Counter()
    made: dict[int, dict] = {}
    asked, answered, reused = [], [], 0
    pending = list(range(len(items)))
    for attempt in range(params.attempts):
        keys = {n: item_key(names[n], attempt) for n in pending}
        cached_q = [cache.questions.get(keys[n]) for n in pending]
        raw_questions = generate_missing(
            model, tokenizer, [question_prompts[n] for n in pending],
            [item_seed(params.seed, label, keys[n], "q") for n in pending], cached_q,
            max_new_tokens=params.max_question_tokens, desc=f"questions@{label} try {attempt + 1}",
            opener=prompts.opener, on_done=lambda idx, raw: cache.record_questions([keys[pending[i]] for i in idx], raw),
            **sampling)
        cache.questions.update({keys[n]: q for n, q in zip(pending, raw_questions)})
        cache.save()
        why: dict[int, str] = {}
        kept = []
        for n, raw in zip(pending, raw_questions):
            chunk = chunks[items[n][0]]
            question, why[n] = clean_question(raw, chunk["text"], params.named_subject, chunk.get("subject_terms", ()))
            before = (earlier or {}).get(chunk["id"], []) + \
                [made[m]["question"] for m in made if items[m][0] == items[n][0]] + \
                [q for m, q in kept if items[m][0] == items[n][0]]
            if question and params.repeat_overlap is not None and \
                    any(jaccard(question, q) >= params.repeat_overlap for q in before):
                question, why[n] = None, "repeats_question"
            if question:
                kept.append((n, question))
        cached_a = [cache.answer(keys[n], q) for n, q in kept]
        answer_prompts = [answer_prompt(n, q) for n, q in kept]
        raw_answers = generate_missing(
            model, tokenizer, answer_prompts,
            [item_seed(params.seed, label, keys[n], "a") for n, _ in kept], cached_a,
            max_new_tokens=params.max_answer_tokens, desc=f"answers@{label} try {attempt + 1}",
            on_done=lambda idx, raw: cache.record_answers([keys[kept[i][0]] for i in idx],
                                                          [kept[i][1] for i in idx], raw), **sampling)
        cache.answers.update({keys[n]: {"question": q, "raw": a} for (n, q), a in zip(kept, raw_answers)})
        cache.save()
        for (n, question), raw in zip(kept, raw_answers):
            i, slot, (variant, _) = items[n]
            answer, why[n] = clean_answer(raw, chunks[i]["text"], params.min_grounding)
            if answer:
                made[n] = {"id": f"{chunks[i]['id']}-r{label}" + (f"-{slot}" if slot else ""),
                           "chunk_id": chunks[i]["id"], "round": label, "variant": variant, "question": question,
                           "answer": answer}
        asked += pending
        answered += kept
        reused += sum(x is not None for x in cached_q + cached_a)
        pending = [n for n in pending if n not in made]
        if attempt + 1 == params.attempts:
            reasons.update(why[n] for n in pending)  # an item's last try's reason
    pairs = [made[n] for n in sorted(made)]
    stats = {"chunks": len(chunks), "questions": len(items), "pairs": len(pairs),
             "chunks_with_pairs": len({p["chunk_id"] for p in pairs}), "dropped": dict(sorted(reasons.items())),
             "tries": {"questions": len(asked), "answers": len(answered)},
             "generated": len(asked) + len(answered) - reused, "reused": reused, "prompts_cut": shortened}
    return pairs, stats
