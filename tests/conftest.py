"""Shared fixtures: a tiny real chat model (2 layers, 64 dims) built from scratch, saved as a base."""

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from selfevo.config import EmbeddedParams, ModelParams  # noqa: E402
from selfevo.modeling import build_tiny_model, build_tokenizer  # noqa: E402
from selfevo.prompts import qa_messages  # noqa: E402
from selfevo.training import tokenize_examples, train  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TEXTS = ["The fan tray is faulty. Replace the fan tray.", "What causes the alarm? The cable is loose.",
         "Question: Which planet is largest? Answer: Jupiter is the largest planet."] * 5


@pytest.fixture(scope="session")
def tiny_params() -> EmbeddedParams:
    return EmbeddedParams(vocab_size=300, hidden_size=64, layers=2, heads=4, intermediate_size=128,
                          rope_theta=1.0e6, max_length=256, steps=4, batch_size=4, lr=1.0e-3, heldout_cards=2,
                          copy_circuit=True, seed=0)


@pytest.fixture(scope="session")
def model_params() -> ModelParams:
    return ModelParams(base="embedded", dtype="float32", trust_remote_code=False)


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory, tiny_params) -> Path:
    """A saved base model folder: tokenizer + Qwen2 model in safetensors, with a chat template,
    trained for a few steps so that greedy decoding writes words rather than nothing."""
    folder = tmp_path_factory.mktemp("base")
    tokenizer = build_tokenizer(TEXTS, tiny_params.vocab_size)
    model = build_tiny_model(tiny_params, tokenizer)
    examples, _ = tokenize_examples(tokenizer, [(qa_messages(t[:20]), t) for t in TEXTS[:3]], 256)
    train(model, examples, pad_id=tokenizer.pad_token_id, lr=1.0e-2, batch_size=3, seed=0, max_steps=80)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
