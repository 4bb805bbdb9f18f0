"""Incremental generation: the raw question and answer each item (a chunk, its slot, its try) wrote,
recorded under a key made of everything that decides them: the model's fingerprint (its files, and
for a round its whole adapter chain) and precision (`model.cpu_autocast`), the engine that runs it
(backend and its version, dtype, device type), the prompt texts, the sampling params and seed, and
the round label; inside that, the chunk's content-hash id (and the try's number). A rerun after a
few documents change generates only those chunks. Every item samples from its own seeded stream
(`item_seed`), so a reused record is what a from-scratch run would write. The batch size, token
budget, number of tries and the cleaning switches (min_grounding, named_subject) are left out of the
key: they do not change what an item writes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
import time
from pathlib import Path

from selfevo.config_data import GenerateParams
from selfevo.generate.prompts import Prompts
from selfevo.jsonio import read_json, write_json


# Not in the sampling part of the cache key: how items are grouped, and how what they wrote is cleaned,
# never change what an item writes; nor do the evolution switches, since the question prompts themselves
# are in the key. The backend is in the key's engine part (`generation.engine`), with its version. The
# anchored items' names hold the window and example counts, and their writer is the cache's model.
NOT_GENERATION = ("backend", "batch_size", "max_batch_tokens", "min_grounding", "named_subject", "attempts",
                  "questions_per_chunk", "repeat_overlap", "evolve_prompts", "evolve_keep", "evolve_temperature", "evolve_max_tokens",
                  "anchor", "anchor_window", "anchor_examples", "anchor_writer")


def item_key(chunk_id: str, attempt: int) -> str:
    """An item: its chunk, and after the first try the try's number."""
    return chunk_id if attempt == 0 else f"{chunk_id}#{attempt}"


def item_seed(seed: int, label: int | str, chunk: str, step: str) -> int:
    """A seed per item and step, so an item's sample never depends on its batch or neighbours."""
    digest = hashlib.sha256(f"{seed}:{label}:{chunk}:{step}".encode()).hexdigest()
    return int(digest[:8], 16)


class ItemCache:
    """Raw generations per chunk for one setting (model, engine (`generation.engine`), prompts and the
    question-prompt set the slots draw from, sampling, label, and the precision and thread count that
    bf16 autocast results depend on): one JSON file, `<folder>/<settings key>.json`,
    rewritten atomically as batches finish (at most every `SAVE_EVERY_S`) and after each phase, so an
    interrupted run keeps what it made. `folder=None` disables it."""

    VERSION = 1
    SAVE_EVERY_S = 30.0

    def __init__(self, folder: str | Path | None, *, model_fingerprint: str, prompts: Prompts,
                 params: GenerateParams, label: int | str, cpu_autocast: bool = False, threads: int | None = None,
                 engine: dict | None = None, prompt_set: dict | None = None, anchor: dict | None = None):
        settings = {"version": self.VERSION, "model": model_fingerprint, "cpu_autocast": cpu_autocast,
                    "threads": threads, "engine": engine or {},
                    "question_prompt": prompts.question, "prompt_set": prompt_set, "opener": prompts.opener,
                    "answer_prompt": prompts.answer, "label": str(label), **({"anchor": anchor} if anchor else {}),
                    "sampling": {f.name: getattr(params, f.name) for f in dataclasses.fields(params)
                                 if f.name not in NOT_GENERATION}}
        self.key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:32]
        self.path = Path(folder) / f"{self.key}.json" if folder else None
        stored = read_json(self.path) if self.path and self.path.is_file() else {}
        self.questions: dict[str, str] = stored.get("questions", {})
        self.answers: dict[str, dict[str, str]] = stored.get("answers", {})
        self.settings = settings
        self._saved = time.monotonic()

    def answer(self, chunk_id: str, question: str) -> str | None:
        hit = self.answers.get(chunk_id)
        return hit["raw"] if hit and hit["question"] == question else None

    def record_questions(self, keys: list[str], raw: list[str]) -> None:
        """Questions of finished batches: kept, and saved when the last save is `SAVE_EVERY_S` old."""
        self.questions.update(zip(keys, raw))
        self._save_soon()

    def record_answers(self, keys: list[str], questions: list[str], raw: list[str]) -> None:
        self.answers.update({k: {"question": q, "raw": a} for k, q, a in zip(keys, questions, raw)})
        self._save_soon()

    def _save_soon(self) -> None:
        from selfevo.distributed import is_main

        if is_main() and time.monotonic() - self._saved >= self.SAVE_EVERY_S:
            self.save()

    def save(self) -> None:
        """Store what was made so far; a cache that cannot be written (read-only, disk full) is
        switched off with a warning, and the stage goes on with what it made."""
        if not self.path:
            return
        self._saved = time.monotonic()
        try:
            write_json(self.path, {"settings": self.settings, "questions": self.questions, "answers": self.answers})
        except OSError as e:
            print(f"warning: the generation cache {self.path.parent} cannot be written ({e.strerror}); "
                  "going on without it", file=sys.stderr)
            self.path = None
