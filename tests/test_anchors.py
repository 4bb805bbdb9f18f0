"""Pairs anchored on the document's units: every unit of a chunk lands in a pair's answer (or the stats say
why not), questions that name no subject get it, reruns are byte-identical, and the coverage measures
fall when a unit's pair is removed."""

import dataclasses
import hashlib
import random

import pytest
import torch

from selfevo.errors import PipelineError
from selfevo.evaluate.coverage import fact_coverage, top_opening, unit_coverage
from selfevo.generate import anchors
from selfevo.generate.anchors import (ANCHORED, LONG_LINE, AnchorPrompt, generate_anchored, load_anchor_prompt, subject_of,
                             units, windows)
from selfevo.generate.itemcache import ItemCache
from selfevo.generate.prompts import Prompts
from selfevo.models.modeling import load_model, load_tokenizer
from test_pairs import PARAMS

CARD = """Alarm: ALM-3653 Disk Usage Too High
Device: OLT MA5800
Severity: warning
Alarm Explanation:
- The alarm is raised when the disk usage reaches 86% and cleared when it returns to 81%.
Possible Reasons:
- Reason 1: the disk has bad sectors.
- Reason 2: the backup files are too large.
- Reason 3: old log files are not cleaned.
- Reason 4: the log level is set to debug."""
PAGE = "cut > DESCRIPTION\n\nPrint selected parts of lines.\n\n-b, --bytes=LIST\nselect only these bytes\n\n" + \
    " ".join(f"Sentence {i} says something about field {i}." for i in range(12))
ANCHOR = load_anchor_prompt("prompts/en")
ANCHOR_PARAMS = dataclasses.replace(PARAMS, anchor=True, anchor_window=3, anchor_examples=2, attempts=2)


def chunk(text: str) -> dict:
    return {"id": hashlib.sha256(text.encode()).hexdigest()[:16], "text": text, "subject_terms": []}


def test_units_are_lines_under_their_section_and_sentences_of_long_lines():
    title, found = units(CARD)
    assert title == "Alarm: ALM-3653 Disk Usage Too High" and subject_of(title) == "ALM-3653 Disk Usage Too High"
    assert [u for _, _, u in found][:2] == ["Device: OLT MA5800", "Severity: warning"]
    assert {s for s, _, u in found if "Reason" in u} == {"Possible Reasons:"}
    assert len(found) == 7  # the title and the two section lines are not units
    _, prose = units(PAGE)
    assert len(PAGE.split("\n")[-1]) > LONG_LINE and sum("Sentence" in u for _, _, u in prose) == 12
    assert subject_of("cut > DESCRIPTION") == "cut"


def test_windows_hold_every_unit_once_within_one_section_and_paragraph():
    found = windows(CARD, 3)
    assert [len(w.units) for w in found] == [2, 1, 3, 1]  # the four reasons: a window of 3, then 1
    assert [u for w in found for u in w.units] == [u for _, _, u in units(CARD)[1]]
    reasons = found[2]
    assert reasons.answer.split("\n")[:2] == ["Alarm: ALM-3653 Disk Usage Too High", "Possible Reasons:"]
    assert reasons.text.startswith("Reason 1: the disk") and "- " not in reasons.text
    page = windows(PAGE, 3)
    assert ("-b, --bytes=LIST", "select only these bytes") in [w.units for w in page]  # one paragraph, one window


def test_the_prompt_draws_its_examples_by_seed_and_ends_with_the_window():
    window = windows(CARD, 3)[2]
    (one, opener), (two, _) = (ANCHOR.render(window, 3, random.Random(s)) for s in (1, 2))
    assert (one, opener) == ANCHOR.render(window, 3, random.Random(1))
    assert one != two and one.count("Question about") == 4
    assert opener in ANCHOR.openers
    assert one.endswith("Text: " + window.text + "\nQuestion about ALM-3653 Disk Usage Too High: " + opener)
    openers = {ANCHOR.render(window, 3, random.Random(s))[1] for s in range(200)}
    assert openers == set(ANCHOR.openers)  # every form gets drawn


def fake_questions(replies):
    """generate_missing as the model: the reply to each prompt from `replies(prompt)`, cached ones kept."""
    def fake(model, tokenizer, prompts, seeds, cached, **kwargs):
        return [c if c is not None else replies(p) for p, c in zip(prompts, cached)]
    return fake


def test_every_unit_lands_in_an_answer_and_an_unnamed_question_gets_its_subject(monkeypatch):
    monkeypatch.setattr(anchors, "generate_missing", fake_questions(lambda p: " is it?\n"))
    chunks = [chunk(CARD), chunk(PAGE)]
    pairs, stats = generate_anchored(None, None, chunks, ANCHOR, ANCHOR_PARAMS, 0)
    assert stats["pairs"] == stats["windows"] == len(pairs) and stats["units_in_pairs"] == stats["units"]
    for c in chunks:
        answers = "\n".join(p["answer"] for p in pairs if p["chunk_id"] == c["id"])
        assert all(u in answers for _, _, u in units(c["text"])[1])
    assert {p["variant"] for p in pairs} == {ANCHORED}
    assert pairs[0]["question"].endswith(" is it? (ALM-3653 Disk Usage Too High)") and stats["subject_added"] == len(pairs)
    assert pairs[0]["question"].split()[0] in ANCHOR.openers
    assert unit_coverage(chunks, pairs)["units_stated"] == 1.0


def test_a_window_whose_tries_fail_is_counted_with_its_reason(monkeypatch):
    monkeypatch.setattr(anchors, "generate_missing",
                        fake_questions(lambda p: "no question here" if "Reason 1" in p.split("\n")[-2] else "is it so?"))
    pairs, stats = generate_anchored(None, None, [chunk(CARD)], ANCHOR, ANCHOR_PARAMS, 0)
    assert stats["pairs"] == stats["windows"] - 1 and stats["dropped"] == {"not_a_question": 1}
    assert stats["units_in_pairs"] == stats["units"] - 3


def test_the_coverage_measures_fall_when_a_units_pair_is_removed(monkeypatch):
    monkeypatch.setattr(anchors, "generate_missing", fake_questions(lambda p: "is it?"))
    chunks = [chunk(CARD)]
    pairs, _ = generate_anchored(None, None, chunks, ANCHOR, ANCHOR_PARAMS, 0)
    tests = [{"question": "What causes ALM-3653?", "answer": "ALM-3653 is caused by bad sectors or large backup files.",
              "facts": ["disk has bad sectors", "backup files are too large"]},
             {"question": "How serious is ALM-3653?", "answer": "ALM-3653 is a warning alarm.", "facts": ["warning"]}]
    full = unit_coverage(chunks, pairs)
    assert full["units_stated"] == 1.0 and fact_coverage(tests, chunks, pairs)["facts_stated"] == 1.0
    without = [p for p in pairs if "Reason 1" not in p["answer"]]
    assert unit_coverage(chunks, without)["stated"] == full["stated"] - 3
    assert fact_coverage(tests, chunks, without) == {"facts_stated": 0.3333, "facts": 3, "stated": 1}
    # a paper-style answer that restates a unit in other words still counts; one that does not, not
    restated = [{"chunk_id": chunks[0]["id"], "question": "Q?", "answer": "The OLT MA5800 is the device."}]
    assert unit_coverage(chunks, restated)["stated"] == 1


def test_the_most_common_opening_and_its_share():
    assert top_opening(["What is the purpose of A?", "What is the purpose of B?", "Why does C fail?"]) == \
        {"opening": "what is the purpose", "share": 0.6667}
    assert top_opening([]) == {"opening": "", "share": 0.0}


@pytest.fixture(scope="module")
def model(tiny_base, model_params):
    return load_model(tiny_base, model_params, torch.device("cpu")), load_tokenizer(tiny_base, model_params)


def test_the_tiny_model_accounts_for_every_window_and_reruns_byte_identical(model, tmp_path):
    chunks = [chunk(CARD), chunk(PAGE)]
    cache = lambda: ItemCache(tmp_path, model_fingerprint="fp", prompts=Prompts("{knowledge}", "{knowledge}{question}"),
                              params=ANCHOR_PARAMS, label=0, anchor=ANCHOR.as_dict())
    pairs, stats = generate_anchored(*model, chunks, ANCHOR, ANCHOR_PARAMS, 0, cache())
    assert stats["pairs"] + sum(stats["dropped"].values()) == stats["windows"] == len(windows(CARD, 3) + windows(PAGE, 3))
    again, stats_again = generate_anchored(*model, chunks, ANCHOR, ANCHOR_PARAMS, 0)
    assert again == pairs  # no cache: the same seeds write the same records
    cached, stats_cached = generate_anchored(*model, chunks, ANCHOR, ANCHOR_PARAMS, 0, cache())
    assert cached == pairs and stats_cached["generated"] == 0 and stats_cached["reused"] == stats["generated"]


@pytest.mark.parametrize("text,message", [
    ("block: 'Title: {title}'\nunnamed: '{question} ({subject})'\nexamples: [{title: a, text: b, question: c}]",
     r"anchor.yaml: `block` must be a string holding \{title\}, \{text\}, \{subject\}"),
    ("block: '{title}{text}{subject}'\nunnamed: '{question}'\nexamples: [{title: a, text: b, question: c}]",
     r"anchor.yaml: `unnamed` must be"),
    ("block: '{title}{text}{subject}'\nunnamed: '{question}{subject}'\nexamples: []", r"`examples` must be a non-empty"),
    ("block: '{title}{text}{subject}'\nunnamed: '{question}{subject}'\nexamples: [{title: a, text: b}]",
     r"examples\[1\]: needs non-empty"),
])
def test_a_bad_anchor_prompt_names_the_file_and_key(tmp_path, text, message):
    (tmp_path / "anchor.yaml").write_text(text)
    with pytest.raises(PipelineError, match=message):
        load_anchor_prompt(tmp_path)
    with pytest.raises(PipelineError, match="anchor.yaml: anchored-question prompt not found"):
        load_anchor_prompt(tmp_path / "none")


def test_both_languages_ship_an_anchor_prompt():
    for lang in ("en", "zh"):
        prompt = load_anchor_prompt(f"prompts/{lang}")
        assert isinstance(prompt, AnchorPrompt) and len(prompt.examples) >= 10
        assert len({e["question"].split()[0] if lang == "en" else e["question"][:2] for e in prompt.examples}) >= 5


def test_the_open_book_passage_is_the_windows_stating_the_facts_under_the_title():
    from selfevo.evaluate.evaluation import passages, right_chunks
    chunks = [chunk(CARD), chunk(PAGE)]
    tests = [{"question": "What causes ALM-3653?", "answer": "Bad sectors.", "facts": ["disk has bad sectors"]},
             {"question": "What does cut -b do?", "answer": "It selects only these bytes.",
              "facts": ["select only these bytes"]}]
    assert [c["id"] for c in right_chunks(tests, chunks)] == [chunks[0]["id"], chunks[1]["id"]]
    first, second = passages(tests, chunks, 3)
    assert first.split("\n") == ["Alarm: ALM-3653 Disk Usage Too High", "Possible Reasons:",
                                 "- Reason 1: the disk has bad sectors.", "- Reason 2: the backup files are too large.",
                                 "- Reason 3: old log files are not cleaned."]
    assert second == "cut > DESCRIPTION\n-b, --bytes=LIST\nselect only these bytes"
    assert passages([{**tests[0], "facts": ["nowhere said"]}], chunks, 3) == [CARD]  # no window: the chunk
