"""The shipped sample data: every test record lists facts its document states, and the teacher's QA, written
without the test set, shares no sentence with a test reference."""

import json
import re

import pytest

from conftest import REPO
from selfevo.data.testset import has_facts, read_tests
from selfevo.evaluate.contamination import reference_overlap, shared_sentences
from selfevo.evaluate.facts import compile_tests, stated_facts, states

TESTS = read_tests(REPO / "data" / "test.jsonl")
TEACHER = [json.loads(line) for line in (REPO / "data" / "teacher" / "qa.jsonl").read_text().splitlines()]


def test_every_test_record_lists_facts_its_document_states():
    assert has_facts(TESTS) and all(t["facts"] and t["kind"] for t in TESTS)
    for t in TESTS:
        document = (REPO / "data" / "corpus" / f"{t['alarm']}.md").read_text()
        for fact in t["facts"]:
            assert states(document, fact), (t["alarm"], fact)
            assert states(t["answer"], fact), (t["answer"], fact)  # and the reference answer states it


def test_no_teacher_answer_shares_a_sentence_with_a_test_reference():
    answers, references = [p["answer"] for p in TEACHER], [t["answer"] for t in TESTS]
    assert shared_sentences(answers, references) == []
    assert max(share for share, _ in reference_overlap(answers, references)) < 0.9  # baselines.max_test_overlap
    assert shared_sentences(["Fine. " + references[3]], references) == [(0, 3)]  # the check can fail


def test_the_teacher_does_not_reuse_the_test_templates():
    """Its questions are not the test's either, not even up to the alarm code and device."""
    mask = lambda text: re.sub(r"ALM-\d+|\d+", "#", text)  # noqa: E731
    assert not {mask(p["question"]) for p in TEACHER} & {mask(t["question"]) for t in TESTS}


def test_the_ceilings_teacher_states_every_test_fact_without_the_test_wording():
    """data/ceiling/qa.jsonl: the teacher on every fact of every document, for the ceiling run. It must
    cover each fact the test asks for, and, like the teacher, share no sentence or question template."""
    ceiling = [json.loads(line) for line in (REPO / "data" / "ceiling" / "qa.jsonl").read_text().splitlines()]
    answers, references = [p["answer"] for p in ceiling], [t["answer"] for t in TESTS]
    assert shared_sentences(answers, references) == []
    mask = lambda text: re.sub(r"ALM-\d+|\d+", "#", text)  # noqa: E731
    assert not {mask(p["question"]) for p in ceiling} & {mask(t["question"]) for t in TESTS}
    for t in TESTS:
        about = [p["answer"] for p in ceiling if t["alarm"] in p["answer"]]
        assert all(any(states(a, fact) for a in about) for fact in t["facts"]), t


def test_the_development_set_is_another_draw_of_the_same_kind():
    dev = read_tests(REPO / "data" / "dev" / "test.jsonl")
    assert has_facts(dev) and len(dev) == len(TESTS)
    texts = lambda folder: {p.read_text() for p in (REPO / folder).glob("*.md")}  # noqa: E731
    assert len(texts("data/dev/corpus")) == 60 and not texts("data/dev/corpus") & texts("data/corpus")


@pytest.mark.parametrize("path", ["data/test.jsonl", "data/dev/test.jsonl", "data/dev/coreutils/test.jsonl",
                                  "data/paper/test_facts.jsonl"])
def test_every_reference_answer_states_its_facts_under_the_full_measure(path):
    tests = read_tests(REPO / path)
    assert has_facts(tests)
    missed = [(t["question"], t["facts"]) for t, facts in zip(tests, compile_tests(tests))
              if not all(stated_facts(t["answer"], facts))]
    assert not missed


def test_the_coreutils_fact_set_asks_about_its_pages():
    tests = read_tests(REPO / "data/dev/coreutils/test.jsonl")
    assert len(tests) >= 40
    for t in tests:
        page = (REPO / "data/corpora/coreutils" / t["source"]).read_text(encoding="utf-8")
        assert all(states(page, fact) for fact in t["facts"]), (t["source"], t["facts"])


def test_the_paper_test_set_is_the_releases_converted_by_its_script():
    """data/paper/test*.jsonl are what scripts/paper_testset.py makes of the release's files, every fact a
    term its fragment holds and its question does not."""
    import importlib.util
    import json

    spec = importlib.util.spec_from_file_location("paper_testset", REPO / "scripts/paper_testset.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    evaluation = json.loads((REPO / "data/paper/AIOps_eval_data.json").read_text(encoding="utf-8"))
    corpus = json.loads((REPO / "data/paper/AIOps_data.json").read_text(encoding="utf-8"))
    assert len(evaluation) == 100 and len(corpus) == 4000
    tests, with_facts = script.convert(evaluation, corpus)
    assert read_tests(REPO / "data/paper/test.jsonl") == tests
    assert read_tests(REPO / "data/paper/test_facts.jsonl") == with_facts
    assert 40 <= len(with_facts) < len(tests)
    for record in with_facts:
        assert all(f in record["source"] and f not in record["question"] for f in record["facts"])
