"""Models: the embedded tiny chat model, a base that points at real weights, and round models.

A model directory is one of:
- a base built here: tokenizer + config + model.safetensors (`save_pretrained`);
- a base pointer: `pointer.json` naming a local path or hub id, so gigabytes of weights stay out of
  the DVC cache;
- a round: one LoRA adapter (safetensors) + `lineage.json` naming its parent directory and the
  parent's fingerprint. Round r's model is the base with adapters 0..r merged in order.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import torch

from selfevo.config import EmbeddedParams, ModelParams
from selfevo.errors import PipelineError
from selfevo.jsonio import read_json, write_json

POINTER = "pointer.json"
LINEAGE = "lineage.json"
EMBEDDED = "embedded"

# ChatML as Qwen1.5 writes it, without its default system turn and with one change: each message's
# text starts with a space, so that a reply's first word is the same token as that word inside a
# sentence (byte-level BPE tells " ALM" from "ALM"): a reply can then copy its first word.
CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n {{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def pick_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def pick_dtype(params: ModelParams, device: torch.device) -> torch.dtype:
    """`auto`: bf16 on a GPU that has it, fp16 on one that does not (a V100, the paper's), fp32 on CPU."""
    if params.dtype == "auto":
        if device.type != "cuda":
            return torch.float32
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return getattr(torch, params.dtype)


# --- the embedded base ---------------------------------------------------------------------------

def build_tokenizer(texts: list[str], vocab_size: int):
    """A byte-level BPE chat tokenizer trained on `texts` (any string can still be encoded)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    fast.chat_template = CHAT_TEMPLATE
    return fast


def build_tiny_model(params: EmbeddedParams, tokenizer):
    """A small Qwen2-architecture causal LM, randomly initialised from params.seed (with a copy circuit
    when params.copy_circuit)."""
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(params.seed)
    config = Qwen2Config(
        vocab_size=len(tokenizer), hidden_size=params.hidden_size, num_hidden_layers=params.layers,
        num_attention_heads=params.heads, num_key_value_heads=params.heads,
        intermediate_size=params.intermediate_size, max_position_embeddings=4096, tie_word_embeddings=True,
        rope_parameters={"rope_type": "default", "rope_theta": params.rope_theta},
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, bos_token_id=None,
    )
    model = Qwen2ForCausalLM(config)
    model.generation_config = GenerationConfig(eos_token_id=tokenizer.eos_token_id,
                                               pad_token_id=tokenizer.pad_token_id)
    if params.copy_circuit:
        init_copy_circuit(model, tokenizer, params.max_length)
    return model


# The copy circuit's constants. Each is a scale, not a tuned result: the previous-token head puts ~99%
# of its weight one position back (the second head, two back, adds the token before it at half
# weight); the induction head's score separates a token's match from the rest of a 500-token context;
# the copied token's vector outweighs the current one 3:1; the subject head scores a value after ':'
# 12 nats up and prefers earlier ones by 0.3 nats a token (the next line's value is ~10 tokens on);
# and the output head's gain keeps the first logits in a few-nats range for unit-scale token vectors.
PREVIOUS_TOKEN_SHARPNESS = 8.0
PREVIOUS_TOKEN_PLANES = 4
SECOND_TOKEN_WEIGHT = 0.5
INDUCTION_SHARPNESS = 4.0
COPY_WEIGHT = 3.0
SUBJECT_MATCH = 12.0
SUBJECT_SLOPE = 0.3
OUTPUT_GAIN = 0.1


def init_copy_circuit(model, tokenizer, max_length: int) -> None:
    """Start the model with a working copy circuit (an induction head), so that θ_0 reads.

    θ_0 has to copy names, codes and facts from the document in its prompt. A transformer copies with
    two heads in series: a previous-token head moves each token's identity one position on, and an
    induction head finds the earlier place where the current token was followed by something and
    copies that. Trained from scratch, a model finds this pair only after a plateau far longer than the
    embedded base's few CPU minutes, and then ignores its document. So the pair is built in, and training
    shapes everything around it (and the circuit too: no weight is frozen):

    - token vectors live in the first `head_dim` dimensions (U1) at unit scale, so that AdamW's steps
      nudge them instead of overwriting them; every other head's and MLP's output projection starts at
      zero, so the residual stream starts clean;
    - layer 0, head 0 attends by position alone (zero query/key weights, constant biases that RoPE turns
      into a score peaking one position back) and writes the previous token's U1 vector into U2; head 1
      does the same two positions back at half weight, so U2 holds the two tokens before each position;
    - layer 1, head 0 matches the current token and the one before it (query, from U1 and U2) against
      each position's two previous tokens (key, from U2), in the rotary planes slow enough not to turn
      over `max_length` positions, and writes the matched position's token (U1) back: the output head,
      tied to the token vectors, then predicts it. Matching two tokens, not one, is what continues
      "ALM-1001" past the '-' that also opens every bullet line;
    - layer 1, head 1, the subject head, finds where to start: the first value of the prompt's
      "Label: value" lines (a card's or alarm's name, which every question about it names). Its key
      marks each token whose previous token is ':' (from U2) and that is not a line break (U1); its
      query is constant, and a rotary plane that turns ~1 rad over `max_length` adds a score that grows
      with distance, so the earliest such value wins. It writes that token (U1) back at every position.
      The induction head cannot start a copy there: the word before the name in a question ("of") is
      not the word before it in the document (":").
    """
    inner = model.model
    hidden = model.config.hidden_size
    head_dim = inner.layers[0].self_attn.head_dim
    if model.config.num_hidden_layers < 2 or 2 * head_dim > hidden:
        raise PipelineError("embedded.copy_circuit needs at least 2 layers and 2 heads")
    u1, u2 = slice(0, head_dim), slice(head_dim, 2 * head_dim)  # spans of the hidden state
    head0, head1 = u1, u2  # an attention projection's rows for its first and second head: the same spans
    freqs = inner.rotary_emb.inv_freq.float()
    eye = torch.eye(head_dim)
    with torch.no_grad():
        embed = inner.embed_tokens.weight
        embed[:, u1] = torch.randn(embed.shape[0], head_dim)
        embed[:, head_dim:] = 0.0
        for layer in inner.layers:
            layer.self_attn.o_proj.weight.zero_()
            layer.mlp.down_proj.weight.zero_()

        previous = inner.layers[0].self_attn
        planes = torch.arange(PREVIOUS_TOKEN_PLANES)
        for offset, weight, span in ((1, 1.0, head0), (2, SECOND_TOKEN_WEIGHT, head1)):
            query, key = torch.zeros(head_dim), torch.zeros(head_dim)
            query[planes] = PREVIOUS_TOKEN_SHARPNESS
            key[planes] = PREVIOUS_TOKEN_SHARPNESS * torch.cos(offset * freqs[planes])
            key[planes + head_dim // 2] = PREVIOUS_TOKEN_SHARPNESS * torch.sin(offset * freqs[planes])
            _set_head(previous, span, query_bias=query, key_bias=key, value=_reads(eye, u1, hidden))
            previous.o_proj.weight[u2, span] = weight * eye

        second_layer = inner.layers[1].self_attn  # head 0: induction; head 1: subject
        slow = (freqs * max_length < 0.5).float().repeat(2)  # a plane's two dimensions: i and i + head_dim/2
        match = INDUCTION_SHARPNESS * torch.diag(slow)
        query = _reads(match, u1, hidden) + _reads(SECOND_TOKEN_WEIGHT * match, u2, hidden)
        _set_head(second_layer, head0, query=query, key=_reads(match, u2, hidden), value=_reads(eye, u1, hidden))
        second_layer.o_proj.weight[u1, head0] = COPY_WEIGHT * eye

        half, scale = head_dim // 2, head_dim ** 0.5  # attention scores are divided by sqrt(head_dim)
        content_plane = half - 1  # the slowest: does not turn over the context
        position_plane = int((freqs * max_length - 1.0).abs().argmin())
        if position_plane == content_plane:
            raise PipelineError("embedded.copy_circuit: head_dim too small for the subject head")
        colon, newline = (embed[_single_token(tokenizer, text), u1] for text in (":", "\n"))
        a = (SUBJECT_MATCH * scale) ** 0.5
        b = (SUBJECT_SLOPE * scale / freqs[position_plane]) ** 0.5
        query, key_bias = torch.zeros(head_dim), torch.zeros(head_dim)
        query[content_plane], query[position_plane] = a, b
        key_bias[position_plane + half] = b  # query.key = b² sin(f·distance): grows with distance
        key = torch.zeros(head_dim, hidden)
        key[content_plane, u2] = a * colon / colon.dot(colon)
        key[content_plane, u1] = -a * newline / newline.dot(newline)
        _set_head(second_layer, head1, query_bias=query, key=key, key_bias=key_bias, value=_reads(eye, u1, hidden))
        second_layer.o_proj.weight[u1, head1] = COPY_WEIGHT * eye
        inner.norm.weight.fill_(OUTPUT_GAIN)


def _single_token(tokenizer, text: str) -> int:
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    if len(ids) != 1:
        raise PipelineError(f"embedded.copy_circuit: the tokenizer splits {text!r} into {len(ids)} tokens")
    return ids[0]


def _reads(block: torch.Tensor, span: slice, hidden: int) -> torch.Tensor:
    """A projection from the hidden state that applies `block` to the dimensions in `span`."""
    weight = torch.zeros(block.shape[0], hidden)
    weight[:, span] = block
    return weight


def _set_head(attention, head: slice, query=None, key=None, value=None, query_bias=None, key_bias=None) -> None:
    """Overwrite one head's query/key/value weights (zero where not given) and query/key biases."""
    for proj, weight, bias in ((attention.q_proj, query, query_bias), (attention.k_proj, key, key_bias),
                               (attention.v_proj, value, None)):
        proj.weight[head] = 0.0 if weight is None else weight
        proj.bias[head] = 0.0 if bias is None else bias


def write_pointer(folder: str | Path, name_or_path: str) -> None:
    write_json(Path(folder) / POINTER, {"name_or_path": name_or_path})


def check_source(name_or_path: str, key: str = "model.base") -> None:
    """Fail early, naming the params key, when a model can be found neither locally nor in the HF cache."""
    from transformers import AutoConfig

    try:
        AutoConfig.from_pretrained(name_or_path)
    except (OSError, ValueError) as e:
        raise PipelineError(f"params.yaml: {key}: cannot load {name_or_path!r} "
                            f"(not a model folder, and not in the local Hugging Face cache): {e}") from None


# --- lineage -------------------------------------------------------------------------------------

def fingerprint(folder: str | Path) -> str:
    """sha256 over every file's relative name and bytes: a round's fingerprint covers its whole chain,
    since its lineage.json holds its parent's fingerprint."""
    folder = Path(folder)
    h = hashlib.sha256()
    for f in sorted(p for p in folder.rglob("*") if p.is_file()):
        h.update(str(f.relative_to(folder)).encode())
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def write_lineage(round_dir: str | Path, parent_dir: str | Path, name: str) -> None:
    """Record the parent as a path relative to the round, so a checkout anywhere (or a `dvc pull`
    into another machine) still finds it."""
    round_dir, parent_dir = Path(round_dir), Path(parent_dir)
    write_json(round_dir / LINEAGE, {"name": name,
                                     "parent": os.path.relpath(parent_dir.resolve(), round_dir.resolve()),
                                     "parent_fingerprint": fingerprint(parent_dir)})


def model_chain(model_dir: str | Path) -> tuple[Path, list[Path]]:
    """The base directory and the adapter directories, oldest first, behind a model directory.
    Each link's fingerprint is checked, so a stale or edited parent is caught, not silently used."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise PipelineError(f"{model_dir}: model folder not found")
    adapters: list[Path] = []
    current = model_dir
    while (current / LINEAGE).is_file():
        info = read_json(current / LINEAGE)
        parent = (current / info["parent"]).resolve()
        if not parent.is_dir():
            raise PipelineError(f"{current / LINEAGE}: parent model {parent} not found")
        if fingerprint(parent) != info["parent_fingerprint"]:
            raise PipelineError(f"{current}: its parent {parent} changed after this round was trained; "
                                f"rerun the pipeline (dvc repro)")
        adapters.append(current)
        current = parent
    return current, adapters[::-1]


def base_source(base_dir: Path) -> str:
    """What from_pretrained should load for a base directory."""
    pointer = base_dir / POINTER
    return read_json(pointer)["name_or_path"] if pointer.is_file() else str(base_dir)


def load_tokenizer(model_dir: str | Path, params: ModelParams):
    base_dir, _ = model_chain(model_dir)
    return load_pretrained_tokenizer(base_source(base_dir), params)


def load_pretrained_tokenizer(source: str, params: ModelParams):
    """A tokenizer from a folder or hub id, with a pad token."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=params.trust_remote_code)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_pretrained(source: str, params: ModelParams, device: torch.device | None = None):
    """Weights from a folder or hub id (safetensors only), on the device, in eval mode."""
    from transformers import AutoModelForCausalLM

    device = device or pick_device()
    model = AutoModelForCausalLM.from_pretrained(
        source, dtype=pick_dtype(params, device), trust_remote_code=params.trust_remote_code, use_safetensors=True,
    ).to(device)
    model.eval()
    return model


def load_model(model_dir: str | Path, params: ModelParams, device: torch.device | None = None):
    """The model of a directory: its base with every adapter of its chain merged in, in order."""
    base_dir, adapters = model_chain(model_dir)
    model = load_pretrained(base_source(base_dir), params, device)
    if adapters:
        from peft import PeftModel  # imported only when needed: ~2 s of every stage's start-up

    for adapter in adapters:
        model = PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()
    model.eval()
    return model


def stop_token_ids(model, tokenizer) -> set[int]:
    """Every id that ends an assistant turn: the tokenizer's eos and the generation config's."""
    ids = {tokenizer.eos_token_id}
    eos = getattr(model.generation_config, "eos_token_id", None)
    ids.update(eos if isinstance(eos, list) else [eos])
    return {i for i in ids if i is not None}
