"""The everyday requests whose θ_0 replies train.everyday replays: none is a general-ability test
question, both languages ship a list, and bad files stop with the file's name."""

import json

import pytest

from conftest import REPO
from selfevo.errors import PipelineError
from selfevo.text import words
from selfevo.train.everyday import everyday_replies, read_requests


def _general_questions() -> list[str]:
    return [json.loads(line)["question"] for line in (REPO / "data/general.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("language", ["en", "zh"])
def test_requests_ship_in_both_languages_and_none_is_a_general_test_question(language):
    requests = read_requests(REPO / "prompts" / language / "everyday.txt")
    assert len(requests) >= 40 and len(set(requests)) == len(requests)
    for question in _general_questions():
        asked = set(words(question.lower()))
        for request in requests:
            said = set(words(request.lower()))
            assert len(asked & said) / len(asked | said) < 0.5, (request, question)


def test_a_missing_or_empty_request_file_is_named(tmp_path):
    with pytest.raises(PipelineError, match="nothing.txt: everyday requests not found"):
        read_requests(tmp_path / "nothing.txt")
    (tmp_path / "empty.txt").write_text("\n  \n")
    with pytest.raises(PipelineError, match="empty.txt: no everyday request"):
        read_requests(tmp_path / "empty.txt")


def test_replies_are_the_models_greedy_replies_cut_to_whole_sentences(tiny_base, model_params):
    from selfevo.models.modeling import load_model, load_tokenizer

    tokenizer, model = load_tokenizer(tiny_base, model_params), load_model(tiny_base, model_params)
    requests = ["How do I make tea?", "Say something kind."]
    kwargs = dict(max_new_tokens=12, max_prompt_tokens=128, batch_size=2, no_repeat_ngram=0)
    replies = everyday_replies(model, tokenizer, requests, **kwargs)
    assert replies == everyday_replies(model, tokenizer, requests, **kwargs)  # greedy: the same replies
    assert len({r["id"] for r in replies}) == len(replies)
    for reply in replies:
        assert reply["question"] in requests and reply["answer"].strip()
        assert reply["answer"][-1] in ".!?" or not any(c in reply["answer"] for c in ".!?")
