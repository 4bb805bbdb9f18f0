"""The embedded default's base model θ_0: what it is taught, from a general reading set only.

Each general card (another subject: garden plants) yields, for each of its questions, two chat
examples: write the question with the question prompt, and answer it with the answer prompt; and
one of its questions is also answered closed-book, to teach the plain chat Q&A format. So θ_0
follows the pipeline's two prompts but has never seen a target document.
"""

from __future__ import annotations

from selfevo.errors import PipelineError
from selfevo.jsonio import read_jsonl
from selfevo.prompts import Messages, Prompts, answer_messages, qa_messages, question_messages


def read_general(path) -> list[dict]:
    cards = read_jsonl(path, required=("document", "qa"))
    for i, card in enumerate(cards, 1):
        if not card["qa"] or not all(isinstance(p, list) and len(p) == 2 for p in card["qa"]):
            raise PipelineError(f"{path}: line {i}: `qa` must be a non-empty list of [question, answer]")
    return cards


def general_examples(cards: list[dict], prompts: Prompts) -> list[tuple[Messages, str]]:
    examples = []
    for card in cards:
        doc = card["document"].strip()
        for question, answer in card["qa"]:
            examples.append((question_messages(prompts, doc), question))
            examples.append((answer_messages(prompts, doc, question), answer))
        examples.append((qa_messages(card["qa"][0][0]), card["qa"][0][1]))
    return examples


def tokenizer_texts(cards: list[dict], prompts: Prompts) -> list[str]:
    """What the tokenizer learns its merges from: the general set and the prompt wording."""
    texts = [prompts.question, prompts.answer]
    for card in cards:
        texts.append(card["document"])
        texts.extend(q + "\n" + a for q, a in card["qa"])
    return texts
