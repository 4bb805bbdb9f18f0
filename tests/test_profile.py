"""`make paper`: a params profile runs in a checkout of its own (a git worktree of HEAD) whose params.yaml is
the profile and whose DVC cache is this checkout's; the workspace's params.yaml is never touched."""

import os
import shutil
import subprocess
import sys

import pytest
import yaml

from conftest import REPO


def git(cwd, *args):
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout


@pytest.fixture
def clone(tmp_path):
    """A git repository holding the project's pipeline files and profiles, committed."""
    repo = tmp_path / "repo"
    repo.mkdir()
    for name in ("dvc.yaml", "params.yaml", "params", "scripts", ".dvc", "selfevo"):
        (shutil.copytree if (REPO / name).is_dir() else shutil.copy)(REPO / name, repo / name)
    shutil.rmtree(repo / ".dvc" / "cache", ignore_errors=True)
    shutil.rmtree(repo / ".dvc" / "tmp", ignore_errors=True)
    git(repo, "init", "-q")
    git(repo, "-c", "user.email=t@t", "-c", "user.name=t", "add", "-A")
    git(repo, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "x")
    return repo


def profile(repo, *args):
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "scripts/run_profile.py", *args], cwd=repo, capture_output=True, text=True,
                          env=env)


def paper_on(repo, base, name="tiny.yaml"):
    """params/paper.yaml with its models replaced: the base by `base`, θ_HQ's teacher by a QA file."""
    params = yaml.safe_load((repo / "params/paper.yaml").read_text())
    params["model"]["base"] = str(base)
    params["baselines"].update(teacher="qa_file", references=[])
    (repo / "params" / name).write_text(yaml.safe_dump(params, sort_keys=False, allow_unicode=True))
    return f"params/{name}"


def test_a_profile_gets_a_checkout_of_its_own_and_the_workspace_params_stay(clone, tmp_path, tiny_base):
    own = (clone / "params.yaml").read_bytes()
    folder = tmp_path / "paper-run"
    tiny = paper_on(clone, tiny_base)
    done = profile(clone, tiny, "--dir", str(folder), "--no-run")
    assert done.returncode == 0, done.stderr
    assert (folder / "params.yaml").read_bytes() == (clone / tiny).read_bytes()
    assert (clone / "params.yaml").read_bytes() == own
    assert (folder / "dvc.yaml").read_bytes() == (clone / "dvc.yaml").read_bytes()  # the committed pipeline
    cache = subprocess.run([sys.executable, "-m", "dvc", "cache", "dir"], cwd=folder, capture_output=True,
                           text=True, check=True).stdout.strip()
    assert cache == str((clone / ".dvc" / "cache").resolve())
    again = profile(clone, tiny, "--dir", str(folder), "--no-run")  # goes on in the same one
    assert again.returncode == 0, again.stderr


def test_a_profile_whose_model_is_not_there_stops_before_anything_is_made(clone, tmp_path):
    """params/paper.yaml as shipped, on a machine without Qwen1.5-7B-Chat and offline."""
    done = profile(clone, "params/paper.yaml", "--dir", str(tmp_path / "paper-run"), "--no-run")
    assert done.returncode == 1 and "model.base: cannot load 'Qwen/Qwen1.5-7B-Chat'" in done.stderr
    assert not (tmp_path / "paper-run").exists() and "Traceback" not in done.stderr


def test_a_broken_profile_or_a_foreign_folder_is_refused_before_anything_is_made(clone, tmp_path, tiny_base):
    bad = yaml.safe_load((clone / "params/paper.yaml").read_text())
    bad["selection"]["k"] = -1
    (clone / "params/bad.yaml").write_text(yaml.safe_dump(bad))
    done = profile(clone, "params/bad.yaml", "--dir", str(tmp_path / "bad-run"), "--no-run")
    assert done.returncode == 1 and "selection.k" in done.stderr and not (tmp_path / "bad-run").exists()
    mixed = yaml.safe_load((clone / "params/paper.yaml").read_text())
    mixed["evaluate"]["bleu_tokenize"] = "13a"
    (clone / "params/mixed.yaml").write_text(yaml.safe_dump(mixed, allow_unicode=True))
    done = profile(clone, "params/mixed.yaml", "--dir", str(tmp_path / "mixed-run"), "--no-run")
    assert done.returncode == 1 and "evaluate.bleu_tokenize is 13a with prompts.language zh" in done.stderr
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.md").write_text("a user's folder")
    done = profile(clone, paper_on(clone, tiny_base), "--dir", str(tmp_path / "mine"), "--no-run")
    assert done.returncode == 1 and "is not a profile checkout this script made" in done.stderr
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == ["notes.md"]
