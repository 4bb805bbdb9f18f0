"""Closed-book answer quality against references: corpus BLEU and chrF (sacrebleu)."""

from __future__ import annotations

import sacrebleu


def score_answers(hypotheses: list[str], references: list[str], tokenize: str) -> dict[str, float]:
    bleu = sacrebleu.corpus_bleu(hypotheses, [references], tokenize=tokenize)
    chrf = sacrebleu.corpus_chrf(hypotheses, [references])
    return {"bleu": round(bleu.score, 4), "chrf": round(chrf.score, 4)}
