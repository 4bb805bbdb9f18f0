"""How the quality judge agrees with the cleaning rules on one round: every chunk's raw question and
answer from the generation cache (.cache/generate), sorted into kept and dropped by the cleaning
rules, then judged by θ_ifd. Prints the 2x2 table (cleaning keeps/drops x judge mean above/below
0.5), the judge's mean per dimension for each side, and the pairs it rates lowest and highest.

    python scripts/judge_agreement.py --round 0     # after `dvc repro` (needs its generation cache)
"""

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from selfevo.config import load_params, load_section  # noqa: E402
from selfevo.jsonio import read_jsonl  # noqa: E402
from selfevo.score.judge import DIMENSIONS, judge_pairs, load_judge  # noqa: E402
from selfevo.models.modeling import load_model, load_tokenizer
from selfevo.models.lineage import fingerprint
from selfevo.models.hardware import autocast
from selfevo.generate.cleaning import clean_answer, clean_question  # noqa: E402
from selfevo.generate.itemcache import ItemCache  # noqa: E402
from selfevo.generate.prompts import load_prompts  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--round", type=int, default=0)
    parser.add_argument("--show", type=int, default=5)
    args = parser.parse_args()
    raw = load_params(ROOT / "params.yaml")
    params, model_params = load_section("generate", raw), load_section("model", raw)
    judge_params = load_section("judge", raw)
    if params.evolve_prompts:
        raise SystemExit("this script reads the fixed prompt's generation cache; set generate.evolve_prompts: false")
    language = raw["prompts"]["language"]
    prompts = load_prompts(ROOT / "prompts" / language)
    model_dir = ROOT / "models" / ("base" if args.round == 0 else f"theta_{args.round}")
    cache = ItemCache(ROOT / ".cache" / "generate", model_fingerprint=fingerprint(model_dir), prompts=prompts,
                      params=params, label=args.round, cpu_autocast=model_params.cpu_autocast)
    if not cache.questions:
        raise SystemExit(f"no generation cache for round {args.round} at {cache.path}; run `dvc repro` first")
    chunks = {c["id"]: c["text"] for c in read_jsonl(ROOT / "data" / "prepared" / "chunks.jsonl")}
    candidates = []
    for chunk_id, raw_q in cache.questions.items():
        question, why = clean_question(raw_q, chunks[chunk_id], params.named_subject)
        hit = cache.answers.get(chunk_id)
        if not question or not hit:
            continue  # no answer was written: nothing to judge
        answer, why = clean_answer(hit["raw"], chunks[chunk_id], params.min_grounding)
        candidates.append({"chunk_id": chunk_id, "question": question, "answer": answer or hit["raw"].strip(),
                           "kept": bool(answer), "why": why})
    base = ROOT / "models" / "base"
    model, tokenizer = load_model(base, model_params), load_tokenizer(base, model_params)
    started = time.perf_counter()
    with autocast(model_params):
        scores = judge_pairs(model, tokenizer, candidates, chunks, load_judge(ROOT / "prompts" / language),
                             batch_size=judge_params.batch_size, max_length=judge_params.max_length)
    seconds = time.perf_counter() - started
    for c, s in zip(candidates, scores):
        c["judge"], c["mean"] = s, sum(s.values()) / len(s)
    print(f"{len(candidates)} answered pairs of round {args.round} judged in {seconds:.0f} s "
          f"({len(candidates) * len(DIMENSIONS)} judging prompts)\n")
    print("| cleaning \\ judge mean | >= 0.5 | < 0.5 |\n|---|---|---|")
    for kept in (True, False):
        side = [c for c in candidates if c["kept"] == kept]
        print(f"| {'kept' if kept else 'dropped'} ({len(side)}) | {sum(c['mean'] >= 0.5 for c in side)} | "
              f"{sum(c['mean'] < 0.5 for c in side)} |")
    print()
    for kept in (True, False):
        side = [c for c in candidates if c["kept"] == kept]
        if side:
            means = {d: sum(c["judge"][d] for c in side) / len(side) for d in DIMENSIONS}
            print(f"{'kept' if kept else 'dropped'}: " + ", ".join(f"{d} {m:.3f}" for d, m in means.items()))
    ranked = sorted(candidates, key=lambda c: c["mean"])
    for title, rows in (("lowest", ranked[:args.show]), ("highest", ranked[::-1][:args.show])):
        print(f"\nrated {title}:")
        for c in rows:
            print(f"  {c['mean']:.3f} [{'kept' if c['kept'] else c['why']}] Q: {c['question']} A: {c['answer'][:160]}")


if __name__ == "__main__":
    main()
