"""Generation: batched output equals one-at-a-time output, greedy and seeded sampling repeat."""

import torch

from selfevo.batching import length_batches
from selfevo.generation import generate
from selfevo.modeling import load_model, load_tokenizer
from selfevo.prompts import qa_messages

QUESTIONS = [qa_messages(q) for q in ["Why?", "What causes the fan alarm on the BBU?", "How to fix it?",
                                      "What is the largest planet in the solar system and why?"]]


def run(tiny_base, model_params, batch_size, temperature, seeds=(1, 2, 3, 4), max_batch_tokens=None):
    model = load_model(tiny_base, model_params, torch.device("cpu"))
    tokenizer = load_tokenizer(tiny_base, model_params)
    return generate(model, tokenizer, QUESTIONS, list(seeds), max_new_tokens=12, temperature=temperature,
                    top_p=0.9, batch_size=batch_size, max_prompt_tokens=256, max_batch_tokens=max_batch_tokens)


def test_greedy_batched_equals_one_at_a_time(tiny_base, model_params):
    batched = run(tiny_base, model_params, batch_size=4, temperature=0.0)
    assert batched == run(tiny_base, model_params, batch_size=1, temperature=0.0)
    assert all(batched)  # an untrained model still writes something (it stops only at <|im_end|>)


def test_sampling_is_per_item_seeded(tiny_base, model_params):
    batched = run(tiny_base, model_params, batch_size=4, temperature=1.0)
    assert batched == run(tiny_base, model_params, batch_size=1, temperature=1.0)
    assert batched == run(tiny_base, model_params, batch_size=3, temperature=1.0)
    assert batched != run(tiny_base, model_params, batch_size=4, temperature=1.0, seeds=(5, 6, 7, 8))


def test_a_token_budget_changes_the_batches_not_the_output(tiny_base, model_params):
    batched = run(tiny_base, model_params, batch_size=4, temperature=1.0)
    assert batched == run(tiny_base, model_params, batch_size=4, temperature=1.0, max_batch_tokens=60)


def test_length_batches_keep_count_and_token_budget():
    lengths = [30, 5, 12, 7, 50, 9, 3]
    batches = length_batches(lengths, batch_size=3, max_tokens=48, extra=4)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))  # every item, once
    assert [lengths[i] for b in batches for i in b] == sorted(lengths)  # shortest first
    for b in batches:
        assert len(b) <= 3
        assert len(b) == 1 or len(b) * (max(lengths[i] for i in b) + 4) <= 48
    assert batches[-1] == [4]  # 50 + 4 > 48: alone, not dropped
    assert length_batches(lengths, batch_size=3) == [[6, 1, 3], [5, 2, 0], [4]]  # no budget: counts only


def test_no_repeat_ngram_bans_only_repeats_within_the_reply(tiny_base, model_params):
    from selfevo.generation import banned_tokens, _generate_batch
    from selfevo.prompts import render_prompt

    assert banned_tokens([5, 6, 7, 5, 6], 3) == [7] and banned_tokens([5, 6, 5, 6], 2) == [5] and banned_tokens([5, 6], 3) == []
    model = load_model(tiny_base, model_params, torch.device("cpu"))
    tokenizer = load_tokenizer(tiny_base, model_params)
    prompt = tokenizer(render_prompt(tokenizer, QUESTIONS[1]), add_special_tokens=False)["input_ids"]

    def reply(n):
        return _generate_batch(model, [prompt], [0], pad_id=tokenizer.pad_token_id, stops=set(), max_new_tokens=40,
                               temperature=0.0, top_p=1.0, no_repeat_ngram=n)[0]

    free, capped = reply(0), reply(2)
    assert len(set(zip(free, free[1:]))) < len(free) - 1  # left alone, the tiny model repeats itself
    assert len(set(zip(capped, capped[1:]))) == len(capped) - 1
    assert free[:2] == capped[:2]  # nothing is banned before a repeat could happen
