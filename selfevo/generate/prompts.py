"""The two generation prompts and the chat encoding shared by generation, scoring, training and
evaluation: rendering a conversation with the model's chat template (special tokens defused), the
token ids of a prompt and its completion, and fitting a prompt to its token budget by cutting only
the document (or question) text in it. What is kept of a reply is decided in selfevo/generate/cleaning.py."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from selfevo.errors import PipelineError
from selfevo.text import boundaries

Messages = list[dict[str, str]]


@dataclass(frozen=True)
class Prompts:
    question: str
    """Template with {knowledge}."""
    answer: str
    """Template with {knowledge} and {question}."""
    opener: str = ""
    """How the reply to the question prompt starts (`opener.txt`; empty: no opener): the model writes
    on from it, so a small model that would summarise the document ("The document is about ...")
    begins a question instead. The kept question holds it."""


def load_prompts(folder: str | Path) -> Prompts:
    folder = Path(folder)
    texts = {}
    for name, fields in (("question", ("{knowledge}",)), ("answer", ("{knowledge}", "{question}")), ("opener", ())):
        path = folder / f"{name}.txt"
        if not path.is_file():
            raise PipelineError(f"{path}: prompt file not found" + (" (an empty one: no opener)" if name == "opener"
                                                                    else ""))
        text = path.read_text(encoding="utf-8")
        for placeholder in fields:
            if placeholder not in text:
                raise PipelineError(f"{path}: the prompt has no {placeholder} placeholder")
        texts[name] = text.strip()
    return Prompts(**texts)


def question_messages(prompts: Prompts, knowledge: str) -> Messages:
    return [{"role": "user", "content": prompts.question.replace("{knowledge}", knowledge)}]


def answer_messages(prompts: Prompts, knowledge: str, question: str) -> Messages:
    text = prompts.answer.replace("{question}", question).replace("{knowledge}", knowledge)
    return [{"role": "user", "content": text}]


def qa_messages(question: str) -> Messages:
    """A closed-book question, as the trained model is asked it in training and evaluation."""
    return [{"role": "user", "content": question}]


_JOINER = "\u2060"  # word joiner: invisible, and no special token holds it


def defuse(tokenizer, text: str) -> str:
    """The text with every special token's string broken by an invisible character, so that a document
    (or an answer) holding `<|im_start|>assistant` is read as text, never as the chat's control tokens."""
    for token in sorted(set(tokenizer.all_special_tokens) | {t.content for t in tokenizer.added_tokens_decoder.values()
                                                             if t.special}, key=len, reverse=True):
        if len(token) > 1 and token in text:
            text = text.replace(token, token[0] + _JOINER + token[1:])
    return text


def _defused(tokenizer, messages: Messages) -> Messages:
    return [{**m, "content": defuse(tokenizer, m["content"])} for m in messages]


def render_prompt(tokenizer, messages: Messages) -> str:
    """The chat template's prompt for the messages, their text defused (`defuse`). A template that drops
    the messages' text (renders empty, or without the last message) is refused: the model would answer
    nothing it was asked."""
    if getattr(tokenizer, "chat_template", None) is None:
        raise PipelineError(f"{tokenizer.name_or_path}: the tokenizer has no chat template (chat_template.jinja "
                            f"or tokenizer_config.json's chat_template); use a chat model")
    try:
        text = tokenizer.apply_chat_template(_defused(tokenizer, messages), tokenize=False, add_generation_prompt=True)
    except Exception as e:  # jinja raises its own kinds: a template error is the model folder's fault
        raise PipelineError(f"{tokenizer.name_or_path}: its chat template fails to render ({type(e).__name__}: "
                            f"{e})") from None
    if messages and messages[-1]["content"].strip() and _defused(tokenizer, messages)[-1]["content"].strip() not in text:
        raise PipelineError(f"{tokenizer.name_or_path}: its chat template renders without the message's text "
                            f"({text[:60]!r}); fix chat_template.jinja")
    return text


def encode_example(tokenizer, messages: Messages, completion: str) -> tuple[list[int], list[int]]:
    """Token ids of the prompt and of the assistant's completion (its text and end-of-turn marker),
    exactly as the chat template writes them, every text defused."""
    prompt = render_prompt(tokenizer, messages)
    full = tokenizer.apply_chat_template(_defused(tokenizer, messages + [{"role": "assistant", "content": completion}]),
                                         tokenize=False)
    if not full.startswith(prompt):
        raise PipelineError("the tokenizer's chat template does not extend the generation prompt with the answer")
    tail = full[len(prompt):]
    return (tokenizer(prompt, add_special_tokens=False)["input_ids"],
            tokenizer(tail, add_special_tokens=False)["input_ids"])


def prompt_length(tokenizer, messages: Messages) -> int:
    """Tokens of the chat template's prompt for the messages (`render_prompt`)."""
    return len(tokenizer(render_prompt(tokenizer, messages), add_special_tokens=False)["input_ids"])


def _snap(piece: str, keep_end: bool) -> str:
    """`piece` cut back to a sentence or line boundary, else a space, if one lies in its outer half."""
    half = len(piece) // 2
    if keep_end:
        starts = [end for end in boundaries(piece) if end <= half] or \
            [m.end() for m in re.finditer(r"\s", piece) if m.end() <= half]
        return piece[starts[0]:].lstrip() if starts else piece
    ends = [end for end in boundaries(piece) if end >= half] or \
        [m.start() for m in re.finditer(r"\s", piece) if m.start() >= half]
    return piece[:ends[-1]].rstrip() if ends else piece


def fit_prompt(tokenizer, build: Callable[[str], Messages], text: str, budget: int, *, extra: int = 0,
               keep_end: bool = False, what: str = "a prompt") -> tuple[Messages, bool]:
    """`build(text)`, its rendered prompt plus `extra` tokens (an opener) within `budget` tokens, and
    whether `text` had to be shortened. Only `text` (a document, or a closed-book question) is cut,
    never the chat template, the instructions or an example around it: it keeps its start (a
    document's title and first lines) or, with `keep_end`, its end (a question's ask), cut back to a
    sentence or line boundary."""
    if prompt_length(tokenizer, build(text)) + extra <= budget:
        return build(text), False
    bare = prompt_length(tokenizer, build("")) + extra
    if bare > budget:
        raise PipelineError(f"{what} is {bare} tokens with no text in it, over its budget of {budget} tokens: "
                            f"raise the budget or shorten the prompt's template")
    piece = (lambda n: text[len(text) - n:]) if keep_end else (lambda n: text[:n])
    fits, over = 0, len(text)  # characters kept: `fits` is within budget, `over` is not
    while over - fits > 1:
        middle = (fits + over) // 2
        if prompt_length(tokenizer, build(piece(middle))) + extra <= budget:
            fits = middle
        else:
            over = middle
    snapped = _snap(piece(fits), keep_end)
    if prompt_length(tokenizer, build(snapped)) + extra > budget:
        snapped = piece(fits)
    return build(snapped), True


def fit_question(tokenizer, question: str, budget: int) -> tuple[Messages, bool]:
    """A closed-book question's messages within `budget` tokens: an over-long question keeps its end."""
    return fit_prompt(tokenizer, qa_messages, question, budget, keep_end=True, what="a closed-book question's prompt")


def answer_only_prefix(tokenizer) -> list[int]:
    """The context of IFD's direct answer score s(A): the conditioned prompt with its user turn taken
    out. Chat templates that add a default system turn when none is given (SmolLM2's, Qwen1.5's) keep
    it, so both IFD passes, training and evaluation see the same system turn and differ only by the
    question; then the assistant header. Never empty, so the first answer token is scored in both."""
    sentinel = "\x00question\x00"
    probe = [{"role": "user", "content": sentinel}]
    prompt = render_prompt(tokenizer, probe)
    without = tokenizer.apply_chat_template(probe, tokenize=False, add_generation_prompt=False)
    header = prompt[len(without):] if prompt.startswith(without) else ""
    before = prompt[:prompt.index(sentinel)]  # the system turn, if any, and the user turn's header
    user_header = header.replace("assistant", "user")
    system = before[:-len(user_header)] if header and before.endswith(user_header) else ""
    ids = tokenizer(system + header, add_special_tokens=False)["input_ids"]
    return ids or [tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id]
