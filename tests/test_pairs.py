"""Incremental generation: per-item records make a rerun after an edit generate only the changed
chunks, with output equal to a from-scratch run; any change of prompt or sampling param misses."""

import dataclasses
import hashlib
import json

import pytest
import torch

from selfevo.config_data import GenerateParams
from selfevo.errors import PipelineError
from selfevo.generate.itemcache import ItemCache
from selfevo.generate.pairs import generate_pairs
from selfevo.generate.prompts import Prompts
from selfevo.models.lineage import fingerprint
from selfevo.models.modeling import load_model, load_tokenizer
from tiny import MINIMAL_PROMPTS, alarm_card, pipeline_cards

PROMPTS = Prompts(question=MINIMAL_PROMPTS["question.txt"], answer=MINIMAL_PROMPTS["answer.txt"])
PARAMS = GenerateParams(backend="torch", temperature=1.0, top_p=0.95, max_question_tokens=12, max_answer_tokens=8,
                        max_prompt_tokens=256, batch_size=4, max_batch_tokens=None, no_repeat_ngram=0,
                        min_grounding=0.0, named_subject=False, questions_per_chunk=1, repeat_overlap=0.7, attempts=1,
                        evolve_prompts=False, evolve_keep=2, evolve_temperature=0.7, evolve_max_tokens=60, anchor=False, anchor_window=3,
                        anchor_examples=3, anchor_writer="round", seed=0)
TEXTS = [alarm_card(code, level) for code, level in pipeline_cards()]  # the fixture writes a pair for each


def chunks(texts):
    return [{"id": hashlib.sha256(t.encode()).hexdigest()[:16], "text": t} for t in texts]


@pytest.fixture(scope="module")
def model(tiny_base, model_params):
    return load_model(tiny_base, model_params, torch.device("cpu")), load_tokenizer(tiny_base, model_params)


def run(model, items, cache_dir=None, prompts=PROMPTS, params=PARAMS, fp="base"):
    cache = ItemCache(cache_dir, model_fingerprint=fp, prompts=prompts, params=params, label=0) if cache_dir else None
    return generate_pairs(*model, items, prompts, params, 0, cache)


def test_rerun_after_an_edit_generates_only_the_edited_chunk(model, tmp_path):
    first, stats = run(model, chunks(TEXTS), tmp_path)
    assert stats["reused"] == 0 and first, "the tiny model should write some questions"
    assert run(model, chunks(TEXTS))[0] == first  # the cache does not change what is written

    edited = TEXTS[:]
    edited[3] = alarm_card(*pipeline_cards()[3], edited=True)
    incremental, stats = run(model, chunks(edited), tmp_path)
    assert incremental == run(model, chunks(edited))[0]  # equals a from-scratch run of the same inputs
    assert stats["generated"] <= 2  # the edited chunk's question (and its answer, if it was kept)
    assert stats["reused"] >= len(TEXTS) - 1


@pytest.mark.parametrize("change", [
    {"prompts": dataclasses.replace(PROMPTS, answer="Q: {question} K: {knowledge} A:")},
    {"params": dataclasses.replace(PARAMS, temperature=0.7)},
    {"params": dataclasses.replace(PARAMS, max_answer_tokens=9)},
    {"params": dataclasses.replace(PARAMS, seed=1)},
    {"prompts": dataclasses.replace(PROMPTS, opener="How")},
    {"fp": "round_0"},
])
def test_a_changed_prompt_sampling_param_or_model_misses(model, tmp_path, change):
    run(model, chunks(TEXTS), tmp_path)
    _, stats = run(model, chunks(TEXTS), tmp_path, **change)
    assert stats["reused"] == 0


@pytest.mark.parametrize("batching", [{"batch_size": 3}, {"max_batch_tokens": 64}])
def test_batching_is_not_part_of_the_key(model, tmp_path, batching):
    first, _ = run(model, chunks(TEXTS), tmp_path)
    again, stats = run(model, chunks(TEXTS), tmp_path, params=dataclasses.replace(PARAMS, **batching))
    assert again == first and stats["generated"] == 0


def test_the_bf16_thread_count_is_part_of_the_key_and_the_backend_is_not():
    """Under CPU autocast the thread count changes what an item writes (docs/throughput.md): a cache
    filled with 2 threads must not answer for 1. The backend writes the same records: no part of it."""
    key = lambda **kw: ItemCache(None, model_fingerprint="m", prompts=PROMPTS, label=0, **kw).key  # noqa: E731
    assert key(params=PARAMS, cpu_autocast=True, threads=2) != key(params=PARAMS, cpu_autocast=True, threads=1)
    assert key(params=PARAMS) == key(params=dataclasses.replace(PARAMS, backend="vllm"))


def test_min_grounding_only_decides_what_is_kept(model, tmp_path):
    first, _ = run(model, chunks(TEXTS), tmp_path)
    strict, stats = run(model, chunks(TEXTS), tmp_path, params=dataclasses.replace(PARAMS, min_grounding=1.0))
    assert stats["generated"] == 0  # not in the cache key: the same raw answers, cleaned more strictly
    assert {p["id"] for p in strict} < {p["id"] for p in first}
    assert stats["dropped"]["not_grounded"] == len(first) - len(strict)


def test_model_fingerprint_covers_the_weights(tiny_base, tmp_path):
    import shutil
    copy = tmp_path / "copy"
    shutil.copytree(tiny_base, copy)
    assert fingerprint(copy) == fingerprint(tiny_base)
    (copy / "model.safetensors").write_bytes((copy / "model.safetensors").read_bytes()[:-1] + b"\0")
    assert fingerprint(copy) != fingerprint(tiny_base)


def test_question_replay_pairs_each_question_with_its_chunks_prompt():
    from selfevo.errors import PipelineError
    from selfevo.train.trainset import question_replay

    items = chunks(TEXTS[:2])
    pairs = [{"id": "a-r0", "chunk_id": items[1]["id"], "question": "What is loose?"}]
    [(messages, target)] = question_replay(pairs, {c["id"]: c["text"] for c in items}, PROMPTS, "qa.jsonl")
    assert target == "What is loose?" and TEXTS[1] in messages[0]["content"]
    with pytest.raises(PipelineError, match="qa.jsonl: pair a-r0: its chunk"):
        question_replay(pairs, {}, PROMPTS, "qa.jsonl")


def test_replay_sample_draws_a_seeded_subset_in_input_order():
    from selfevo.train.trainset import replay_sample

    pairs = [{"id": str(i)} for i in range(20)]
    five = replay_sample(pairs, 5, seed=0)
    assert len(five) == 5 and five == replay_sample(pairs, 5, seed=0)
    assert [int(p["id"]) for p in five] == sorted(int(p["id"]) for p in five)
    assert five != replay_sample(pairs, 5, seed=1)
    assert replay_sample(pairs, None, seed=0) == pairs == replay_sample(pairs, 50, seed=0)
    assert replay_sample(pairs, 0, seed=0) == []


def test_prompts_over_the_budget_keep_their_chunks_start_and_are_counted(model):
    from selfevo.generate.prompts import prompt_length, question_messages

    _, stats = run(model, chunks(TEXTS[:3]))
    assert stats["prompts_cut"] == {"question": 0, "answer": 0}
    long = chunks(["\n".join(TEXTS[i:] + TEXTS[:i]) for i in range(3)])  # each card followed by the others
    tight = dataclasses.replace(PARAMS, max_prompt_tokens=prompt_length(model[1], question_messages(PROMPTS, "")) + 24)
    pairs, stats = run(model, long, params=tight)
    assert stats["prompts_cut"]["question"] == 3
    assert stats["prompts_cut"]["answer"] == stats["tries"]["answers"]
    with pytest.raises(PipelineError, match="the question prompt is .* tokens with no text in it"):
        run(model, chunks(TEXTS[:3]), params=dataclasses.replace(PARAMS, max_prompt_tokens=8))


def test_every_drop_reason_is_explained_with_the_param_that_decides_it():
    import re

    from conftest import REPO
    from selfevo.generate.cleaning import DROP_ADVICE, explain_drops

    source = (REPO / "selfevo" / "generate" / "cleaning.py").read_text()
    reasons = set(re.findall(r'return None, "(\w+)"', source))
    assert reasons and reasons <= set(DROP_ADVICE), sorted(reasons - set(DROP_ADVICE))
    text = explain_drops({"not_grounded": 5, "names_no_subject": 2, "not_a_question": 9},
                         dataclasses.replace(PARAMS, min_grounding=0.75, named_subject=True), "prompts/zh")
    assert text.startswith("Dropped: not_a_question 9, not_grounded 5, names_no_subject 2.")
    assert "generate.min_grounding (0.75)" in text and "generate.named_subject (True)" in text
    assert "prompts/zh/question.txt" in text


def test_a_cache_that_cannot_be_written_loses_no_generation(model, tmp_path, capsys):
    blocked = tmp_path / "a_file"
    blocked.write_text("not a folder")  # stands for a read-only or full disk, which root would not notice
    pairs, stats = run(model, chunks(TEXTS), blocked / "cache")
    assert pairs == run(model, chunks(TEXTS))[0] and stats["generated"] > 0
    assert capsys.readouterr().err.count("cannot be written") == 1


def test_an_interrupted_generation_keeps_its_finished_batches(model, tmp_path, monkeypatch):
    """The cache is written as batches finish: a run killed in its second batch keeps the first, and the
    rerun reuses it and writes what a run never killed writes."""
    import selfevo.generate.generation

    whole, _ = run(model, chunks(TEXTS))
    monkeypatch.setattr(ItemCache, "SAVE_EVERY_S", 0.0)
    real, calls = selfevo.generate.generation._generate_batch, []

    def dies_in_the_second_batch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(selfevo.generate.generation, "_generate_batch", dies_in_the_second_batch)
    with pytest.raises(KeyboardInterrupt):
        run(model, chunks(TEXTS), tmp_path)
    monkeypatch.setattr(selfevo.generate.generation, "_generate_batch", real)
    saved = json.loads(next(tmp_path.glob("*.json")).read_text())
    assert len(saved["questions"]) == PARAMS.batch_size  # the first batch's questions
    again, stats = run(model, chunks(TEXTS), tmp_path)
    assert again == whole and stats["reused"] == PARAMS.batch_size


class Scripted:
    """A generation backend (the `generate_ids` hook of selfevo.generate.generation) that writes, for each
    chunk, the next reply of its script each time one of its prompts comes back: `questions[code]`
    for its question prompt, `answers[code]` (default: one sentence) for its answer prompt. It
    records the seed of each question it is asked."""

    generation_config = None

    def __init__(self, tokenizer, questions: dict[str, list[str]], answers: dict[str, list[str]] | None = None):
        self.tokenizer, self.questions, self.answers, self.seeds = tokenizer, questions, answers or {}, []

    def generate_ids(self, prompts, seeds, **_):
        replies = []
        for prompt, seed in zip(prompts, seeds):
            text = self.tokenizer.decode(prompt)
            code = next(c for c in self.questions if c in text)
            if "Answer:" in text:
                replies.append(self.answers[code].pop(0) if self.answers.get(code) else f"{code} is major.")
            else:
                self.seeds.append(seed)
                replies.append(self.questions[code].pop(0))
        return [self.tokenizer(r, add_special_tokens=False)["input_ids"] for r in replies]


def test_a_dropped_pair_is_tried_again_from_fresh_seeds_up_to_the_tries(model, tmp_path):
    _, tokenizer = model
    codes = ("ALM-100", "ALM-101", "ALM-102", "ALM-103")
    items = chunks([alarm_card(code, "major") for code in codes])
    script = lambda: ({"ALM-100": ["ALM-100 is an alarm.", "What is the severity of ALM-100?"],  # noqa: E731
                       "ALM-101": ["No question.", "None.", "Still none."],
                       "ALM-102": ["What is the severity of ALM-102?"],
                       "ALM-103": ["What is the severity of ALM-103?", "How severe is ALM-103?"]},
                      {"ALM-103": ["The document says so."]})
    once = Scripted(tokenizer, *script())
    pairs, stats = generate_pairs(once, tokenizer, items, PROMPTS, PARAMS, 0)
    assert [p["question"] for p in pairs] == ["What is the severity of ALM-102?"]
    assert stats["dropped"] == {"not_a_question": 2, "refers_to_document": 1}
    assert stats["tries"] == {"questions": 4, "answers": 2}

    thrice = Scripted(tokenizer, *script())
    params = dataclasses.replace(PARAMS, attempts=3)
    cache = ItemCache(tmp_path, model_fingerprint="m", prompts=PROMPTS, params=params, label=0)
    pairs, stats = generate_pairs(thrice, tokenizer, items, PROMPTS, params, 0, cache)
    assert [(p["chunk_id"], p["question"]) for p in pairs] == [
        (items[0]["id"], "What is the severity of ALM-100?"), (items[2]["id"], "What is the severity of ALM-102?"),
        (items[3]["id"], "How severe is ALM-103?")]  # in chunk order, ALM-103 from its second try
    assert stats["dropped"] == {"not_a_question": 1}  # ALM-101, counted once, by its last try
    assert stats["tries"] == {"questions": 4 + 3 + 1, "answers": 2 + 2}
    assert len(set(thrice.seeds)) == 8 and thrice.seeds[:4] == once.seeds  # the first try is the one-try run's

    rerun = Scripted(tokenizer, {code: [] for code in codes})
    again, stats = generate_pairs(rerun, tokenizer, items, PROMPTS, params, 0,
                                  ItemCache(tmp_path, model_fingerprint="m", prompts=PROMPTS, params=params, label=0))
    assert again == pairs and stats["generated"] == 0 and not rerun.seeds


def test_an_opener_starts_every_reply_and_is_spaced_as_the_model_wrote_on(model):
    from selfevo.generate.generation import generate
    from selfevo.generate.prompts import question_messages

    ask = lambda opener: generate(*model, [question_messages(PROMPTS, c["text"]) for c in chunks(TEXTS[:3])],  # noqa: E731
                                  [0, 1, 2], max_new_tokens=12, temperature=0, top_p=1, batch_size=4,
                                  max_prompt_tokens=256, opener=opener, progress=False)
    plain, opened = ask(""), ask("Which")
    assert all(q.startswith("What ") for q in plain)  # what the fixture writes unprompted
    assert all(q.startswith("Which ") and len(q) > len("Which ") for q in opened), opened


THREE_KINDS = {"frame": "Document: {knowledge}\n{task}", "evolve": "Rewrite: {task}",
               "variants": [{"id": f"s{i}", "kind": kind, "form": "direct", "task": task, "weight": 1.0}
                            for i, (kind, task) in enumerate([("fact", "Write one question."),
                                                              ("cause", "Ask why."), ("procedure", "Ask how.")])]}


def test_several_questions_per_chunk_ask_other_kinds_and_drop_a_repeat(model):
    from selfevo.generate.evolution import slot_variants

    _, tokenizer = model
    items = chunks([alarm_card("ALM-100", "major"), alarm_card("ALM-101", "minor")])
    slots = [slot_variants(THREE_KINDS, ("fixed", PROMPTS.question), 3, 0, 0, c["id"]) for c in items]
    assert all(len(s) == 3 and s[0] == ("fixed", PROMPTS.question) for s in slots)
    kinds = {v["id"]: v["kind"] for v in THREE_KINDS["variants"]}
    assert all(sorted(kinds[v] for v, _ in s[1:]) == ["cause", "procedure"] for s in slots)
    script = Scripted(tokenizer, {"ALM-100": ["What is the severity of ALM-100?", "What is the severity of ALM-100?",
                                              "Why is ALM-100 raised?", "How do I clear ALM-100?"],
                                  "ALM-101": ["What is the severity of ALM-101?", "Why is ALM-101 raised?",
                                              "How do I clear ALM-101?"]})
    params = dataclasses.replace(PARAMS, questions_per_chunk=3, attempts=2)
    pairs, stats = generate_pairs(script, tokenizer, items, PROMPTS, params, 0, variants=slots)
    assert [p["question"] for p in pairs if p["chunk_id"] == items[0]["id"]] == [
        "What is the severity of ALM-100?", "How do I clear ALM-100?", "Why is ALM-100 raised?"]  # slot 1's 2nd try
    assert [p["id"] for p in pairs][:3] == [f"{items[0]['id']}-r0", f"{items[0]['id']}-r0-1", f"{items[0]['id']}-r0-2"]
    assert stats["pairs"] == 6 and stats["questions"] == 6 and stats["chunks_with_pairs"] == 2
    assert stats["tries"]["questions"] == 6 + 1 and not stats["dropped"]


def test_several_questions_per_chunk_rerun_byte_identical(model):
    from selfevo.generate.evolution import slot_variants

    items = chunks(TEXTS)
    slots = [slot_variants(THREE_KINDS, ("fixed", PROMPTS.question), 3, 0, 0, c["id"]) for c in items]
    params = dataclasses.replace(PARAMS, questions_per_chunk=3)
    first = generate_pairs(*model, items, PROMPTS, params, 0, variants=slots)
    assert first == generate_pairs(*model, items, PROMPTS, params, 0, variants=slots)
    pairs = first[0]
    for chunk in items:
        mine = [p for p in pairs if p["chunk_id"] == chunk["id"]]
        assert 1 <= len(mine) <= 3 and len({p["variant"] for p in mine}) == len(mine)


def test_a_question_an_earlier_round_asked_on_its_chunk_is_dropped_unless_repeats_are_kept(model):
    _, tokenizer = model
    items = chunks([alarm_card("ALM-100", "major")])
    earlier = {items[0]["id"]: ["What is the severity of ALM-100?"]}
    ask = lambda params: generate_pairs(  # noqa: E731
        Scripted(tokenizer, {"ALM-100": ["What is the severity of the ALM-100?", "Why is ALM-100 raised?"]}),
        tokenizer, items, PROMPTS, params, 1, earlier=earlier)
    pairs, stats = ask(PARAMS)
    assert not pairs and stats["dropped"] == {"repeats_question": 1}
    pairs, _ = ask(dataclasses.replace(PARAMS, attempts=2))
    assert [p["question"] for p in pairs] == ["Why is ALM-100 raised?"]
    pairs, _ = ask(dataclasses.replace(PARAMS, repeat_overlap=None))
    assert [p["question"] for p in pairs] == ["What is the severity of the ALM-100?"]
