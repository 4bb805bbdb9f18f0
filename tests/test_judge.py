"""The quality judge: a dimension's score is p(yes) / (p(yes) + p(no)) of the next token, the same in
a padded batch as alone; a model that judges good pairs Yes and bad ones No is read so; bad judge
prompt files are named."""

import math

import pytest
import torch

from selfevo.errors import PipelineError
from selfevo.generate.prompts import render_prompt
from selfevo.models.modeling import load_model, load_tokenizer
from selfevo.score.judge import DIMENSIONS, JudgePrompts, answer_word_ids, judge_pairs, load_judge, yes_probabilities
from tiny import JUDGE_BAD, JUDGE_CHUNKS, JUDGE_GOOD, JUDGE_TEMPLATE, judge_criteria

from conftest import REPO

JUDGE = JudgePrompts(template=JUDGE_TEMPLATE, criteria=judge_criteria(), yes="Yes", no="No")
CHUNKS, GOOD, BAD = JUDGE_CHUNKS, JUDGE_GOOD, JUDGE_BAD


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


def test_a_judge_ranks_good_pairs_above_bad_in_any_batch(tiny_base, model_params):
    """The fixture says Yes to each good pair and No to each bad one, by wide margins
    (tests/test_tiny_chat.py): judge_pairs builds those prompts and reads those verdicts, in any batch."""
    model, tokenizer = load_model(tiny_base, model_params), load_tokenizer(tiny_base, model_params)
    scores = judge_pairs(model, tokenizer, GOOD + BAD, CHUNKS, JUDGE, batch_size=4, max_length=256)
    for dim in DIMENSIONS:
        good, bad = [s[dim] for s in scores[:2]], [s[dim] for s in scores[2:]]
        assert min(good) > 0.9 and max(bad) < 0.1, (dim, good, bad)
    one_at_a_time = judge_pairs(model, tokenizer, GOOD + BAD, CHUNKS, JUDGE, batch_size=1, max_length=256)
    assert one_at_a_time == [pytest.approx(s, abs=1e-5) for s in scores]
    assert all(0.0 <= s[d] <= 1.0 and not math.isnan(s[d]) for s in scores for d in DIMENSIONS)
