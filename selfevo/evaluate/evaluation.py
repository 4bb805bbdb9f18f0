"""Closed-book evaluation of a model: its greedy answers scored against the references (selfevo/evaluate/metrics.py)
and, where the test records list them, against their facts (selfevo/evaluate/facts.py); and the reference NLL, how
likely the model finds the reference answers (a smooth measure next to the n-gram overlap of its greedy
ones). Every headline figure comes with its 95% bootstrap interval over the questions."""

from __future__ import annotations

from selfevo.config_train import EvaluateParams
from selfevo.data.testset import has_facts
from selfevo.errors import PipelineError
from selfevo.evaluate.chance import chance_counts
from selfevo.evaluate.facts import Fact, FactScore, compile_tests, stated_facts, tokens
from selfevo.evaluate.intervals import Metric, estimate, resamples
from selfevo.evaluate.metrics import general_metrics, question_metrics, score_answers
from selfevo.generate.anchors import windows
from selfevo.generate.generation import generate
from selfevo.generate.prompts import Prompts, answer_messages, encode_example, fit_prompt, fit_question
from selfevo.jsonio import read_jsonl
from selfevo.score.nll import answer_nll
from selfevo.text import content_words


def reference_nlls(model, tokenizer, tests: list[dict], params: EvaluateParams, desc: str = "evaluate") -> list[float]:
    """Per test question, the reference answer's mean per-token NLL after its question, with no document,
    chat-formatted as in training. Lower is better. Unlike BLEU of a greedy answer, it moves with every
    bit of knowledge a round adds, also when the greedy answer is still wrong."""
    sequences = []
    for t in tests:
        messages, _ = fit_question(tokenizer, t["question"], params.max_prompt_tokens)
        sequences.append(encode_example(tokenizer, messages, t["answer"]))
    nll = answer_nll(model, sequences, pad_id=tokenizer.pad_token_id, batch_size=params.batch_size,
                     max_batch_tokens=params.max_batch_tokens, desc=f"{desc}: reference NLL")
    return [round(x, 4) for x in nll]


def reference_nll(model, tokenizer, tests: list[dict], params: EvaluateParams, desc: str = "evaluate") -> float:
    """The mean of `reference_nlls` over the test questions."""
    nlls = reference_nlls(model, tokenizer, tests, params, desc)
    return round(sum(nlls) / len(nlls), 4)


def with_intervals(metrics: dict[str, Metric], n: int, params: EvaluateParams) -> dict[str, float]:
    """Each metric on all n questions, and its 95% interval over `evaluate.bootstrap_draws` resamples
    (`name_low`, `name_high`): the same resamples for every model, so differences are paired."""
    samples = resamples(n, params.bootstrap_draws, params.seed)
    figures: dict[str, float] = {}
    for name, metric in metrics.items():
        figures.update(zip((name, f"{name}_low", f"{name}_high"), estimate(metric, samples)))
    return figures


def greedy_answers(model, tokenizer, questions: list[str], params: EvaluateParams, max_new_tokens: int,
                   desc: str) -> tuple[list[str], int]:
    """Greedy closed-book answers, and how many questions had to be cut to `evaluate.max_prompt_tokens`."""
    fitted = [fit_question(tokenizer, q, params.max_prompt_tokens) for q in questions]
    return generate(model, tokenizer, [messages for messages, _ in fitted], [0] * len(questions),
                    max_new_tokens=max_new_tokens, temperature=0.0, top_p=1.0, batch_size=params.batch_size,
                    max_batch_tokens=params.max_batch_tokens, max_prompt_tokens=params.max_prompt_tokens,
                    no_repeat_ngram=params.no_repeat_ngram, desc=desc), sum(cut for _, cut in fitted)


def fact_figures(predictions: list[dict]) -> dict:
    """The share of questions whose answer states all its facts, and the chance level: the fact recall of
    the same answers against the facts of other questions of the same kind (`kind`, where records have one)."""
    score = FactScore(stated=[sum(p["stated"]) for p in predictions], total=[len(p["stated"]) for p in predictions])
    chance = sum(p["chance_stated"] for p in predictions) / max(sum(p["chance_facts"] for p in predictions), 1e-9)
    return {"facts_all": round(score.all_stated, 4), "fact_chance": round(chance, 4), "facts": sum(score.total)}


def right_chunks(tests: list[dict], chunks: list[dict]) -> list[dict]:
    """Per test record, the chunk that answers it: of the chunks of its `source` document where it names
    one (else of all), the one stating most of its facts, then sharing most content words with its
    question and reference answer."""
    chunk_tokens = [tokens(c["text"]) for c in chunks]
    chunk_words = [set(content_words(c["text"])) for c in chunks]
    picked = []
    for t in tests:
        pool = [i for i, c in enumerate(chunks) if t.get("source") and c.get("source") == t["source"]] \
            or range(len(chunks))
        facts = [Fact.plain(f) for f in t.get("facts", [])]
        asked = set(content_words(t["question"] + " " + t["answer"]))
        picked.append(chunks[max(pool, key=lambda i: (sum(f.stated_in(chunk_tokens[i]) for f in facts),
                                                       len(asked & chunk_words[i]), -i))])
    return picked


def passages(tests: list[dict], chunks: list[dict], window: int) -> list[str]:
    """Per test record, the passage that states its facts: the windows of its chunk (`right_chunks`,
    `anchors.windows` of `window` units) that state one of them, under the chunk's title; the whole chunk
    where no window does."""
    out = []
    for t, chunk in zip(tests, right_chunks(tests, chunks)):
        facts = [Fact.plain(f) for f in t.get("facts", [])]
        found = [w for w in windows(chunk["text"], window) if any(f.stated_in(tokens(w.answer)) for f in facts)]
        out.append("\n".join([found[0].title] + [line for w in found for line in w.answer.split("\n")[1:]])
                   if found else chunk["text"])
    return out


def open_book(answerer, tokenizer, tests: list[dict], texts: list[str], prompts: Prompts,
              params: EvaluateParams, desc: str = "open book") -> list[str]:
    """Greedy answers to the test questions with `texts` (`passages`) in view, in the answer prompt that
    generation writes answers with: what the model says when it reads the document, the bound of what
    closed-book rounds can reach."""
    fitted = [fit_prompt(tokenizer, lambda text, q=t["question"]: answer_messages(prompts, text, q), text,
                         params.max_prompt_tokens, what="the open-book prompt")[0] for t, text in zip(tests, texts)]
    return generate(answerer, tokenizer, fitted, [0] * len(tests), max_new_tokens=params.max_new_tokens,
                    temperature=0.0, top_p=1.0, batch_size=params.batch_size, max_batch_tokens=params.max_batch_tokens,
                    max_prompt_tokens=params.max_prompt_tokens, no_repeat_ngram=params.no_repeat_ngram, desc=desc)


def closed_book(answerer, tokenizer, tests: list[dict], params: EvaluateParams, nlls: list[float],
                desc: str = "evaluate", opened: list[str] | None = None):
    """Greedy answers to the test questions with no document, by `answerer` (a torch model, or a vLLM
    one: selfevo.generate.vllm_backend); the metrics with their intervals, from the per-question reference NLLs
    `nlls` (`reference_nlls`, computed first by the torch model), and per question the prediction next
    to the reference, its NLL, which of its facts it states, the chance level's counts (its answer against
    other questions' facts) and, given the open-book answers `opened`, which facts those state."""
    answers, cut = greedy_answers(answerer, tokenizer, [t["question"] for t in tests], params, params.max_new_tokens,
                                  desc)
    budget = {"questions_cut": cut, "references_over_budget": sum(len(tokenizer(t["answer"], add_special_tokens=False)["input_ids"])
                                            > params.max_new_tokens for t in tests)}
    predictions = [{"question": t["question"], "reference": t["answer"], "prediction": a, "nll": nll}
                   for t, a, nll in zip(tests, answers, nlls)]
    if has_facts(tests):
        chance_stated, chance_facts = chance_counts(answers, tests, seed=params.seed)
        for n, (p, t, facts) in enumerate(zip(predictions, tests, compile_tests(tests))):
            p.update(facts=t["facts"], stated=stated_facts(p["prediction"], facts),
                     chance_stated=chance_stated[n], chance_facts=chance_facts[n])
            if opened is not None:
                p.update(open_prediction=opened[n], open_stated=stated_facts(opened[n], facts))
    metrics = {**score_answers(answers, [t["answer"] for t in tests], params.bleu_tokenize),
               **with_intervals(question_metrics(predictions, params.bleu_tokenize), len(tests), params),
               **(fact_figures(predictions) if has_facts(tests) else {}),
               "questions": len(tests), **budget}
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
    answers, _ = greedy_answers(answerer, tokenizer, [i["question"] for i in items], params,
                                params.general_max_new_tokens, desc)
    predictions = [{"question": i["question"], "keywords": i["keywords"], "prediction": a}
                   for i, a in zip(items, answers)]
    metrics = {**with_intervals(general_metrics(predictions), len(items), params),
               "general_nll": nll, "general_questions": len(items)}
    return metrics, predictions
