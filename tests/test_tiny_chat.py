"""The committed chat fixture (tests/assets/tiny_chat): every greedy choice the pipeline and judge tests ask of it
wins by a logit margin far above float noise, so it writes the same questions and answers on any
processor, thread count or library build; and it loads from safetensors with no code of its own."""

import json

import pytest
import torch

from selfevo.cleaning import clean_answer, clean_question
from selfevo.prompts import Prompts, answer_messages, qa_messages, question_messages
from tiny import (EVOLVED_TASK, MINIMAL_PROMPTS, MINIMAL_VARIANTS, TINY_CHAT, alarm_card, greedy_with_margins, judge_cases,
                  pipeline_cards, severity_answer, severity_question)

MIN_MARGIN = 2.0
"""Logits; fp32 sums on different processors differ by about 1e-5 here, bf16 by about 1e-2."""

PROMPTS = Prompts(question=MINIMAL_PROMPTS["question.txt"], answer=MINIMAL_PROMPTS["answer.txt"])
TASKS = [seed["task"] for seed in MINIMAL_VARIANTS["seeds"]] + [EVOLVED_TASK]


@pytest.fixture(scope="module")
def chat():
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(TINY_CHAT, dtype=torch.float32, use_safetensors=True).eval()
    return model, AutoTokenizer.from_pretrained(TINY_CHAT)


def asks():
    """(what is asked, the messages, the reply it must give) for every prompt of the pipeline test."""
    for code, level in pipeline_cards():
        question, answer = severity_question(code), severity_answer(code, level)
        yield f"{code} closed-book", qa_messages(question), answer
        for edited in (False, True):
            doc = alarm_card(code, level, edited)
            yield f"{code} answer edited={edited}", answer_messages(PROMPTS, doc, question), answer
            for task in TASKS:
                template = MINIMAL_VARIANTS["frame"].replace("{task}", task)
                yield (f"{code} {task!r} edited={edited}",
                       question_messages(Prompts(question=template, answer=PROMPTS.answer), doc), question)
    for text, verdict in judge_cases():
        yield f"judge {text!r}", [{"role": "user", "content": text}], verdict
    for task in TASKS:
        yield f"rewrite {task!r}", [{"role": "user", "content": MINIMAL_VARIANTS["evolve"].replace("{task}", task)}], \
            EVOLVED_TASK


def test_every_greedy_choice_wins_by_a_wide_margin(chat):
    model, tokenizer = chat
    narrow = []
    for label, messages, expected in asks():
        reply, margin = greedy_with_margins(model, tokenizer, messages, 32)
        assert reply == expected, label
        if margin < MIN_MARGIN:
            narrow.append((label, round(margin, 3)))
    assert not narrow, f"top-2 logit gaps under {MIN_MARGIN}: {narrow}"


def test_its_questions_and_answers_pass_the_cleaning(chat):
    model, tokenizer = chat
    for code, level in pipeline_cards():
        doc = alarm_card(code, level)
        question, _ = greedy_with_margins(model, tokenizer, question_messages(PROMPTS, doc), 32)
        assert clean_question(question, doc, named_subject=True) == (question, "ok")
        answer, _ = greedy_with_margins(model, tokenizer, answer_messages(PROMPTS, doc, question), 32)
        assert clean_answer(answer, doc, min_grounding=0.5)[1] == "ok", answer


def test_the_fixture_is_plain_safetensors_with_no_remote_code():
    names = {p.name for p in TINY_CHAT.iterdir()}
    assert "model.safetensors" in names and not any(n.endswith((".bin", ".pt", ".py")) for n in names)
    assert "auto_map" not in json.loads((TINY_CHAT / "config.json").read_text())
