"""Fact-level scoring, on hand-made cases in both directions: a paraphrase that keeps a fact's content words
states it; a hedge over a closed set, a negation, a bare or swapped number does not; the chance level pairs
answers with other questions' facts."""

import json
import random

import pytest

from selfevo.data.testset import read_tests
from selfevo.errors import PipelineError
from selfevo.evaluate.chance import chance_counts, chance_recall, other_question
from selfevo.evaluate.facts import closed_sets, compile_tests, fact_tokens, score_facts, stated_facts, states, unsupported_facts


@pytest.mark.parametrize("answer,fact,expected", [
    ("It is raised at 86% and cleared at 81%.", "86", True),
    ("It is raised at 86.0 % and cleared at 81 %.", "86%", True),  # a number as a number
    ("It is raised at 860%.", "86", False),  # not a prefix of another number
    ("Raised at -28 dBm.", "-28 dBm", True),
    ("Raised at 28 dBm.", "-28 dBm", False),  # the sign counts
    ("It spins at 3,000 rpm.", "3000 rpm", True),
    ("ALM-3653 on the OLT.", "ALM 3653", True),  # a hyphen inside a code is a space
    ("A MAJOR alarm!", "major", True),
    ("The majority of alarms.", "major", False),  # whole words (stems) only
    ("The  fan-module is faulty.", "fan module is faulty", True),
    # content words near each other, in any order, by their stems: a paraphrase that keeps them
    ("The charging current setting is too low.", "charging current is set too low", True),
    ("The battery charging current was set very low.", "charging current is set too low", True),
    ("The fan blades have been blocked by dust.", "fan blades are blocked", True),
    # ... but every content word, within one sentence and a window
    ("The charging current is fine. The setting is too low.", "charging current is set too low", False),
    ("The fan is running and the air filter, cleaned last week by the team on duty, is blocked.",
     "fan blades are blocked", False),
    # negation
    ("It is not a major alarm.", "major", False),
    ("The fan blades are not blocked.", "fan blades are blocked", False),
    ("The fan blades aren't blocked.", "fan blades are blocked", False),
    ("The tray is not seated firmly.", "not seated firmly", True),  # the fact's own negation
    ("The tray is seated firmly.", "not seated firmly", False),
    ("No fan was found. The severity is major.", "major", True),  # another sentence's negation
    ("If the license was not renewed, apply for a new license file.", "apply for a new license file", True),
    ("A FILE that does not exist is created empty.", "created empty", True),  # the negation of another verb
    ("告警在温度达到86℃时上报", "86", True),
    ("这是一个主要告警", "主要", True),
    ("这是一个次要告警", "主要", False),
    ("这不是主要告警", "主要", False),
    ("anything", "", False),
])
def test_a_fact_is_stated_by_its_content_words(answer, fact, expected):
    assert states(answer, fact) is expected


THRESHOLD = {"question": "At what disk usage does ALM-3653 fire and when does it clear?",
             "answer": "ALM-3653 Disk Usage Too High is raised when the disk usage reaches 86% and cleared when it "
                       "returns to 81%.", "facts": ["86", "81"], "kind": "threshold"}
SEVERITY = [{"question": f"How serious is ALM-{i}?", "answer": f"ALM-{i} is a {s} alarm.", "facts": [s],
             "kind": "severity"} for i, s in enumerate(["major", "minor", "major", "critical", "warning", "minor"])]


@pytest.mark.parametrize("answer,expected", [
    ("ALM-3653 is raised when the disk usage reaches 86% and cleared when it returns to 81%.", [True, True]),
    ("It fires at 86% disk usage, and it clears when usage returns to 81%.", [True, True]),
    ("ALM-3653 is raised at 81% and cleared at 86%.", [False, False]),  # raise and clear swapped
    ("17 seconds, 86 and 81.", [False, False]),  # bare numbers, no unit, no role
    ("It is raised when the disk usage reaches 86 and cleared when it returns to 81.", [False, False]),  # no unit
    ("It is raised when the disk usage reaches 86%.", [True, False]),
])
def test_a_number_is_stated_with_its_unit_and_role(answer, expected):
    assert stated_facts(answer, compile_tests([THRESHOLD])[0]) == expected


@pytest.mark.parametrize("answer,expected", [
    ("ALM-0 is a major alarm.", True),
    ("It could be a critical, major, minor or warning alarm.", False),  # a hedge names every option
    ("It is a major or minor alarm.", False),
    ("It is not a minor alarm; it is a major alarm.", True),  # a negated option is not named
    ("It is not a major alarm.", False),
])
def test_one_value_of_a_closed_set(answer, expected):
    assert closed_sets(SEVERITY) == {"severity": ["critical", "major", "minor", "warning"]}
    assert stated_facts(answer, compile_tests(SEVERITY)[0]) == [expected]


def test_a_kind_of_distinct_values_is_no_closed_set_and_options_can_be_given():
    fixes = [{"answer": "a", "facts": [f], "kind": "fix"} for f in ("restart it", "clean the connector", "replace")]
    assert closed_sets(fixes) == {}
    record = {"answer": "Use the ext4 format.", "facts": ["ext4"], "options": ["ext4", "xfs", "btrfs"]}
    assert stated_facts("Format it as ext4.", compile_tests([record])[0]) == [True]
    assert stated_facts("Format it as ext4 or xfs.", compile_tests([record])[0]) == [False]


def test_tokens_are_stems_and_numbers():
    assert fact_tokens("ALM-3653 at −28.5 dBm, BBU3910 86%") == ["alm", 3653.0, "at", -28.5, "dbm", "bbu", 3910.0,
                                                                86.0, "%"]
    assert fact_tokens("Settings blocked") == ["set", "block"]


def test_recall_counts_facts_and_all_counts_questions():
    tests = [{"answer": "86 and 81", "facts": ["86", "81"]}, {"answer": "minor", "facts": ["minor"]},
             {"answer": "fan", "facts": ["fan"]}]
    score = score_facts(["86 and 81", "major", "nothing"], tests)
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
    answers = ["It is a major alarm."] * 6
    assert score_facts(answers, SEVERITY).recall == pytest.approx(2 / 6)
    chance = chance_recall(answers, SEVERITY, seed=0, draws=200)
    assert 0.15 < chance < 0.5  # a guess of the likely word scores about as well on other questions' facts
    stated, total = chance_counts(answers, SEVERITY, seed=0, draws=200)
    assert len(stated) == 6 and sum(stated) / sum(total) == pytest.approx(chance)
    # answers that state their own facts and nothing else score 0 against other questions' facts
    own = [{"answer": a, "facts": [a]} for a in ("86", "75", "31")]
    assert chance_recall(["86", "75", "31"], own, seed=0) == 0.0
    assert chance_recall(answers, SEVERITY, seed=0) == chance_recall(answers, SEVERITY, seed=0)


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
