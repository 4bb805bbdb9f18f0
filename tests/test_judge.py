"""The quality judge: a dimension's score is p(yes) / (p(yes) + p(no)) of the next token, the same in
a padded batch as alone; a model that learned to judge ranks good pairs above bad ones; bad judge
prompt files are named."""

import math

import pytest
import torch

from selfevo.errors import PipelineError
from selfevo.judge import DIMENSIONS, JudgePrompts, answer_word_ids, judge_pairs, load_judge, yes_probabilities
from selfevo.modeling import load_model, load_tokenizer
from selfevo.prompts import render_prompt
from selfevo.training import tokenize_examples, train
from tiny import tiny_model, tiny_tokenizer

from conftest import REPO

JUDGE = JudgePrompts(template="Knowledge: {knowledge}\nQ: {question}\nA: {answer}\n{criterion}",
                     criteria={d: f"Is it {d}?" for d in DIMENSIONS}, yes="Yes", no="No")
CHUNKS = {"c1": "Alarm ALM-1 is raised when the fan stops.", "c2": "Alarm ALM-2 is raised when the power fails."}
GOOD = [{"chunk_id": "c1", "question": "When is ALM-1 raised?", "answer": "ALM-1 is raised when the fan stops."},
        {"chunk_id": "c2", "question": "When is ALM-2 raised?", "answer": "ALM-2 is raised when the power fails."}]
BAD = [{"chunk_id": "c1", "question": "When is ALM-1 raised?", "answer": "Bananas are yellow fruit."},
       {"chunk_id": "c2", "question": "When is ALM-2 raised?", "answer": "Paris is in France."}]


@pytest.mark.parametrize("language", ["en", "zh"])
def test_shipped_judge_prompts_load(language):
    judge = load_judge(REPO / "prompts" / language)
    assert set(judge.criteria) == set(DIMENSIONS) and judge.yes != judge.no


def test_a_broken_judge_file_is_named(tmp_path):
    (tmp_path / "judge.yaml").write_text("template: 'no placeholders'\ncriteria: {}\nyes_word: Yes\nno_word: No\n")
    with pytest.raises(PipelineError, match=r"judge.yaml: template: no \{knowledge\} placeholder"):
        load_judge(tmp_path)


def test_yes_probability_is_the_next_token_softmax_in_any_batch(tiny_base, model_params):
    model, tokenizer = load_model(tiny_base, model_params), load_tokenizer(tiny_base, model_params)
    texts = ["Is the fan faulty?", "Is the cable loose? It was checked twice and found to be loose.", "Yes or no?"]
    prompts = [tokenizer(render_prompt(tokenizer, [{"role": "user", "content": t}]),
                         add_special_tokens=False)["input_ids"] for t in texts]
    yes, no = answer_word_ids(tokenizer, "Yes"), answer_word_ids(tokenizer, "No")
    batched = yes_probabilities(model, prompts, yes, no, pad_id=tokenizer.pad_token_id, batch_size=3)
    for prompt, p in zip(prompts, batched):
        with torch.no_grad():
            probs = torch.softmax(model(torch.tensor([prompt])).logits[0, -1].float(), -1)
        expected = probs[yes].sum() / (probs[yes].sum() + probs[no].sum())
        assert p == pytest.approx(expected.item(), abs=1e-5)
    assert batched == pytest.approx(yes_probabilities(model, prompts, yes, no, pad_id=tokenizer.pad_token_id,
                                                      batch_size=1), abs=1e-6)


def test_a_model_that_learned_to_judge_ranks_good_pairs_above_bad():
    """A tiny model trained on judging prompts (answer Yes for a pair whose answer restates its chunk,
    No for one whose answer is off-topic) on other chunks ranks the held-out pairs correctly."""
    train_chunks = {f"t{i}": f"Alarm ALM-{i + 10} is raised when the {thing} fails."
                    for i, thing in enumerate(["fan", "board", "link", "disk", "clock", "port"])}
    offtopic = ["Bananas are yellow fruit.", "Paris is in France.", "Cats like milk.", "The sea is blue."]
    examples = []
    for i, (cid, text) in enumerate(train_chunks.items()):
        code = text.split()[1]
        good = {"chunk_id": cid, "question": f"When is {code} raised?", "answer": text.replace("Alarm ", "")}
        bad = {**good, "answer": offtopic[i % len(offtopic)]}
        for pair, reply in ((good, "Yes"), (bad, "No")):
            for dim in DIMENSIONS:
                content = (JUDGE.template.replace("{criterion}", JUDGE.criteria[dim])
                           .replace("{question}", pair["question"]).replace("{answer}", pair["answer"])
                           .replace("{knowledge}", train_chunks[cid]))
                examples.append(([{"role": "user", "content": content}], reply))
    texts = [m["content"] for messages, _ in examples for m in messages] + ["Yes", "No"] + list(CHUNKS.values())
    tokenizer = tiny_tokenizer(texts, 400)
    model = tiny_model(tokenizer)
    encoded, _ = tokenize_examples(tokenizer, examples, 256)
    train(model, encoded, pad_id=tokenizer.pad_token_id, lr=1.0e-2, batch_size=8, seed=0, max_steps=150)
    model.eval()
    scores = judge_pairs(model, tokenizer, GOOD + BAD, CHUNKS, JUDGE, batch_size=4, max_length=256)
    for dim in DIMENSIONS:
        good, bad = [s[dim] for s in scores[:2]], [s[dim] for s in scores[2:]]
        assert min(good) > 0.5 > max(bad), (dim, good, bad)
    assert all(0.0 <= s[d] <= 1.0 and not math.isnan(s[d]) for s in scores for d in DIMENSIONS)
