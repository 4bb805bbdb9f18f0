"""One QA pair per chunk, written by a model with the pipeline's two prompts: the question from the
chunk, then the answer from the chunk and the question. Used by generate@r (θ_r) and by the teacher
of the θ_HQ baseline.

What the cleaning drops (not a question, empty answer, an answer that points at "the document", with
`min_grounding` an answer whose words are mostly not in its chunk) is counted by reason. A chunk
whose pair is dropped is tried again, question and answer from that try's own seeds, up to
`attempts` tries.

Incremental generation: with an `ItemCache`, each chunk's raw question and answer are recorded under a
key made of everything that decides them: the model's fingerprint (its files, and for a round its
whole adapter chain) and precision (`model.cpu_autocast`), the engine that runs it (backend and its
version, dtype, device type), the prompt texts, the sampling params and seed, and the round label; inside that, the chunk's content-hash id (and the try's number). A rerun after a few documents
change generates only those chunks. Every item samples from its own seeded stream, so a reused record
is what a from-scratch run would write. The batch size, token budget, number of tries and the cleaning
switches (min_grounding, named_subject) are left out of the key: they do not change what an item writes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
from collections import Counter
from functools import partial
from pathlib import Path

from selfevo.config import SamplingParams
from selfevo.errors import PipelineError
from selfevo.generation import generate, opener_ids
from selfevo.jsonio import read_json, write_json
from selfevo.prompts import (Prompts, answer_messages, clean_answer, clean_question, fit_prompt, overlap,
                             question_messages)


# Not in the sampling part of the cache key: how items are grouped, and how what they wrote is cleaned,
# never change what an item writes; nor do the evolution switches, since the question prompts themselves
# are in the key. The backend is in the key's engine part (`generation.engine`), with its version.
NOT_GENERATION = ("backend", "batch_size", "max_batch_tokens", "min_grounding", "named_subject", "attempts",
                  "questions_per_chunk", "repeat_overlap", "evolve_prompts", "evolve_keep", "evolve_temperature", "evolve_max_tokens")


def item_key(chunk_id: str, attempt: int) -> str:
    """An item: its chunk, and after the first try the try's number."""
    return chunk_id if attempt == 0 else f"{chunk_id}#{attempt}"


def item_seed(seed: int, label: int | str, chunk: str, step: str) -> int:
    """A seed per item and step, so an item's sample never depends on its batch or neighbours."""
    digest = hashlib.sha256(f"{seed}:{label}:{chunk}:{step}".encode()).hexdigest()
    return int(digest[:8], 16)


class ItemCache:
    """Raw generations per chunk for one setting (model, engine (`generation.engine`), prompts, sampling,
    label, and the precision and thread count that bf16 autocast results depend on): one JSON file, `<folder>/<settings key>.json`,
    rewritten atomically after each phase so an interrupted run keeps what it made. `folder=None`
    disables it."""

    VERSION = 1

    def __init__(self, folder: str | Path | None, *, model_fingerprint: str, prompts: Prompts,
                 params: SamplingParams, label: int | str, cpu_autocast: bool = False, threads: int | None = None,
                 engine: dict | None = None):
        settings = {"version": self.VERSION, "model": model_fingerprint, "cpu_autocast": cpu_autocast,
                    "threads": threads, "engine": engine or {},
                    "question_prompt": prompts.question, "opener": prompts.opener,
                    "answer_prompt": prompts.answer, "label": str(label),
                    "sampling": {k: v for k, v in dataclasses.asdict(params).items() if k not in NOT_GENERATION}}
        self.key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:32]
        self.path = Path(folder) / f"{self.key}.json" if folder else None
        stored = read_json(self.path) if self.path and self.path.is_file() else {}
        self.questions: dict[str, str] = stored.get("questions", {})
        self.answers: dict[str, dict[str, str]] = stored.get("answers", {})
        self.settings = settings

    def answer(self, chunk_id: str, question: str) -> str | None:
        hit = self.answers.get(chunk_id)
        return hit["raw"] if hit and hit["question"] == question else None

    def save(self) -> None:
        """Store what was made so far; a cache that cannot be written (read-only, disk full) is
        switched off with a warning, and the stage goes on with what it made."""
        if not self.path:
            return
        try:
            write_json(self.path, {"settings": self.settings, "questions": self.questions, "answers": self.answers})
        except OSError as e:
            print(f"warning: the generation cache {self.path.parent} cannot be written ({e.strerror}); "
                  "going on without it", file=sys.stderr)
            self.path = None


def _generate_missing(model, tokenizer, conversations, seeds, cached: list[str | None], **kwargs) -> list[str]:
    """Generate only where `cached` is None; keep the rest."""
    todo = [i for i, c in enumerate(cached) if c is None]
    fresh = generate(model, tokenizer, [conversations[i] for i in todo], [seeds[i] for i in todo], **kwargs) \
        if todo else []
    out = list(cached)
    for i, text in zip(todo, fresh):
        out[i] = text
    return out


def generate_pairs(model, tokenizer, chunks: list[dict], prompts: Prompts, params: SamplingParams,
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
        raw_questions = _generate_missing(
            model, tokenizer, [question_prompts[n] for n in pending],
            [item_seed(params.seed, label, keys[n], "q") for n in pending], cached_q,
            max_new_tokens=params.max_question_tokens, desc=f"questions@{label} try {attempt + 1}",
            opener=prompts.opener, **sampling)
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
                    any(overlap(question, q) >= params.repeat_overlap for q in before):
                question, why[n] = None, "repeats_question"
            if question:
                kept.append((n, question))
        cached_a = [cache.answer(keys[n], q) for n, q in kept]
        answer_prompts = [answer_prompt(n, q) for n, q in kept]
        raw_answers = _generate_missing(
            model, tokenizer, answer_prompts,
            [item_seed(params.seed, label, keys[n], "a") for n, _ in kept], cached_a,
            max_new_tokens=params.max_answer_tokens, desc=f"answers@{label} try {attempt + 1}", **sampling)
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


# What each drop reason (selfevo/prompts.py) says, and what changes it
DROP_ADVICE = {
    "not_a_question": "the model's replies to the question prompt hold no question mark: it does not follow "
                      "{prompts}/question.txt (a model too small for this language, or a prompt to reword)",
    "too_short": "the questions are a few characters long",
    "repeats_question": "the questions repeat an earlier question on the same chunk, this round's or an earlier "
                        "round's (generate.repeat_overlap ({p.repeat_overlap}); null keeps them)",
    "refers_to_document": "the replies point at \"the document\" instead of naming their subject (the prompts' rules)",
    "names_no_subject": "the questions name neither their chunk's subject (a term of its title or section) nor a "
                        "code of it; generate.named_subject ({p.named_subject}) "
                        "drops them, false keeps them",
    "broken_characters": "the replies hold U+FFFD, a character cut apart by decoding",
    "empty_answer": "the model wrote no answer",
    "copies_document": "the answers copy the chunk's lines back",
    "not_grounded": "under generate.min_grounding ({p.min_grounding}) of the answers' words are in their chunk; "
                    "lower it, or 0 to turn it off",
}


def explain_drops(dropped: dict[str, int], params: SamplingParams, prompts: str) -> str:
    """The drop counts, most first, each with what it means and what changes it."""
    counts = ", ".join(f"{why} {n}" for why, n in sorted(dropped.items(), key=lambda kv: -kv[1]))
    advice = " ".join(f"{why}: {DROP_ADVICE[why].format(p=params, prompts=prompts)}." for why in dropped
                      if why in DROP_ADVICE)
    return f"Dropped: {counts}. {advice}"


LOW_SHARE = 0.25
"""Under this share of chunks with a pair, a round (or the teacher) warns."""


def check_kept(what: str, stats: dict, params: SamplingParams, prompts: str, where: str) -> None:
    """Stop when generation kept no pair, warn when it kept under LOW_SHARE of the chunks, naming each
    drop reason and what changes it; `where` says where the counts are."""
    if stats["pairs"] and stats["pairs"] >= LOW_SHARE * stats["chunks"]:
        return
    message = (f"{what}: kept {stats['pairs']} of {stats['chunks']} chunks' pairs. "
               f"{explain_drops(stats['dropped'], params, prompts)} {where}")
    if not stats["pairs"]:
        raise PipelineError(message)
    print(f"warning: {message}", file=sys.stderr)
