"""Answer-quality metrics against references, with no model: corpus BLEU and chrF (sacrebleu), mean
ROUGE-L F1 (rouge-score), fact recall (selfevo/evaluate/facts.py), the paper's score, BLEU relative to θ_HQ's, and
each headline figure as a function of the test questions it is computed on, for the bootstrap intervals
(selfevo/evaluate/intervals.py). The report needs only these."""

from __future__ import annotations

import re

import sacrebleu
from rouge_score import rouge_scorer
from sacrebleu.metrics import BLEU

from selfevo.evaluate.intervals import Metric, difference, mean_of, ratio, ratio_of_sums
from selfevo.text import words

HEADLINE = ("bleu", "fact_recall", "fact_recall_low", "fact_recall_high", "reference_nll", "general_score")
"""What a model's metrics file holds, so that a plain `dvc metrics show` fits a terminal; the rest of an
evaluation (rounds trained, counts, budgets, the general set's NLL) goes to its stats file."""


def split_headline(metrics: dict) -> tuple[dict, dict]:
    """An evaluation's metrics as (headline, detail)."""
    return ({k: v for k, v in metrics.items() if k in HEADLINE},
            {k: v for k, v in metrics.items() if k not in HEADLINE})


class _CharTokenizer:
    """ROUGE over characters, for Chinese: rouge-score's default tokenizer keeps only [a-z0-9]."""

    @staticmethod
    def tokenize(text: str) -> list[str]:
        return [ch for ch in text if not ch.isspace()]


def rouge_l(hypotheses: list[str], references: list[str], tokenize: str) -> float:
    """Mean ROUGE-L F1 (0-100) over the pairs; by characters when BLEU's tokenizer is `zh`."""
    tokenizer = _CharTokenizer() if tokenize == "zh" else None
    scorer = rouge_scorer.RougeScorer(["rougeL"], tokenizer=tokenizer)
    scores = [scorer.score(ref, hyp)["rougeL"].fmeasure for hyp, ref in zip(hypotheses, references)]
    return 100.0 * sum(scores) / len(scores) if scores else 0.0


def score_answers(hypotheses: list[str], references: list[str], tokenize: str) -> dict[str, float]:
    bleu = sacrebleu.corpus_bleu(hypotheses, [references], tokenize=tokenize)
    chrf = sacrebleu.corpus_chrf(hypotheses, [references])
    return {"bleu": round(bleu.score, 4), "chrf": round(chrf.score, 4),
            "rouge_l": round(rouge_l(hypotheses, references, tokenize), 4)}


def paper_score(bleu: float, hq_bleu: float) -> float | None:
    """The paper's score: BLEU(θ) / BLEU(θ_HQ), θ_HQ from the same run; None (undefined) when θ_HQ's
    BLEU is 0, as it can be on a new corpus, so the report still shows every other metric."""
    return round(bleu / hq_bleu, 4) if hq_bleu > 0 else None


def keyword_hit(prediction: str, words: list[str]) -> bool:
    """Whether the prediction holds one of the words as a whole word, case-insensitive."""
    return any(re.search(rf"(?<!\w){re.escape(w)}(?!\w)", prediction, re.IGNORECASE) for w in words)


def keyword_score(predictions: list[str], keywords: list[list[str]]) -> float:
    """Share (0-1) of predictions holding one of their keywords as a whole word, case-insensitive."""
    hits = [keyword_hit(p, k) for p, k in zip(predictions, keywords)]
    return round(sum(hits) / len(hits), 4) if hits else 0.0


def bleu_of(hypotheses: list[str], references: list[str], tokenize: str) -> Metric:
    """Corpus BLEU (0-100) of any multiset of the pairs, from each pair's n-gram counts: on all of them it
    is sacrebleu's corpus_bleu."""
    bleu = BLEU(tokenize=tokenize)
    stats = bleu._extract_corpus_statistics(hypotheses, [references])  # one row of counts per pair

    def metric(idx) -> float:
        total = [sum(stats[i][k] for i in idx) for k in range(len(stats[0]))]
        return bleu._compute_score_from_stats(total).score
    return metric


_QUESTION_FIRST = re.compile(r"^[^.!。！\n]*[?？]")


def asks_back(question: str, reply: str) -> bool:
    """Whether a closed-book reply is no answer: its first sentence is a question ("What should I
    check?"), or it is the question said again, word for word, with at most two words more. A model
    that does this learned to ask where it is asked. (A reply made of the question's words in another
    order, "ALM-1 on the BBU is serious", is an answer.)"""
    if _QUESTION_FIRST.match(reply.strip()):
        return True
    asked, said = words(question), words(reply)
    return len(asked) >= 3 and said[:len(asked)] == asked and len(said) <= len(asked) + 2


def question_metrics(records: list[dict], tokenize: str) -> dict[str, Metric]:
    """The test-set figures as functions of question indices, from evaluate's prediction records
    ({question, reference, prediction, nll; with facts: stated, one bool per fact, and the chance level's
    chance_stated and chance_facts; with the open-book pass: open_stated}): fact recall, the chance level,
    recall minus chance (paired on every resample), the open-book recall and closed-book / open-book."""
    metrics = {"bleu": bleu_of([r["prediction"] for r in records], [r["reference"] for r in records], tokenize),
               "reference_nll": mean_of([r["nll"] for r in records]),
               "question_replies": mean_of([float(asks_back(r["question"], r["prediction"])) for r in records])}
    if all("stated" in r for r in records):
        recall = ratio_of_sums([sum(r["stated"]) for r in records], [len(r["stated"]) for r in records])
        metrics["fact_recall"] = recall
        if all("chance_stated" in r for r in records):
            chance = ratio_of_sums([r["chance_stated"] for r in records], [r["chance_facts"] for r in records])
            metrics.update(chance_recall=chance, recall_above_chance=difference(recall, chance))
        if all("open_stated" in r for r in records):
            opened = ratio_of_sums([sum(r["open_stated"]) for r in records], [len(r["open_stated"]) for r in records])
            metrics.update(open_fact_recall=opened, closed_over_open=ratio(recall, opened))
    return metrics


def general_metrics(records: list[dict]) -> dict[str, Metric]:
    """The general-ability score as a function of general-question indices."""
    return {"general_score": mean_of([float(keyword_hit(r["prediction"], r["keywords"])) for r in records])}
