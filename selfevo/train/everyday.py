"""θ_0's own replies to everyday requests, replayed beside every round's domain pairs (`train.everyday`)
so the tuned model keeps answering everyday requests the way θ_0 did: the general-ability lever of
Dial-insight, self-distilled (no teacher, no human answer). The requests (`prompts/<lang>/everyday.txt`,
one per line) are advice, description and writing tasks, none of them a question of the general-ability
test set (data/general.jsonl; tests/test_everyday.py checks it)."""

from __future__ import annotations

from pathlib import Path

from selfevo.errors import PipelineError
from selfevo.generate.prompts import fit_question
from selfevo.text import complete_sentences


def read_requests(path: str | Path) -> list[str]:
    """The non-empty lines of `path`, each one everyday request."""
    path = Path(path)
    if not path.is_file():
        raise PipelineError(f"{path}: everyday requests not found (one request per line)")
    requests = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not requests:
        raise PipelineError(f"{path}: no everyday request in it (one request per line)")
    return requests


def everyday_replies(model, tokenizer, requests: list[str], *, max_new_tokens: int, max_prompt_tokens: int,
                     batch_size: int, no_repeat_ngram: int) -> list[dict]:
    """θ's greedy reply to each request, cut to its complete sentences; a reply with none is left out."""
    from selfevo.generate.generation import generate  # torch only where replies are written

    fitted = [fit_question(tokenizer, r, max_prompt_tokens)[0] for r in requests]
    replies = generate(model, tokenizer, fitted, [0] * len(requests), max_new_tokens=max_new_tokens,
                       temperature=0.0, top_p=1.0, batch_size=batch_size, max_prompt_tokens=max_prompt_tokens,
                       no_repeat_ngram=no_repeat_ngram, desc="everyday")
    kept = [(q, complete_sentences(a)) for q, a in zip(requests, replies)]
    return [{"id": f"everyday-{i}", "question": q, "answer": a} for i, (q, a) in enumerate(kept) if a]
