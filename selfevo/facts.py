"""Fact-level scoring of closed-book answers: does an answer state the facts its test record lists?

A test record may carry `facts`, short strings a right answer must state ("86", "major", "fan module is
faulty"). A fact is stated when its words appear in the answer in that order and next to each other,
after both are normalised: case folded, punctuation and spacing ignored, a hyphen inside a code read as
a space ("ALM-3653" = "ALM 3653"), numbers compared as numbers ("86.0" = "86", "3,000" = "3000"), and a
Chinese character counted as a word of its own. Some facts can be guessed (one of four severities), so
`chance_recall` scores the same answers against the facts of other questions of the same kind.
"""

from __future__ import annotations

import random
import re
import unicodedata
from dataclasses import dataclass

_TOKEN = re.compile(r"-?\d+(?:\.\d+)?|[\u3400-\u9fff]|[^\W\d_\u3400-\u9fff]+")


def fact_tokens(text: str) -> list[str | float]:
    """The text as a list of words (lower case) and numbers (floats)."""
    text = unicodedata.normalize("NFKC", text).replace("\u2212", "-").lower()
    text = re.sub(r"(?<=\d),(?=\d{3}(?!\d))", "", text)  # thousands separators
    text = re.sub(r"(?<=\w)-(?=\w)", " ", text)  # a hyphen inside a code or word, not a minus sign
    return [float(t) if t[-1].isdigit() else t for t in _TOKEN.findall(text)]


def states(answer: str | list, fact: str | list) -> bool:
    """Whether the answer holds the fact's tokens, in order and next to each other."""
    words = fact_tokens(answer) if isinstance(answer, str) else answer
    want = fact_tokens(fact) if isinstance(fact, str) else fact
    if not want:
        return False
    return any(words[i:i + len(want)] == want for i in range(len(words) - len(want) + 1))


@dataclass(frozen=True)
class FactScore:
    stated: list[int]
    """Per question, how many of its facts the answer states."""
    total: list[int]
    """Per question, how many facts it lists."""

    @property
    def recall(self) -> float:
        """The share of all facts stated."""
        return sum(self.stated) / sum(self.total) if sum(self.total) else 0.0

    @property
    def all_stated(self) -> float:
        """The share of questions whose answer states every one of its facts."""
        return sum(s == t for s, t in zip(self.stated, self.total)) / len(self.total) if self.total else 0.0


def score_facts(answers: list[str], facts: list[list[str]]) -> FactScore:
    stated = [sum(states(fact_tokens(a), f) for f in fs) for a, fs in zip(answers, facts)]
    return FactScore(stated=stated, total=[len(fs) for fs in facts])


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


def chance_recall(answers: list[str], facts: list[list[str]], kinds: list[str | None], *, seed: int,
                  draws: int = 20) -> float:
    """The fact recall the same answers get against the facts of other questions of the same kind: what
    guessing the likely words of a kind scores. The mean over `draws` seeded permutations."""
    rng = random.Random(seed)
    tokens = [fact_tokens(a) for a in answers]
    stated = total = 0
    for _ in range(draws):
        partner = other_question(kinds, rng)
        for i, j in enumerate(partner):
            stated += sum(states(tokens[i], f) for f in facts[j])
            total += len(facts[j])
    return stated / total if total else 0.0


def unsupported_facts(tests: list[dict], chunks: list[str]) -> list[tuple[int, str]]:
    """(record number, fact) for every fact that no chunk of the corpus states: a question the
    documents cannot answer."""
    chunk_tokens = [fact_tokens(c) for c in chunks]
    return [(n, fact) for n, t in enumerate(tests, 1) for fact in t.get("facts", [])
            if not any(states(tokens, fact) for tokens in chunk_tokens)]
