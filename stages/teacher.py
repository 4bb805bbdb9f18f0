"""teacher: the QA data of the θ_HQ baseline, written by a stronger teacher.

    python stages/teacher.py --chunks data/prepared/chunks.jsonl --prompts prompts/en \
        --qa-file data/teacher_qa.jsonl --out data/baselines/teacher_qa.jsonl \
        --stats metrics/baselines/teacher.json

`baselines.teacher: qa_file` takes a ready QA file (JSONL of {question, answer}); a model path or hub
id instead writes one pair per chunk with the pipeline's own prompts and generate params, exactly as
a round does.
"""

import argparse

from selfevo.config import QA_FILE, load_params, load_section
from selfevo.errors import PipelineError, run_stage
from selfevo.jsonio import read_jsonl, write_json, write_jsonl
from selfevo.modeling import autocast, check_source, load_pretrained, load_pretrained_tokenizer
from selfevo.pairs import generate_pairs
from selfevo.prompts import load_prompts

LABEL = "hq"


def read_qa_file(path: str) -> list[dict]:
    records = read_jsonl(path, required=("question", "answer"), texts=("question", "answer"))
    if not records:
        raise PipelineError(f"{path}: the teacher's QA file is empty")
    return [{"id": f"{LABEL}-{i}", "round": LABEL, "question": r["question"].strip(), "answer": r["answer"].strip()}
            for i, r in enumerate(records)]


def main() -> None:
    parser = argparse.ArgumentParser(description="Write the θ_HQ baseline's QA data.")
    parser.add_argument("--chunks", required=True)
    parser.add_argument("--prompts", required=True)
    parser.add_argument("--qa-file", required=True, help="used when baselines.teacher is qa_file")
    parser.add_argument("--out", required=True)
    parser.add_argument("--stats", required=True)
    args = parser.parse_args()

    raw = load_params()
    teacher = load_section("baselines", raw).teacher
    if teacher == QA_FILE:
        pairs = read_qa_file(args.qa_file)
        stats = {"teacher": args.qa_file, "pairs": len(pairs)}
    else:
        model_params = load_section("model", raw)
        chunks = read_jsonl(args.chunks, required=("id", "text"))
        if not chunks:
            raise PipelineError(f"{args.chunks}: no chunks for the teacher")
        prompts = load_prompts(args.prompts)
        check_source(teacher, "baselines.teacher")
        model, tokenizer = load_pretrained(teacher, params=model_params), load_pretrained_tokenizer(teacher, params=model_params)
        with autocast(model_params):
            pairs, stats = generate_pairs(model, tokenizer, chunks, prompts, load_section("generate", raw), LABEL)
        stats = {"teacher": teacher, **stats}
    write_jsonl(args.out, pairs)
    write_json(args.stats, stats)
    print(f"teacher: {len(pairs)} pairs from {stats['teacher']} -> {args.out}")


if __name__ == "__main__":
    run_stage(main)
