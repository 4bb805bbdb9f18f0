"""Ask a model questions closed-book, as the evaluation asks them: one question a line on standard
input, the greedy answer on standard output, on one line.

    python -m selfevo.chat                    # the last round's model (rounds in params.yaml)
    python -m selfevo.chat models/theta_1     # any model folder: base (θ_0), theta_<i>, hq (θ_HQ)
    make chat

Decoding follows params.yaml's `evaluate` section (greedy, `max_new_tokens`, `no_repeat_ngram`), one
question at a time (the evaluation's padded batches can change bf16 numerics, and so details of an
answer). Run from the repository root.
"""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from selfevo.config import load_params, load_rounds, load_section
from selfevo.config_train import evaluation_model_params
from selfevo.errors import run_stage


def last_round_model(raw: dict) -> str:
    return f"models/{load_rounds(raw)[-1].trains}"


def answer(model, tokenizer, question: str, params) -> str:
    from selfevo.generate.generation import generate
    from selfevo.generate.prompts import fit_question

    messages, _ = fit_question(tokenizer, question, params.max_prompt_tokens)
    [reply] = generate(model, tokenizer, [messages], [0], max_new_tokens=params.max_new_tokens,
                       temperature=0.0, top_p=1.0, batch_size=1, max_prompt_tokens=params.max_prompt_tokens,
                       no_repeat_ngram=params.no_repeat_ngram, desc="answer", progress=False)
    return reply


def one_line(reply: str) -> str:
    """A reply on one line, so that answer n is line n of the output whatever the model writes."""
    return " ".join(line.strip() for line in reply.splitlines() if line.strip())


def chat(model_dir: str, stdin: TextIO, stdout: TextIO, raw: dict) -> None:
    from selfevo.models.hardware import autocast
    from selfevo.models.modeling import load_model, load_tokenizer

    params = load_section("evaluate", raw)
    model_params = evaluation_model_params(load_section("model", raw), params)
    model, tokenizer = load_model(model_dir, model_params), load_tokenizer(model_dir, model_params)
    interactive = stdin.isatty()
    if interactive:
        print(f"{model_dir}, closed-book. One question a line; Ctrl-D ends.", file=stdout)
    while True:
        if interactive:
            print("> ", end="", file=stdout, flush=True)
        line = stdin.readline()
        if not line:
            break
        if line.strip():
            with autocast(model_params):
                print(one_line(answer(model, tokenizer, line.strip(), params)), file=stdout, flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Closed-book chat with a model folder.")
    parser.add_argument("model", nargs="?", help="model folder (default: the last round's)")
    args = parser.parse_args(argv)
    raw = load_params()
    chat(args.model or last_round_model(raw), sys.stdin, sys.stdout, raw)


if __name__ == "__main__":
    run_stage(main)
