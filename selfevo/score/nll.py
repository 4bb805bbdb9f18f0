"""The per-token NLL primitive that IFD, the judge, training and evaluation share: the decoder runs on
the whole batch, the output head only on the positions that are read. A 49k-152k word vocabulary
over every position of a batch would cost gigabytes of logits (and a third of a small model's
training step) that none of them reads.

Sequences are right-padded in length-sorted batches; a mean NLL is a per-row mean over the scored
tokens only, so padding never enters a score.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from selfevo.batching import length_batches, pad, pad_with_mask
from selfevo.distributed import map_batches


def head_logits(model, hidden: torch.Tensor) -> torch.Tensor:
    """The output head's fp32 logits for some positions' hidden states, capped where the model caps them."""
    logits = model.get_output_embeddings()(hidden).float()
    cap = getattr(model.config, "final_logit_softcapping", None)
    return cap * torch.tanh(logits / cap) if cap else logits  # Gemma-2 style models cap their logits


def answer_token_nll(model, ids: torch.Tensor, mask: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor,
                     chunk: int = 2048) -> torch.Tensor:
    """NLL (fp32) of token cols+1 of each row, predicted at position cols: the decoder runs on the whole
    batch, the output head on those positions only, `chunk` positions at a time."""
    hidden = model.get_decoder()(input_ids=ids, attention_mask=mask).last_hidden_state
    parts = []
    for start in range(0, len(rows), chunk):
        r, c = rows[start:start + chunk], cols[start:start + chunk]
        parts.append(F.cross_entropy(head_logits(model, hidden[r, c]), ids[r, c + 1], reduction="none"))
    return torch.cat(parts)


def next_token_logprobs(model, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Log-probabilities (fp32) of the token after each right-padded row's last token."""
    hidden = model.get_decoder()(input_ids=ids, attention_mask=mask).last_hidden_state
    last = hidden[torch.arange(len(ids), device=ids.device), mask.sum(-1) - 1]
    return torch.log_softmax(head_logits(model, last), dim=-1)


@torch.no_grad()
def answer_nll(model, sequences: list[tuple[list[int], list[int]]], *, pad_id: int, batch_size: int,
               max_batch_tokens: int | None = None, desc: str = "nll") -> list[float]:
    """Mean NLL of the answer part of each (prefix ids, answer ids) sequence, in input order."""
    device = next(model.parameters()).device
    batches = length_batches([len(p) + len(a) for p, a in sequences], batch_size, max_batch_tokens)

    def work(idx: list[int]) -> list[float]:
        ids, mask = pad_with_mask([sequences[i][0] + sequences[i][1] for i in idx], pad_id)
        answer_mask = pad([[False] * len(sequences[i][0]) + [True] * len(sequences[i][1]) for i in idx], False,
                          dtype=torch.bool)
        ids, mask, answer_mask = ids.to(device), mask.to(device), answer_mask.to(device)
        target = answer_mask[:, 1:]  # token t is predicted from position t-1
        rows, cols = target.nonzero(as_tuple=True)
        nll = answer_token_nll(model, ids, mask, rows, cols)
        totals = torch.zeros(len(idx), dtype=nll.dtype, device=device).index_add_(0, rows, nll)
        return (totals / target.sum(-1).clamp(min=1)).tolist()

    return map_batches(batches, len(sequences), work, desc=desc)
