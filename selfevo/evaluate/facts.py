"""Fact-level scoring of closed-book answers: does an answer state the facts its test record lists?

A test record may carry `facts`, short strings a right answer must state ("86", "major", "fan module is
faulty"). The rules, each there so that the measure cannot be gamed:

- **Words.** Text is case folded (NFKC), punctuation and spacing ignored but for "%", a hyphen inside a
  code read as a space ("ALM-3653" = "ALM 3653"), numbers compared as numbers ("86.0" = "86", "3,000" =
  "3000"), an English word by its inflectional stem ("settings" = "set",
  "blocked" = "block"), a Chinese character a word of its own.
- **Content words, near each other.** A fact is stated when every one of its content words (its words
  less stop words) appears within one sentence of the answer, inside a window of 2n + 2 words for a fact
  of n words, in any order: "the charging current setting is too low" states "charging current is set
  too low".
- **Not negated.** An occurrence with a negation ("not", "no", "never", "without", 不, 没, 无, 非, 未) among
  the two words before it in its clause, or inside it, does not count, unless the fact holds a negation itself:
  "It is not a major alarm" states no "major".
- **One value of a closed set.** Where a fact is one value of a set that excludes the others (a record's
  `options`; or, for a `kind` whose records each list one one-word fact and whose values repeat, every
  value of that kind: severities), an answer naming two or more values states none: "It could be a
  critical, major, minor or warning alarm" states nothing.
- **A number with its role.** A number fact is stated only with its unit where the reference answer
  gives one (the word after the number there: "%", "V", "rpm"), and in a clause (cut at a comma and at "and",
  "but", "then", within a sentence) that holds more content words found only in the number's own clause of the
  reference than words found only in another number fact's clause: "raised at 81% and cleared at 86%", with 86 the raise value,
  states neither; a bare "17 seconds" states no threshold.

selfevo/evaluate/chance.py scores the same answers against the facts of other questions of the same kind: what
guessing the likely words of a kind scores.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache

from selfevo.text import CJK

_SCAN = re.compile(rf"(?P<num>-?\d+(?:\.\d+)?)|(?P<pct>%)|(?P<cjk>[{CJK}])|(?P<word>[^\W\d_{CJK}]+)"
                   r"|(?P<send>[.!?;。！？；\n](?!\d))|(?P<csep>[,，、])")
_CLAUSE_WORDS = frozenset({"and", "but", "then", "while", "whereas", "或", "和", "并", "而"})
STOP_WORDS = frozenset("""a an the of and or to in on for with by at from as is are was were be been being it its
this that these those there their they he she we you your i my our has have had do does did can could may might
will would should shall must if so such than when where which who what how why also very too into onto about
的 了 是 在 与 及 等 为 就 都 而 和 或 并 也""".split())
NEGATIONS = frozenset({"not", "no", "never", "without", "cannot", "nor", "neither", "none", "不", "没", "无", "非", "未"})
_NEGATION_REACH = 2


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    """An English word's inflectional stem: plural, -ed and -ing off, a doubled last consonant and a final
    e dropped ("setting", "sets" -> "set"; "blades" -> "blad"; "batteries" -> "battery"). Derived words
    stay apart ("majority" is not "major")."""
    if not word.isascii() or len(word) <= 2:
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        word = word[:-1]  # "settings" -> "setting", "uses" -> "use", "boxes" -> "boxe"
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 2:
            word = word[:-len(suffix)]
            if len(word) > 2 and word[-1] == word[-2] and word[-1] not in "lsz":
                word = word[:-1]
            break
    return word[:-1] if word.endswith("e") and len(word) > 2 else word


STOP_STEMS = frozenset(map(_stem, STOP_WORDS))
NEGATION_STEMS = frozenset(map(_stem, NEGATIONS))


@dataclass(frozen=True)
class Token:
    value: str | float
    """A stem, a Chinese character, "%", or a number."""
    sentence: int
    clause: int


def tokens(text: str) -> list[Token]:
    """The text as tokens, each with the number of its sentence and clause."""
    text = unicodedata.normalize("NFKC", text).replace("\u2212", "-").lower()
    text = re.sub(r"(?<=\d),(?=\d{3}(?!\d))", "", text)  # thousands separators
    text = re.sub(r"(?<=\w)-(?=\w)", " ", text)  # a hyphen inside a code or word, not a minus sign
    text = re.sub(r"n['’]t\b", " not", text)
    out: list[Token] = []
    sentence = clause = 0
    for m in _SCAN.finditer(text):
        kind, raw = m.lastgroup, m.group()
        if kind == "send":
            sentence, clause = sentence + 1, clause + 1
        elif kind == "csep" or raw in _CLAUSE_WORDS:
            clause += 1
            if raw in _CLAUSE_WORDS:
                out.append(Token(raw, sentence, clause))
        else:
            out.append(Token(float(raw) if kind == "num" else _stem(raw), sentence, clause))
    return out


def fact_tokens(text: str) -> list[str | float]:
    """The text's token values: stems, characters, "%" and numbers."""
    return [t.value for t in tokens(text)]


def _content(values) -> frozenset:
    kept = frozenset(v for v in values if v not in STOP_STEMS)
    return kept or frozenset(values)


@dataclass(frozen=True)
class Fact:
    text: str
    content: frozenset
    """The values that must all appear (content words, numbers)."""
    width: int
    """The window they must appear in."""
    negated: bool
    """Whether the fact holds a negation itself (then a negation near it is no sign of denial)."""
    unit: str | None = None
    role: frozenset = frozenset()
    rivals: frozenset = frozenset()
    options: tuple["Fact", ...] = ()

    @classmethod
    def plain(cls, text: str) -> "Fact":
        values = fact_tokens(text)
        return cls(text, _content(values), 2 * len(values) + 2, any(v in NEGATION_STEMS for v in values))

    def _occurrences(self, answer: list[Token]):
        """(first, last) token index of each place the answer holds every content value, unnegated."""
        if not self.content:
            return
        for i, tok in enumerate(answer):
            if tok.value not in self.content:
                continue
            seen: set = set()
            for j in range(i, min(i + self.width, len(answer))):
                if answer[j].sentence != tok.sentence:
                    break
                if answer[j].value in self.content:
                    seen.add(answer[j].value)
                if seen == self.content:
                    if self.negated or not any(
                            t.value in NEGATION_STEMS and t.clause == tok.clause
                            for t in answer[max(0, i - _NEGATION_REACH):j + 1]):
                        yield i, j
                    break

    def _in_role(self, answer: list[Token], first: int, last: int) -> bool:
        number = next((k for k in range(first, last + 1) if isinstance(answer[k].value, float)), first)
        after = answer[number + 1] if number + 1 < len(answer) else None
        if self.unit is not None and (after is None or after.value != self.unit
                                      or after.clause != answer[number].clause):
            return False
        clause = {t.value for t in answer if t.clause == answer[number].clause}
        own, other = len(clause & self.role), len(clause & self.rivals)
        return own > other or (not self.role and not other)

    def stated_in(self, answer: list[Token]) -> bool:
        """Whether the answer's tokens (`tokens`) state the fact, by every rule of the module."""
        if not any(self._in_role(answer, i, j) for i, j in self._occurrences(answer)):
            return False
        return not any(next(o._occurrences(answer), None) for o in self.options)


def states(answer: str, fact: str) -> bool:
    """Whether the text states the fact by its content words, near each other and not negated (no
    role, no closed set: those need the test record)."""
    return Fact.plain(fact).stated_in(tokens(answer))


def _number_roles(fact: str, reference: list[Token], numbers: list[float]) -> tuple[str | None, frozenset, frozenset]:
    """A number fact's unit and role in the reference answer (module doc), and the words of the clauses of
    the record's other number facts."""
    values = fact_tokens(fact)
    number = next(v for v in values if isinstance(v, float))
    at = [k for k, t in enumerate(reference) if t.value == number]
    if not at:
        return None, frozenset(), frozenset()
    unit = None
    nxt = reference[at[0] + 1] if at[0] + 1 < len(reference) else None
    if nxt is not None and nxt.clause == reference[at[0]].clause and not isinstance(nxt.value, float) \
            and nxt.value not in STOP_STEMS and nxt.value not in NEGATION_STEMS and nxt.value not in values:
        unit = nxt.value
    own_clauses = {reference[k].clause for k in at}
    other_clauses = {t.clause for t in reference if isinstance(t.value, float) and t.value in numbers
                     and t.value != number} - own_clauses

    def words_of(clauses):
        return frozenset(t.value for t in reference if t.clause in clauses and not isinstance(t.value, float)
                         and t.value not in STOP_STEMS and t.value != unit and t.value not in _CLAUSE_WORDS)
    own, other = words_of(own_clauses), words_of(other_clauses)
    return unit, own - other, other - own


def closed_sets(tests: list[dict]) -> dict[str, list[str]]:
    """Per kind, its values where they form a closed set: every record of the kind lists one fact of one
    word, and the values repeat (fewer values than records)."""
    by_kind: dict[str, list[list[str]]] = defaultdict(list)
    for t in tests:
        if t.get("kind"):
            by_kind[t["kind"]].append(t.get("facts", []))
    sets = {}
    for kind, lists in by_kind.items():
        if all(len(fs) == 1 and len(fact_tokens(fs[0])) == 1 for fs in lists):
            values = sorted({fs[0].strip().lower() for fs in lists})
            if 1 < len(values) < len(lists):
                sets[kind] = values
    return sets


def compile_facts(record: dict, closed: dict[str, list[str]]) -> list[Fact]:
    """The record's facts with their reference roles and closed-set rivals (module doc)."""
    reference = tokens(record.get("answer", ""))
    numbers = [v[0] for v in map(fact_tokens, record["facts"]) if v and isinstance(v[0], float)]
    options = record.get("options") or closed.get(record.get("kind") or "", [])
    out = []
    for text in record["facts"]:
        fact = Fact.plain(text)
        if fact_tokens(text)[:1] and isinstance(fact_tokens(text)[0], float):  # a value ("86", "44 V"), not a code ("ext4")
            unit, role, rivals = _number_roles(text, reference, numbers)
            fact = Fact(text, fact.content | ({unit} if unit else set()), fact.width + 1, fact.negated,
                        unit, role, rivals)
        if any(o.strip().lower() == text.strip().lower() for o in options):
            fact = Fact(fact.text, fact.content, fact.width, fact.negated, fact.unit, fact.role, fact.rivals,
                        tuple(Fact.plain(o) for o in options if o.strip().lower() != text.strip().lower()))
        out.append(fact)
    return out


def compile_tests(tests: list[dict]) -> list[list[Fact]]:
    closed = closed_sets(tests)
    return [compile_facts(t, closed) for t in tests]


def stated_facts(answer: str, facts: list[Fact]) -> list[bool]:
    answer_tokens = tokens(answer)
    return [f.stated_in(answer_tokens) for f in facts]


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


def score_facts(answers: list[str], tests: list[dict]) -> FactScore:
    compiled = compile_tests(tests)
    stated = [sum(stated_facts(a, fs)) for a, fs in zip(answers, compiled)]
    return FactScore(stated=stated, total=[len(fs) for fs in compiled])


def unsupported_facts(tests: list[dict], chunks: list[str]) -> list[tuple[int, str]]:
    """(record number, fact) for every fact that no chunk of the corpus states: a question the
    documents cannot answer."""
    chunk_tokens = [tokens(c) for c in chunks]
    return [(n, fact) for n, t in enumerate(tests, 1) for fact in t.get("facts", [])
            if not any(Fact.plain(fact).stated_in(toks) for toks in chunk_tokens)]
