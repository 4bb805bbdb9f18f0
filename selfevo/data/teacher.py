"""The θ_HQ baseline's QA data: a ready QA file read and checked against the corpus (is it about these
documents?) and, whichever teacher wrote it, against the test set (does it hold the test's answers?)."""

from __future__ import annotations

import sys

from selfevo.errors import PipelineError
from selfevo.evaluate.contamination import reference_overlap
from selfevo.jsonio import read_jsonl
from selfevo.text import content_words

LABEL = "hq"


def read_qa_file(path: str) -> list[dict]:
    records = read_jsonl(path, required=("question", "answer"), texts=("question", "answer"))
    if not records:
        raise PipelineError(f"{path}: the teacher's QA file is empty")
    return [{"id": f"{LABEL}-{i}", "round": LABEL, "question": r["question"].strip(), "answer": r["answer"].strip()}
            for i, r in enumerate(records)]


MIN_OVERLAP = 0.3
"""Below this median share of a ready QA file's answer words found in the corpus, teacher warns."""


def corpus_overlap(pairs: list[dict], chunks: list[dict]) -> float:
    """The median over the pairs of the share of the answer's content tokens found anywhere in the
    corpus: near 1 for QA about these documents, near 0 for QA about another domain."""
    vocabulary = set(content_words("\n".join(c["text"] for c in chunks)))
    shares = []
    for pair in pairs:
        tokens = content_words(pair["answer"])
        shares.append(sum(t in vocabulary for t in tokens) / len(tokens) if tokens else 0.0)
    shares.sort()
    return round(shares[len(shares) // 2], 4) if shares else 0.0


def overlap_stats(pairs: list[dict], tests: list[dict], threshold: float, source: str) -> dict:
    """The teacher answers' highest 4-gram overlap with a test reference: quartiles, the pairs above
    `threshold` (warned about, by name), and how many there are."""
    overlaps = reference_overlap([p["answer"] for p in pairs], [t["answer"] for t in tests])
    shares = sorted(share for share, _ in overlaps)
    over = [(p["id"], where + 1, share) for p, (share, where) in zip(pairs, overlaps) if share > threshold]
    if over:
        named = ", ".join(f"{pid} ~ test record {line} ({share:.0%})" for pid, line, share in over[:10])
        print(f"warning: {source}: {len(over)} of {len(pairs)} teacher answers share more than {threshold:.0%} of "
              f"their word 4-grams with a test reference ({named}{', ...' if len(over) > 10 else ''}): θ_HQ would "
              f"be tuned on the test's answers. Write the teacher's QA without looking at the test set",
              file=sys.stderr)
    return {"median": shares[len(shares) // 2], "max": shares[-1], "over_threshold": len(over),
            "threshold": threshold} if shares else {}


def check_corpus_overlap(overlap: float, source: str) -> None:
    """Warn when a ready QA file's answers share little with the corpus (`corpus_overlap`)."""
    if overlap < MIN_OVERLAP:
        print(f"warning: {source}: its answers share little with the corpus (median {overlap:.0%} of "
              f"their words occur in it, under {MIN_OVERLAP:.0%}): θ_HQ would be tuned on another domain, "
              f"and every score is relative to it. Write pairs about this corpus there, or set "
              f"baselines.teacher to a model (docs/own-data.md)", file=sys.stderr)
