"""The embedded base's reading check: does the model's NLL depend on the document it is given?"""

import pytest
import torch

from selfevo.embedded import reading_check
from selfevo.errors import PipelineError
from selfevo.modeling import load_model, load_tokenizer
from selfevo.prompts import Prompts

PROMPTS = Prompts(question="Document: {knowledge}\nWrite one question.",
                  answer="Question: {question}\nDocument: {knowledge}\nAnswer:")


def cards(documents):
    return [{"document": d, "qa": [[f"What about card {i}?", f"Card {i} says: {d}"]]} for i, d in enumerate(documents)]


@pytest.fixture(scope="module")
def model_and_tokenizer(tiny_base, model_params):
    return load_model(tiny_base, model_params, torch.device("cpu")), load_tokenizer(tiny_base, model_params)


def test_documents_that_differ_change_the_nll(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    result = reading_check(model, tokenizer, cards(["The fan tray is faulty.", "The cable is loose.",
                                                    "Jupiter is the largest planet."]), PROMPTS, batch_size=2)
    assert result["cards"] == 3
    assert result["question_gain"] != 0 and result["answer_gain"] != 0
    assert result["answer_gain"] == pytest.approx(result["answer_nll_other_doc"] - result["answer_nll_own_doc"],
                                                  abs=2e-4)


def test_a_model_given_the_same_document_everywhere_gains_nothing(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    result = reading_check(model, tokenizer, cards(["The cable is loose."] * 3), PROMPTS, batch_size=2)
    assert result["question_gain"] == 0 and result["answer_gain"] == 0


def test_one_card_is_not_enough(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    with pytest.raises(PipelineError, match="at least 2"):
        reading_check(model, tokenizer, cards(["The cable is loose."]), PROMPTS, batch_size=2)
