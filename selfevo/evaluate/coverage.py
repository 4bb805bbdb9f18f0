"""What a round's training data states: the share of the corpus's units (selfevo/generate/anchors.py: lines,
sentences) that some training answer about their chunk states, and the share of a fact set's facts
(the test or a dev set's) that some training pair about the fact's chunk states in its answer. A model
learns only what its data states, so this bounds what a round can teach. `selfevo.evaluate.facts` decides
"states" (content words near each other, not negated)."""

from __future__ import annotations

from collections import Counter, defaultdict

from selfevo.evaluate.evaluation import right_chunks
from selfevo.evaluate.facts import Fact, tokens
from selfevo.generate.anchors import units
from selfevo.generate.cleaning import names_subject


def unit_coverage(chunks: list[dict], pairs: list[dict]) -> dict:
    """Units stated by an answer of a pair on their chunk: the share, and how many of how many."""
    answers: dict[str, list] = defaultdict(list)
    for p in pairs:
        answers[p.get("chunk_id")].append(tokens(p["answer"]))
    stated = total = 0
    for chunk in chunks:
        for _, _, unit in units(chunk["text"])[1]:
            total += 1
            fact = Fact.plain(unit)
            stated += any(fact.stated_in(a) for a in answers[chunk["id"]])
    return {"units_stated": round(stated / total, 4) if total else 0.0, "units": total, "stated": stated}


def fact_coverage(tests: list[dict], chunks: list[dict], pairs: list[dict]) -> dict:
    """Facts stated by the answer of a pair about the fact's chunk (`evaluation.right_chunks`): a pair
    written on that chunk, or one whose question or answer names its subject."""
    stated = total = 0
    for record, chunk in zip(tests, right_chunks(tests, chunks)):
        about = [tokens(p["answer"]) for p in pairs if p.get("chunk_id") == chunk["id"]
                 or names_subject(p["question"] + " " + p["answer"], chunk["text"], chunk.get("subject_terms", ()))]
        for fact in map(Fact.plain, record.get("facts", [])):
            total += 1
            stated += any(fact.stated_in(a) for a in about)
    return {"facts_stated": round(stated / total, 4) if total else 0.0, "facts": total, "stated": stated}


def top_opening(questions: list[str], n: int = 4) -> dict:
    """The most common opening of n words and the share of the questions that open with it: a round
    whose questions all open alike teaches one form."""
    openings = Counter(" ".join(q.lower().split()[:n]) for q in questions)
    if not openings:
        return {"opening": "", "share": 0.0}
    opening, count = openings.most_common(1)[0]
    return {"opening": opening, "share": round(count / len(questions), 4)}
