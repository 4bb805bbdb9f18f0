"""How well a training recipe stores facts: LoRA on a QA file from the base, then the closed-book fact
recall (with its 95% interval) on questions with facts. Used to choose the default's epochs, learning
rate and rank on the development set (data/dev), never on data/test.jsonl, and to measure the ceiling
(the base trained on the teacher's QA on every fact, data/ceiling/qa.jsonl, asked the test questions).

    python scripts/recipe_study.py --pairs data/dev/ceiling/qa.jsonl --tests data/dev/test.jsonl \
        --setting epochs=2 --setting epochs=6,lr=2e-3,r=8 --out reports/recipe/dev_ceiling.json

A setting overrides params.yaml's `train` section (epochs, lr, lora_r; lora_alpha follows as 2 r unless
given); the model and evaluation settings are params.yaml's. Each setting prints one row: fact recall
[interval], BLEU, replies that are questions, the final training loss and the minutes it took.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from selfevo.config import load_params, load_section  # noqa: E402
from selfevo.evaluate.evaluation import closed_book  # noqa: E402
from selfevo.jsonio import read_jsonl  # noqa: E402
from selfevo.models.modeling import load_model, load_tokenizer
from selfevo.models.hardware import autocast
from selfevo.generate.prompts import qa_messages  # noqa: E402
from selfevo.data.testset import read_tests  # noqa: E402
from selfevo.train.training import add_lora, tokenize_examples, train  # noqa: E402

KEYS = {"epochs": int, "lr": float, "lora_r": int, "r": int, "lora_alpha": int, "batch_size": int}


def parse_setting(text: str) -> dict:
    """`epochs=6,lr=2e-3,r=8` -> {"epochs": 6, "lr": 0.002, "lora_r": 8, "lora_alpha": 16}."""
    setting = {}
    for part in filter(None, text.split(",")):
        key, _, value = part.partition("=")
        if key not in KEYS:
            raise SystemExit(f"--setting {text}: unknown key {key!r}; use {', '.join(KEYS)}")
        setting["lora_r" if key == "r" else key] = KEYS[key](value)
    if "lora_r" in setting:
        setting.setdefault("lora_alpha", 2 * setting["lora_r"])
    return setting


def run(setting: dict, pairs: list[dict], tests: list[dict], model_dir: str, raw: dict) -> dict:
    params = dataclasses.replace(load_section("train", raw), **setting)
    model_params, evaluate = load_section("model", raw), load_section("evaluate", raw)
    tokenizer = load_tokenizer(model_dir, model_params)
    examples, _ = tokenize_examples(tokenizer, [(qa_messages(p["question"]), p["answer"]) for p in pairs],
                                    params.max_length)
    model = add_lora(load_model(model_dir, model_params), params.lora_r, params.lora_alpha, params.lora_dropout,
                     params.target_modules, params.seed, False)
    started = time.perf_counter()
    stats = train(model, examples, pad_id=tokenizer.pad_token_id, lr=params.lr, batch_size=params.batch_size,
                  seed=params.seed, epochs=params.epochs, forward_context=lambda: autocast(model_params))
    model.eval()
    metrics, predictions = closed_book(model, tokenizer, tests, evaluate, [0.0] * len(tests))
    keep = ("fact_recall", "fact_recall_low", "fact_recall_high", "fact_chance", "bleu", "question_replies")
    return {"setting": {k: getattr(params, k) for k in ("epochs", "lr", "lora_r", "lora_alpha", "batch_size")},
            **{k: metrics[k] for k in keep if k in metrics}, "final_loss": stats["final_loss"],
            "minutes": round((time.perf_counter() - started) / 60, 1), "examples": predictions[:3]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", required=True, nargs="+", help="QA files ({question, answer} per line)")
    parser.add_argument("--tests", required=True, help="questions with facts, e.g. data/dev/test.jsonl")
    parser.add_argument("--model", default="models/base")
    parser.add_argument("--setting", action="append", default=[], help="e.g. epochs=6,lr=2e-3,r=8 (repeatable)")
    parser.add_argument("--out", type=Path, help="write every row here (JSON)")
    args = parser.parse_args()
    raw = load_params(ROOT / "params.yaml")
    pairs = [p for path in args.pairs for p in read_jsonl(path, required=("question", "answer"))]
    tests = read_tests(args.tests)
    rows = []
    for text in args.setting or [""]:
        row = run(parse_setting(text), pairs, tests, args.model, raw)
        rows.append(row)
        print(f"{text or 'params.yaml'}: fact recall {row.get('fact_recall')} [{row.get('fact_recall_low')}, "
              f"{row.get('fact_recall_high')}] (chance {row.get('fact_chance')}), BLEU {row['bleu']}, "
              f"question replies {row['question_replies']}, loss {row['final_loss']}, {row['minutes']} min",
              flush=True)
        if args.out:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps({"pairs": args.pairs, "tests": args.tests, "rows": rows}, indent=2,
                                           ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
