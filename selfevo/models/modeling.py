"""Loading models: a base by name or path (checked first), its tokenizer, a round's model with its
adapters folded in (selfevo/models/lineage.py says what a model folder holds).
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

import torch

from selfevo.config_data import ModelParams
from selfevo.errors import PipelineError
from selfevo.jsonio import read_json
from selfevo.models.hardware import pick_device, pick_dtype, set_threads
from selfevo.models.lineage import base_source, hash_files, model_chain


def check_source(name_or_path: str, key: str = "model.base", revision: str | None = None, *,
                 trust_remote_code: bool) -> Path:
    """Fail early, naming the params key, when a model can be found neither locally nor in the HF cache
    (nor, when online, on the hub), or when it ships code of its own (an `auto_map` in its config.json)
    and `model.trust_remote_code` is false: its config is read as plain JSON first, so none of its code
    runs. Returns the path of its config.json: inside the folder, or inside the hub cache's snapshot of
    the commit `revision` resolved to."""
    from transformers import AutoConfig
    from transformers.utils import cached_file

    try:
        found = cached_file(name_or_path, "config.json", revision=revision)
        if found is None:  # a local folder without one (transformers returns None rather than raising)
            raise OSError("it holds no config.json")
        config = Path(found)
        try:
            auto_map = json.loads(config.read_text(encoding="utf-8")).get("auto_map")
        except (ValueError, AttributeError):
            raise PipelineError(f"{config}: not a valid config.json ({key}: {name_or_path!r})") from None
        if auto_map and not trust_remote_code:
            raise PipelineError(f"params.yaml: {key}: {name_or_path!r} ships its own code ({config} maps "
                                f"{', '.join(sorted(auto_map))} to its Python files), and model.trust_remote_code "
                                f"is false, so none of it was run. Read that code, then set "
                                f"model.trust_remote_code: true to run it")
        AutoConfig.from_pretrained(name_or_path, revision=revision, trust_remote_code=trust_remote_code)
        return config
    except (OSError, ValueError) as e:
        offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes", "on"}
        hint = (" HF_HUB_OFFLINE is set (the Makefile sets it), so nothing is downloaded: put the model in the "
                "Hugging Face cache first, or run once with HF_HUB_OFFLINE=0." if offline else "")
        reason = str(e).rstrip(".")
        raise PipelineError(f"params.yaml: {key}: cannot load {name_or_path!r} "
                            f"(not a model folder, and not in the local Hugging Face cache): {reason}.{hint}") from None


def resolve_pointer(name_or_path: str, revision: str | None, *, trust_remote_code: bool) -> dict:
    """What a base pointer records, so that DVC sees new weights behind the same name: a hub model's
    resolved commit (later stages load exactly that commit), a local folder's content hash."""
    config = check_source(name_or_path, "model.base", revision, trust_remote_code=trust_remote_code)
    if Path(name_or_path).is_dir():
        return {"name_or_path": name_or_path, "sha256": hash_files(name_or_path)}
    return {"name_or_path": name_or_path, "revision": config.parent.name}  # snapshots/<commit>/config.json


# --- lineage -------------------------------------------------------------------------------------


def load_tokenizer(model_dir: str | Path, params: ModelParams):
    base_dir, _ = model_chain(model_dir)
    return load_pretrained_tokenizer(*base_source(base_dir), params=params)


def load_pretrained_tokenizer(source: str, revision: str | None = None, *, params: ModelParams):
    """A tokenizer from a folder or hub id (at a revision), with a pad token."""
    from transformers import AutoTokenizer

    if Path(source).is_dir() and not (Path(source) / "config.json").is_file():
        check_model_folder(source)  # names what the folder lacks

    tokenizer = AutoTokenizer.from_pretrained(source, revision=revision, trust_remote_code=params.trust_remote_code)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


LOAD_OPTIONS = ("local_files_only", "is_local", "cache_dir", "token", "use_auth_token", "proxies", "force_download")
"""How a tokenizer was loaded here (HF_HUB_OFFLINE, a cache folder), which transformers records in the
tokenizer_config.json it saves; not part of the model."""


def save_tokenizer(tokenizer, folder: str | Path) -> None:
    """save_pretrained, without the load options of this environment: a folder the pipeline writes has the
    same bytes, so the same DVC hash, whether or not HF_HUB_OFFLINE was set."""
    tokenizer.save_pretrained(folder)
    config = Path(folder) / "tokenizer_config.json"
    if config.is_file():
        data = json.loads(config.read_text(encoding="utf-8"))
        config.write_text(json.dumps({k: v for k, v in data.items() if k not in LOAD_OPTIONS}, indent=2,
                                     ensure_ascii=False) + "\n", encoding="utf-8")


def placement(params: ModelParams, device: torch.device, *, spread: bool, quantization: str | None) -> dict:
    """from_pretrained's options for where the weights go: with `spread` on a GPU, over every GPU and
    then CPU memory (accelerate's device_map="auto"), for models bigger than one card; with
    `quantization`, 8-bit or 4-bit weights (bitsandbytes, GPU only). Empty: the caller moves the model."""
    if quantization and device.type != "cuda":
        raise PipelineError(f"baselines.quantization: {quantization} needs a GPU (bitsandbytes); set it to null here")
    options: dict = {"device_map": "auto"} if spread and device.type == "cuda" else {}
    if quantization:
        from transformers import BitsAndBytesConfig

        options["quantization_config"] = BitsAndBytesConfig(
            load_in_8bit=quantization == "8bit", load_in_4bit=quantization == "4bit",
            bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=pick_dtype(params, device))
        options["device_map"] = "auto"
    return options


@contextlib.contextmanager
def _naming_broken_weights(folder):
    """A truncated or corrupt safetensors file ends in an error naming its folder, not the reader's."""
    from safetensors import SafetensorError

    try:
        yield
    except SafetensorError as e:
        raise PipelineError(f"{folder}: its safetensors weights cannot be read ({e}); a copy cut short? "
                            "Rebuild it with `dvc repro -f` on the stage that wrote it, or `dvc checkout`") from None


def check_model_folder(source: str) -> None:
    """A local model folder must hold config.json and safetensors weights (pytorch .bin weights would
    be unpickled: refused); a hub id passes (the hub is asked)."""
    folder = Path(source)
    if not folder.is_dir():
        return
    if not (folder / "config.json").is_file():
        raise PipelineError(f"{folder}: not a model folder (no config.json); give a Hugging Face model folder or "
                            f"a round's folder under models/")
    if not any(folder.glob("*.safetensors")) and not any(folder.glob("*.safetensors.index.json")):
        pickled = sorted(p.name for p in folder.iterdir() if p.suffix in {".bin", ".pt", ".pth", ".ckpt"})
        raise PipelineError(f"{folder}: no safetensors weights" + (
            f", only {', '.join(pickled[:3])}: pickled weights are never loaded here (they can run code). Convert "
            f"them to safetensors once, where you trust the file (save_pretrained(..., safe_serialization=True))"
            if pickled else ""))


def load_pretrained(source: str, revision: str | None = None, *, params: ModelParams,
                    device: torch.device | None = None, spread: bool = False, quantization: str | None = None,
                    dtype: torch.dtype | None = None):
    """Weights from a folder or hub id (at a revision; safetensors only), on the device (or placed as
    `placement` says), in `dtype` (default: `pick_dtype`'s), in eval mode."""
    from transformers import AutoModelForCausalLM

    check_model_folder(source)
    device = device or pick_device()
    set_threads(params, device)
    options = placement(params, device, spread=spread, quantization=quantization)
    try:
        with _naming_broken_weights(source):
            model = AutoModelForCausalLM.from_pretrained(
                source, revision=revision, dtype=dtype or pick_dtype(params, device),
                trust_remote_code=params.trust_remote_code, use_safetensors=True, **options)
    except ImportError as e:
        if not quantization:
            raise
        raise PipelineError(f"baselines.quantization: {quantization}: {e} (pip install -e \".[quant]\")") from None
    if "device_map" not in options:
        model.to(device)
    model.eval()
    return model


def load_model(model_dir: str | Path, params: ModelParams, device: torch.device | None = None,
               dtype: torch.dtype | None = None):
    """The model of a directory: its base with every adapter of its chain folded in (`fold_adapters`),
    in `dtype` (default: `pick_dtype`'s for the device)."""
    base_dir, adapters = model_chain(model_dir)
    model = load_pretrained(*base_source(base_dir), params=params, device=device, dtype=dtype)
    fold_adapters(model, adapters)
    return model


# LoRA as the rounds train it (selfevo.train.training.add_lora); a config that needs more of peft is refused
_UNFOLDABLE = ("use_dora", "lora_bias", "modules_to_save", "rank_pattern", "alpha_pattern", "fan_in_fan_out",
               "layer_replication", "trainable_token_indices")
ADAPTER_WEIGHTS = "adapter_model.safetensors"


def _adapter_deltas(adapter: Path) -> dict[str, list[tuple[torch.Tensor, torch.Tensor, float]]]:
    """Per adapted weight's name in the base model, the adapter's (B, A, scaling): its delta is B @ A * scaling."""
    from safetensors import safe_open

    config = read_json(adapter / "adapter_config.json")
    extra = [k for k in _UNFOLDABLE if config.get(k)]
    if config.get("peft_type") != "LORA" or extra:
        raise PipelineError(f"{adapter}: a {config.get('peft_type')} adapter with {', '.join(extra) or 'its type'}: "
                            f"only plain LoRA adapters on linear layers are folded")
    rank = config["r"]
    scaling = config["lora_alpha"] / (rank ** 0.5 if config.get("use_rslora") else rank)
    deltas = {}
    with _naming_broken_weights(adapter), safe_open(adapter / ADAPTER_WEIGHTS, "pt") as f:
        keys = set(f.keys())
        for key in sorted(keys):
            if not key.endswith((".lora_A.weight", ".lora_B.weight")):
                raise PipelineError(f"{adapter / ADAPTER_WEIGHTS}: {key}: only LoRA A and B weights of linear "
                                    f"layers are folded")
            if key.endswith(".lora_A.weight"):
                name = key.removeprefix("base_model.model.").removesuffix(".lora_A.weight") + ".weight"
                deltas[name] = [(f.get_tensor(key.replace(".lora_A.", ".lora_B.")), f.get_tensor(key), scaling)]
    return deltas


@torch.no_grad()
def fold_adapters(model, adapters: list[Path]) -> None:
    """Fold a chain of LoRA adapters (oldest first) into the model's weights, in place: per weight, on
    its own device, the base weight in fp32 plus every adapter's delta (B @ A * alpha / r) in fp32, cast
    back to the model's dtype once. Merging one adapter after another in bf16 or fp16 would round after
    each (peft#1388); in an fp32 model this is peft's merge, bit for bit."""
    weights = dict(model.named_parameters())
    chain: dict[str, list] = {}
    for adapter in adapters:
        for name, parts in _adapter_deltas(Path(adapter)).items():
            if name not in weights:
                raise PipelineError(f"{adapter}: it adapts {name}, which the base model does not have")
            chain.setdefault(name, []).extend(parts)
    for name, parts in chain.items():
        weight = weights[name]
        folded = weight.to(torch.float32, copy=True)
        for b, a, scaling in parts:
            folded += (b.to(weight.device, torch.float32) @ a.to(weight.device, torch.float32)) * scaling
        weight.copy_(folded)


def release_memory() -> None:
    """Give back the memory of models no longer referenced (the GPU's too), before the next one loads."""
    import gc

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def stop_token_ids(model, tokenizer) -> set[int]:
    """Every id that ends an assistant turn: the tokenizer's eos and the generation config's."""
    ids = {tokenizer.eos_token_id}
    eos = getattr(model.generation_config, "eos_token_id", None)
    ids.update(eos if isinstance(eos, list) else [eos])
    return {i for i in ids if i is not None}
