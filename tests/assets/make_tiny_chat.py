"""Build the committed test fixtures: tests/assets/tiny_chat, a 2-layer, 64-dim chat model of the embedded
base's architecture, trained once, here, to follow the pipeline test's short prompts on its documents;
and tests/assets/tiny_chat_zh, the same trained to give one fixed question and one fixed answer under
the paper's Chinese prompts (prompts/zh) on the paper's fragments, for the paper profile's test.

    python tests/assets/make_tiny_chat.py [en|zh]

Tests load the committed folder and never train it: a tiny training run amplifies the last bits of
float sums, which differ between processors, so a model trained at test time wrote questions on one
machine and `What is is is is critical.` on another. tests/test_tiny_chat.py asserts that every greedy
choice the pipeline asks of this model wins by a wide logit margin, so any processor decodes the same
text. Rebuild it only when the prompts or documents in tests/tiny.py change, then run that test.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for tiny

from selfevo.prompts import Prompts, answer_messages, load_prompts, qa_messages, question_messages  # noqa: E402
from selfevo.training import tokenize_examples, train  # noqa: E402
from tiny import (EVOLVED_TASK, LEVELS, MINIMAL_PROMPTS, MINIMAL_VARIANTS, PLAIN_CHAT_TEMPLATE, TINY_CHAT,  # noqa: E402
                  TINY_CHAT_ZH, ZH_ANSWER, ZH_QUESTION, alarm_card, judge_cases, paper_slice, pipeline_cards,
                  severity_answer, severity_question, tiny_model, tiny_tokenizer)

STEPS = 3000
LR = 3.0e-3
CLOSED_BOOK_REPEATS = 4
"""A code's severity has nothing to copy from: memorising it with a wide margin takes more passes."""
JUDGE_REPEATS = 2


def training_pairs() -> list[tuple[list[dict], str]]:
    """Every prompt the pipeline test asks, on its documents (plain and edited) and 30 others of the same
    form with other codes, and the judge test's verdicts, with the reply the fixture must give."""
    prompts = Prompts(question=MINIMAL_PROMPTS["question.txt"], answer=MINIMAL_PROMPTS["answer.txt"])
    tasks = [seed["task"] for seed in MINIMAL_VARIANTS["seeds"]] + [EVOLVED_TASK]
    frame = MINIMAL_VARIANTS["frame"]
    cards = pipeline_cards() + [(f"XY-{i}", LEVELS[i % 3]) for i in range(30)]
    pairs = []
    for code, level in cards:
        question, answer = severity_question(code), severity_answer(code, level)
        pairs += [(qa_messages(question), answer)] * CLOSED_BOOK_REPEATS
        for edited in (False, True):
            doc = alarm_card(code, level, edited)
            pairs.append((answer_messages(prompts, doc, question), answer))
            for task in tasks:
                template = frame.replace("{task}", task)
                pairs.append((question_messages(Prompts(question=template, answer=prompts.answer), doc), question))
    pairs += [([{"role": "user", "content": text}], verdict) for text, verdict in judge_cases()] * JUDGE_REPEATS
    rewrite = MINIMAL_VARIANTS["evolve"]
    pairs += [([{"role": "user", "content": rewrite.replace("{task}", task)}], EVOLVED_TASK) for task in tasks]
    return pairs


ZH_FRAGMENTS = 120
"""The paper's first distinct fragments the zh fixture is trained on (the profile test reads the first 40)."""
ZH_STEPS = 400


def zh_training_pairs() -> list[tuple[list[dict], str]]:
    """The paper's question prompt on each fragment -> ZH_QUESTION; its answer prompt on each fragment and
    question, and each question closed-book -> ZH_ANSWER. The reply does not depend on the fragment, so
    it wins by a wide margin on a fragment the fixture never saw."""
    prompts = load_prompts(Path(__file__).resolve().parents[2] / "prompts" / "zh")
    fragments, tests = paper_slice(ZH_FRAGMENTS, 100)
    questions = [ZH_QUESTION] + [t["question"] for t in tests]
    pairs = [(question_messages(prompts, f), ZH_QUESTION) for f in fragments]
    pairs += [(answer_messages(prompts, f, questions[i % len(questions)]), ZH_ANSWER) for i, f in enumerate(fragments)]
    pairs += [(qa_messages(q), ZH_ANSWER) for q in questions]
    return pairs


def build(folder: Path, pairs: list[tuple[list[dict], str]], vocab: int, max_length: int, steps: int) -> None:
    texts = [m["content"] for messages, _ in pairs for m in messages] + [c for _, c in pairs]
    # no system turn: with SmolLM2's long default one, this model does not learn to read the document
    tokenizer = tiny_tokenizer(texts, vocab, PLAIN_CHAT_TEMPLATE)
    model = tiny_model(tokenizer)
    examples, too_long = tokenize_examples(tokenizer, pairs, max_length)
    assert not too_long, f"{too_long} examples are longer than {max_length} tokens"
    stats = train(model, examples, pad_id=tokenizer.pad_token_id, lr=LR, batch_size=16, seed=0, max_steps=steps)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    size = sum(p.stat().st_size for p in folder.iterdir())
    print(f"{len(pairs)} pairs, {steps} steps, final loss {stats['final_loss']}: wrote {folder} ({size / 1e3:.0f} kB)")


def main(which: str = "en") -> None:
    if which == "en":
        build(TINY_CHAT, training_pairs(), 400, 256, STEPS)
    elif which == "zh":
        build(TINY_CHAT_ZH, zh_training_pairs(), 1000, 1024, ZH_STEPS)
    else:
        raise SystemExit(f"usage: make_tiny_chat.py [en|zh], not {which!r}")


if __name__ == "__main__":
    main(*sys.argv[1:])
