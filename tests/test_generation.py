"""Generation: batched output equals one-at-a-time output, greedy and seeded sampling repeat. Greedy runs
on the committed fixture's own prompts, whose replies win by wide margins, so they are the same text on
any machine; sampling runs on an untrained model, whose flat distributions make every seed count."""

import pytest
import torch

from selfevo.batching import length_batches
from selfevo.errors import PipelineError
from selfevo.generate.generation import generate
from selfevo.generate.prompts import Prompts, qa_messages, question_messages
from selfevo.models.modeling import load_model, load_tokenizer
from tiny import MINIMAL_PROMPTS, alarm_card, pipeline_cards, severity_answer, severity_question, tiny_model

QUESTIONS = [qa_messages(q) for q in ["Why?", "What causes the fan alarm on the BBU?", "How to fix it?",
                                      "What is the largest planet in the solar system and why?"]]
CARDS = pipeline_cards()[:4]
PROMPTS = Prompts(question=MINIMAL_PROMPTS["question.txt"], answer=MINIMAL_PROMPTS["answer.txt"])
# closed-book questions and question prompts: four lengths, so a batch pads
KNOWN = [qa_messages(severity_question(code)) for code, _ in CARDS[:2]] + \
    [question_messages(PROMPTS, alarm_card(code, level)) for code, level in CARDS[2:]]
KNOWN_REPLIES = [severity_answer(code, level) for code, level in CARDS[:2]] + \
    [severity_question(code) for code, _ in CARDS[2:]]


@pytest.fixture(scope="module")
def fixture_model(tiny_base, model_params):
    return load_model(tiny_base, model_params, torch.device("cpu")), load_tokenizer(tiny_base, model_params)


@pytest.fixture(scope="module")
def flat_model(tiny_base, model_params):
    """Untrained: every next token about as likely as any other."""
    tokenizer = load_tokenizer(tiny_base, model_params)
    return tiny_model(tokenizer, seed=0).eval(), tokenizer


def run(model, conversations, batch_size, temperature, seeds=(1, 2, 3, 4), max_batch_tokens=None):
    return generate(*model, conversations, list(seeds), max_new_tokens=12, temperature=temperature, top_p=0.9,
                    batch_size=batch_size, max_prompt_tokens=256, max_batch_tokens=max_batch_tokens)


def test_greedy_batched_equals_one_at_a_time(fixture_model):
    batched = run(fixture_model, KNOWN, batch_size=4, temperature=0.0)
    assert batched == run(fixture_model, KNOWN, batch_size=1, temperature=0.0)
    assert batched == KNOWN_REPLIES


def test_sampling_is_per_item_seeded(flat_model):
    batched = run(flat_model, QUESTIONS, batch_size=4, temperature=1.0)
    assert batched == run(flat_model, QUESTIONS, batch_size=1, temperature=1.0)
    assert batched == run(flat_model, QUESTIONS, batch_size=3, temperature=1.0)
    assert batched != run(flat_model, QUESTIONS, batch_size=4, temperature=1.0, seeds=(5, 6, 7, 8))
    assert len(set(batched)) == len(batched)  # each item its own stream


def test_a_token_budget_changes_the_batches_not_the_output(flat_model, fixture_model):
    for model, conversations, temperature in ((flat_model, QUESTIONS, 1.0), (fixture_model, KNOWN, 0.0)):
        batched = run(model, conversations, batch_size=4, temperature=temperature)
        assert batched == run(model, conversations, batch_size=4, temperature=temperature, max_batch_tokens=60)


def test_a_prompt_over_its_budget_stops_generation_instead_of_losing_its_start(fixture_model):
    """Callers fit their text (prompts.fit_prompt); a prompt still over budget is an error, never
    silently cut to its tail (which would drop the system turn and the instructions)."""
    with pytest.raises(PipelineError, match="questions: a prompt of .* tokens is over its budget of 5"):
        generate(*fixture_model, KNOWN, [1, 2, 3, 4], max_new_tokens=4, temperature=0.0, top_p=1.0, batch_size=4,
                 max_prompt_tokens=5, desc="questions")


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


class LoopingModel(torch.nn.Module):
    """A stand-in whose next token depends on the last one only, by wide margins: 5 -> 6 -> 5 -> 6 ...,
    then 7, 8, 9 in that order of preference; it loops for ever unless something bans the repeat."""

    def __init__(self, vocab: int = 12):
        super().__init__()
        self.vocab = vocab
        self.anchor = torch.nn.Parameter(torch.zeros(1))  # where generation puts its tensors

    def forward(self, input_ids, past_key_values=None, **_):
        from types import SimpleNamespace

        logits = torch.zeros(input_ids.shape[0], 1, self.vocab)
        for row, last in enumerate(input_ids[:, -1].tolist()):
            for rank, token in enumerate([6 if last == 5 else 5, 7, 8, 9]):
                logits[row, 0, token] = 10.0 - 2.0 * rank
        return SimpleNamespace(logits=logits, past_key_values=past_key_values)


def test_no_repeat_ngram_bans_only_repeats_within_the_reply(tiny_base, model_params):
    from selfevo.generate.generation import banned_tokens, _generate_batch
    from selfevo.generate.prompts import render_prompt

    assert banned_tokens([5, 6, 7, 5, 6], 3) == [7] and banned_tokens([5, 6, 5, 6], 2) == [5] and banned_tokens([5, 6], 3) == []

    def reply(model, prompt, n):
        return _generate_batch(model, [prompt], [0], pad_id=0, stops=set(), max_new_tokens=8, temperature=0.0,
                               top_p=1.0, no_repeat_ngram=n)[0]

    looping = LoopingModel()
    assert reply(looping, [1, 5, 6, 5], 0) == [6, 5, 6, 5, 6, 5, 6, 5]  # left alone, it repeats itself
    # the prompt's (5, 6) does not count; the reply's second (6, 5) is banned -> 7, its second (5, 6) -> 7,
    # and after 7 both 5 and 7 have followed it already -> 8
    capped = reply(looping, [1, 5, 6, 5], 2)
    assert capped == [6, 5, 6, 7, 5, 7, 7, 8]
    assert len(set(zip(capped, capped[1:]))) == len(capped) - 1
    model = load_model(tiny_base, model_params, torch.device("cpu"))
    tokenizer = load_tokenizer(tiny_base, model_params)
    prompt = tokenizer(render_prompt(tokenizer, QUESTIONS[1]), add_special_tokens=False)["input_ids"]
    free, capped = reply(model, prompt, 0), reply(model, prompt, 2)
    assert len(set(zip(capped, capped[1:]))) == len(capped) - 1  # a real model with its KV cache: no bigram twice
    assert free[:2] == capped[:2]  # nothing is banned before a repeat could happen


def test_a_completion_stops_at_the_end_of_its_first_line_with_text():
    from selfevo.generate.generation import _generate_batch

    class Scripted(torch.nn.Module):
        """Writes the scripted tokens one per step, whatever the prompt: 5 (a line end), 7, 8, 5, 9."""
        def __init__(self):
            super().__init__()
            self.weight = torch.nn.Parameter(torch.zeros(1))
            self.script = [5, 7, 8, 5, 9]

        def forward(self, input_ids, past_key_values=None, **kwargs):
            step = 0 if past_key_values is None else past_key_values + 1
            logits = torch.full((input_ids.shape[0], 1, 12), -1e9)
            logits[:, :, self.script[min(step, len(self.script) - 1)]] = 0.0
            return type("Out", (), {"logits": logits, "past_key_values": step})()

    out = _generate_batch(Scripted(), [[1, 2]], [0], pad_id=0, stops={11}, max_new_tokens=5, temperature=0.0,
                          top_p=1.0, no_repeat_ngram=0, line_ends=frozenset({5}))
    assert out == [[5, 7, 8]]  # the leading line end is written on from; the one after text ends the reply
    assert _generate_batch(Scripted(), [[1, 2]], [0], pad_id=0, stops={11}, max_new_tokens=5, temperature=0.0,
                           top_p=1.0, no_repeat_ngram=0) == [[5, 7, 8, 5, 9]]
