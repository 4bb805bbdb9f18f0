"""A cheap quality judge (Dial-insight's multi-dimensional check): the fixed scorer θ_ifd rates each
pair on separate dimensions, each one yes/no question about the chunk, the question and the answer.

A dimension's score is p(yes) / (p(yes) + p(no)) from the next-token distribution after the judging
prompt: one forward pass per pair and dimension, no sampling, nothing to parse, deterministic. The
output head runs on each prompt's last position only (selfevo/score/nll.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import yaml

from selfevo.batching import length_batches, pad_with_mask
from selfevo.distributed import map_batches
from selfevo.errors import PipelineError
from selfevo.generate.prompts import fit_prompt, render_prompt
from selfevo.score.nll import next_token_logprobs

DIMENSIONS = ("answerable", "faithful", "self_contained", "one_question")
JUDGE_FILE = "judge.yaml"


@dataclass(frozen=True)
class JudgePrompts:
    template: str
    """With {knowledge}, {question}, {answer} and {criterion}."""
    criteria: dict[str, str]
    """One yes/no question per dimension."""
    yes: str
    no: str


def load_judge(folder: str | Path) -> JudgePrompts:
    path = Path(folder) / JUDGE_FILE
    if not path.is_file():
        raise PipelineError(f"{path}: judge prompt file not found")
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    for key in ("template", "criteria", "yes_word", "no_word"):
        if key not in raw:
            raise PipelineError(f"{path}: missing key {key!r}")
    for placeholder in ("{knowledge}", "{question}", "{answer}", "{criterion}"):
        if placeholder not in raw["template"]:
            raise PipelineError(f"{path}: template: no {placeholder} placeholder")
    missing = [d for d in DIMENSIONS if not isinstance(raw["criteria"].get(d), str)]
    if missing:
        raise PipelineError(f"{path}: criteria: missing {', '.join(missing)}")
    return JudgePrompts(raw["template"].strip(), {d: raw["criteria"][d].strip() for d in DIMENSIONS},
                        str(raw["yes_word"]), str(raw["no_word"]))


def answer_word_ids(tokenizer, word: str) -> list[int]:
    """First tokens of the ways a reply can start with `word` (as written, lower-case, capitalised)."""
    ids = []
    for form in dict.fromkeys((word, word.lower(), word.capitalize())):
        tokens = tokenizer(form, add_special_tokens=False)["input_ids"]
        if tokens and tokens[0] not in ids:
            ids.append(tokens[0])
    return ids


@torch.no_grad()
def yes_probabilities(model, prompts: list[list[int]], yes_ids: list[int], no_ids: list[int], *, pad_id: int,
                      batch_size: int, max_batch_tokens: int | None = None, desc: str = "judge") -> list[float]:
    """p(yes) / (p(yes) + p(no)) of the next token after each prompt (token ids), in input order."""
    if set(yes_ids) & set(no_ids):
        raise PipelineError("the judge's yes and no words start with the same token")
    device = next(model.parameters()).device

    def work(idx: list[int]) -> list[float]:
        ids, mask = pad_with_mask([prompts[i] for i in idx], pad_id)
        logprobs = next_token_logprobs(model, ids.to(device), mask.to(device))
        yes = torch.logsumexp(logprobs[:, yes_ids], dim=-1)
        no = torch.logsumexp(logprobs[:, no_ids], dim=-1)
        return torch.sigmoid(yes - no).tolist()

    batches = length_batches([len(p) for p in prompts], batch_size, max_batch_tokens)
    return map_batches(batches, len(prompts), work, desc=desc)


def judge_pairs(model, tokenizer, pairs: list[dict], chunks: dict[str, str], judge: JudgePrompts, *,
                batch_size: int, max_length: int, max_batch_tokens: int | None = None) -> list[dict[str, float]]:
    """{dimension: score in [0, 1]} for each pair {chunk_id, question, answer}, in input order. A prompt
    over max_length tokens keeps its chunk's start (`prompts.fit_prompt`); the pair and criterion stay."""
    yes_ids, no_ids = answer_word_ids(tokenizer, judge.yes), answer_word_ids(tokenizer, judge.no)
    scores: list[dict[str, float]] = [{} for _ in pairs]
    for dim in DIMENSIONS:
        prompts = []
        for pair in pairs:
            text = (judge.template.replace("{criterion}", judge.criteria[dim]).replace("{question}", pair["question"])
                    .replace("{answer}", pair["answer"]))
            messages, _ = fit_prompt(tokenizer, lambda k: [{"role": "user", "content": text.replace("{knowledge}", k)}],
                                     chunks[pair["chunk_id"]], max_length, what="the judging prompt")
            prompts.append(tokenizer(render_prompt(tokenizer, messages), add_special_tokens=False)["input_ids"])
        probs = yes_probabilities(model, prompts, yes_ids, no_ids, pad_id=tokenizer.pad_token_id,
                                  batch_size=batch_size, max_batch_tokens=max_batch_tokens, desc=f"judge {dim}")
        for score, p in zip(scores, probs):
            score[dim] = round(p, 6)
    return scores
