"""Closed-book evaluation: the reference NLL is the answer tokens' NLL after the question, and it
falls when a model learns the answers."""

import re
import shutil
import subprocess
import sys

import pytest
import torch

from conftest import REPO
from selfevo.config_train import EvaluateParams
from selfevo.errors import PipelineError
from selfevo.evaluate.evaluation import closed_book, general_ability, read_general, reference_nll
from selfevo.evaluate.metrics import keyword_score
from selfevo.generate.prompts import encode_example, qa_messages
from selfevo.models.modeling import load_model, load_tokenizer
from selfevo.train.training import tokenize_examples, train

PARAMS = EvaluateParams(test="test.jsonl", bleu_tokenize="13a", max_new_tokens=12, max_prompt_tokens=256, batch_size=2, open_book=True,
                        max_batch_tokens=None, no_repeat_ngram=0, general_max_new_tokens=8, cpu_autocast=True,
                        bootstrap_draws=200, seed=0)
TESTS = [{"question": "What causes the fan alarm?", "answer": "The fan tray is faulty."},
         {"question": "How is the cable alarm cleared?", "answer": "Tighten the loose cable, then check the port."},
         {"question": "Which planet is largest?", "answer": "Jupiter is the largest planet."}]


@pytest.fixture()
def model_and_tokenizer(tiny_base, model_params):
    return load_model(tiny_base, model_params, torch.device("cpu")), load_tokenizer(tiny_base, model_params)


def test_reference_nll_is_the_mean_answer_token_nll(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    by_hand = []
    with torch.no_grad():
        for t in TESTS:
            prompt, answer = encode_example(tokenizer, qa_messages(t["question"]), t["answer"])
            logits = model(torch.tensor([prompt + answer])).logits[0, len(prompt) - 1:-1]
            by_hand.append(torch.nn.functional.cross_entropy(logits, torch.tensor(answer)).item())
    assert reference_nll(model, tokenizer, TESTS, PARAMS) == pytest.approx(sum(by_hand) / len(by_hand), abs=1e-4)


def test_reference_nll_falls_when_the_model_learns_the_answers(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    before = reference_nll(model, tokenizer, TESTS, PARAMS)
    examples, _ = tokenize_examples(tokenizer, [(qa_messages(t["question"]), t["answer"]) for t in TESTS], 256)
    train(model, examples, pad_id=tokenizer.pad_token_id, lr=1.0e-2, batch_size=3, seed=0, max_steps=30)
    assert reference_nll(model, tokenizer, TESTS, PARAMS) < before - 1.0


@pytest.mark.parametrize("line,match", [
    ('{"question": "Why?", "answer": null}', r"line 2: `answer` must be a non-empty string, got None"),
    ('{"question": "  ", "answer": "Because."}', r"line 2: `question` must be a non-empty string"),
    ('{"question": "Why?"}', r"line 2: missing key\(s\) answer"),
])
def test_a_bad_test_record_stops_evaluate_before_any_model_loads(tmp_path, line, match):
    """The test file is read first: the model path given here does not even exist."""
    (tmp_path / "test.jsonl").write_text('{"question": "What?", "answer": "That."}\n' + line + "\n")
    shutil.copy(REPO / "params.yaml", tmp_path / "params.yaml")
    result = subprocess.run([sys.executable, str(REPO / "stages" / "evaluate.py"), "--model", "models/none",
                             "--test", "test.jsonl", "--metrics", "m.json", "--stats", "s.json", "--predictions", "p.jsonl",
                             "--general", str(REPO / "data" / "general.jsonl"), "--general-predictions", "g.jsonl"],
                            cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 1
    assert re.search(r"test.jsonl: " + match, result.stderr), result.stderr
    assert "models/none" not in result.stderr


def test_keyword_score_counts_whole_words_only():
    predictions = ["The capital of France is Paris.", "It is 12.", "I think 120.", "PARIS!"]
    keywords = [["Paris"], ["12"], ["12"], ["paris"]]
    assert keyword_score(predictions, keywords) == 0.75  # "120" is not "12"


def test_general_set_is_read_and_scored(tiny_base, model_params, tmp_path):
    (tmp_path / "g.jsonl").write_text('{"question": "Q?", "answer": "A.", "keywords": []}\n')
    with pytest.raises(PipelineError, match=r"g.jsonl: record 1: `keywords` must be a non-empty list"):
        read_general(tmp_path / "g.jsonl")
    items = read_general(REPO / "data" / "general.jsonl")
    assert len(items) >= 100 and len({i["question"] for i in items}) == len(items)
    model, tokenizer = load_model(tiny_base, model_params), load_tokenizer(tiny_base, model_params)
    nll = reference_nll(model, tokenizer, items[:4], PARAMS)
    metrics, predictions = general_ability(model, tokenizer, items[:4], PARAMS, nll)
    assert set(metrics) == {"general_score", "general_score_low", "general_score_high", "general_nll",
                            "general_questions"} and metrics["general_nll"] == nll and metrics["general_questions"] == 4
    assert 0 <= metrics["general_score_low"] <= metrics["general_score"] <= metrics["general_score_high"] <= 1 and nll > 0
    assert [p["question"] for p in predictions] == [i["question"] for i in items[:4]]
    hits = keyword_score([p["prediction"] for p in predictions], [i["keywords"] for i in items[:4]])
    assert metrics["general_score"] == hits


def test_references_longer_than_the_reply_budget_are_counted(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    metrics, _ = closed_book(model, tokenizer, TESTS, PARAMS, nlls=[1.5] * len(TESTS))
    assert metrics["reference_nll"] == 1.5 and metrics["questions"] == len(TESTS)
    lengths = [len(tokenizer(t["answer"], add_special_tokens=False)["input_ids"]) for t in TESTS]
    assert metrics["references_over_budget"] == sum(n > PARAMS.max_new_tokens for n in lengths) > 0
    assert metrics["questions_cut"] == 0


def test_closed_book_scores_facts_with_intervals_and_a_chance_level(model_and_tokenizer):
    """A test set with facts: each prediction says which facts it states, fact recall is their share, and
    every headline figure lies inside its interval; without facts the fact figures are absent, not 0."""
    model, tokenizer = model_and_tokenizer
    from tiny import pipeline_cards, severity_answer, severity_question

    tests = [{"question": severity_question(code), "answer": severity_answer(code, level), "facts": [level, "alarm"],
              "kind": "severity"} for code, level in pipeline_cards()]
    nlls = [1.0 + i / 10 for i in range(len(tests))]
    metrics, predictions = closed_book(model, tokenizer, tests, PARAMS, nlls)
    stated = [s for p in predictions for s in p["stated"]]
    assert all(len(p["stated"]) == 2 for p in predictions) and metrics["facts"] == 2 * len(tests)
    assert metrics["fact_recall"] == round(sum(stated) / len(stated), 4)
    assert metrics["facts_all"] == round(sum(all(p["stated"]) for p in predictions) / len(tests), 4)
    for name in ("bleu", "fact_recall", "reference_nll"):
        assert metrics[f"{name}_low"] <= metrics[name] <= metrics[f"{name}_high"], name
    assert metrics["reference_nll"] == pytest.approx(sum(nlls) / len(nlls), abs=1e-4)
    assert 0 <= metrics["fact_chance"] <= 1
    plain, plain_predictions = closed_book(model, tokenizer, [{k: t[k] for k in ("question", "answer")} for t in tests],
                                           PARAMS, nlls)
    assert not {"fact_recall", "facts_all", "fact_chance"} & set(plain) and "stated" not in plain_predictions[0]
    assert plain["bleu"] == metrics["bleu"]


@pytest.mark.parametrize("reply,asks", [
    ("What should I check?", True),
    ("How do I stop the rsync daemon? Run systemctl stop rsync.", True),
    ("How do I stop the rsync daemon", True),  # the question said back
    ("The rsync daemon: how do I stop it", False),
    ("How do I stop the rsync daemon is with systemctl stop rsync", False),  # said again, then answered
    ("Run systemctl stop rsync to stop the daemon.", False),
    ("The daemon stops with systemctl stop rsync. What else? Nothing.", False),
    ("", False),
])
def test_a_reply_that_asks_back_is_counted(reply, asks):
    from selfevo.evaluate.metrics import asks_back, question_metrics

    assert asks_back("How do I stop the rsync daemon?", reply) is asks
    records = [{"question": "How do I stop the rsync daemon?", "reference": "Run systemctl stop rsync.",
                "prediction": p, "nll": 1.0} for p in (reply, "Run systemctl stop rsync.")]
    assert question_metrics(records, "13a")["question_replies"](range(2)) == asks / 2
