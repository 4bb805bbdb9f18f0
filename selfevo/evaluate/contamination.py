"""Does training data hold the test's answers? Word n-gram overlap of each training answer with the test
references, so a baseline tuned on a teacher's QA is not scored on answers it was shown."""

from __future__ import annotations

from selfevo.text import sentences, words


def ngrams(tokens: list[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)}


def reference_overlap(answers: list[str], references: list[str], n: int = 4) -> list[tuple[float, int]]:
    """Per answer, the highest share of its word n-grams found in one test reference, and that
    reference's index (-1 when the answer is shorter than n words)."""
    reference_grams = [ngrams(words(r), n) for r in references]
    result = []
    for answer in answers:
        grams = ngrams(words(answer), n)
        best, where = 0.0, -1
        for i, ref in enumerate(reference_grams):
            share = len(grams & ref) / len(grams) if grams else 0.0
            if share > best:
                best, where = share, i
        result.append((round(best, 4), where))
    return result


def sentence_set(text: str) -> set[str]:
    """The text's sentences (`text.sentences`), as normalised word strings."""
    return {" ".join(words(s)) for s in sentences(text) if words(s)}


def shared_sentences(answers: list[str], references: list[str]) -> list[tuple[int, int]]:
    """(answer index, reference index) for every answer holding a sentence of a test reference."""
    reference_sentences = [sentence_set(r) for r in references]
    return [(i, j) for i, answer in enumerate(answers) for j, ref in enumerate(reference_sentences)
            if sentence_set(answer) & ref]
