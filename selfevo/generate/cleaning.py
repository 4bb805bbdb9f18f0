"""The cleaning rules: what of a model's reply is kept as a question or an answer, and, for each
reason a reply is dropped, what it means and what changes it.

A question must read as a question and, with `generate.named_subject`, name its chunk's subject; an
answer must not point back at "the document" nor copy its lines and, with `generate.min_grounding`,
hold that share of its words in the chunk. The rules hold for any domain: none names the sample's."""

from __future__ import annotations

import re
import sys
from typing import Sequence

from selfevo.config_data import GenerateParams
from selfevo.errors import PipelineError
from selfevo.text import CJK, complete_sentences, words

_LABEL = re.compile(r"^\s*(question|q|问题|answer|a|回答|答案)\s*[:：]\s*", re.IGNORECASE)
_DOC_REFERENCE = re.compile(r"\b(the|this) (document|fragment|text|knowledge fragment)\b|文档中|该片段|上文", re.IGNORECASE)


# a token holding a digit: ALM-1001, BBU3910, 74. CJK characters end a token: Chinese writes no space
# between a code and the next word ("ALM-7320在OLT MA5800上" names 7320 and 5800)
_CODE = re.compile(rf"[^\W_{CJK}]*\d[^\W_{CJK}]*(?:-[^\W_{CJK}]+)*")


def names_subject(question: str, knowledge: str, subject_terms: Sequence[str] = ()) -> bool:
    """Whether the question names what its chunk is about: a term of the chunk's title or section path
    (`subject_terms`, selfevo.data.corpus: "KubeletDown", "rsync"), or something of the chunk that holds a
    digit (an alarm code, a device model, a value). "What is the impact?" names nothing, and
    closed-book it cannot be answered."""
    if set(_CODE.findall(question)) & set(_CODE.findall(knowledge)):
        return True
    lowered = question.lower()
    return any(re.search(rf"(?<![\w-]){re.escape(term.lower())}(?![\w-])", lowered) if term.isascii()
               else term.lower() in lowered for term in subject_terms)


BROKEN = "\ufffd"
"""The replacement character: what decoding leaves where a multi-byte character was cut apart between
tokens (a Chinese character split across a reply's end, or a model writing invalid bytes)."""


def clean_question(text: str, knowledge: str = "", named_subject: bool = False,
                   subject_terms: Sequence[str] = ()) -> tuple[str | None, str]:
    """One question that reads as a question and, with `named_subject`, names its chunk's subject
    (`names_subject`); or None and the reason it was dropped."""
    text = _LABEL.sub("", text.strip().split("\n")[0]).strip()
    ends = [i for i, ch in enumerate(text) if ch in "?？"]
    if not ends:
        return None, "not_a_question"
    text = text[: ends[0] + 1].strip()
    if BROKEN in text:
        return None, "broken_characters"
    if len(text.split()) < 3 and len(text) < 6:
        return None, "too_short"
    if _DOC_REFERENCE.search(text):  # "the alarm in the document": meaningless without the document
        return None, "refers_to_document"
    if named_subject and not names_subject(text, knowledge, subject_terms):
        return None, "names_no_subject"
    return text, "ok"


def grounding(answer: str, knowledge: str) -> float:
    """The share of the answer's words (Chinese: characters) that occur in the knowledge text, from 0
    to 1: a cheap check that an answer was read from its chunk rather than made up."""
    said = words(answer)
    if not said:
        return 0.0
    known = set(words(knowledge))
    return sum(w in known for w in said) / len(said)


def copies_lines(answer: str, knowledge: str) -> bool:
    """Whether at least half of the answer's lines are lines of the knowledge text, verbatim: the
    document's fields echoed back ("Alarm: ... / Device: ... / Severity: ..."), not an answer. A
    model trained on such pairs learns to echo whatever prompt it gets, its question prompt included."""
    lines = [line.strip() for line in answer.split("\n") if line.strip()]
    known = {line.strip() for line in knowledge.split("\n") if line.strip()}
    return bool(lines) and 2 * sum(line in known for line in lines) >= len(lines)


def clean_answer(text: str, knowledge: str = "", min_grounding: float = 0.0) -> tuple[str | None, str]:
    """A non-empty answer, cut after its last complete sentence, that does not point back at the
    document nor copy its lines and, with `min_grounding` > 0, has at least that share of its words
    in `knowledge`; or None and the reason."""
    text = complete_sentences(_LABEL.sub("", text.strip()).strip())
    if not text:
        return None, "empty_answer"
    if BROKEN in text:
        return None, "broken_characters"
    if _DOC_REFERENCE.search(text):
        return None, "refers_to_document"
    if copies_lines(text, knowledge):
        return None, "copies_document"
    if min_grounding > 0 and grounding(text, knowledge) < min_grounding:
        return None, "not_grounded"
    return text, "ok"


# What each drop reason (`clean_question`, `clean_answer`) says, and what changes it
DROP_ADVICE = {
    "not_a_question": "the model's replies to the question prompt hold no question mark: it does not follow "
                      "{prompts}/question.txt (a model too small for this language, or a prompt to reword)",
    "too_short": "the questions are a few characters long",
    "repeats_question": "the questions repeat an earlier question on the same chunk, this round's or an earlier "
                        "round's (generate.repeat_overlap ({p.repeat_overlap}); null keeps them)",
    "refers_to_document": "the replies point at \"the document\" instead of naming their subject (the prompts' rules)",
    "names_no_subject": "the questions name neither their chunk's subject (a term of its title or section) nor a "
                        "code of it; generate.named_subject ({p.named_subject}) "
                        "drops them, false keeps them",
    "broken_characters": "the replies hold U+FFFD, a character cut apart by decoding",
    "empty_answer": "the model wrote no answer",
    "copies_document": "the answers copy the chunk's lines back",
    "not_grounded": "under generate.min_grounding ({p.min_grounding}) of the answers' words are in their chunk; "
                    "lower it, or 0 to turn it off",
}


def explain_drops(dropped: dict[str, int], params: GenerateParams, prompts: str) -> str:
    """The drop counts, most first, each with what it means and what changes it."""
    counts = ", ".join(f"{why} {n}" for why, n in sorted(dropped.items(), key=lambda kv: -kv[1]))
    advice = " ".join(f"{why}: {DROP_ADVICE[why].format(p=params, prompts=prompts)}." for why in dropped
                      if why in DROP_ADVICE)
    return f"Dropped: {counts}. {advice}"


LOW_SHARE = 0.25
"""Under this share of chunks with a pair, a round (or the teacher) warns."""


def check_kept(what: str, stats: dict, params: GenerateParams, prompts: str, where: str) -> None:
    """Stop when generation kept no pair, warn when it kept under LOW_SHARE of the chunks, naming each
    drop reason and what changes it; `where` says where the counts are."""
    if stats["pairs"] and stats["pairs"] >= LOW_SHARE * stats["chunks"]:
        return
    message = (f"{what}: kept {stats['pairs']} of {stats['chunks']} chunks' pairs. "
               f"{explain_drops(stats['dropped'], params, prompts)} {where}")
    if not stats["pairs"]:
        raise PipelineError(message)
    print(f"warning: {message}", file=sys.stderr)
