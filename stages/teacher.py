"""teacher: the QA data of the θ_HQ baseline, written by a stronger teacher.

    python stages/teacher.py --chunks data/prepared/chunks.jsonl --prompts prompts/en \
        --qa-file data/teacher/qa.jsonl --test data/test.jsonl --out data/baselines/teacher_qa.jsonl \
        --stats metrics/baselines/teacher.json

`baselines.teacher: qa_file` takes a ready QA file (JSONL of {question, answer}) and warns when its
answers share little with the corpus (QA about another domain); a model path or hub id instead writes
one pair per chunk with the pipeline's own prompts and generate params, exactly as a round does. The
stage depends on the QA file's folder, not the file, so with a teacher model the file may be gone.
Either way it measures each teacher answer's highest word 4-gram overlap with a test reference, writes
the distribution to its stats and warns, naming the pairs, above `baselines.max_test_overlap`: θ_HQ
tuned on the test's answers would be no baseline.
"""

import argparse
import re
import sys

from selfevo.config import QA_FILE, load_params, load_section
from selfevo.contamination import reference_overlap
from selfevo.errors import PipelineError, run_stage
from selfevo.jsonio import read_jsonl, write_json, write_jsonl
from selfevo.modeling import autocast, check_source, load_pretrained, load_pretrained_tokenizer
from selfevo.pairs import check_kept, generate_pairs
from selfevo.prompts import load_prompts
from selfevo.testset import read_tests
from selfevo.vllm_backend import VllmModel

LABEL = "hq"


def read_qa_file(path: str) -> list[dict]:
    records = read_jsonl(path, required=("question", "answer"), texts=("question", "answer"))
    if not records:
        raise PipelineError(f"{path}: the teacher's QA file is empty")
    return [{"id": f"{LABEL}-{i}", "round": LABEL, "question": r["question"].strip(), "answer": r["answer"].strip()}
            for i, r in enumerate(records)]


MIN_OVERLAP = 0.3
"""Below this median share of a ready QA file's answer words found in the corpus, teacher warns."""


_CONTENT = re.compile(r"[\u4e00-\u9fff]{2}|[^\W\d_]{5,}|\w*\d\w*")
"""Content-bearing tokens: words of 5+ letters, tokens with a digit (codes, values), Chinese bigrams."""


def corpus_overlap(pairs: list[dict], chunks: list[dict]) -> float:
    """The median over the pairs of the share of the answer's content tokens found anywhere in the
    corpus: near 1 for QA about these documents, near 0 for QA about another domain."""
    vocabulary = set(_CONTENT.findall("\n".join(c["text"] for c in chunks).lower()))
    shares = []
    for pair in pairs:
        tokens = _CONTENT.findall(pair["answer"].lower())
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


def main() -> None:
    parser = argparse.ArgumentParser(description="Write the θ_HQ baseline's QA data.")
    parser.add_argument("--chunks", required=True)
    parser.add_argument("--prompts", required=True)
    parser.add_argument("--qa-file", required=True, help="used when baselines.teacher is qa_file")
    parser.add_argument("--test", required=True, help="the test set, to measure the teacher's overlap with it")
    parser.add_argument("--out", required=True)
    parser.add_argument("--stats", required=True)
    args = parser.parse_args()

    raw = load_params()
    baselines = load_section("baselines", raw)
    teacher = baselines.teacher
    tests = read_tests(args.test)
    if teacher == QA_FILE:
        pairs = read_qa_file(args.qa_file)
        chunks = read_jsonl(args.chunks, required=("id", "text"))
        overlap = corpus_overlap(pairs, chunks)
        stats = {"teacher": args.qa_file, "pairs": len(pairs), "corpus_overlap": overlap,
                 "test_overlap": overlap_stats(pairs, tests, baselines.max_test_overlap, args.qa_file)}
        if overlap < MIN_OVERLAP:
            print(f"warning: {args.qa_file}: its answers share little with the corpus (median {overlap:.0%} of "
                  f"their words occur in it, under {MIN_OVERLAP:.0%}): θ_HQ would be tuned on another domain, "
                  f"and every score is relative to it. Write pairs about this corpus there, or set "
                  f"baselines.teacher to a model (README)", file=sys.stderr)
        write_json(args.stats, stats)
    else:
        model_params = load_section("model", raw)
        chunks = read_jsonl(args.chunks, required=("id", "text"))
        if not chunks:
            raise PipelineError(f"{args.chunks}: no chunks for the teacher")
        prompts = load_prompts(args.prompts)
        check_source(teacher, "baselines.teacher", trust_remote_code=model_params.trust_remote_code)
        params = load_section("generate", raw)
        tokenizer = load_pretrained_tokenizer(teacher, params=model_params)
        model = (VllmModel(teacher, None, model_params, seed=params.seed, quantization=baselines.quantization)
                 if params.backend == "vllm"
                 else load_pretrained(teacher, params=model_params, spread=True, quantization=baselines.quantization))
        with autocast(model_params):
            pairs, stats = generate_pairs(model, tokenizer, chunks, prompts, params, LABEL)
        stats = {"teacher": teacher, **stats}
        write_json(args.stats, stats)  # first, so the reasons are on disk even when nothing was kept
        check_kept(f"teacher ({teacher})", stats, params, args.prompts, f"The counts are in {args.stats}")
        stats["test_overlap"] = overlap_stats(pairs, tests, baselines.max_test_overlap, f"teacher ({teacher})")
        write_json(args.stats, stats)
    write_jsonl(args.out, pairs)
    print(f"teacher: {len(pairs)} pairs from {stats['teacher']} -> {args.out}")


if __name__ == "__main__":
    run_stage(main)
