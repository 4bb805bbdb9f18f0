"""Round models: the LoRA adapter's shape, and loading base + adapters equals merging by hand."""

import shutil
from dataclasses import replace

import pytest
import torch

from selfevo.errors import PipelineError
from selfevo.config import ModelParams
from selfevo.modeling import (build_tiny_model, build_tokenizer, load_model, load_tokenizer, model_chain, pick_dtype,
                              write_lineage)
from selfevo.prompts import qa_messages
from selfevo.training import add_lora, tokenize_examples, train

LINEAR = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}


def train_round(start, out, model_params, round_index, seed, gradient_checkpointing=False):
    tokenizer = load_tokenizer(start, model_params)
    examples, _ = tokenize_examples(tokenizer, [(qa_messages("What causes it?"), "The fan is faulty."),
                                                (qa_messages("How to fix it?"), "Replace the fan tray.")], 256)
    model = add_lora(load_model(start, model_params, torch.device("cpu")), 4, 8, 0.0, "all-linear", seed,
                     gradient_checkpointing)
    model.stats = train(model, examples, pad_id=tokenizer.pad_token_id, lr=5.0e-2, batch_size=2, seed=seed,
                        epochs=2)
    model.save_pretrained(out)
    write_lineage(out, start, f"round_{round_index}")
    return model


def test_adapter_has_paper_settings_on_every_linear_layer(tiny_base, model_params, tmp_path):
    model = train_round(tiny_base, tmp_path / "round_0", model_params, 0, seed=0)
    config = model.peft_config["default"]
    assert config.r == 4 and config.lora_alpha == 8
    wrapped = {name.split(".")[-1] for name, module in model.named_modules() if hasattr(module, "lora_A")}
    assert wrapped == LINEAR  # every linear layer of every block; the output head stays frozen
    layers = model.base_model.model.config.num_hidden_layers
    assert sum(1 for n, m in model.named_modules() if hasattr(m, "lora_A")) == layers * len(LINEAR)
    for module in (m for m in model.modules() if hasattr(m, "lora_A")):
        assert module.lora_A["default"].weight.shape[0] == 4
    saved = {p.name for p in (tmp_path / "round_0").iterdir()}
    assert {"adapter_model.safetensors", "adapter_config.json", "lineage.json"} <= saved
    assert not any(name.endswith((".bin", ".pt", ".pkl")) for name in saved)


def test_round_model_equals_base_plus_adapters_merged_by_hand(tiny_base, model_params, tmp_path):
    from safetensors.torch import load_file

    models = tmp_path / "models"
    shutil.copytree(tiny_base, models / "base")
    train_round(models / "base", models / "round_0", model_params, 0, seed=0)
    train_round(models / "round_0", models / "round_1", model_params, 1, seed=1)
    base_dir, adapters = model_chain(models / "round_1")
    assert base_dir == (models / "base").resolve() and [a.name for a in adapters] == ["round_0", "round_1"]

    base_state = load_model(models / "base", model_params).state_dict()
    expected = {k: v.clone() for k, v in base_state.items()}
    for adapter in ("round_0", "round_1"):
        weights = load_file(models / adapter / "adapter_model.safetensors")
        for key, a in weights.items():
            if "lora_A" not in key:
                continue
            b = weights[key.replace("lora_A", "lora_B")]
            target = key.replace("base_model.model.", "").replace(".lora_A.weight", ".weight")
            expected[target] += (8 / 4) * b @ a
    merged = load_model(models / "round_1", model_params).state_dict()
    for key, value in expected.items():
        torch.testing.assert_close(merged[key], value, atol=1e-5, rtol=1e-5)
    # training moved the weights, so the comparison is not trivially true
    assert any(not torch.equal(expected[k], base_state[k]) for k in expected if "proj" in k)


def test_changed_parent_is_caught(tiny_base, model_params, tmp_path):
    models = tmp_path / "models"
    shutil.copytree(tiny_base, models / "base")
    train_round(models / "base", models / "round_0", model_params, 0, seed=0)
    (models / "base" / "config.json").write_text((models / "base" / "config.json").read_text() + " ")
    with pytest.raises(PipelineError, match="changed after this round was trained"):
        load_model(models / "round_0", model_params)


def test_training_a_round_twice_gives_the_same_adapter(tiny_base, model_params, tmp_path):
    """The adapter's random initialisation is seeded, not drawn from whatever state the process is in."""
    torch.manual_seed(123)  # a different global state before each run must not matter
    train_round(tiny_base, tmp_path / "a", model_params, 0, seed=0)
    torch.manual_seed(456)
    train_round(tiny_base, tmp_path / "b", model_params, 0, seed=0)
    a = (tmp_path / "a" / "adapter_model.safetensors").read_bytes()
    assert a == (tmp_path / "b" / "adapter_model.safetensors").read_bytes()
    train_round(tiny_base, tmp_path / "c", model_params, 0, seed=1)
    assert a != (tmp_path / "c" / "adapter_model.safetensors").read_bytes()


def test_gradient_checkpointing_changes_no_result(tiny_base, model_params, tmp_path):
    plain = train_round(tiny_base, tmp_path / "plain", model_params, 0, seed=0)
    checkpointed = train_round(tiny_base, tmp_path / "ckpt", model_params, 0, seed=0, gradient_checkpointing=True)
    assert checkpointed.base_model.model.is_activation_checkpointing
    assert not plain.base_model.model.is_activation_checkpointing
    a, b = plain.state_dict(), checkpointed.state_dict()
    lora = [k for k in a if "lora_" in k]
    assert lora and plain.stats["final_loss"] < plain.stats["first_loss"]
    for key in lora:
        torch.testing.assert_close(a[key], b[key], atol=1e-6, rtol=1e-5)


def test_fp16_weights_train_with_loss_scaling(tiny_base, tmp_path):
    """A GPU without bf16 (the paper's V100) gets fp16 weights; LoRA still trains, losses stay finite."""
    fp16 = ModelParams(base="embedded", dtype="float16", trust_remote_code=False)
    model = train_round(tiny_base, tmp_path / "fp16", fp16, 0, seed=0)
    assert model.base_model.model.dtype == torch.float16
    assert torch.isfinite(torch.tensor([model.stats["first_loss"], model.stats["final_loss"]])).all()
    assert model.stats["final_loss"] < model.stats["first_loss"]


def test_auto_dtype_follows_the_hardware(monkeypatch, model_params):
    auto = ModelParams(base="embedded", dtype="auto", trust_remote_code=False)
    assert pick_dtype(auto, torch.device("cpu")) == torch.float32
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert pick_dtype(auto, torch.device("cuda")) == torch.bfloat16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)  # a V100
    assert pick_dtype(auto, torch.device("cuda")) == torch.float16
    assert pick_dtype(model_params, torch.device("cuda")) == torch.float32  # an explicit dtype wins


@pytest.mark.parametrize("copy_circuit", [True, False])
def test_copy_circuit_copies_before_any_training(tiny_params, copy_circuit):
    """An untrained model with the circuit continues a repeated random span token by token; without
    it, a random model does no better than chance."""
    params = replace(tiny_params, vocab_size=600, hidden_size=128, heads=2, copy_circuit=copy_circuit)
    tokenizer = build_tokenizer([f"w{i} x{i * 7} y{i * 13}" for i in range(400)], params.vocab_size)
    model = build_tiny_model(params, tokenizer).eval()
    generator = torch.Generator().manual_seed(1)
    span = torch.randint(10, len(tokenizer), (1, 60), generator=generator)
    filler = torch.randint(10, len(tokenizer), (1, 40), generator=generator)
    ids = torch.cat([filler, span, filler[:, :20], span], dim=1)
    with torch.no_grad():
        predicted = model(ids).logits[0, :-1].argmax(-1)
    repeat = slice(ids.shape[1] - 59, ids.shape[1])  # each token of the repeat after its first
    accuracy = (predicted[repeat.start - 1:repeat.stop - 1] == ids[0, repeat]).float().mean().item()
    assert (accuracy > 0.8) if copy_circuit else (accuracy < 0.1)


def test_subject_head_looks_at_the_first_value(tiny_params):
    """Before any training, the subject head (layer 1, head 1) looks from the end of a prompt at the
    first "Label: value" line's value: where a question about the card starts copying its name."""
    params = replace(tiny_params, vocab_size=600, hidden_size=128, heads=2)
    cards = [f"Document:\nPlant: K{i} Velvet Moss\nSite: area {i}\nPriority: high\nDescription:\n- It wilts."
             for i in range(50)]
    tokenizer = build_tokenizer(cards, params.vocab_size)
    colon, newline = (tokenizer(t)["input_ids"][0] for t in (":", "\n"))
    model = build_tiny_model(params, tokenizer).eval()
    model.config._attn_implementation = "eager"
    for text in (cards[7], cards[3] + "\n" + cards[9]):  # the earliest value wins
        ids = tokenizer(text + " Write one question?")["input_ids"]
        values = [j for j in range(1, len(ids)) if ids[j - 1] == colon and ids[j] != newline]
        with torch.no_grad():
            attention = model(torch.tensor([ids]), output_attentions=True).attentions[1][0, 1, -1]
        assert len(values) == 3 * text.count("Plant")  # name, area, priority: the later ones compete
        assert int(attention.argmax()) == values[0]
