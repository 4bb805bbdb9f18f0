"""Export a model folder as a standalone Hugging Face model: the base with every round's adapter
merged in, saved as safetensors with its tokenizer and chat template, loadable with a plain
`AutoModelForCausalLM.from_pretrained(folder)` and no project code.

    python -m selfevo.export                               # the last round -> exported/round_<r>
    python -m selfevo.export models/round_0 --out my_model
    make export
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from selfevo.config import load_params, load_section
from selfevo.errors import run_stage


def export(model_dir: str | Path, out: str | Path, model_params) -> Path:
    import torch

    from selfevo.modeling import load_model, load_tokenizer

    out = Path(out)
    model = load_model(model_dir, model_params, torch.device("cpu"))
    tokenizer = load_tokenizer(model_dir, model_params)
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)  # safetensors
    tokenizer.save_pretrained(tmp)
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
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
