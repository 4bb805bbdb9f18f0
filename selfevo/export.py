"""Export a model folder as a standalone Hugging Face model: the base with every round's adapter
merged in, saved as safetensors with its tokenizer and chat template, loadable with a plain
`AutoModelForCausalLM.from_pretrained(folder)` and no project code.

    python -m selfevo.export                               # the last model, θ_N -> exported/theta_<N>
    python -m selfevo.export models/theta_1 --out my_model
    make export
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from selfevo.config import load_params, load_section
from selfevo.errors import PipelineError, run_stage

MARKER = ".selfevo-export"
"""A file export writes into each folder it makes: the only kind of non-empty folder it replaces."""


def check_out(out: Path, force: bool) -> None:
    """Refuse an output that is a file, or a non-empty folder that export did not write (unless `force`)."""
    if out.exists() and not out.is_dir():
        raise PipelineError(f"{out}: exists and is not a folder; choose another --out")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file() and not force:
        raise PipelineError(f"{out}: a folder that export did not write, and not empty; nothing was changed. Choose "
                            f"another --out, or pass --force to replace it")


def export(model_dir: str | Path, out: str | Path, model_params, force: bool = False) -> Path:
    import torch

    from selfevo.modeling import load_model, load_tokenizer, save_tokenizer

    out = Path(out)
    check_out(out, force)
    model = load_model(model_dir, model_params, torch.device("cpu"))
    tokenizer = load_tokenizer(model_dir, model_params)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}."))  # a fresh name: nothing else is touched
    try:
        model.save_pretrained(tmp)  # safetensors
        save_tokenizer(tokenizer, tmp)
        (tmp / MARKER).write_text(f"exported from {model_dir}\n")
        check_out(out, force)  # again: something may have appeared there while the model was merged
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
    parser.add_argument("--force", action="store_true", help="replace --out even if export did not write it")
    args = parser.parse_args(argv)
    raw = load_params()
    model_dir = args.model or last_round_model(raw)
    out = export(model_dir, args.out or Path("exported") / Path(model_dir).name, load_section("model", raw),
                 force=args.force)
    print(f"export: {model_dir} -> {out} (load it with AutoModelForCausalLM.from_pretrained({str(out)!r}))")


if __name__ == "__main__":
    run_stage(main)
