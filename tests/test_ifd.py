"""IFD: the batched, padded computation equals the formula applied to one pair at a time."""

import math

import torch

from selfevo.generate.prompts import answer_only_prefix, encode_example, qa_messages
from selfevo.models.modeling import load_model, load_tokenizer
from selfevo.score.ifd import ifd_scores

PAIRS = [("What causes ALM-1001?", "The fan module is faulty."),
         ("How do I clear the alarm on the BBU3910 when the cable is loose?",
          "Tighten the power cable at both ends, then check that the voltage recovers."),
         ("Why?", "Because."),
         ("What is the threshold?", "It is raised at 74°C and cleared at 69°C, after thirty seconds above it.")]


def direct_nll(model, prefix: list[int], answer: list[int]) -> float:
    """Equation (1)/(2) written out: -1/N sum log P(w_i | prefix, w_<i), one unpadded sequence."""
    ids = torch.tensor([prefix + answer])
    with torch.no_grad():
        logprobs = torch.log_softmax(model(input_ids=ids).logits[0].double(), -1)
    total = sum(logprobs[len(prefix) + i - 1, tok].item() for i, tok in enumerate(answer))
    return -total / len(answer)


def test_batched_ifd_equals_one_pair_at_a_time(tiny_base, model_params):
    model = load_model(tiny_base, model_params, torch.device("cpu"))
    tokenizer = load_tokenizer(tiny_base, model_params)
    batched = ifd_scores(model, tokenizer, PAIRS, batch_size=3, max_length=512)
    bare = answer_only_prefix(tokenizer)
    for (q, a), got in zip(PAIRS, batched):
        prompt, answer = encode_example(tokenizer, qa_messages(q), a)
        cond, alone = direct_nll(model, prompt, answer), direct_nll(model, bare, answer)
        assert math.isclose(got["conditioned_nll"], cond, abs_tol=1e-5)
        assert math.isclose(got["direct_nll"], alone, abs_tol=1e-5)
        assert math.isclose(got["ifd"], cond / alone, abs_tol=1e-5)


def test_batch_size_does_not_change_scores(tiny_base, model_params):
    model = load_model(tiny_base, model_params, torch.device("cpu"))
    tokenizer = load_tokenizer(tiny_base, model_params)
    one = ifd_scores(model, tokenizer, PAIRS, batch_size=1, max_length=512)
    four = ifd_scores(model, tokenizer, PAIRS, batch_size=4, max_length=512)
    assert max(abs(a["ifd"] - b["ifd"]) for a, b in zip(one, four)) < 1e-5
    # the scores are not all the same number: the test can tell pairs apart
    assert len({round(s["ifd"], 6) for s in one}) == len(PAIRS)
