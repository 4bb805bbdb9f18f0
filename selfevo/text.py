"""The one word tokeniser: what the cleaning rules, the diversity and repeat measures, the
contamination check and the metrics count as a word."""

from __future__ import annotations

import re

_WORD = re.compile(r"[\u4e00-\u9fff]|[^\W\u4e00-\u9fff_]+")  # a CJK character, or a run of other letters/digits


def words(text: str) -> list[str]:
    """Lower-case words; each Chinese character a word of its own."""
    return _WORD.findall(text.lower())


def jaccard(a: str, b: str) -> float:
    """Jaccard overlap of two texts' word sets (Chinese: characters), 0 to 1."""
    x, y = set(words(a)), set(words(b))
    return len(x & y) / len(x | y) if x | y else 0.0


def chinese_share(texts) -> float:
    """The share of Chinese characters among the words of `texts` (`words`: a character each, a run of
    other letters one): 0 for English prose, near 1 for Chinese."""
    found = [w for text in texts for w in words(text)]
    return sum(map(_cjk, found)) / len(found) if found else 0.0


def _cjk(word: str) -> bool:
    return "\u4e00" <= word <= "\u9fff"


def content_words(text: str) -> list[str]:
    """The words that carry content (`words`): those of five letters or more, those holding a digit
    (codes, values), and Chinese characters in pairs (a run of them read two by two)."""
    found, run = [], []
    for word in words(text) + [""]:
        if word and _cjk(word):
            run.append(word)
            continue
        found += ["".join(run[i:i + 2]) for i in range(0, len(run) - 1, 2)]
        run = []
        if len(word) >= 5 or any(ch.isdigit() for ch in word):
            found.append(word)
    return found


_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|(?<=[。！？；])")


def sentences(text: str) -> list[str]:
    """The text's sentences: cut after . ! ? ; followed by a space, and after Chinese 。！？；."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]
