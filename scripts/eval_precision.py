"""Does evaluation in bf16 autocast on a CPU give the same answers with another kernel? The thread count
stands in for another processor (a different split of the same sums; docs/throughput.md): each model
answers the test set in bf16 autocast and in fp32, with 2 threads and with 1, and the script counts the
answers that change between thread counts, the reference NLLs' largest change, and the seconds.

    python scripts/eval_precision.py models/base models/theta_1 --out reports/eval_precision.json
"""

import argparse
import dataclasses
import time

import torch

from selfevo.config import load_params, load_section
from selfevo.data.testset import read_tests
from selfevo.evaluate.evaluation import closed_book, reference_nlls
from selfevo.jsonio import write_json
from selfevo.models.hardware import autocast
from selfevo.models.modeling import load_model, load_tokenizer


def run(model_dir: str, tests: list[dict], raw: dict, cpu_autocast: bool, threads: int) -> dict:
    params = load_section("evaluate", raw)
    model_params = dataclasses.replace(load_section("model", raw), cpu_autocast=cpu_autocast, threads=threads)
    model, tokenizer = load_model(model_dir, model_params), load_tokenizer(model_dir, model_params)
    torch.set_num_threads(threads)
    started = time.perf_counter()
    with autocast(model_params):
        nlls = reference_nlls(model, tokenizer, tests, params)
        metrics, predictions = closed_book(model, tokenizer, tests, params, nlls)
    return {"seconds": round(time.perf_counter() - started, 1), "answers": [p["prediction"] for p in predictions],
            "nlls": nlls, "fact_recall": metrics.get("fact_recall"), "bleu": metrics["bleu"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--test", default="data/test.jsonl")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    raw, tests = load_params(), read_tests(args.test)
    report = {}
    for model_dir in args.models:
        runs = {(dtype, threads): run(model_dir, tests, raw, dtype == "bf16", threads)
                for dtype in ("bf16", "fp32") for threads in (2, 1)}
        report[model_dir] = {}
        for dtype in ("bf16", "fp32"):
            two, one = runs[(dtype, 2)], runs[(dtype, 1)]
            report[model_dir][dtype] = {
                "answers_changed_by_threads": sum(a != b for a, b in zip(two["answers"], one["answers"])),
                "largest_nll_change": round(max(abs(a - b) for a, b in zip(two["nlls"], one["nlls"])), 4),
                "seconds_2_threads": two["seconds"], "seconds_1_thread": one["seconds"],
                "bleu": [two["bleu"], one["bleu"]], "fact_recall": [two["fact_recall"], one["fact_recall"]]}
        report[model_dir]["answers_changed_bf16_vs_fp32"] = sum(
            a != b for a, b in zip(runs[("bf16", 2)]["answers"], runs[("fp32", 2)]["answers"]))
        print(model_dir, report[model_dir])
    write_json(args.out, report)
    print(f"eval_precision: {len(args.models)} models -> {args.out}")


if __name__ == "__main__":
    main()
