"""Prompts and cleaning: files with placeholders, chat encoding, and what cleaning keeps or drops."""

import dataclasses

import pytest

from selfevo.errors import PipelineError
from selfevo.modeling import load_tokenizer
from selfevo.prompts import (Prompts, answer_only_prefix, aspect_for, clean_answer, clean_question, encode_example,
                             grounding, load_prompts, question_messages)

from conftest import REPO


@pytest.mark.parametrize("language", ["en", "zh"])
def test_shipped_prompt_sets_load(language):
    prompts = load_prompts(REPO / "prompts" / language)
    assert "{knowledge}" in prompts.question and "{question}" in prompts.answer
    aspect = aspect_for(prompts, "chunk", 0)
    content = question_messages(prompts, "DOC", aspect)[0]["content"]
    assert "DOC" in content and aspect in content and "{aspect}" not in content


def test_english_set_asks_about_aspects_and_the_papers_chinese_set_does_not():
    assert len(load_prompts(REPO / "prompts" / "en").aspects) == 4
    assert load_prompts(REPO / "prompts" / "zh").aspects == ()


ASPECTS = Prompts(question="Ask about {aspect}: {knowledge}", answer="{question} {knowledge}", aspects=("a", "b", "c"))


def test_each_round_asks_a_chunk_about_the_next_aspect():
    for chunk in ("c1", "c2", "c3"):
        by_round = [aspect_for(ASPECTS, chunk, r) for r in range(6)]
        assert sorted(by_round[:3]) == ["a", "b", "c"]  # three rounds cover every aspect once
        assert by_round[3:] == by_round[:3]
        assert aspect_for(ASPECTS, chunk, "teacher") == by_round[0]
    assert len({aspect_for(ASPECTS, f"chunk{i}", 0) for i in range(30)}) == 3  # chunks start apart
    assert aspect_for(dataclasses.replace(ASPECTS, aspects=()), "c1", 2) == ""


def test_a_prompt_with_aspects_needs_one():
    with pytest.raises(ValueError, match="aspect"):
        question_messages(ASPECTS, "DOC")
    assert question_messages(ASPECTS, "DOC", "b")[0]["content"] == "Ask about b: DOC"


def test_aspect_placeholder_and_aspects_file_go_together(tmp_path):
    (tmp_path / "answer.txt").write_text("{knowledge} {question}")
    (tmp_path / "question.txt").write_text("About {aspect}: {knowledge}")
    with pytest.raises(PipelineError, match="aspects.txt: the question prompt has an {aspect} placeholder"):
        load_prompts(tmp_path)
    (tmp_path / "aspects.txt").write_text("its causes\n\nits severity\n")
    assert load_prompts(tmp_path).aspects == ("its causes", "its severity")
    (tmp_path / "question.txt").write_text("{knowledge}")
    with pytest.raises(PipelineError, match="question.txt: aspects.txt lists aspects, but the prompt has no"):
        load_prompts(tmp_path)


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


CHUNK = "Alarm: ALM-1001 Board Temperature Too High\nPossible Reasons:\n- Reason 1: the fan module is faulty."


def test_grounding_is_the_share_of_answer_words_found_in_the_chunk():
    # 10 words; "raised" and "when" are not in the chunk
    assert grounding("ALM-1001 is raised when the fan module is faulty.", CHUNK) == pytest.approx(8 / 10)
    assert grounding("The FAN module", CHUNK) == 1.0  # case does not matter
    assert grounding("Water roses daily.", CHUNK) == 0.0
    assert grounding("...", CHUNK) == 0.0
    # Chinese is counted by characters: 6 of 8 (温度 is not in the chunk)
    assert grounding("风扇模块故障温度", "告警原因：风扇模块故障。") == pytest.approx(6 / 8)


def test_clean_answer_drops_an_answer_not_read_from_its_chunk():
    made_up = "Water the roses every morning."
    assert clean_answer(made_up, CHUNK) == (made_up, "ok")  # min_grounding 0: off
    assert clean_answer(made_up, CHUNK, min_grounding=0.75) == (None, "not_grounded")
    read = "The fan module is faulty."
    assert clean_answer(read, CHUNK, min_grounding=0.75) == (read, "ok")


def test_encoding_splits_prompt_and_completion(tiny_base, model_params):
    tokenizer = load_tokenizer(tiny_base, model_params)
    prompt, completion = encode_example(tokenizer, [{"role": "user", "content": "Why?"}], "Because.")
    assert tokenizer.decode(prompt).endswith("<|im_start|>assistant\n")
    assert tokenizer.decode(completion).startswith(" Because.<|im_end|>")  # the template opens each text with a space
    assert tokenizer.decode(answer_only_prefix(tokenizer)) == "<|im_start|>assistant\n"
