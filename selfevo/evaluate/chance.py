"""The chance level of fact recall: the facts an answer states of *another* question of the same kind
(a model that always answers "major" states every severity fact whose value is major, and knows none of
them). Fact recall minus this level is what a model knows (docs/results.md, "The fact measure")."""

from __future__ import annotations

import random

from selfevo.evaluate.facts import compile_tests, tokens


def other_question(kinds: list[str | None], rng: random.Random) -> list[int]:
    """For each question, another one of the same kind (any other where a question has no kind, or is the
    only one of its kind): a seeded permutation with no fixed point inside each group."""
    groups: dict[str | None, list[int]] = {}
    for i, kind in enumerate(kinds):
        groups.setdefault(kind, []).append(i)
    partner = list(range(len(kinds)))
    loners = []
    for members in groups.values():
        if len(members) < 2:
            loners += members
            continue
        shuffled = members[:]
        rng.shuffle(shuffled)
        for a, b in zip(shuffled, shuffled[1:] + shuffled[:1]):  # a cycle: nobody is their own partner
            partner[a] = b
    for i in loners:
        partner[i] = rng.choice([j for j in range(len(kinds)) if j != i]) if len(kinds) > 1 else i
    return partner


def chance_counts(answers: list[str], tests: list[dict], *, seed: int, draws: int = 20
                  ) -> tuple[list[float], list[float]]:
    """Per question, the facts its answer states of another question of the same kind and how many that
    question lists, each the mean over `draws` seeded pairings: the chance level's numerators and
    denominators (a ratio of sums, so it gets an interval like fact recall)."""
    rng = random.Random(seed)
    compiled = compile_tests(tests)
    answer_tokens = [tokens(a) for a in answers]
    kinds = [t.get("kind") for t in tests]
    stated, total = [0.0] * len(answers), [0.0] * len(answers)
    for _ in range(draws):
        for i, j in enumerate(other_question(kinds, rng)):
            stated[i] += sum(f.stated_in(answer_tokens[i]) for f in compiled[j]) / draws
            total[i] += len(compiled[j]) / draws
    return [round(s, 6) for s in stated], [round(t, 6) for t in total]


def chance_recall(answers: list[str], tests: list[dict], *, seed: int, draws: int = 20) -> float:
    """The fact recall the same answers get against the facts of other questions of the same kind."""
    stated, total = chance_counts(answers, tests, seed=seed, draws=draws)
    return sum(stated) / sum(total) if sum(total) else 0.0
