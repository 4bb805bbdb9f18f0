"""Model folders on disk, and the lineage that ties a round to its parent.

A model directory is one of:
- a base written here (the embedded SmolLM2): tokenizer + config + model.safetensors
  (`save_pretrained`) and `fingerprint.json`, the hash of those files, computed once;
- a base pointer: `pointer.json` naming a local path or hub id, so gigabytes of weights stay out of
  the DVC cache, with the hub commit it resolved to (which every stage then loads) or the local
  folder's content hash, so new weights behind the same name change θ_0 for DVC;
- a round: one LoRA adapter (safetensors) + `lineage.json` naming its parent directory and the
  parent's fingerprint. Round r's model is the base with adapters 0..r merged in order
  (selfevo/models/modeling.py loads it).
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from selfevo.errors import PipelineError
from selfevo.jsonio import read_json, write_json


POINTER = "pointer.json"


LINEAGE = "lineage.json"


FINGERPRINT = "fingerprint.json"


def fingerprint(folder: str | Path) -> str:
    """sha256 over every file's relative name and bytes: a round's fingerprint covers its whole chain,
    since its lineage.json holds its parent's fingerprint. A folder with a `fingerprint.json` (the
    embedded base: 540 MB of weights) gives the hash stored there, computed once when it was written."""
    folder = Path(folder)
    stored = folder / FINGERPRINT
    return read_json(stored)["sha256"] if stored.is_file() else hash_files(folder)


def write_fingerprint(folder: str | Path) -> None:
    """Store the folder's hash in it, so that loading it never re-reads every weight."""
    write_json(Path(folder) / FINGERPRINT, {"sha256": hash_files(folder)})


def hash_files(folder: str | Path) -> str:
    folder = Path(folder)
    h = hashlib.sha256()
    for f in sorted(p for p in folder.rglob("*") if p.is_file() and p.relative_to(folder) != Path(FINGERPRINT)):
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


def _make_path_free(folder: Path) -> None:
    """A round folder that depends on its inputs alone, so that every clone, wherever it lives, gets the
    same bytes and the same DVC hash (and can `dvc pull` a teammate's rounds): peft's adapter config
    names the base by the path it was loaded from, which becomes the parent's path relative to the
    round, as in lineage.json; peft's model card template, which names it too, is dropped; and
    target_modules, written from a set in an order that changes between processes, is sorted."""
    (folder / "README.md").unlink(missing_ok=True)
    path = folder / "adapter_config.json"
    config = read_json(path)
    config["base_model_name_or_path"] = read_json(folder / LINEAGE)["parent"]
    if isinstance(config.get("target_modules"), list):
        config["target_modules"] = sorted(config["target_modules"])
    write_json(path, config)


def save_adapter(model, out: str | Path, parent: str | Path) -> None:
    """A trained round's adapter (adapter_config.json, adapter_model.safetensors) and its lineage,
    path-free, written to a scratch folder and moved into place whole: a killed stage leaves no half
    round behind. Lineage paths are relative to the round folder, which the move does not change."""
    out = Path(out)
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    write_lineage(tmp, parent, out.name)
    _make_path_free(tmp)
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)


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


def base_source(base_dir: Path) -> tuple[str, str | None]:
    """What from_pretrained should load for a base directory: a name or path, and a hub commit."""
    pointer = base_dir / POINTER
    if not pointer.is_file():
        return str(base_dir), None
    info = read_json(pointer)
    return info["name_or_path"], info.get("revision")
