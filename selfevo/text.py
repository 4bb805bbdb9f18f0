"""The text rules every module shares: what a word is (the cleaning rules, the diversity and repeat
measures, the contamination check, the metrics), where a sentence ends, where a cut may fall, and the one
range of Chinese characters (CJK unified ideographs and extension A) that all of them, and the fact
and code scanners, treat as words of one character."""

from __future__ import annotations

import re

CJK = "\u3400-\u9fff"
"""The Chinese characters, as a regex character range."""

_WORD = re.compile(rf"[{CJK}]|[^\W{CJK}_]+")  # a CJK character, or a run of other letters/digits


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
    return "\u3400" <= word <= "\u9fff"


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


_CLOSING_MARK = re.compile(r"[.!?。！？][\"')”’]?")


def complete_sentences(text: str) -> str:
    """The text up to its last complete sentence (its last . ! ? 。！？, and a closing quote or bracket
    after it): a reply cut off by the token budget ends mid-sentence, and training on half a sentence
    teaches the model to stop mid-sentence. A text with no complete sentence is kept whole."""
    ends = list(_CLOSING_MARK.finditer(text))
    return text[:ends[-1].end()] if ends else text


# where a cut may fall: after a sentence's end mark (followed by a space, or a CJK one), or at a line end
_BOUNDARY = re.compile(r"[.!?;:](?=\s)|[。！？；：]|\n")


def boundaries(text: str) -> list[int]:
    """The offsets just after each place a text may be cut without splitting a sentence or a line."""
    return [m.end() for m in _BOUNDARY.finditer(text)]
