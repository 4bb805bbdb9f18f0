"""evaluate@r: θ_{r+1} answers every test question with no document, greedily; BLEU and chrF.

    python stages/evaluate.py --model models/round_0 --test data/test.jsonl \
        --metrics metrics/eval/round_0.json --predictions reports/predictions/round_0.jsonl

`evaluate_base` runs the same file on θ_0.
"""

import argparse

from selfevo.config import load_params, load_section
from selfevo.errors import PipelineError, run_stage
from selfevo.evaluation import score_answers
from selfevo.generation import generate
from selfevo.jsonio import read_jsonl, write_json, write_jsonl
from selfevo.modeling import load_model, load_tokenizer, model_chain
from selfevo.prompts import qa_messages


def main() -> None:
    parser = argparse.ArgumentParser(description="Closed-book evaluation of a model on the test set.")
    parser.add_argument("--model", required=True)
    parser.add_argument("--test", required=True, help="JSONL of {question, answer}")
    parser.add_argument("--metrics", required=True)
    parser.add_argument("--predictions", required=True)
    args = parser.parse_args()

    raw = load_params()
    params = load_section("evaluate", raw)
    model_params = load_section("model", raw)
    tests = read_jsonl(args.test, required=("question", "answer"))
    if not tests:
        raise PipelineError(f"{args.test}: no test questions")
    _, adapters = model_chain(args.model)
    tokenizer = load_tokenizer(args.model, model_params)
    model = load_model(args.model, model_params)
    answers = generate(model, tokenizer, [qa_messages(t["question"]) for t in tests], [0] * len(tests),
                       max_new_tokens=params.max_new_tokens, temperature=0.0, top_p=1.0,
                       batch_size=params.batch_size, max_prompt_tokens=4096, desc="evaluate")
    scores = score_answers(answers, [t["answer"] for t in tests], params.bleu_tokenize)
    metrics = {"rounds_trained": len(adapters), **scores, "questions": len(tests)}
    write_json(args.metrics, metrics)
    write_jsonl(args.predictions, [{"question": t["question"], "reference": t["answer"], "prediction": a}
                                   for t, a in zip(tests, answers)])
    print(f"evaluate: θ_{len(adapters)} BLEU {scores['bleu']:.2f} chrF {scores['chrf']:.2f} -> {args.metrics}")


if __name__ == "__main__":
    run_stage(main)
