"""The embedded default's base model θ_0: what it is taught, from a general reading set only.

Each general card (another subject: a greenhouse's plants and equipment) yields, for each of its
questions, two chat examples: write the question with the question prompt, and answer it with the
answer prompt; and one of its questions (each card the next kind in turn) is also answered
closed-book, to teach the plain chat Q&A format. So θ_0 follows the pipeline's two prompts but
has never seen a target document.
"""

from __future__ import annotations

from selfevo.errors import PipelineError
from selfevo.ifd import answer_nll
from selfevo.jsonio import read_jsonl
from selfevo.prompts import Messages, Prompts, answer_messages, encode_example, qa_messages, question_messages


def read_general(path) -> list[dict]:
    cards = read_jsonl(path, required=("document", "qa"))
    for i, card in enumerate(cards, 1):
        if not card["qa"] or not all(isinstance(p, list) and len(p) == 2 for p in card["qa"]):
            raise PipelineError(f"{path}: line {i}: `qa` must be a non-empty list of [question, answer]")
    return cards


def general_examples(cards: list[dict], prompts: Prompts) -> list[tuple[Messages, str]]:
    examples = []
    for i, card in enumerate(cards):
        doc = card["document"].strip()
        for question, answer in card["qa"]:
            examples.append((question_messages(prompts, doc), question))
            examples.append((answer_messages(prompts, doc, question), answer))
        question, answer = card["qa"][i % len(card["qa"])]
        examples.append((qa_messages(question), answer))
    return examples


def tokenizer_texts(examples: list[tuple[Messages, str]]) -> list[str]:
    """What the tokenizer learns its merges from: every text θ_0 is trained on, prompts included, each
    as often as the model reads it, so that frequent words (the prompts' above all) are few tokens."""
    return [m["content"] for messages, _ in examples for m in messages] + [completion for _, completion in examples]


def _reading_example(prompts: Prompts, task: str, doc: str, card: dict) -> tuple[Messages, str]:
    question, answer = card["qa"][0]
    if task == "question":
        return question_messages(prompts, doc), question
    return answer_messages(prompts, doc, question), answer


def reading_check(model, tokenizer, cards: list[dict], prompts: Prompts, batch_size: int) -> dict:
    """Does the model read the document it is given? On cards it was not trained on: the mean NLL of
    each card's first question (question prompt) and answer (answer prompt) with the card's own
    document, and with the next card's document in its place. `*_gain` = other - own: 0 for a model
    that ignores the document, large for one that copies from it."""
    if len(cards) < 2:
        raise PipelineError("the reading check needs at least 2 held-out cards")
    docs = {"own": [c["document"].strip() for c in cards]}
    docs["other"] = docs["own"][1:] + docs["own"][:1]
    result = {"cards": len(cards)}
    for task in ("question", "answer"):
        for doc_of, task_docs in docs.items():
            sequences = [encode_example(tokenizer, *_reading_example(prompts, task, doc, card))
                         for doc, card in zip(task_docs, cards)]
            nll = answer_nll(model, sequences, pad_id=tokenizer.pad_token_id, batch_size=batch_size,
                             desc=f"reading check: {task}, {doc_of} document")
            result[f"{task}_nll_{doc_of}_doc"] = round(sum(nll) / len(nll), 4)
        result[f"{task}_gain"] = round(result[f"{task}_nll_other_doc"] - result[f"{task}_nll_own_doc"], 4)
    return result
