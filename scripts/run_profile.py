"""Run a params profile (params/paper.yaml: the paper's setup on its own data) in a checkout of its own,
so this checkout's params.yaml, models and metrics stay as they are.

    make paper                                          # params/paper.yaml in ../<this folder>-paper
    python scripts/run_profile.py params/paper.yaml --dir ../paper-run [--no-run]

The checkout is a git worktree of HEAD (the committed code: commit what you changed first) whose
params.yaml is the profile. It shares this checkout's DVC cache, so a stage that already ran with the same
inputs is not run again, and its rounds can be pushed to the same remote. Every section of the profile is
checked, and every model it names found, before anything is made; running it again goes on where the
last run stopped (`dvc repro`).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from selfevo.config import SECTIONS, load_params, load_rounds, load_section  # noqa: E402
from selfevo.errors import PipelineError, run_stage  # noqa: E402

MARKER = ".selfevo-profile"
"""Written into a checkout this script made, naming its profile: the only kind of existing folder it uses."""


def _run(command: list[str], cwd: Path, what: str) -> str:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise PipelineError(f"{what} failed: {' '.join(command)}\n{done.stderr.strip()}")
    return done.stdout.strip()


def check_profile(profile: Path) -> dict:
    """The profile's params, every section checked as a stage would check it, and every model it names
    found (a local folder, the Hugging Face cache, or the hub when online) before anything is made."""
    from selfevo.models.embedded import EMBEDDED
    from selfevo.models.hardware import check_fits_gpus, pick_device, pick_dtype
    from selfevo.models.modeling import check_source

    raw = load_params(profile)
    for name in SECTIONS:
        load_section(name, raw)
    load_rounds(raw)
    language, bleu = load_section("prompts", raw).language, load_section("evaluate", raw).bleu_tokenize
    if (language == "zh") != (bleu in {"zh", "char", "flores200"}):
        raise PipelineError(f"{profile}: evaluate.bleu_tokenize is {bleu} with prompts.language {language}: Chinese "
                            f"text needs a Chinese tokenizer (zh), English 13a")
    model, baselines = load_section("model", raw), load_section("baselines", raw)
    named = [("model.base", model.base, model.revision, None)] + \
        ([("baselines.teacher", baselines.teacher, None, baselines.quantization)]
         if baselines.teacher != "qa_file" else []) + \
        [("baselines.references", name, None, baselines.quantization) for name in baselines.references]
    for key, name, revision, quantization in named:
        if name != EMBEDDED:
            local = ROOT / name  # a relative folder is the same in the profile's checkout
            config = check_source(str(local) if local.is_dir() else name, key, revision,
                                  trust_remote_code=model.trust_remote_code)
            check_fits_gpus(config, key, pick_dtype(model, pick_device()), quantization)
    return raw


def make_checkout(profile: Path, folder: Path) -> Path:
    """The profile's checkout at `folder` (made, or the one this script made before), its params.yaml the
    profile's, its DVC cache this checkout's."""
    check_profile(profile)
    if folder.exists() and not (folder / MARKER).is_file():
        raise PipelineError(f"{folder}: exists and is not a profile checkout this script made; choose another --dir")
    if _run(["git", "status", "--porcelain", "--untracked-files=no"], ROOT, "git status"):
        print("warning: this checkout has uncommitted changes; the profile runs the committed code (HEAD)",
              file=sys.stderr)
    if not folder.exists():
        _run(["git", "worktree", "add", "--detach", str(folder), "HEAD"], ROOT, "git worktree add")
        (folder / MARKER).write_text(f"{profile.name}\n")
    shutil.copyfile(profile, folder / "params.yaml")
    cache = (ROOT / _run([sys.executable, "-m", "dvc", "cache", "dir"], ROOT, "dvc cache dir")).resolve()
    _run([sys.executable, "-m", "dvc", "cache", "dir", "--local", str(cache)], folder, "dvc cache dir --local")
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description="Run a params profile in a checkout of its own.")
    parser.add_argument("profile", help="a params file, e.g. params/paper.yaml")
    parser.add_argument("--dir", help="the profile's checkout (default: ../<this folder>-<profile name>)")
    parser.add_argument("--no-run", action="store_true", help="make the checkout, do not run dvc repro")
    args = parser.parse_args()
    profile = Path(args.profile).resolve()
    folder = Path(args.dir or ROOT.parent / f"{ROOT.name}-{profile.stem}").resolve()
    make_checkout(profile, folder)
    print(f"profile {profile.name}: checkout {folder} (params.yaml = {args.profile}, DVC cache shared)")
    if not args.no_run:
        # the stages' `python` is this interpreter, the one with the project installed
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
        for command in (["dvc", "repro"], ["dvc", "metrics", "show"]):
            if subprocess.run([sys.executable, "-m", *command], cwd=folder, env=env).returncode != 0:
                raise PipelineError(f"{' '.join(command)} failed in {folder}; what finished is kept there (rerun "
                                    f"`make paper` or `dvc repro` in it to go on)")


if __name__ == "__main__":
    run_stage(main)
