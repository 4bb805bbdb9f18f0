"""Instruction-Following Difficulty under a fixed scorer model, computed in batches.

IFD(Q, A) = s(A | Q) / s(A), each the mean negative log-likelihood of the answer tokens: once after
the chat-formatted question, once after the bare assistant header. Both passes score exactly the
same answer tokens, formatted as in training. Sequences are right-padded in length-sorted batches;
the answer NLL is a per-row mean over answer tokens only, so padding never enters a score. The output
head runs on the answer positions alone: a 152k-word vocabulary (Qwen) over every position of a
batch would cost gigabytes of logits that IFD never reads.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from selfevo.batching import length_batches
from selfevo.distributed import map_batches
from selfevo.prompts import answer_only_prefix, encode_example, qa_messages


def answer_token_nll(model, ids: torch.Tensor, mask: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor,
                     chunk: int = 2048) -> torch.Tensor:
    """NLL (fp32) of token cols+1 of each row, predicted at position cols: the decoder runs on the whole
    batch, the output head on those positions only, `chunk` positions at a time."""
    hidden = model.get_decoder()(input_ids=ids, attention_mask=mask).last_hidden_state
    head, cap = model.get_output_embeddings(), getattr(model.config, "final_logit_softcapping", None)
    parts = []
    for start in range(0, len(rows), chunk):
        r, c = rows[start:start + chunk], cols[start:start + chunk]
        logits = head(hidden[r, c]).float()
        if cap:  # Gemma-2 style models cap their logits
            logits = cap * torch.tanh(logits / cap)
        parts.append(F.cross_entropy(logits, ids[r, c + 1], reduction="none"))
    return torch.cat(parts)


@torch.no_grad()
def answer_nll(model, sequences: list[tuple[list[int], list[int]]], *, pad_id: int, batch_size: int,
               max_batch_tokens: int | None = None, desc: str = "nll") -> list[float]:
    """Mean NLL of the answer part of each (prefix ids, answer ids) sequence."""
    device = next(model.parameters()).device
    batches = length_batches([len(p) + len(a) for p, a in sequences], batch_size, max_batch_tokens)

    def work(idx: list[int]) -> list[float]:
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
        # token t is predicted from position t-1
        target = answer_mask[:, 1:]
        rows, cols = target.nonzero(as_tuple=True)
        nll = answer_token_nll(model, ids, mask, rows, cols)
        totals = torch.zeros(len(idx), dtype=nll.dtype, device=device).index_add_(0, rows, nll)
        return (totals / target.sum(-1).clamp(min=1)).tolist()

    return map_batches(batches, len(sequences), work, desc=desc)


def ifd_scores(model, tokenizer, pairs: list[tuple[str, str]], *, batch_size: int, max_length: int,
               max_batch_tokens: int | None = None) -> list[dict]:
    """{conditioned_nll, direct_nll, ifd} for each (question, answer) pair, in input order."""
    bare = answer_only_prefix(tokenizer)
    conditioned, direct = [], []
    for question, answer in pairs:
        prompt, completion = encode_example(tokenizer, qa_messages(question), answer)
        completion = completion[:max(1, max_length - len(prompt))]
        conditioned.append((prompt, completion))
        direct.append((bare, completion))
    pad = tokenizer.pad_token_id
    batching = dict(pad_id=pad, batch_size=batch_size, max_batch_tokens=max_batch_tokens)
    s_cond = answer_nll(model, conditioned, **batching, desc="IFD s(A|Q)")
    s_direct = answer_nll(model, direct, **batching, desc="IFD s(A)")
    return [{"conditioned_nll": c, "direct_nll": d, "ifd": c / d if d > 0 else None}
            for c, d in zip(s_cond, s_direct)]
