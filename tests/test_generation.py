"""Generation: batched output equals one-at-a-time output, greedy and seeded sampling repeat."""

import torch

from selfevo.generation import generate
from selfevo.modeling import load_model, load_tokenizer
from selfevo.prompts import qa_messages

QUESTIONS = [qa_messages(q) for q in ["Why?", "What causes the fan alarm on the BBU?", "How to fix it?",
                                      "What is the largest planet in the solar system and why?"]]


def run(tiny_base, model_params, batch_size, temperature, seeds=(1, 2, 3, 4)):
    model = load_model(tiny_base, model_params, torch.device("cpu"))
    tokenizer = load_tokenizer(tiny_base, model_params)
    return generate(model, tokenizer, QUESTIONS, list(seeds), max_new_tokens=12, temperature=temperature,
                    top_p=0.9, batch_size=batch_size, max_prompt_tokens=256)


def test_greedy_batched_equals_one_at_a_time(tiny_base, model_params):
    batched = run(tiny_base, model_params, batch_size=4, temperature=0.0)
    assert batched == run(tiny_base, model_params, batch_size=1, temperature=0.0)
    assert all(batched)  # an untrained model still writes something (it stops only at <|im_end|>)


def test_sampling_is_per_item_seeded(tiny_base, model_params):
    batched = run(tiny_base, model_params, batch_size=4, temperature=1.0)
    assert batched == run(tiny_base, model_params, batch_size=1, temperature=1.0)
    assert batched == run(tiny_base, model_params, batch_size=3, temperature=1.0)
    assert batched != run(tiny_base, model_params, batch_size=4, temperature=1.0, seeds=(5, 6, 7, 8))
