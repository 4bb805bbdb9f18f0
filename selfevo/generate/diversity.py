"""How varied the questions of a round are: distinct bigrams, rough question kinds, how much of each
chunk its pairs touch, and how close a round's questions come to the earlier rounds' ones."""

from __future__ import annotations

import re
from collections import Counter

from selfevo.text import jaccard, words

KINDS = (("purpose", r"\b(purpose|meaning|what does \S+ mean)\b"),
         ("comparison", r"\b(differ|difference|compare|versus|vs\.?)\b"),
         ("threshold", r"\b(threshold|at what|what value|how (high|low|many|much)|above|below|exceed|limit)\b"),
         ("procedure", r"\b(how (do|can|should|to)|steps?|procedure|clear|resolve|fix|handle|troubleshoot|check)\b"),
         ("cause", r"\b(why|causes?|caused|reasons?|triggers?|triggered)\b"),
         ("severity", r"\b(severity|serious|critical|major|minor)\b"))


def question_kind(question: str) -> str:
    """A rough kind for any question, by keywords, the first that matches (the same for fixed and
    evolved prompts): purpose, comparison, threshold, procedure, cause, severity, or other."""
    text = question.lower()
    return next((kind for kind, pattern in KINDS if re.search(pattern, text)), "other")


def distinct_2(texts: list[str]) -> float:
    """Distinct bigrams over all bigrams of the texts (0-1): low when the questions repeat one shape."""
    bigrams = [b for t in texts for b in zip(words(t), words(t)[1:])]
    return round(len(set(bigrams)) / len(bigrams), 4) if bigrams else 0.0


def kind_shares(questions: list[str]) -> dict[str, float]:
    counts = Counter(question_kind(q) for q in questions)
    return {kind: round(counts[kind] / len(questions), 4) for kind in sorted(counts)} if questions else {}


def line_coverage(chunks: list[dict], pairs: list[dict]) -> float:
    """How much of each chunk its pairs touch, averaged over the chunks (0-1; a chunk with no pair
    counts 0): the share of a chunk's lines at least half of whose words (selfevo.text.words) are
    in one of its pairs' questions or answers. Documents carry no list of their facts, so a line
    stands for one."""
    said: dict[str, set[str]] = {}
    for pair in pairs:
        said.setdefault(pair["chunk_id"], set()).update(words(pair["question"] + " " + pair["answer"]))
    shares = []
    for chunk in chunks:
        lines = [set(words(line)) for line in chunk["text"].split("\n")]
        lines = [line for line in lines if line]
        known = said.get(chunk["id"], set())
        shares.append(sum(2 * len(line & known) >= len(line) for line in lines) / len(lines) if lines else 0.0)
    return round(sum(shares) / len(shares), 4) if shares else 0.0


def diversity(questions: list[str]) -> dict:
    return {"distinct_2": distinct_2(questions), "kinds": kind_shares(questions)}


def repeat_similarity(previous: list[dict], new: list[dict]) -> float | None:
    """Mean over the new pairs whose chunk was asked about before of the highest word-set (Jaccard)
    similarity of its question to those earlier questions: 1 when a round asks the same again."""
    earlier: dict[str, list[str]] = {}
    for pair in previous:
        earlier.setdefault(pair.get("chunk_id"), []).append(pair["question"])
    scores = [max(jaccard(p["question"], q) for q in earlier[p.get("chunk_id")])
              for p in new if p.get("chunk_id") in earlier]
    return round(sum(scores) / len(scores), 4) if scores else None
