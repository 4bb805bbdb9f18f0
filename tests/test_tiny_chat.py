"""The committed chat fixture (tests/assets/tiny_chat): every greedy choice the pipeline and judge tests ask of it
wins by a logit margin far above float noise, so it writes the same questions and answers on any
processor, thread count or library build; and it loads from safetensors with no code of its own."""

import json

import pytest
import torch

from selfevo.generate.cleaning import clean_answer, clean_question
from selfevo.generate.prompts import Prompts, answer_messages, load_prompts, qa_messages, question_messages
from tiny import (EVOLVED_TASK, MINIMAL_PROMPTS, MINIMAL_VARIANTS, TINY_CHAT, TINY_CHAT_ZH, ZH_ANSWER, ZH_QUESTION, alarm_card,
                  greedy_with_margins, judge_cases, paper_slice, pipeline_cards, severity_answer, severity_question)

from conftest import REPO

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


PAPER_SLICE = (40, 10)
"""The paper profile's test reads this many fragments and test questions (tests/test_profile.py)."""


def test_the_zh_fixture_asks_and_answers_the_paper_s_prompts_by_a_wide_margin():
    """tests/assets/tiny_chat_zh, under prompts/zh on the paper slice: one question of every fragment, one
    answer, both kept by the cleaning, every greedy choice far above float noise (sampling at the
    profile's temperature then picks the same)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(TINY_CHAT_ZH, dtype=torch.float32, use_safetensors=True).eval()
    tokenizer = AutoTokenizer.from_pretrained(TINY_CHAT_ZH)
    prompts = load_prompts(REPO / "prompts" / "zh")
    fragments, tests = paper_slice(*PAPER_SLICE)
    asked = [(question_messages(prompts, f), ZH_QUESTION) for f in fragments]
    asked += [(answer_messages(prompts, f, ZH_QUESTION), ZH_ANSWER) for f in fragments]
    asked += [(answer_messages(prompts, t["source"], t["question"]), ZH_ANSWER) for t in tests]  # open book
    asked += [(qa_messages(t["question"]), ZH_ANSWER) for t in tests]
    for messages, expected in asked:
        reply, margin = greedy_with_margins(model, tokenizer, messages, 24)
        assert reply == expected and margin >= MIN_MARGIN, (messages[0]["content"][:80], reply, margin)
    assert clean_question(ZH_QUESTION, fragments[0]) == (ZH_QUESTION, "ok")
    assert clean_answer(ZH_ANSWER, fragments[0], min_grounding=0.0)[1] == "ok"
