"""Export a model folder as a standalone Hugging Face model: the base with every round's adapter
merged in, saved as safetensors with its tokenizer and chat template, loadable with a plain
`AutoModelForCausalLM.from_pretrained(folder)` and no project code.

    python -m selfevo.export                               # the last model, θ_N -> exported/theta_<N>
    python -m selfevo.export models/theta_1 --out my_model
    make export
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

from selfevo.config import load_params, load_section
from selfevo.errors import PipelineError, run_stage

MARKER = ".selfevo-export"
"""The list of the files export wrote, in each folder it makes (JSON). Export replaces a folder only when
it holds this list and nothing else than what it lists."""


def _written(out: Path) -> set[str] | None:
    try:
        return set(json.loads((out / MARKER).read_text())["files"]) | {MARKER}
    except (OSError, ValueError, KeyError, TypeError):
        return None  # no list, or an older export's: its files are not known


def check_out(out: Path) -> None:
    """Refuse an output that is a file, that holds the working folder or a repository, or a non-empty
    folder holding anything export did not write there."""
    if out.exists() and not out.is_dir():
        raise PipelineError(f"{out}: exists and is not a folder; choose another --out")
    here, target = Path.cwd().resolve(), out.resolve()
    if target == here or target in here.parents:
        raise PipelineError(f"{out}: holds the working folder; export writes a folder of its own, choose a new one")
    if not out.is_dir() or not any(out.iterdir()):
        return
    written = _written(out)
    if written is None:
        raise PipelineError(f"{out}: a folder that export did not write, and not empty; nothing was changed. "
                            f"Choose another --out")
    others = sorted(str(p.relative_to(out)) for p in out.rglob("*") if str(p.relative_to(out)) not in written
                    and not (p.is_dir() and any(w.startswith(f"{p.relative_to(out)}/") for w in written)))
    if others:
        raise PipelineError(f"{out}: holds files export did not write ({', '.join(others[:3])}"
                            f"{', ...' if len(others) > 3 else ''}); nothing was changed. Move them, or choose "
                            f"another --out")


def export(model_dir: str | Path, out: str | Path, model_params) -> Path:
    import torch

    from selfevo.models.modeling import load_model, load_tokenizer, save_tokenizer

    out = Path(out)
    check_out(out)
    model = load_model(model_dir, model_params, torch.device("cpu"))
    tokenizer = load_tokenizer(model_dir, model_params)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}."))  # a fresh name: nothing else is touched
    try:
        model.save_pretrained(tmp)  # safetensors
        save_tokenizer(tokenizer, tmp)
        files = sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*"))
        (tmp / MARKER).write_text(json.dumps({"exported_from": str(model_dir), "files": files}, indent=1) + "\n")
        check_out(out)  # again: something may have appeared there while the model was merged
        if out.is_dir():
            shutil.rmtree(out)
        tmp.rename(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def main(argv: list[str] | None = None) -> None:
    from selfevo.chat import last_round_model

    parser = argparse.ArgumentParser(description="Merge a model's adapters into a standalone Hugging Face folder.")
    parser.add_argument("model", nargs="?", help="model folder (default: the last round's)")
    parser.add_argument("--out", help="output folder (default: exported/<model folder name>)")
    args = parser.parse_args(argv)
    raw = load_params()
    model_dir = args.model or last_round_model(raw)
    out = export(model_dir, args.out or Path("exported") / Path(model_dir).name, load_section("model", raw))
    print(f"export: {model_dir} -> {out} (load it with AutoModelForCausalLM.from_pretrained({str(out)!r}))")


if __name__ == "__main__":
    run_stage(main)
