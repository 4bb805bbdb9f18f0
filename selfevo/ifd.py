"""Instruction-Following Difficulty under a fixed scorer model, computed in batches.

IFD(Q, A) = s(A | Q) / s(A), each the mean negative log-likelihood of the answer tokens: once after
the chat-formatted question, once after the bare assistant header. Both passes score exactly the
same answer tokens, formatted as in training. Sequences are right-padded in length-sorted batches;
the answer NLL is a masked per-row mean, so padding never enters a score.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from tqdm import tqdm

from selfevo.prompts import answer_only_prefix, encode_example, qa_messages


@torch.no_grad()
def answer_nll(model, sequences: list[tuple[list[int], list[int]]], *, pad_id: int, batch_size: int,
               desc: str = "nll") -> list[float]:
    """Mean NLL of the answer part of each (prefix ids, answer ids) sequence."""
    device = next(model.parameters()).device
    order = sorted(range(len(sequences)), key=lambda i: len(sequences[i][0]) + len(sequences[i][1]))
    result = [0.0] * len(sequences)
    for start in tqdm(range(0, len(order), batch_size), desc=desc, unit="batch"):
        idx = order[start:start + batch_size]
        rows = [sequences[i][0] + sequences[i][1] for i in idx]
        width = max(len(r) for r in rows)
        ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
        mask = torch.zeros_like(ids)
        answer_mask = torch.zeros_like(ids, dtype=torch.bool)
        for j, i in enumerate(idx):
            prefix, answer = sequences[i]
            ids[j, :len(rows[j])] = torch.tensor(rows[j])
            mask[j, :len(rows[j])] = 1
            answer_mask[j, len(prefix):len(rows[j])] = True
        ids, mask, answer_mask = ids.to(device), mask.to(device), answer_mask.to(device)
        logits = model(input_ids=ids, attention_mask=mask).logits.float()
        # token t is predicted from position t-1
        nll = F.cross_entropy(logits[:, :-1].transpose(1, 2), ids[:, 1:], reduction="none")
        target = answer_mask[:, 1:]
        per_row = (nll * target).sum(-1) / target.sum(-1).clamp(min=1)
        for j, i in enumerate(idx):
            result[i] = per_row[j].item()
    return result


def ifd_scores(model, tokenizer, pairs: list[tuple[str, str]], *, batch_size: int, max_length: int) -> list[dict]:
    """{conditioned_nll, direct_nll, ifd} for each (question, answer) pair, in input order."""
    bare = answer_only_prefix(tokenizer)
    conditioned, direct = [], []
    for question, answer in pairs:
        prompt, completion = encode_example(tokenizer, qa_messages(question), answer)
        completion = completion[:max(1, max_length - len(prompt))]
        conditioned.append((prompt, completion))
        direct.append((bare, completion))
    pad = tokenizer.pad_token_id
    s_cond = answer_nll(model, conditioned, pad_id=pad, batch_size=batch_size, desc="IFD s(A|Q)")
    s_direct = answer_nll(model, direct, pad_id=pad, batch_size=batch_size, desc="IFD s(A)")
    return [{"conditioned_nll": c, "direct_nll": d, "ifd": c / d if d > 0 else None}
            for c, d in zip(s_cond, s_direct)]
