"""Round models: the LoRA adapter's shape, and loading base + adapters equals merging by hand."""

import json
import os
import shutil
import sys
from dataclasses import replace

import pytest
import torch

from conftest import REPO
from selfevo.errors import PipelineError
from selfevo.generate.prompts import qa_messages
from selfevo.models import hardware
from selfevo.models import modeling
from selfevo.models.hardware import autocast, pick_dtype
from selfevo.models.lineage import FINGERPRINT, fingerprint, hash_files, model_chain, write_fingerprint, write_lineage
from selfevo.models.modeling import load_model, load_tokenizer
from selfevo.train import checkpoint
from selfevo.train.training import add_lora, mixed_precision, tokenize_examples, train

LINEAR = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}


def train_round(start, out, model_params, round_index, seed, gradient_checkpointing=False):
    tokenizer = load_tokenizer(start, model_params)
    examples, _ = tokenize_examples(tokenizer, [(qa_messages("What causes it?"), "The fan is faulty."),
                                                (qa_messages("How to fix it?"), "Replace the fan tray.")], 256)
    model = add_lora(load_model(start, model_params, torch.device("cpu")), 4, 8, 0.0, "all-linear", seed,
                     gradient_checkpointing)
    model.stats = train(model, examples, pad_id=tokenizer.pad_token_id, lr=1.0e-2, batch_size=2, seed=seed,
                        epochs=4)
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


def test_a_chain_of_eight_adapters_is_folded_in_fp32_and_cast_once(tiny_base, model_params, tmp_path):
    """A bf16 model's 8-adapter chain: the folded weights equal, bit for bit, base + every delta summed in
    fp32 and cast once, and differ from peft's merge one adapter after another in bf16."""
    from peft import LoraConfig, PeftModel, get_peft_model
    from safetensors.torch import load_file

    bf16 = replace(model_params, dtype="bfloat16", cpu_autocast=False)
    models = tmp_path / "models"
    shutil.copytree(tiny_base, models / "base")
    parent = models / "base"
    torch.manual_seed(0)
    for i in range(8):
        model = get_peft_model(load_model(tiny_base, model_params), LoraConfig(
            r=4, lora_alpha=8, target_modules="all-linear", init_lora_weights=False))
        for name, weight in model.named_parameters():
            if "lora_B" in name:
                weight.data.normal_(0, 0.02)  # a round's worth of change
        model.save_pretrained(models / f"round_{i}")
        write_lineage(models / f"round_{i}", parent, f"round_{i}")
        parent = models / f"round_{i}"

    folded = load_model(parent, bf16).state_dict()
    expected = {k: v.float() for k, v in load_model(models / "base", bf16).state_dict().items()}
    for i in range(8):
        weights = load_file(models / f"round_{i}" / "adapter_model.safetensors")
        for key, a in sorted(weights.items()):
            if "lora_A" in key:
                target = key.replace("base_model.model.", "").replace(".lora_A.weight", ".weight")
                expected[target] += (weights[key.replace("lora_A", "lora_B")].float() @ a.float()) * 2.0
    assert all(folded[k].dtype == torch.bfloat16 and torch.equal(folded[k], v.to(torch.bfloat16))
               for k, v in expected.items())

    sequential = load_model(models / "base", bf16)
    for i in range(8):
        sequential = PeftModel.from_pretrained(sequential, str(models / f"round_{i}")).merge_and_unload()
    differs = [k for k, v in sequential.state_dict().items() if "proj" in k and not torch.equal(v, folded[k])]
    assert differs, "eight bf16 merges should round differently from one fp32 fold"

    fp32 = load_model(models / "base", model_params)  # in fp32, the fold is peft's merge bit for bit
    for i in range(8):
        fp32 = PeftModel.from_pretrained(fp32, str(models / f"round_{i}")).merge_and_unload()
    assert all(torch.equal(v, fp32.state_dict()[k]) for k, v in load_model(parent, model_params).state_dict().items())


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


def test_fp16_weights_train(tiny_base, model_params, tmp_path):
    """A GPU without bf16 (the paper's V100) gets fp16 weights, and there accelerate's loss scaler
    (`mixed_precision`; scripts/gpu_check.sh resumes it); on a CPU, LoRA trains on them with none,
    losses finite."""
    fp16 = replace(model_params, dtype="float16")
    model = train_round(tiny_base, tmp_path / "fp16", fp16, 0, seed=0)
    assert model.base_model.model.dtype == torch.float16
    assert torch.isfinite(torch.tensor([model.stats["first_loss"], model.stats["final_loss"]])).all()
    assert model.stats["final_loss"] < model.stats["first_loss"]


def test_accelerate_autocasts_to_the_weights_dtype_on_a_gpu_only():
    cuda, cpu = torch.device("cuda"), torch.device("cpu")
    assert [mixed_precision(d, cuda) for d in (torch.float16, torch.bfloat16, torch.float32)] == ["fp16", "bf16", "no"]
    assert [mixed_precision(d, cpu) for d in (torch.float16, torch.bfloat16, torch.float32)] == ["no"] * 3


def test_the_loss_scalers_state_is_restored_from_the_checkpoint(tmp_path):
    """The fp16 scaler's scale and growth count come back with the step, so a resumed fp16 run scales
    its losses as the uninterrupted one would (a scale halved by an overflow stays halved)."""
    param = torch.nn.Parameter(torch.ones(2))
    optimizer = torch.optim.AdamW([param], lr=0.1)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    make = lambda: torch.amp.GradScaler("cpu", init_scale=1024.0, growth_interval=3)
    scaler = make()
    for overflow in (True, False):
        scaler.scale(param.sum() * (float("inf") if overflow else 1.0)).backward()
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad()
    assert scaler.get_scale() == 512.0 and scaler.state_dict()["_growth_tracker"] == 1
    history = {"loss": [1.0, 0.9], "lr": [0.1, 0.1], "tokens": 4, "padded": 4, "seconds": 1.0}
    assert checkpoint.save(tmp_path, "run", 2, [param], optimizer, schedule, scaler, history)
    fresh = make()
    assert checkpoint.load(tmp_path, "run", 5, [param], optimizer, schedule, fresh)["step"] == 2
    assert fresh.state_dict() == scaler.state_dict()
    assert checkpoint.load(tmp_path, "run", 5, [param], optimizer, schedule, None)["step"] == 2  # bf16, fp32: none


def test_auto_dtype_follows_the_hardware(monkeypatch, model_params):
    auto = replace(model_params, dtype="auto")
    assert pick_dtype(auto, torch.device("cpu")) == torch.float32
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert pick_dtype(auto, torch.device("cuda")) == torch.bfloat16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)  # a V100
    assert pick_dtype(auto, torch.device("cuda")) == torch.float16
    assert pick_dtype(model_params, torch.device("cuda")) == torch.float32  # an explicit dtype wins


def test_stored_fingerprint_is_the_files_hash_and_is_read_instead_of_the_weights(tiny_base, tmp_path):
    base = tmp_path / "base"
    shutil.copytree(tiny_base, base)
    full = fingerprint(base)  # no fingerprint.json: every file is hashed
    write_fingerprint(base)
    assert (base / FINGERPRINT).is_file() and hash_files(base) == full  # the stored file is not hashed itself
    assert fingerprint(base) == full
    (base / FINGERPRINT).write_text('{"sha256": "stored"}')
    assert fingerprint(base) == "stored"  # read, not recomputed: loading never re-reads the weights


def test_cpu_autocast_runs_bf16_on_cpu_only(tiny_base, model_params):
    model = load_model(tiny_base, model_params, torch.device("cpu"))
    ids = torch.tensor([[1, 2, 3, 4]])
    with autocast(replace(model_params, cpu_autocast=True), torch.device("cpu")):
        fast = model(input_ids=ids).logits
    with autocast(model_params, torch.device("cpu")):
        plain = model(input_ids=ids).logits
    assert fast.dtype == torch.bfloat16 and plain.dtype == torch.float32
    torch.testing.assert_close(fast.float(), plain, atol=0.1, rtol=0.05)
    assert not autocast(replace(model_params, cpu_autocast=True), torch.device("cuda"))._enabled


def test_completion_loss_equals_the_models_own_loss(tiny_base, model_params):
    """The output head on completion positions only gives the loss transformers computes on all of them."""
    from selfevo.train.training import collate, completion_loss

    tokenizer = load_tokenizer(tiny_base, model_params)
    examples, _ = tokenize_examples(tokenizer, [(qa_messages("What causes it?"), "The fan is faulty."),
                                                (qa_messages("How?"), "Replace the fan tray, then check it.")], 256)
    model = add_lora(load_model(tiny_base, model_params, torch.device("cpu")), 4, 8, 0.0, "all-linear", 0)
    inputs = collate(examples, tokenizer.pad_token_id, torch.device("cpu"))
    ours = completion_loss(model, inputs)
    torch.testing.assert_close(ours, model(**inputs).loss, atol=1e-5, rtol=1e-5)
    ours.backward()  # and it trains the adapter
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for n, p in model.named_parameters() if "lora_B" in n)


@pytest.fixture
def restore_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_threads_are_the_param_or_every_available_core(model_params, restore_threads, monkeypatch):
    monkeypatch.setattr(hardware, "busy_cores", lambda: 0.0)
    assert hardware.set_threads(replace(model_params, threads=1), torch.device("cpu")) == 1
    assert torch.get_num_threads() == 1
    assert hardware.set_threads(model_params, torch.device("cpu")) == hardware.available_cores()
    assert torch.get_num_threads() == hardware.available_cores()


def test_other_work_on_the_cores_gets_a_warning_naming_the_param(model_params, restore_threads, monkeypatch, capsys):
    monkeypatch.setattr(hardware, "available_cores", lambda: 2)
    monkeypatch.setattr(hardware, "busy_cores", lambda: 1.0)
    hardware.set_threads(replace(model_params, threads=2), torch.device("cpu"))
    assert "other work keeps 1.0 of 2 cores busy" in capsys.readouterr().err
    hardware.set_threads(replace(model_params, threads=1), torch.device("cpu"))  # one thread fits the free core
    monkeypatch.setattr(hardware, "busy_cores", lambda: 0.1)
    hardware.set_threads(replace(model_params, threads=2), torch.device("cpu"))  # an idle machine
    assert "model.threads" not in capsys.readouterr().err


def test_busy_cores_sees_a_process_that_spins():
    import subprocess
    import sys
    idle_reading = hardware.busy_cores(0.5)
    assert idle_reading is not None and 0 <= idle_reading <= os.cpu_count()
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        import time
        time.sleep(0.3)
        assert hardware.busy_cores(0.5) >= 0.7  # one core, whatever else runs
    finally:
        spinner.kill()


def test_big_models_are_spread_and_quantized_on_a_gpu_only(model_params, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: True)
    cpu, gpu = torch.device("cpu"), torch.device("cuda")
    assert modeling.placement(model_params, cpu, spread=True, quantization=None) == {}  # moved with .to(cpu)
    assert modeling.placement(model_params, gpu, spread=False, quantization=None) == {}
    assert modeling.placement(model_params, gpu, spread=True, quantization=None) == {"device_map": "auto"}
    four = modeling.placement(replace(model_params, dtype="auto"), gpu, spread=True, quantization="4bit")
    assert four["device_map"] == "auto" and four["quantization_config"].load_in_4bit
    assert four["quantization_config"].bnb_4bit_compute_dtype == torch.bfloat16
    assert modeling.placement(model_params, gpu, spread=False, quantization="8bit")["quantization_config"].load_in_8bit
    with pytest.raises(PipelineError, match="baselines.quantization: 4bit needs a GPU"):
        modeling.placement(model_params, cpu, spread=True, quantization="4bit")


def test_several_gpus_relaunch_the_stage_under_accelerate(monkeypatch):
    from selfevo import distributed

    calls = []
    monkeypatch.setattr(distributed.os, "execv", lambda path, argv: calls.append(argv))
    monkeypatch.setattr(sys, "argv", ["stages/score.py", "--scorer", "models/base"])
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    monkeypatch.delenv(distributed.PROCESSES, raising=False)
    for gpus, expected in ((0, 0), (1, 0), (4, 1)):
        monkeypatch.setattr(torch.cuda, "device_count", lambda: gpus)
        distributed.launch_on_every_gpu()
        assert len(calls) == expected
    assert calls[0][1:4] == ["-m", "accelerate.commands.launch", "--multi_gpu"]
    assert calls[0][calls[0].index("--num_processes") + 1] == "4"
    assert calls[0][-3:] == ["stages/score.py", "--scorer", "models/base"]
    monkeypatch.setenv(distributed.PROCESSES, "1")  # capped to one process: no relaunch
    distributed.launch_on_every_gpu()
    monkeypatch.setenv("WORLD_SIZE", "4")  # already launched
    monkeypatch.delenv(distributed.PROCESSES)
    distributed.launch_on_every_gpu()
    assert len(calls) == 1


def test_a_process_closes_its_group_before_it_exits(monkeypatch):
    """The group is closed at exit: a process that left it open aborted in gloo's teardown (SIGABRT)
    in 6 of 20 two-process runs."""
    import atexit
    import socket

    import torch.distributed as dist

    from selfevo import distributed

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    for key, value in {"RANK": "0", "WORLD_SIZE": "1", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)}.items():
        monkeypatch.setenv(key, value)
    at_exit = []
    monkeypatch.setattr(atexit, "register", at_exit.append)
    distributed.process_group()
    assert dist.is_initialized() and at_exit == [distributed._leave_group]
    at_exit[0]()
    assert not dist.is_initialized()


def test_a_saved_tokenizer_has_the_same_bytes_with_and_without_hf_hub_offline(tmp_path):
    """transformers records how a tokenizer was loaded (local_files_only follows HF_HUB_OFFLINE) in what
    it saves; save_tokenizer leaves that out, so a written base keeps its DVC hash."""
    import subprocess

    from tiny import TINY_CHAT

    saved = {}
    for offline in ("1", "0"):
        script = ("import sys; from transformers import AutoTokenizer; from selfevo.models.modeling import save_tokenizer; "
                  "save_tokenizer(AutoTokenizer.from_pretrained(sys.argv[1]), sys.argv[2])")
        out = tmp_path / offline
        result = subprocess.run([sys.executable, "-c", script, str(TINY_CHAT), str(out)], capture_output=True, text=True,
                                env={**os.environ, "HF_HUB_OFFLINE": offline, "PYTHONPATH": str(REPO)})
        assert result.returncode == 0, result.stderr
        saved[offline] = {p.name: p.read_bytes() for p in out.iterdir()}
    assert saved["1"] == saved["0"] and b"local_files_only" not in saved["1"]["tokenizer_config.json"]


def test_an_unknown_target_module_names_the_param_and_the_model_layers(tiny_base, model_params):
    model = load_model(tiny_base, model_params, torch.device("cpu"))
    with pytest.raises(PipelineError, match=r"train.target_modules: \['q_projj'\] does not match .*q_proj"):
        add_lora(model, 4, 8, 0.0, ["q_projj"], 0)


def test_truncated_weights_name_their_folder(tiny_base, model_params, tmp_path):
    models = tmp_path / "models"
    shutil.copytree(tiny_base, models / "base")
    train_round(models / "base", models / "round_0", model_params, 0, seed=0)
    adapter = models / "round_0" / "adapter_model.safetensors"
    adapter.write_bytes(adapter.read_bytes()[:100])
    with pytest.raises(PipelineError, match=r"round_0: its safetensors weights cannot be read"):
        load_model(models / "round_0", model_params)
    weights = models / "base" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(PipelineError, match=r"base: its safetensors weights cannot be read"):
        load_model(models / "base", model_params)


def _checkpoint_step(folder) -> int:
    from safetensors import safe_open

    with safe_open(str(folder / "checkpoint.safetensors"), framework="pt") as f:
        return json.loads(f.metadata()["progress"])["step"]


@pytest.fixture
def resumable(tiny_base, model_params):
    """A short training run with a checkpoint every 2 steps, in a folder and under a key of the caller's."""
    tokenizer = load_tokenizer(tiny_base, model_params)
    examples, _ = tokenize_examples(tokenizer, [(qa_messages(f"What causes alarm {i}?"), f"Fan {i} is faulty.")
                                                for i in range(10)], 256)

    def run(folder, on_step=None, key="k"):
        model = add_lora(load_model(tiny_base, model_params), 4, 8, 0.0, "all-linear", seed=0)
        stats = train(model, examples, pad_id=tokenizer.pad_token_id, lr=1.0e-2, batch_size=3, seed=0, epochs=3,
                      checkpoints=folder, checkpoint_steps=2, resume_key=key, on_step=on_step)
        return {k: v.clone() for k, v in model.state_dict().items() if "lora" in k}, stats

    return run


def die_after(n):
    def on_step(step, values):
        if step == n:
            raise KeyboardInterrupt
    return on_step


def test_a_killed_training_resumes_from_its_checkpoint_with_the_uninterrupted_result(resumable, tmp_path):
    """Checkpoints every 2 steps; the run dies after step 5; the rerun resumes after step 4 and ends
    with the adapter, losses and curve of a run never killed (fp32, one process). Another run's
    checkpoint (another key) is set aside, not resumed; a finished run keeps its checkpoints until
    the caller clears them (once the adapter is written)."""
    whole, whole_stats = resumable(tmp_path / "other")
    with pytest.raises(KeyboardInterrupt):
        resumable(tmp_path / "ckpt", die_after(5))
    assert _checkpoint_step(tmp_path / "ckpt") == 4
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == ["checkpoint.safetensors"]  # one unit
    logged = []
    resumed, stats = resumable(tmp_path / "ckpt", lambda step, values: logged.append((step, values["loss"])))
    assert all(torch.equal(resumed[k], whole[k]) for k in whole)
    assert [step for step, _ in logged] == list(range(1, whole_stats["steps"] + 1))
    assert {k: v for k, v in stats.items() if k not in ("seconds", "tokens_per_second")} == \
        {k: v for k, v in whole_stats.items() if k not in ("seconds", "tokens_per_second")}
    checkpoint.clear(tmp_path / "ckpt")
    assert not (tmp_path / "ckpt").exists()
    with pytest.raises(KeyboardInterrupt):
        resumable(tmp_path / "ckpt", die_after(5))
    started = []
    resumable(tmp_path / "ckpt", lambda step, values: started.append(step), key="another run")
    assert started[0] == 1  # not resumed
    assert (tmp_path / "ckpt" / "checkpoint.safetensors.damaged").is_file()


def test_a_damaged_checkpoint_is_set_aside_and_training_starts_afresh(resumable, tmp_path, capsys):
    whole, _ = resumable(tmp_path / "whole")
    folder = tmp_path / "ckpt"
    with pytest.raises(KeyboardInterrupt):
        resumable(folder, die_after(5))
    path = folder / "checkpoint.safetensors"
    path.write_bytes(path.read_bytes()[:200])  # truncated, as a full disk leaves a copy
    started = []
    trained, _ = resumable(folder, lambda step, values: started.append(step))
    assert started[0] == 1 and all(torch.equal(trained[k], whole[k]) for k in whole)
    assert "not a readable checkpoint" in capsys.readouterr().err
    assert (folder / "checkpoint.safetensors.damaged").is_file()


def test_a_checkpoint_that_cannot_be_written_warns_and_training_goes_on(resumable, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    whole, _ = resumable(tmp_path / "whole")
    trained, _ = resumable(blocker / "ckpt")  # its parent is a file: every save fails
    assert all(torch.equal(trained[k], whole[k]) for k in whole)
    assert "could not be written" in capsys.readouterr().err


def test_grad_accum_splits_each_step_and_takes_the_same_steps(tiny_base, model_params):
    tokenizer = load_tokenizer(tiny_base, model_params)
    examples, _ = tokenize_examples(tokenizer, [(qa_messages(f"What causes alarm {i}?"), f"Fan {i} is faulty.")
                                                for i in range(10)], 256)
    adapters = []
    for grad_accum in (1, 3):
        model = add_lora(load_model(tiny_base, model_params), 4, 8, 0.0, "all-linear", seed=0)
        train(model, examples, pad_id=tokenizer.pad_token_id, lr=1.0e-2, batch_size=4, seed=0, epochs=2,
              grad_accum=grad_accum)
        adapters.append({k: v for k, v in model.state_dict().items() if "lora" in k})
    for key in adapters[0]:
        torch.testing.assert_close(adapters[1][key], adapters[0][key], atol=1e-5, rtol=1e-4)
    assert any(not torch.equal(adapters[1][k], adapters[0][k]) for k in adapters[0])  # really another path


def test_a_folder_with_pickled_weights_only_or_no_model_is_named(tiny_base, model_params, tmp_path):
    from safetensors.torch import load_file

    pickled = shutil.copytree(tiny_base, tmp_path / "bin_only")
    torch.save(load_file(pickled / "model.safetensors"), pickled / "pytorch_model.bin")
    (pickled / "model.safetensors").unlink()
    with pytest.raises(PipelineError, match=r"bin_only: no safetensors weights, only pytorch_model.bin: pickled"):
        load_model(pickled, model_params)
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.txt").write_text("not a model")
    with pytest.raises(PipelineError, match=r"notes: not a model folder \(no config.json\)"):
        load_model(tmp_path / "notes", model_params)
    with pytest.raises(PipelineError, match=r"notes: not a model folder"):
        load_tokenizer(tmp_path / "notes", model_params)


def test_a_model_that_outgrows_the_gpus_is_stopped_before_it_loads(tmp_path, monkeypatch):
    """Weights of 3 GB stored in bf16 on one (pretended) 2 GB GPU: stopped, naming the key and the way
    out; 4-bit they take 0.75 GB and pass; on a CPU nothing is checked."""
    folder = tmp_path / "teacher"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"torch_dtype": "bfloat16"}))
    with open(folder / "model.safetensors", "wb") as f:
        f.truncate(3 * 10**9)  # sparse: takes no disk
    check = hardware.check_fits_gpus
    check(folder / "config.json", "baselines.teacher", torch.bfloat16)  # no GPU here: nothing to check
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda i: type("P", (), {"total_memory": 2 * 10**9}))
    with pytest.raises(PipelineError, match=r"baselines.teacher: .*~3 GB in bfloat16, more than the 2 GB .*4bit"):
        check(folder / "config.json", "baselines.teacher", torch.bfloat16)
    with pytest.raises(PipelineError, match=r"~6 GB in float32"):
        check(folder / "config.json", "baselines.teacher", torch.float32)
    check(folder / "config.json", "baselines.teacher", torch.bfloat16, "4bit")
