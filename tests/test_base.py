"""The base stage with a hub id or a folder: the pointer pins what it found (the hub commit, the
folder's content hash), so new weights behind the same name are a new θ_0 for DVC; a bad value fails
before anything is written, and says when offline mode is why a model was not found."""

import json
import shutil
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import REPO
from tiny import tiny_model, tiny_tokenizer

COMMITS = ("a" * 40, "b" * 40)


def fake_hub_cache(root: Path) -> Path:
    """A Hugging Face cache holding two commits of `org/tiny` (different weights), `main` at the first."""
    repo = root / "models--org--tiny"
    tokenizer = tiny_tokenizer(["a tiny model for the hub cache"])
    for seed, commit in enumerate(COMMITS):
        snapshot = repo / "snapshots" / commit
        tiny_model(tokenizer, layers=1, seed=seed).save_pretrained(snapshot)
        tokenizer.save_pretrained(snapshot)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(COMMITS[0])
    return root


def run_base(folder: Path, hub: Path, **model) -> subprocess.CompletedProcess:
    params = {"model": {"base": "org/tiny", "revision": None, "dtype": "float32", "cpu_autocast": False,
                        "trust_remote_code": False, "threads": None, **model}}
    (folder / "params.yaml").write_text(yaml.safe_dump(params))
    env = {**os.environ, "HF_HUB_CACHE": str(hub), "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, str(REPO / "stages" / "base.py"), "--out", "models/base",
                           "--stats", "base.json"], cwd=folder, env=env, capture_output=True, text=True)


def test_pointer_pins_the_hub_commit_and_sees_it_move(tmp_path):
    hub = fake_hub_cache(tmp_path / "hub")
    pointer = lambda: json.loads((tmp_path / "models" / "base" / "pointer.json").read_text())
    result = run_base(tmp_path, hub)
    assert result.returncode == 0, result.stderr
    assert pointer() == {"name_or_path": "org/tiny", "revision": COMMITS[0]}
    (hub / "models--org--tiny" / "refs" / "main").write_text(COMMITS[1])  # new weights pushed to main
    assert run_base(tmp_path, hub).returncode == 0
    assert pointer()["revision"] == COMMITS[1]
    assert run_base(tmp_path, hub, revision=COMMITS[0]).returncode == 0  # pinned by the param
    assert pointer()["revision"] == COMMITS[0]
    # every later stage loads the pinned commit, whatever `main` says now
    load = ("from selfevo.config import load_section; from selfevo.models.modeling import load_model; "
            "m = load_model('models/base', load_section('model')); print(float(m.lm_head.weight.sum()))")
    env = {**os.environ, "HF_HUB_CACHE": str(hub), "HF_HUB_OFFLINE": "1"}
    loaded = subprocess.run([sys.executable, "-c", load], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert loaded.returncode == 0, loaded.stderr
    expected = float(tiny_model(tiny_tokenizer(["a tiny model for the hub cache"]), layers=1, seed=0).lm_head.weight.sum())
    assert abs(float(loaded.stdout.split()[-1]) - expected) < 1e-4


def test_a_folder_pointer_holds_its_content_hash(tmp_path, tiny_base):
    hub = tmp_path / "hub"
    result = run_base(tmp_path, hub, base=str(tiny_base))
    assert result.returncode == 0, result.stderr
    first = json.loads((tmp_path / "models" / "base" / "pointer.json").read_text())
    assert first["name_or_path"] == str(tiny_base) and len(first["sha256"]) == 64
    copy = tmp_path / "edited"
    subprocess.run(["cp", "-r", str(tiny_base), str(copy)], check=True)
    (copy / "generation_config.json").write_text(json.dumps({"eos_token_id": 2}))
    assert run_base(tmp_path, hub, base=str(copy)).returncode == 0
    assert json.loads((tmp_path / "models" / "base" / "pointer.json").read_text())["sha256"] != first["sha256"]


def test_a_missing_model_fails_before_writing_and_names_offline_mode(tmp_path):
    result = run_base(tmp_path, tmp_path / "hub", base="org/not-there")
    assert result.returncode == 1
    assert "model.base: cannot load 'org/not-there'" in result.stderr
    assert "HF_HUB_OFFLINE is set" in result.stderr
    assert not (tmp_path / "models").exists()  # no half-written folder, no base.tmp left behind


def test_a_folder_without_a_config_is_named(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("not a model")
    result = run_base(tmp_path, tmp_path / "hub", base=str(tmp_path / "docs"))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "docs' (not a model folder, and not in the local Hugging Face cache): it holds no config.json" in result.stderr


def test_a_typo_of_the_embedded_name_is_caught(tmp_path):
    result = run_base(tmp_path, tmp_path / "hub", base="smollm3")
    assert result.returncode == 1
    assert "model.base: 'smollm3' is not a model folder; did you mean the embedded model, 'smollm2'?" in result.stderr


@pytest.mark.parametrize("answer", ["y\n", None])
def test_a_folder_with_its_own_code_is_refused_without_running_it(tmp_path, tiny_base, answer):
    """model.trust_remote_code: false: a folder whose config.json maps AutoConfig to its own Python file
    stops the base stage with a clear error, and that file never runs, whatever standard input says."""
    evil = tmp_path / "evil"
    shutil.copytree(tiny_base, evil)
    config = json.loads((evil / "config.json").read_text())
    config.update(model_type="evilllama", auto_map={"AutoConfig": "configuration_evil.EvilConfig"})
    (evil / "config.json").write_text(json.dumps(config))
    marker = tmp_path / "ran"
    (evil / "configuration_evil.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n"
                                                "from transformers import LlamaConfig\n"
                                                "class EvilConfig(LlamaConfig):\n    model_type = 'evilllama'\n")
    params = {"model": {"base": str(evil), "revision": None, "dtype": "float32", "cpu_autocast": False,
                        "trust_remote_code": False, "threads": None}}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    result = subprocess.run([sys.executable, str(REPO / "stages" / "base.py"), "--out", "models/base",
                             "--stats", "base.json"], cwd=tmp_path, input=answer, capture_output=True, text=True,
                            timeout=120, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert result.returncode == 1
    assert "model.base" in result.stderr and "model.trust_remote_code is false, so none of it was run" in result.stderr
    assert not marker.exists() and not (tmp_path / "models" / "base").exists()
