"""Shared fixtures: the committed tiny chat model of the embedded base's architecture
(tests/assets/tiny_chat, built once by tests/assets/make_tiny_chat.py; no test trains it)."""

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from selfevo.config_data import ModelParams

from tiny import TINY_CHAT  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def model_params() -> ModelParams:
    return ModelParams(base="smollm2", revision=None, dtype="float32", cpu_autocast=False, trust_remote_code=False,
                       threads=None)


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory) -> Path:
    """A copy of the committed fixture, so no test can change the one in the repository."""
    return Path(shutil.copytree(TINY_CHAT, tmp_path_factory.mktemp("base") / "tiny_chat"))
