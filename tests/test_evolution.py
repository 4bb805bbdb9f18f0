"""Prompt evolution: the seed set is checked, each chunk's draw is seeded and follows the weights, the
fittest variants survive and get a child, mutations are cleaned; and the diversity measures."""

import shutil
from collections import Counter

import pytest
import yaml

from conftest import REPO
from selfevo.errors import PipelineError
from selfevo.generate.diversity import distinct_2, kind_shares, question_kind
from selfevo.generate.evolution import (choose_variant, clean_task, fitness, load_seed_set, next_generation,
                               question_template)
from selfevo.text import jaccard

SET = {"frame": "Doc: {knowledge}\n{task}", "evolve": "Rewrite: {task}",
       "variants": [{"id": "s0", "kind": "fact", "form": "direct", "task": "Write one question.", "weight": 1.0,
                     "parent": None, "born": "seed"},
                    {"id": "s1", "kind": "cause", "form": "direct", "task": "Write one question on causes.",
                     "weight": 3.0, "parent": None, "born": "seed"},
                    {"id": "s2", "kind": "threshold", "form": "short", "task": "Write one question on values.",
                     "weight": 0.0, "parent": None, "born": "seed"}]}


@pytest.mark.parametrize("language", ["en", "zh"])
def test_shipped_seed_sets_load_and_fill_the_frame(language):
    prompt_set = load_seed_set(REPO / "prompts" / language)
    assert len(prompt_set["variants"]) >= 6 and len({v["kind"] for v in prompt_set["variants"]}) >= 5
    template = question_template(prompt_set, prompt_set["variants"][1])
    assert "{knowledge}" in template and "{task}" not in template and prompt_set["variants"][1]["task"] in template


def test_a_bad_seed_set_is_named(tmp_path):
    (tmp_path / "variants.yaml").write_text(yaml.safe_dump({"frame": "{task}", "evolve": "{task}", "seeds": []}))
    with pytest.raises(PipelineError, match=r"variants.yaml: frame: no \{knowledge\} placeholder"):
        load_seed_set(tmp_path)


def test_draws_are_seeded_per_chunk_and_follow_the_weights():
    chunks = [f"c{i}" for i in range(600)]
    draws = [choose_variant(SET["variants"], 0, 1, c)["id"] for c in chunks]
    assert draws == [choose_variant(SET["variants"], 0, 1, c)["id"] for c in chunks]  # seeded
    assert choose_variant(SET["variants"], 0, 1, "c5") == choose_variant(SET["variants"], 0, 1, "c5")
    counts = Counter(draws)
    assert counts["s2"] == 0 and 2.2 < counts["s1"] / counts["s0"] < 4.0  # weights 1 : 3 : 0
    assert draws != [choose_variant(SET["variants"], 0, 2, c)["id"] for c in chunks]  # another round draws anew


def test_the_fittest_survive_with_a_child_each():
    judge = lambda x: {d: x for d in ("answerable", "faithful", "self_contained", "one_question")}
    kept = [{"variant": "s0", "judge": judge(0.9), "ifd": 0.8}, {"variant": "s0", "judge": judge(0.7), "ifd": 2.0},
            {"variant": "s1", "judge": judge(0.5), "ifd": 0.5}]
    scores = fitness(SET["variants"], Counter({"s0": 2, "s1": 4}), kept)
    # s0: (0.9 + 0.7 / 2) / 2 drawn; s1: 0.5 / 4 drawn (3 of its pairs were dropped); s2 not drawn: its weight
    assert scores == {"s0": pytest.approx(0.625), "s1": pytest.approx(0.125), "s2": 0.0}
    evolved = next_generation(SET, scores, {"s0": "Write one question about the fix.", "s1": None}, keep=2, label=0)
    assert [v["id"] for v in evolved["variants"]] == ["s0", "s1", "r0-s0"]
    child = evolved["variants"][2]
    assert child["parent"] == "s0" and child["task"] == "Write one question about the fix." and child["born"] == 0
    assert evolved["variants"][1]["weight"] == pytest.approx(0.125) and evolved["frame"] == SET["frame"]


@pytest.mark.parametrize("raw,expected", [
    ("Write one question about the fix.", "Write one question about the fix."),
    ('"Write one question about the fix"\nextra', "Write one question about the fix."),
    ("New instruction: Write one question about the fix.", "Write one question about the fix."),
    ("Tell me a joke.", None),                                          # not the seeds' form
    ("Write one question. Then write two more.", None),                 # two sentences
    ("Write one question.", None),                                      # an existing task
])
def test_mutations_are_cleaned(raw, expected):
    assert clean_task(raw, "Write one", {"Write one question."}) == expected


def test_diversity_measures():
    same = ["What is the purpose of ALM-1?", "What is the purpose of ALM-2?"]
    varied = ["What causes ALM-1?", "How do I clear ALM-2 on the board?"]
    assert distinct_2(varied) > distinct_2(same)
    assert question_kind("Why is ALM-1 raised?") == "cause"
    assert question_kind("At what temperature is ALM-1 raised?") == "threshold"
    assert question_kind("How do I clear ALM-1?") == "procedure"
    assert question_kind("What is the purpose of ALM-1?") == "purpose"
    assert kind_shares(same + varied) == {"cause": 0.25, "procedure": 0.25, "purpose": 0.5}
    assert jaccard(same[0], same[0]) == 1.0 and 0 < jaccard(same[0], same[1]) < 1


def test_line_coverage_counts_the_lines_a_chunks_pairs_restate():
    from selfevo.generate.diversity import line_coverage

    chunks = [{"id": "a", "text": "Alarm: ALM-100\nSeverity: major\nCause: fan failure"},
              {"id": "b", "text": "Alarm: ALM-200\nSeverity: minor"}]
    pairs = [{"chunk_id": "a", "question": "What is the severity of ALM-100?", "answer": "It is major."}]
    assert line_coverage(chunks, pairs) == round((2 / 3 + 0) / 2, 4)  # a: alarm and severity lines; b: no pair
    assert line_coverage(chunks, []) == 0.0


def test_the_set_holds_no_variants_when_no_question_is_asked_from_it(tmp_path):
    """With no evolution and one question per chunk, an edit of variants.yaml leaves the set (an input
    of every round's generate and train) byte-identical; with either on, the set is the seeds."""
    from selfevo.generate.evolution import set_in_use

    folder = tmp_path / "prompts"
    shutil.copytree(REPO / "prompts" / "en", folder)
    unused = set_in_use(folder, evolve=False, questions_per_chunk=1)
    assert unused["variants"] == [] and set_in_use(folder, True, 1) == load_seed_set(folder) == set_in_use(folder, False, 3)
    text = (folder / "variants.yaml").read_text(encoding="utf-8")
    (folder / "variants.yaml").write_text(text.replace("question", "query", 1), encoding="utf-8")
    assert set_in_use(folder, False, 1) == unused and set_in_use(folder, True, 1) != load_seed_set(REPO / "prompts" / "en")
