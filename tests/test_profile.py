"""`make paper`: a params profile runs in a checkout of its own (a git worktree of HEAD) whose params.yaml is
the profile and whose DVC cache is this checkout's; the workspace's params.yaml is never touched."""

import json
import os
import shutil
import subprocess
import sys

import pytest
import sacrebleu
import yaml

from selfevo.jsonio import read_jsonl
from test_tiny_chat import PAPER_SLICE
from tiny import TINY_CHAT_ZH, ZH_ANSWER, ZH_QUESTION, paper_slice

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


def test_the_paper_profile_runs_the_paper_s_data_end_to_end_on_a_tiny_model(clone, tmp_path):
    """`make paper`'s script on the paper slice (scripts/paper_slice.py: params/paper.yaml as shipped but for
    what a CPU test must change): the base is the zh fixture (it asks and answers under the paper's Chinese
    prompts), θ_HQ's data a QA file read off the fragments, the data 40 fragments in the release's JSON
    field and 10 test questions, 2 rounds with a k below the slice's pool. Every stage runs; the
    workspace's params.yaml stays."""
    for name in ("stages", "prompts", "data"):
        shutil.copytree(REPO / name, clone / name, ignore=shutil.ignore_patterns("corpora", "dev", "corpus"))
    base = shutil.copytree(TINY_CHAT_ZH, tmp_path / "tiny_chat_zh")
    made = subprocess.run([sys.executable, "scripts/paper_slice.py", "--base", str(base), "--out",
                           "params/tiny-paper.yaml", "--fragments", str(PAPER_SLICE[0]), "--questions",
                           str(PAPER_SLICE[1]), "--rounds", "2", "--k", "10"], cwd=clone, capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    fragments, tests = paper_slice(*PAPER_SLICE)
    teacher = read_jsonl(clone / "data/teacher/qa.jsonl")
    assert len(teacher) == len(fragments) and all(p["answer"] in f for p, f in zip(teacher, fragments))
    assert not {p["answer"] for p in teacher} & {t["answer"] for t in tests}
    git(clone, "-c", "user.email=t@t", "-c", "user.name=t", "add", "-A")
    git(clone, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "slice")
    own = (clone / "params.yaml").read_bytes()
    folder = tmp_path / "paper-run"

    done = profile(clone, "params/tiny-paper.yaml", "--dir", str(folder))
    assert done.returncode == 0, done.stderr[-3000:]
    assert (clone / "params.yaml").read_bytes() == own
    chunks = read_jsonl(folder / "data/prepared/chunks.jsonl")
    assert len(chunks) == PAPER_SLICE[0] and {c["text"] for c in chunks} == set(fragments)  # the release's field
    for r in range(2):
        pairs = read_jsonl(folder / f"data/rounds/round_{r}/qa.jsonl")
        assert len(pairs) == PAPER_SLICE[0] and {p["question"] for p in pairs} == {ZH_QUESTION}  # prompts/zh asked
        assert all(p["answer"] == ZH_ANSWER for p in pairs)
        assert len(read_jsonl(folder / f"data/rounds/round_{r}/selected.jsonl")) == (0 if r == 0 else 10)  # top k by IFD
        assert all(s["ifd"] is not None for s in read_jsonl(folder / f"data/rounds/round_{r}/scored.jsonl"))
    for name in ("theta_0", "theta_1", "theta_2"):
        predicted = read_jsonl(folder / f"reports/predictions/{name}.jsonl")
        hypotheses, references = [p["prediction"] for p in predicted], [p["reference"] for p in predicted]
        zh = sacrebleu.corpus_bleu(hypotheses, [references], tokenize="zh").score
        assert zh != sacrebleu.corpus_bleu(hypotheses, [references], tokenize="13a").score
        assert json.loads((folder / f"metrics/eval/{name}.json").read_text())["bleu"] == pytest.approx(zh, abs=1e-4)
    assert "bleu" in json.loads((folder / "metrics/baselines/hq.json").read_text())  # θ_HQ, from the QA file
    assert (folder / "models/hq/adapter_model.safetensors").is_file()
    assert {c["model"] for c in json.loads((folder / "reports/summary.json").read_text())["comparisons"]} >= {"theta_2"}
