"""Fact-level scoring: a fact is stated when its words appear in order in the answer, numbers as numbers,
case, punctuation and spacing ignored; the chance level pairs answers with other questions' facts."""

import json
import random

import pytest

from selfevo.errors import PipelineError
from selfevo.facts import chance_recall, fact_tokens, other_question, score_facts, states, unsupported_facts
from selfevo.testset import read_tests


@pytest.mark.parametrize("answer,fact,expected", [
    ("It is raised at 86% and cleared at 81%.", "86", True),
    ("It is raised at 86.0 % and cleared at 81 %.", "86%", True),  # a number as a number, the unit's sign ignored
    ("It is raised at 860%.", "86", False),  # not a prefix of another number
    ("Raised at -28 dBm.", "-28 dBm", True),
    ("Raised at 28 dBm.", "-28 dBm", False),  # the sign counts
    ("It spins at 3,000 rpm.", "3000 rpm", True),
    ("ALM-3653 on the OLT.", "ALM 3653", True),  # a hyphen inside a code is a space
    ("A MAJOR alarm!", "major", True),
    ("The majority of alarms.", "major", False),  # whole words only
    ("Check that the fan module is, in fact, faulty.", "fan module is faulty", False),  # next to each other
    ("The  fan-module is faulty.", "fan module is faulty", True),
    ("告警在温度达到86℃时上报", "86", True),
    ("这是一个主要告警", "主要", True),
    ("这是一个次要告警", "主要", False),
    ("anything", "", False),
])
def test_a_fact_is_stated_by_its_words_in_order(answer, fact, expected):
    assert states(answer, fact) is expected


def test_tokens_are_words_and_numbers():
    assert fact_tokens("ALM-3653 at −28.5 dBm, BBU3910") == ["alm", 3653.0, "at", -28.5, "dbm", "bbu", 3910.0]


def test_recall_counts_facts_and_all_counts_questions():
    score = score_facts(["86 and 81", "major", "nothing"], [["86", "81"], ["minor"], ["fan"]])
    assert score.stated == [2, 0, 0] and score.total == [2, 1, 1]
    assert score.recall == 0.5 and score.all_stated == pytest.approx(1 / 3)


def test_the_chance_partner_is_another_question_of_the_same_kind():
    kinds = ["severity"] * 4 + ["fix"] * 3 + ["threshold"] + [None, None]
    for seed in range(20):
        partner = other_question(kinds, random.Random(seed))
        assert all(j != i for i, j in enumerate(partner))
        assert all(kinds[j] == kinds[i] for i, j in enumerate(partner) if kinds[i] != "threshold")


def test_chance_is_what_the_words_of_a_kind_score_on_other_questions():
    # every answer guesses "major": right for the two major questions, and as often on the others' facts
    answers = ["It is a major alarm."] * 4
    facts = [["major"], ["major"], ["minor"], ["critical"]]
    assert score_facts(answers, facts).recall == 0.5
    chance = chance_recall(answers, facts, ["severity"] * 4, seed=0, draws=200)
    assert 0.3 < chance < 0.7  # a guess of the likely word scores about as well on other questions' facts
    # answers that state their own facts and nothing else score 0 against other questions' facts
    assert chance_recall(["86", "75", "31"], [["86"], ["75"], ["31"]], [None] * 3, seed=0) == 0.0
    assert chance_recall(answers, facts, ["severity"] * 4, seed=0) == chance_recall(answers, facts, ["severity"] * 4, seed=0)


def test_a_fact_no_chunk_states_is_named():
    tests = [{"facts": ["86", "fan module"]}, {"facts": ["major"]}]
    assert unsupported_facts(tests, ["Raised at 86%.", "Severity: major"]) == [(1, "fan module")]


@pytest.mark.parametrize("line,message", [
    ('{"question": "Q?", "answer": "A.", "facts": []}', r"record 2: `facts` must be a non-empty list of strings"),
    ('{"question": "Q?", "answer": "A.", "facts": "86"}', r"record 2: `facts` must be a non-empty list of strings"),
    ('{"question": "Q?", "answer": "A.", "facts": ["86"], "kind": 3}', r"record 2: `kind` must be a non-empty string"),
    ('{"question": "Q?", "answer": "A."}', r"record 2: no `facts`, where 1 of 2 records have them"),
])
def test_a_bad_facts_field_names_the_record(tmp_path, line, message):
    (tmp_path / "t.jsonl").write_text('{"question": "Q?", "answer": "A.", "facts": ["A"]}\n' + line + "\n")
    with pytest.raises(PipelineError, match=r"t.jsonl: " + message):
        read_tests(tmp_path / "t.jsonl")


def test_a_repeated_test_question_is_warned_about(tmp_path, capsys):
    (tmp_path / "t.jsonl").write_text("".join(json.dumps({"question": q, "answer": "A."}) + "\n"
                                              for q in ("Why?", "How?", "why? ")))
    assert len(read_tests(tmp_path / "t.jsonl")) == 3
    assert "t.jsonl: record 3 asks the question of record 1 again" in capsys.readouterr().err
