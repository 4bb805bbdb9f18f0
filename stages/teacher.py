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

from selfevo.config import load_params, load_section
from selfevo.config_train import QA_FILE
from selfevo.data.teacher import LABEL, check_corpus_overlap, corpus_overlap, overlap_stats, read_qa_file
from selfevo.data.testset import read_tests
from selfevo.errors import PipelineError, run_stage
from selfevo.generate.cleaning import check_kept
from selfevo.generate.pairs import generate_pairs
from selfevo.generate.prompts import load_prompts
from selfevo.generate.vllm_backend import VllmModel
from selfevo.jsonio import read_jsonl, write_json, write_jsonl
from selfevo.models.hardware import autocast, check_fits_gpus, pick_device, pick_dtype
from selfevo.models.modeling import check_source, load_pretrained, load_pretrained_tokenizer
from selfevo.stageargs import stage_args


def main() -> None:
    parser = argparse.ArgumentParser(description="Write the θ_HQ baseline's QA data.")
    parser.add_argument("--chunks", required=True)
    parser.add_argument("--prompts", required=True)
    parser.add_argument("--qa-file", required=True, help="used when baselines.teacher is qa_file")
    parser.add_argument("--test", required=True, help="the test set, to measure the teacher's overlap with it")
    parser.add_argument("--out", required=True)
    parser.add_argument("--stats", required=True)
    args = stage_args(parser)

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
        check_corpus_overlap(overlap, args.qa_file)
        write_json(args.stats, stats)
    else:
        model_params = load_section("model", raw)
        chunks = read_jsonl(args.chunks, required=("id", "text"))
        if not chunks:
            raise PipelineError(f"{args.chunks}: no chunks for the teacher")
        prompts = load_prompts(args.prompts)
        config = check_source(teacher, "baselines.teacher", trust_remote_code=model_params.trust_remote_code)
        check_fits_gpus(config, "baselines.teacher", pick_dtype(model_params, pick_device()), baselines.quantization)
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
