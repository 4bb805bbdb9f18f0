"""Prompts and cleaning: files with placeholders, chat encoding, and what cleaning keeps or drops."""

import pytest

from selfevo.errors import PipelineError
from selfevo.modeling import load_tokenizer
from selfevo.prompts import (answer_only_prefix, clean_answer, clean_question, encode_example, load_prompts,
                             question_messages)

from conftest import REPO


@pytest.mark.parametrize("language", ["en", "zh"])
def test_shipped_prompt_sets_load(language):
    prompts = load_prompts(REPO / "prompts" / language)
    assert "{knowledge}" in prompts.question and "{question}" in prompts.answer
    assert "DOC" in question_messages(prompts, "DOC")[0]["content"]


def test_prompt_without_placeholder_is_an_error(tmp_path):
    (tmp_path / "question.txt").write_text("no placeholder")
    (tmp_path / "answer.txt").write_text("{knowledge} {question}")
    with pytest.raises(PipelineError, match="question.txt: the prompt has no {knowledge}"):
        load_prompts(tmp_path)


@pytest.mark.parametrize("raw,expected", [
    ("Question: What causes ALM-1? And how to fix?", "What causes ALM-1?"),
    ("What is the threshold of the fan alarm?\nAnswer: 3000 rpm", "What is the threshold of the fan alarm?"),
    ("告警的原因是什么？", "告警的原因是什么？"),
])
def test_clean_question_keeps_one_question(raw, expected):
    assert clean_question(raw) == (expected, "ok")


def test_clean_drops_with_reasons():
    assert clean_question("The fan is broken.") == (None, "not_a_question")
    assert clean_answer("   ") == (None, "empty_answer")
    assert clean_answer("As stated in the document, replace it.") == (None, "refers_to_document")
    assert clean_answer("Answer: Replace the fan tray.") == ("Replace the fan tray.", "ok")


def test_encoding_splits_prompt_and_completion(tiny_base, model_params):
    tokenizer = load_tokenizer(tiny_base, model_params)
    prompt, completion = encode_example(tokenizer, [{"role": "user", "content": "Why?"}], "Because.")
    assert tokenizer.decode(prompt).endswith("<|im_start|>assistant\n")
    assert tokenizer.decode(completion).startswith(" Because.<|im_end|>")  # the template opens each text with a space
    assert tokenizer.decode(answer_only_prefix(tokenizer)) == "<|im_start|>assistant\n"
