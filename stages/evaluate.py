"""evaluate@r: θ_{r+1} answers every test question with no document, greedily; BLEU, chrF and ROUGE-L,
the NLL of the reference answers, and where the test records list their facts, the share of facts the
answers state (fact recall), the share of questions with every fact stated, and the chance level. Then
the general-ability set, likewise: the share of replies with a right keyword and the reference NLL, to
see whether domain tuning costs general ability. Every headline figure has its 95% bootstrap interval.

    python stages/evaluate.py --model models/theta_1 --test data/test.jsonl \
        --metrics metrics/eval/theta_1.json --stats metrics/evaluate/theta_1.json \
        --predictions reports/predictions/theta_1.jsonl \
        --general data/general.jsonl --general-predictions reports/predictions/general/theta_1.jsonl

The metrics file holds the headline (selfevo.evaluate.metrics.HEADLINE), the stats file the rest, with the
processor it ran on.
`evaluate_base` and `evaluate_hq` run the same file on θ_0 and θ_HQ. With `generate.backend: vllm`
the torch model computes the reference NLLs first and is freed; a vLLM engine then writes the answers.
"""

import argparse
import sys

from selfevo.config import load_params, load_rounds, load_section
from selfevo.config_train import evaluation_model_params
from selfevo.data.testset import has_facts, read_tests
from selfevo.distributed import launch_on_every_gpu
from selfevo.errors import run_stage
from selfevo.evaluate.evaluation import (closed_book, general_ability, open_book, passages, read_general, reference_nll,
                                reference_nlls)
from selfevo.evaluate.metrics import split_headline
from selfevo.generate.prompts import load_prompts
from selfevo.generate.vllm_backend import VllmModel, require as require_vllm
from selfevo.jsonio import read_jsonl, write_json, write_jsonl
from selfevo.models.hardware import autocast, processor
from selfevo.models.lineage import model_chain
from selfevo.models.modeling import load_model, load_tokenizer, release_memory
from selfevo.stageargs import stage_args


def main() -> None:
    parser = argparse.ArgumentParser(description="Closed-book evaluation of a model on the test set.")
    parser.add_argument("--model", required=True)
    parser.add_argument("--test", required=True, help="JSONL of {question, answer}")
    parser.add_argument("--metrics", required=True, help="the headline metrics (JSON)")
    parser.add_argument("--stats", required=True, help="the rest: rounds trained, counts, budgets (JSON)")
    parser.add_argument("--predictions", required=True)
    parser.add_argument("--general", required=True, help="JSONL of everyday {question, answer, keywords}")
    parser.add_argument("--general-predictions", required=True)
    parser.add_argument("--chunks", help="the corpus's chunks: with --prompts and evaluate.open_book, each test "
                        "question is also answered with the passage of its chunk that states its facts in view")
    parser.add_argument("--merged-models", help="folder of merged round models vLLM serves, shared with the "
                        "generate stages (generate.backend: vllm)")
    parser.add_argument("--prompts", help="the prompts folder whose answer prompt the open-book pass uses")
    args = stage_args(parser)

    raw = load_params()
    load_rounds(raw)  # a broken chain stops every round's stage before any work
    backend = load_section("generate", raw).backend
    require_vllm(backend)
    if backend == "torch":  # one process per GPU when there are several; vLLM spreads a model itself
        launch_on_every_gpu()
    params = load_section("evaluate", raw)
    model_params = evaluation_model_params(load_section("model", raw), params)
    tests, general = read_tests(args.test), read_general(args.general)
    _, adapters = model_chain(args.model)
    texts = passages(tests, read_jsonl(args.chunks, required=("id", "text")), load_section("generate", raw).anchor_window) \
        if params.open_book and args.chunks and has_facts(tests) else None
    model, tokenizer = load_model(args.model, model_params), load_tokenizer(args.model, model_params)
    with autocast(model_params):
        nlls = reference_nlls(model, tokenizer, tests, params)
        general_nll = reference_nll(model, tokenizer, general, params, "general")
        if backend == "vllm":  # the engine takes the GPU's free memory when it starts: the torch model goes first
            del model
            release_memory()
            model = VllmModel.for_model_dir(args.model, model_params, seed=0, merged_models=args.merged_models)
        try:
            opened = open_book(model, tokenizer, tests, texts, load_prompts(args.prompts), params) if texts else None
            metrics, predictions = closed_book(model, tokenizer, tests, params, nlls, opened=opened)
            general_metrics, general_predictions = general_ability(model, tokenizer, general, params, general_nll)
        finally:
            if backend == "vllm":
                model.close()
    metrics = {"rounds_trained": len(adapters), **metrics, **general_metrics, "processor": processor()}
    if metrics["references_over_budget"] or metrics["questions_cut"]:
        print(f"warning: evaluate: {metrics['references_over_budget']} of {len(tests)} reference answers are longer "
              f"than evaluate.max_new_tokens ({params.max_new_tokens}), so no answer can match them in full, and "
              f"{metrics['questions_cut']} questions were longer than evaluate.max_prompt_tokens; raise those params",
              file=sys.stderr)
    headline, detail = split_headline(metrics)
    write_json(args.metrics, headline)
    write_json(args.stats, detail)
    write_jsonl(args.predictions, predictions)
    write_jsonl(args.general_predictions, general_predictions)
    facts = (f"fact recall {metrics['fact_recall']:.3f} [{metrics['fact_recall_low']:.3f}, "
             f"{metrics['fact_recall_high']:.3f}] (chance {metrics['fact_chance']:.3f})"
             + (f", open-book {metrics['open_fact_recall']:.3f}" if "open_fact_recall" in metrics else "") + ", "
             if has_facts(tests) else
             f"fact metrics absent ({args.test} lists no facts), ")
    print(f"evaluate: {args.model} ({len(adapters)} adapters) {facts}BLEU {metrics['bleu']:.2f} "
          f"[{metrics['bleu_low']:.2f}, {metrics['bleu_high']:.2f}], reference NLL {metrics['reference_nll']:.4f}; "
          f"general: score {metrics['general_score']:.3f} NLL {metrics['general_nll']:.4f} -> {args.metrics}")


if __name__ == "__main__":
    run_stage(main)
