"""`no_repeat_ngram` for the vLLM backend: the torch backend's rule (selfevo.generate.generation.banned_tokens)
as a vLLM logits processor, which selfevo.generate.vllm_backend hands every engine it starts. This module
imports vllm, so it is imported only there. A request asks for the rule with
`SamplingParams(extra_args={"no_repeat_ngram": n})`; others pass through untouched."""

from __future__ import annotations

import torch
from vllm.v1.sample.logits_processor import AdapterLogitsProcessor

from selfevo.generate.generation import NO_REPEAT_KEY, banned_tokens


class NoRepeatNgram(AdapterLogitsProcessor):
    """No n tokens in a row written twice in one reply: the tokens that would complete an n-gram the
    reply already holds get a logit of -inf (the prompt is not checked, as in the torch backend)."""

    def is_argmax_invariant(self) -> bool:
        return False  # it changes greedy replies too

    def new_req_logits_processor(self, params):
        n = int((params.extra_args or {}).get(NO_REPEAT_KEY, 0))
        if n <= 0:
            return None

        def ban(output_ids: list[int], logits: torch.Tensor) -> torch.Tensor:
            banned = banned_tokens(output_ids, n)
            if banned:
                logits[banned] = float("-inf")
            return logits

        return ban
