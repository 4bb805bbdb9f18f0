"""Closed-book answer quality against references: corpus BLEU and chrF (sacrebleu), mean ROUGE-L F1
(rouge-score), and the paper's score, BLEU relative to θ_HQ's; and the reference NLL, how likely the
model finds the reference answers (a smooth measure next to the n-gram overlap of its greedy ones)."""

from __future__ import annotations

import sacrebleu
from rouge_score import rouge_scorer

from selfevo.config import EvaluateParams
from selfevo.errors import PipelineError
from selfevo.jsonio import read_jsonl
from selfevo.prompts import encode_example, qa_messages


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


def paper_score(bleu: float, hq_bleu: float, hq_source: str) -> float:
    """The paper's score: BLEU(θ) / BLEU(θ_HQ), θ_HQ from the same run."""
    if hq_bleu <= 0:
        raise PipelineError(f"{hq_source}: θ_HQ has BLEU {hq_bleu}, so BLEU/BLEU_HQ is undefined")
    return round(bleu / hq_bleu, 4)


def read_tests(path) -> list[dict]:
    tests = read_jsonl(path, required=("question", "answer"))
    if not tests:
        raise PipelineError(f"{path}: no test questions")
    return tests


def reference_nll(model, tokenizer, tests: list[dict], params: EvaluateParams, desc: str = "evaluate") -> float:
    """The mean over test questions of the reference answer's per-token NLL after its question, with
    no document, chat-formatted as in training. Lower is better. Unlike BLEU of a greedy answer, it
    moves with every bit of knowledge a round adds, also when the greedy answer is still wrong."""
    from selfevo.ifd import answer_nll  # torch: only for stages that run a model, not the report

    sequences = []
    for t in tests:
        prompt, answer = encode_example(tokenizer, qa_messages(t["question"]), t["answer"])
        sequences.append((prompt[-params.max_prompt_tokens:], answer))
    nll = answer_nll(model, sequences, pad_id=tokenizer.pad_token_id, batch_size=params.batch_size,
                     max_batch_tokens=params.max_batch_tokens, desc=f"{desc}: reference NLL")
    return round(sum(nll) / len(nll), 4)


def closed_book(model, tokenizer, tests: list[dict], params: EvaluateParams, desc: str = "evaluate"):
    """Greedy answers to the test questions with no document; the metrics (with the reference NLL) and,
    per question, the prediction next to the reference."""
    from selfevo.generation import generate  # torch: only for stages that run a model, not the report

    answers = generate(model, tokenizer, [qa_messages(t["question"]) for t in tests], [0] * len(tests),
                       max_new_tokens=params.max_new_tokens, temperature=0.0, top_p=1.0,
                       batch_size=params.batch_size, max_batch_tokens=params.max_batch_tokens,
                       max_prompt_tokens=params.max_prompt_tokens, no_repeat_ngram=params.no_repeat_ngram,
                       desc=desc)
    metrics = {**score_answers(answers, [t["answer"] for t in tests], params.bleu_tokenize),
               "reference_nll": reference_nll(model, tokenizer, tests, params, desc), "questions": len(tests)}
    predictions = [{"question": t["question"], "reference": t["answer"], "prediction": a}
                   for t, a in zip(tests, answers)]
    return metrics, predictions
