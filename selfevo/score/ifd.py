"""Instruction-Following Difficulty under a fixed scorer model, computed in batches.

IFD(Q, A) = s(A | Q) / s(A), each the mean negative log-likelihood of the answer tokens: once after
the chat-formatted question, once after the bare assistant header. Both passes score exactly the
same answer tokens, formatted as in training (selfevo/score/nll.py computes each).
"""

from __future__ import annotations

from selfevo.generate.prompts import answer_only_prefix, encode_example, qa_messages
from selfevo.score.nll import answer_nll


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
