"""references: further models (baselines.references) answer the test questions closed-book, as they
are, evaluated like every round (the paper compares with Qwen1.5-72B-Chat and GPT-3.5).

    python stages/references.py --test data/test.jsonl --metrics metrics/baselines/references.json \
        --stats metrics/evaluate/references.json --predictions reports/predictions/references.jsonl

Each model's headline metrics go to --metrics, the rest to --stats. With no references both are empty
mappings, so the report always finds the file.
"""

import argparse

from selfevo.config import load_params, load_section
from selfevo.config_train import evaluation_model_params
from selfevo.data.testset import read_tests
from selfevo.errors import run_stage
from selfevo.evaluate.evaluation import closed_book, reference_nlls
from selfevo.evaluate.metrics import split_headline
from selfevo.generate.vllm_backend import VllmModel, require as require_vllm
from selfevo.jsonio import write_json, write_jsonl
from selfevo.models.hardware import autocast, check_fits_gpus, pick_device, pick_dtype
from selfevo.models.modeling import check_source, load_pretrained, load_pretrained_tokenizer, release_memory
from selfevo.stageargs import stage_args


def main() -> None:
    parser = argparse.ArgumentParser(description="Closed-book evaluation of reference models.")
    parser.add_argument("--test", required=True)
    parser.add_argument("--metrics", required=True)
    parser.add_argument("--stats", required=True)
    parser.add_argument("--predictions", required=True)
    args = stage_args(parser)

    raw = load_params()
    baselines = load_section("baselines", raw)
    names = baselines.references
    params = load_section("evaluate", raw)
    model_params = evaluation_model_params(load_section("model", raw), params)
    backend = load_section("generate", raw).backend
    require_vllm(backend)
    tests = read_tests(args.test)
    for name in names:  # fail before any model is loaded
        config = check_source(name, "baselines.references", trust_remote_code=model_params.trust_remote_code)
        check_fits_gpus(config, "baselines.references", pick_dtype(model_params, pick_device()),
                        baselines.quantization)
    metrics, stats, predictions = {}, {}, []
    for name in names:
        model = load_pretrained(name, params=model_params, spread=True, quantization=baselines.quantization)
        tokenizer = load_pretrained_tokenizer(name, params=model_params)
        with autocast(model_params):
            nlls = reference_nlls(model, tokenizer, tests, params, name)
            if backend == "vllm":  # as in stages/evaluate.py: the torch model goes before the engine starts
                del model
                release_memory()
                model = VllmModel(name, None, model_params, seed=0, quantization=baselines.quantization)
            try:
                result, answers = closed_book(model, tokenizer, tests, params, nlls, desc=name)
            finally:
                if backend == "vllm":
                    model.close()
        metrics[name], stats[name] = split_headline(result)
        predictions += [{"model": name, **a} for a in answers]
        print(f"references: {name} BLEU {metrics[name]['bleu']:.2f}")
        del model
        release_memory()
    write_json(args.metrics, metrics)
    write_json(args.stats, stats)
    write_jsonl(args.predictions, predictions)
    print(f"references: {len(names)} models -> {args.metrics}")


if __name__ == "__main__":
    run_stage(main)
