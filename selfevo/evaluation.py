"""Closed-book evaluation of a model: its greedy answers scored against the references (selfevo/metrics.py),
and the reference NLL, how likely the model finds the reference answers (a smooth measure next to the
n-gram overlap of its greedy ones)."""

from __future__ import annotations

from selfevo.config import EvaluateParams
from selfevo.errors import PipelineError
from selfevo.generation import count_over, generate
from selfevo.ifd import answer_nll
from selfevo.jsonio import read_jsonl
from selfevo.metrics import keyword_score, score_answers
from selfevo.prompts import encode_example, qa_messages


def read_tests(path) -> list[dict]:
    tests = read_jsonl(path, required=("question", "answer"), texts=("question", "answer"))
    if not tests:
        raise PipelineError(f"{path}: no test questions")
    return tests


def reference_nll(model, tokenizer, tests: list[dict], params: EvaluateParams, desc: str = "evaluate") -> float:
    """The mean over test questions of the reference answer's per-token NLL after its question, with
    no document, chat-formatted as in training. Lower is better. Unlike BLEU of a greedy answer, it
    moves with every bit of knowledge a round adds, also when the greedy answer is still wrong."""
    sequences = []
    for t in tests:
        prompt, answer = encode_example(tokenizer, qa_messages(t["question"]), t["answer"])
        sequences.append((prompt[-params.max_prompt_tokens:], answer))
    nll = answer_nll(model, sequences, pad_id=tokenizer.pad_token_id, batch_size=params.batch_size,
                     max_batch_tokens=params.max_batch_tokens, desc=f"{desc}: reference NLL")
    return round(sum(nll) / len(nll), 4)


def greedy_answers(model, tokenizer, questions: list[str], params: EvaluateParams, max_new_tokens: int,
                   desc: str) -> list[str]:
    return generate(model, tokenizer, [qa_messages(q) for q in questions], [0] * len(questions),
                    max_new_tokens=max_new_tokens, temperature=0.0, top_p=1.0, batch_size=params.batch_size,
                    max_batch_tokens=params.max_batch_tokens, max_prompt_tokens=params.max_prompt_tokens,
                    no_repeat_ngram=params.no_repeat_ngram, desc=desc)


def closed_book(answerer, tokenizer, tests: list[dict], params: EvaluateParams, nll: float, desc: str = "evaluate"):
    """Greedy answers to the test questions with no document, by `answerer` (a torch model, or a vLLM
    one: selfevo.vllm_backend); the metrics, with the reference NLL `nll` (`reference_nll`, computed
    first by the torch model), and, per question, the prediction next to the reference."""
    answers = greedy_answers(answerer, tokenizer, [t["question"] for t in tests], params, params.max_new_tokens, desc)
    budget = {"questions_cut": count_over(tokenizer, [qa_messages(t["question"]) for t in tests], params.max_prompt_tokens),
              "references_over_budget": sum(len(tokenizer(t["answer"], add_special_tokens=False)["input_ids"])
                                            > params.max_new_tokens for t in tests)}
    metrics = {**score_answers(answers, [t["answer"] for t in tests], params.bleu_tokenize),
               "reference_nll": nll, "questions": len(tests), **budget}
    predictions = [{"question": t["question"], "reference": t["answer"], "prediction": a}
                   for t, a in zip(tests, answers)]
    return metrics, predictions


def read_general(path) -> list[dict]:
    """The general-ability set: {question, answer, keywords} records (scripts/make_general_set.py)."""
    items = read_jsonl(path, required=("question", "answer", "keywords"), texts=("question", "answer"))
    if not items:
        raise PipelineError(f"{path}: no general questions")
    for line, item in enumerate(items, 1):
        keywords = item["keywords"]
        if not isinstance(keywords, list) or not keywords or not all(isinstance(k, str) and k.strip() for k in keywords):
            raise PipelineError(f"{path}: record {line}: `keywords` must be a non-empty list of strings")
    return items


def general_ability(answerer, tokenizer, items: list[dict], params: EvaluateParams, nll: float,
                    desc: str = "general"):
    """Whether domain tuning kept general ability (Dial-insight's capability collapse): the share of
    everyday questions whose greedy reply holds a right keyword, and the reference answers' NLL `nll`."""
    answers = greedy_answers(answerer, tokenizer, [i["question"] for i in items], params,
                             params.general_max_new_tokens, desc)
    metrics = {"general_score": keyword_score(answers, [i["keywords"] for i in items]),
               "general_nll": nll, "general_questions": len(items)}
    predictions = [{"question": i["question"], "keywords": i["keywords"], "prediction": a}
                   for i, a in zip(items, answers)]
    return metrics, predictions
