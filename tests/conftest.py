"""Shared fixtures: a tiny random-weight model of the embedded base's architecture, saved as a base
folder and trained for a few steps so that greedy decoding writes words rather than nothing."""

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from selfevo.config import ModelParams  # noqa: E402
from selfevo.prompts import qa_messages  # noqa: E402
from selfevo.training import tokenize_examples, train  # noqa: E402

from tiny import tiny_model, tiny_tokenizer  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TEXTS = ["The fan tray is faulty. Replace the fan tray.", "What causes the alarm? The cable is loose.",
         "Question: Which planet is largest? Answer: Jupiter is the largest planet."] * 5


@pytest.fixture(scope="session")
def model_params() -> ModelParams:
    return ModelParams(base="smollm2", revision=None, dtype="float32", cpu_autocast=False, trust_remote_code=False,
                       threads=None)


def write_tiny_base(folder: Path, steps: int = 80) -> Path:
    """Save a tiny chat model trained for `steps` steps on TEXTS into `folder`."""
    tokenizer = tiny_tokenizer(TEXTS)
    model = tiny_model(tokenizer)
    examples, _ = tokenize_examples(tokenizer, [(qa_messages(p), t) for t in TEXTS[:3] for p in (t[:20], t)], 256)
    train(model, examples, pad_id=tokenizer.pad_token_id, lr=1.0e-2, batch_size=3, seed=0, max_steps=steps)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory) -> Path:
    return write_tiny_base(tmp_path_factory.mktemp("base"))
