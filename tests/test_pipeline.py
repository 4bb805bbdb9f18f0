"""The DVC pipeline itself, on a minimal config (3 rounds, 8 documents, a tiny model) in a temporary
copy of the repo: content addressing reruns exactly what a change affects, and bad input stops the
run with a clear error and loses nothing already computed."""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from selfevo.models.lineage import model_chain

from conftest import REPO
from tiny import (EDIT_LINE, MINIMAL_PROMPTS, MINIMAL_VARIANTS, TINY_CHAT, alarm_card, pipeline_cards,
                  round_chain, severity_answer, severity_question)

ROUND_STAGES = ("generate", "score", "judge", "evolve", "history", "selection", "train", "coverage", "evaluate")
BASELINES = ("teacher", "train_hq", "evaluate_hq", "references")


def stages_for(rounds) -> set[str]:
    return {f"{s}@{r}" for s in ROUND_STAGES for r in rounds}


def dvc(repo: Path, *args: str, check: bool = True, **env_vars: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "DVC_NO_ANALYTICS": "1", "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", **env_vars}
    result = subprocess.run(["dvc", *args], cwd=repo, env=env, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"dvc {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def repro(repo: Path, **env_vars: str) -> set[str]:
    """Run `dvc repro` and return the names of the stages it actually ran."""
    return set(re.findall(r"Running stage '([^']+)'", dvc(repo, "repro", **env_vars).stdout))


def set_params(repo: Path, **changes) -> None:
    params = yaml.safe_load((repo / "params.yaml").read_text())
    for dotted, value in changes.items():
        section, key = dotted.split(".")
        params[section][key] = value
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def write_jsonl(path: Path, rows) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def minimal_copy(dest: Path) -> Path:
    """The repo's pipeline code and config, with short data and prompts that the tiny fixture model
    follows: what is under test here is the pipeline's bookkeeping."""
    for name in ("dvc.yaml", "stages", "selfevo"):
        src = REPO / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, dest / name)
    prompts = dest / "prompts" / "en"
    prompts.mkdir(parents=True)
    for name, text in MINIMAL_PROMPTS.items():
        (prompts / name).write_text(text)
    shutil.copy(REPO / "prompts" / "en" / "judge.yaml", prompts / "judge.yaml")
    shutil.copy(REPO / "prompts" / "en" / "anchor.yaml", prompts / "anchor.yaml")
    (prompts / "everyday.txt").write_text("What is a good name for a cat?\nHow do I make tea?\nSay something kind.\n")
    (prompts / "variants.yaml").write_text(yaml.safe_dump(MINIMAL_VARIANTS))
    (dest / "data" / "corpus").mkdir(parents=True)
    (dest / "data" / "history").mkdir()
    (dest / "data" / "history" / "base.jsonl").write_text("")
    for code, level in pipeline_cards():
        (dest / "data" / "corpus" / f"{code}.md").write_text(alarm_card(code, level) + "\n")
    # a user's own base model, found by path (the base stage writes a pointer to it): the committed
    # fixture, whose greedy replies to these prompts win by wide margins (tests/test_tiny_chat.py)
    base = shutil.copytree(TINY_CHAT, dest / "tiny_base")
    (dest / "data" / "teacher").mkdir()
    write_jsonl(dest / "data" / "teacher" / "qa.jsonl",
                [{"question": severity_question(code), "answer": severity_answer(code, level)}
                 for code, level in pipeline_cards()])
    write_jsonl(dest / "data" / "general.jsonl",
                [{"question": f"What is {i} plus 1?", "answer": f"{i} plus 1 is {i + 1}.", "keywords": [str(i + 1)]}
                 for i in range(3)])
    write_jsonl(dest / "data" / "test.jsonl",
                [{"question": severity_question(code), "answer": severity_answer(code, level), "facts": [level],
                  "kind": "severity"} for code, level in pipeline_cards()[:4]])
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["model"].update(base=str(base), cpu_autocast=False)
    # greedy, so the fixture's margins decide every token; the cleaning keeps its defaults
    params["generate"].update(temperature=0.0, max_question_tokens=16, max_answer_tokens=16)
    params["score"].update(max_length=128)
    params["selection"].update(k=2, max_ifd=None)
    params["train"].update(epochs=3, batch_size=4, lr=3.0e-3)
    params["evaluate"].update(max_new_tokens=16)
    params["rounds"] = round_chain(3)
    (dest / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    dvc(dest, "init", "--no-scm", "-q")
    dvc(dest, "config", "core.analytics", "false")
    return dest


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    repo = minimal_copy(tmp_path_factory.mktemp("pipeline"))
    ran = repro(repo, SELFEVO_PARAMS_TRACE=str(repo.parent / "reads"))  # the params keys each stage reads
    return repo, ran


def test_first_run_runs_every_stage_and_writes_metrics(pipeline):
    repo, ran = pipeline
    assert ran == {"prepare", "base", "seed_prompts", "everyday", "evaluate_base", "report", *BASELINES} \
        | stages_for(range(3))
    curve = json.loads((repo / "reports" / "scores.json").read_text())
    assert [row["rounds_trained"] for row in curve] == [0, 1, 2, 3]
    assert all(0 <= row["bleu"] <= 100 for row in curve)
    hq = json.loads((repo / "metrics" / "baselines" / "hq.json").read_text())
    assert [row["score"] for row in curve] == pytest.approx([row["bleu"] / hq["bleu"] for row in curve], abs=1e-3)
    assert all(0 <= row["fact_recall_low"] <= row["fact_recall"] <= row["fact_recall_high"] <= 1 for row in curve)
    summary = json.loads((repo / "reports" / "summary.json").read_text())
    assert {(c["model"], c["against"]) for c in summary["comparisons"]} >= {("theta_3", "theta_2"), ("theta_3", "theta_HQ")}
    predictions = (repo / "reports" / "predictions" / "theta_3.jsonl").read_text().splitlines()
    assert set(json.loads(predictions[0])) == {"question", "reference", "prediction", "nll", "facts", "stated",
                                               "chance_stated", "chance_facts", "open_prediction", "open_stated"}
    for r in range(3):
        pairs = (repo / f"data/rounds/round_{r}/qa.jsonl").read_text().splitlines()
        assert pairs, f"round {r} generated no pairs"
        assert (repo / f"models/theta_{r + 1}/adapter_model.safetensors").stat().st_size < 1_000_000


def test_each_training_run_logs_its_curve_for_dvc_plots(pipeline):
    """DVCLive's per-step loss and learning rate for every round and θ_HQ, which `dvc plots show` reads;
    no report, dvc.yaml or experiment of DVCLive's own; no checkpoint left after a finished run."""
    repo, _ = pipeline
    for name, stats in [(f"theta_{r + 1}", f"metrics/train/round_{r}.json") for r in range(3)] + \
            [("theta_HQ", "metrics/baselines/train_hq.json")]:
        steps = json.loads((repo / stats).read_text())["steps"]
        for metric in ("loss", "lr"):
            rows = (repo / f"reports/curves/{name}/plots/metrics/{metric}.tsv").read_text().splitlines()
            assert rows[0] == f"step\t{metric}" and [int(r.split()[0]) for r in rows[1:]] == list(range(1, steps + 1))
        assert not (repo / f".cache/train/{name}").exists() and not (repo / ".cache/train/hq").exists()
    shown = json.dumps(json.loads(dvc(repo, "plots", "show", "--json").stdout)["data"])
    assert all(f"reports/curves/theta_{i}/plots/metrics/loss.tsv" in shown for i in range(1, 4)), shown[:2000]
    assert not list(repo.rglob("report.html")) and not (repo / "dvclive").exists()


def test_dvc_metrics_show_fits_a_terminal_and_the_stats_are_one_name_away(pipeline):
    repo, _ = pipeline
    shown = dvc(repo, "metrics", "show").stdout.splitlines()
    assert max(map(len, shown)) <= 150, "\n".join(shown)
    assert {row.split()[0] for row in shown[1:]} == {
        "metrics/eval/theta_0.json", *(f"metrics/eval/theta_{i}.json" for i in range(1, 4)),
        "metrics/baselines/hq.json", "metrics/baselines/references.json", "metrics/score.json"}
    assert shown[0].split() == ["Path", "best_score", "bleu", "fact_recall", "fact_recall_high", "fact_recall_low",
                                "general_score", "reference_nll", "score"]
    detail = dvc(repo, "metrics", "show", "metrics/evaluate/theta_1.json", "metrics/generate/round_0.json").stdout
    assert "rounds_trained" in detail and "pairs" in detail


def test_make_repro_removes_the_headline_first_and_dvc_brings_back_what_is_unchanged(pipeline):
    """`make repro` deletes every headline metric before `dvc repro`, so that mid-run no figure of an
    earlier run (another corpus, other params) shows beside this run's; for unchanged stages DVC
    restores them from its cache, byte for byte, running nothing."""
    repo, _ = pipeline
    makefile = (REPO / "Makefile").read_text()
    removal = re.search(r"^repro:.*\n\t(rm -f [^\n]+)\n\tdvc repro$", makefile, re.MULTILINE).group(1)
    headline = sorted(p for pattern in shlex.split(removal)[2:] for p in repo.glob(pattern))
    assert len(headline) == 7, headline  # θ_0..θ_3, θ_HQ, the references, the score
    before = {p: p.read_bytes() for p in headline}
    for p in headline:
        p.unlink()
    assert repro(repo) == set()
    assert {p: p.read_bytes() for p in headline} == before


def test_second_repro_runs_nothing(pipeline):
    repo, _ = pipeline
    assert repro(repo) == set()


def test_changing_k_reruns_only_what_selection_feeds(pipeline):
    repo, _ = pipeline
    set_params(repo, **{"selection.k": 3})
    ran = repro(repo)
    assert {"selection@1", "train@1", "evaluate@1", "selection@2", "train@2", "evaluate@2"} <= ran
    assert not ran & {"prepare", "base", "evaluate_base", "generate@0", "score@0", "generate@1", "score@1",
                      "train@0", "evaluate@0", *BASELINES}


def test_plots_are_declared_and_render(pipeline):
    repo, _ = pipeline
    rendered = json.loads(dvc(repo, "plots", "show", "--json").stdout)
    data = rendered.get("data", rendered)
    assert {"reports/scores.json", "reports/fig2.png"} <= set(data)
    html = dvc(repo, "plots", "show", "-o", "plots_html").stdout
    assert (repo / "plots_html" / "index.html").is_file(), html


def test_editing_one_document_reruns_from_generate_0(pipeline):
    repo, _ = pipeline
    adapter = lambda: (repo / "models" / "theta_1" / "adapter_model.safetensors").read_bytes()
    before = adapter()
    doc = sorted((repo / "data" / "corpus").glob("*.md"))[0]
    doc.write_text(doc.read_text() + EDIT_LINE + "\n")
    ran = repro(repo)
    assert {"prepare", "generate@0", "score@0", "train@0", "evaluate_base"} <= ran  # θ_0's open-book pass reads chunks
    assert "base" not in ran
    # evaluate@0 reruns exactly when θ_1 changed: if the edited chunk's pair reads the same (only its
    # id moved), seeded training gives the same adapter bytes and DVC stops there
    assert ("evaluate@0" in ran) == (adapter() != before)


def test_adding_a_round_runs_only_the_new_round(pipeline):
    repo, _ = pipeline
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["rounds"] = round_chain(4)
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    assert repro(repo) == stages_for([3]) | {"report"}


def test_bad_document_stops_the_run_and_keeps_earlier_outputs(pipeline):
    repo, _ = pipeline
    before = {p: p.read_bytes() for p in (repo / "models").rglob("*") if p.is_file()}
    (repo / "data" / "corpus" / "broken.md").write_bytes(b"Alarm: caf\xe9\n")
    result = dvc(repo, "repro", check=False)
    assert result.returncode != 0
    assert "broken.md: not UTF-8" in result.stdout + result.stderr
    assert {p: p.read_bytes() for p in (repo / "models").rglob("*") if p.is_file()} == before
    (repo / "data" / "corpus" / "broken.md").unlink()
    assert repro(repo) == set()  # the failed run left nothing stale behind


def test_a_typo_in_the_base_costs_nothing_once_fixed(pipeline, tmp_path):
    """DVC deletes a stage's outputs before running it; the stage fails on the bad value before it
    writes anything, and once the value is fixed the run cache gives every output back: nothing reruns."""
    repo, _ = pipeline
    copy = tmp_path / "copy"
    shutil.copytree(repo, copy)
    good = yaml.safe_load((copy / "params.yaml").read_text())["model"]["base"]
    set_params(copy, **{"model.base": str(tmp_path / "no-such-model")})
    result = dvc(copy, "repro", check=False)
    assert result.returncode != 0
    assert "model.base: cannot load" in result.stdout + result.stderr
    assert (copy / "models" / "theta_3" / "adapter_model.safetensors").is_file()
    assert not (copy / "models" / "base.tmp").exists()
    set_params(copy, **{"model.base": good})
    assert repro(copy) == set()
    assert (copy / "models" / "base" / "pointer.json").is_file() and (copy / "metrics" / "base.json").is_file()


def test_a_failed_evaluate_or_report_loses_no_headline_result(pipeline, tmp_path):
    """DVC deletes a stage's outputs before it runs: the headline metrics and the report's files are cached
    outputs, so after a failed evaluate `dvc checkout` brings them back, and a failed report leaves every
    evaluation's metrics in place."""
    repo, _ = pipeline
    copy = tmp_path / "copy"
    shutil.copytree(repo, copy)
    headline, summary = copy / "metrics/eval/theta_1.json", copy / "reports/summary.json"
    before = headline.read_bytes(), summary.read_bytes()
    set_params(copy, **{"evaluate.max_new_tokens": 0})
    result = dvc(copy, "repro", "-s", "evaluate@0", check=False)
    assert result.returncode != 0 and "evaluate.max_new_tokens" in result.stderr
    set_params(copy, **{"evaluate.max_new_tokens": 16})
    dvc(copy, "checkout", "evaluate@0")
    assert headline.read_bytes() == before[0]
    set_params(copy, **{"evaluate.bootstrap_draws": 5})
    result = dvc(copy, "repro", "-s", "report", check=False)
    assert result.returncode != 0 and "evaluate.bootstrap_draws" in result.stderr
    assert headline.read_bytes() == before[0] and (copy / "metrics/eval/theta_0.json").is_file()
    set_params(copy, **{"evaluate.bootstrap_draws": 1000})
    dvc(copy, "checkout", "report")
    assert summary.read_bytes() == before[1]


def test_a_broken_rounds_chain_stops_the_run(pipeline, tmp_path):
    """Round 2 set to start from θ_1 instead of θ_2: every round stage and the report refuse
    it before any work, so no model is trained on the wrong chain and no report names the wrong model."""
    repo, _ = pipeline
    copy = tmp_path / "copy"
    shutil.copytree(repo, copy)
    before = (copy / "reports" / "summary.json").read_bytes()
    params = yaml.safe_load((copy / "params.yaml").read_text())
    params["rounds"][2]["start"] = "theta_1"
    (copy / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    result = dvc(copy, "repro", check=False)
    assert result.returncode != 0
    assert ("rounds[2]: expected {round: 2, start: theta_2, trains: theta_3}, got {round: 2, start: theta_1, "
            "trains: theta_3}") in result.stderr
    assert (copy / "reports" / "summary.json").read_bytes() == before
    for stage in ("train", "evaluate", "report"):  # each refuses it on its own, too
        one = dvc(copy, "repro", "-s", "-f", stage if stage == "report" else f"{stage}@0", check=False)
        assert one.returncode != 0 and "rounds[2]: expected" in one.stderr, stage


def test_retraining_a_round_gives_identical_files(pipeline):
    """Same inputs, same bytes: seeded adapter init, and no per-process ordering in adapter_config.json."""
    repo, _ = pipeline
    files = lambda: {p.name: p.read_bytes() for p in (repo / "models" / "theta_1").iterdir()}
    before = files()
    for hash_seed in ("1", "2"):
        dvc(repo, "repro", "-f", "-s", "train@0", PYTHONHASHSEED=hash_seed)
        assert files() == before


def source_checkout(repo: Path, dest: Path) -> Path:
    """What a git clone of `repo` holds: everything but the DVC cache and the outputs DVC caches."""
    from dvc.repo import Repo

    with Repo(str(repo)) as dvc_repo:
        cached = {Path(out.fs_path).relative_to(repo) for out in dvc_repo.index.outs if out.use_cache}
    skip = {Path(".dvc/cache"), Path(".dvc/tmp"), Path(".cache"), *cached}
    shutil.copytree(repo, dest, ignore=lambda folder, names: [
        n for n in names if (Path(folder) / n).relative_to(repo) in skip])
    return dest


def test_two_clones_at_different_paths_build_identical_rounds(pipeline, tmp_path):
    """Round folders depend on their inputs alone, not on where the checkout lives: a second clone
    elsewhere trains byte-identical rounds with the same dvc.lock hashes."""
    repo, _ = pipeline
    clone = source_checkout(repo, tmp_path / "somewhere" / "else")
    ran = set(re.findall(r"Running stage '([^']+)'", dvc(clone, "repro", "train@1").stdout))
    assert {"train@0", "train@1"} <= ran
    for name in ("theta_1", "theta_2"):
        files = lambda root: {p.name: p.read_bytes() for p in (root / "models" / name).iterdir()}
        assert files(clone) == files(repo), name
        config = json.loads((clone / "models" / name / "adapter_config.json").read_text())
        assert config["base_model_name_or_path"] == ("../base" if name == "theta_1" else "../theta_1")
        assert not (clone / "models" / name / "README.md").exists()
    locks = [yaml.safe_load((root / "dvc.lock").read_text())["stages"] for root in (repo, clone)]
    outs = lambda lock, stage: [o for o in lock[stage]["outs"] if not o["path"].startswith("metrics/")]  # timings
    for stage in ran:
        assert outs(locks[1], stage) == outs(locks[0], stage), stage


def test_rounds_pushed_to_a_remote_check_out_elsewhere_with_nothing_to_rerun(pipeline, tmp_path):
    """The README's sharing claim: `dvc push` from one clone, `dvc pull` in another at another path,
    and `dvc repro` runs nothing."""
    repo, _ = pipeline
    dvc(repo, "remote", "add", "-d", "-f", "store", str(tmp_path / "remote"))
    dvc(repo, "push")
    clone = source_checkout(repo, tmp_path / "teammate" / "checkout")
    assert not (clone / "models" / "theta_3").exists()
    dvc(clone, "pull")
    assert (clone / "models" / "theta_3" / "adapter_model.safetensors").read_bytes() == \
        (repo / "models" / "theta_3" / "adapter_model.safetensors").read_bytes()
    assert "up to date" in dvc(clone, "status").stdout
    assert repro(clone) == set()


def test_prompt_evolution_draws_variants_and_reruns_byte_identical(pipeline, tmp_path):
    """With generate.evolve_prompts, each chunk's question comes from a drawn variant, evolve@0 writes the
    set round 1 draws from, and rerunning the judge and the evolution gives the same bytes."""
    repo, _ = pipeline
    copy = tmp_path / "copy"
    shutil.copytree(repo, copy)
    set_params(copy, **{"generate.evolve_prompts": True, "generate.evolve_keep": 1, "judge.enabled": True})
    ran = set(re.findall(r"Running stage '([^']+)'", dvc(copy, "repro", "generate@1").stdout))
    assert {"generate@0", "judge@0", "evolve@0", "generate@1"} <= ran
    seeds = {v["id"] for v in json.loads((copy / "data/prompts/base.json").read_text())["variants"]}
    pairs = [json.loads(line) for line in (copy / "data/rounds/round_0/qa.jsonl").read_text().splitlines()]
    assert pairs and {p["variant"] for p in pairs} <= seeds
    evolved = json.loads((copy / "data/prompts/theta_1.json").read_text())["variants"]
    assert len([v for v in evolved if v["born"] == "seed"]) == 1  # evolve_keep: 1 survivor (+ a child if valid)
    stats = json.loads((copy / "metrics/evolve/round_0.json").read_text())
    assert stats["evolved"] and sum(stats["drawn"].values()) == 8
    assert {p["variant"] for p in map(json.loads, (copy / "data/rounds/round_1/qa.jsonl").read_text().splitlines())} \
        <= {v["id"] for v in evolved}
    outputs = ("data/rounds/round_0/judged.jsonl", "data/prompts/theta_1.json")
    before = [(copy / f).read_bytes() for f in outputs]
    dvc(copy, "repro", "-f", "-s", "judge@0")
    dvc(copy, "repro", "-f", "-s", "evolve@0")
    assert [(copy / f).read_bytes() for f in outputs] == before


def test_everyday_replies_are_written_once_and_replayed_in_every_round(pipeline, tmp_path):
    """train.everyday: θ_0's replies to the everyday requests are written by one stage and that many of
    them train in each round beside the round's pairs; off (0), the stage loads no model and writes none."""
    repo, _ = pipeline
    assert (repo / "data/everyday.jsonl").read_text() == ""
    assert json.loads((repo / "metrics/train/round_0.json").read_text())["replayed_everyday"] == 0
    copy = tmp_path / "copy"
    shutil.copytree(repo, copy)
    set_params(copy, **{"train.everyday": 2, "train.everyday_tokens": 8})
    ran = set(re.findall(r"Running stage '([^']+)'", dvc(copy, "repro", "train@0").stdout))
    assert {"everyday", "train@0"} <= ran and "generate@0" not in ran
    replies = [json.loads(line) for line in (copy / "data/everyday.jsonl").read_text().splitlines()]
    requests = (copy / "prompts/en/everyday.txt").read_text().splitlines()
    assert replies and all(r["question"] in requests and r["answer"] for r in replies)
    stats = json.loads((copy / "metrics/train/round_0.json").read_text())
    assert stats["replayed_everyday"] == min(2, len(replies))
    assert (copy / "models/theta_1/adapter_model.safetensors").read_bytes() != \
        (repo / "models/theta_1/adapter_model.safetensors").read_bytes()


def test_later_round_levers_lr_decay_and_from_base(pipeline, tmp_path):
    """train.lr_decay: round r trains at lr × lr_decay^r (1.0, the default: every round at lr);
    train.from_base: round r's adapter is trained on θ_0, not on θ_r, so θ_{r+1} is θ_0 and one adapter."""
    repo, _ = pipeline
    assert [json.loads((repo / f"metrics/train/round_{r}.json").read_text())["lr"] for r in range(3)] == [3.0e-3] * 3
    assert len(model_chain(repo / "models/theta_3")[1]) == 3
    copy = tmp_path / "copy"
    shutil.copytree(repo, copy)
    set_params(copy, **{"train.lr_decay": 0.5, "train.from_base": True})
    dvc(copy, "repro", "-s", "train@2")
    stats = json.loads((copy / "metrics/train/round_2.json").read_text())
    assert stats["lr"] == pytest.approx(3.0e-3 * 0.25)
    rates = [float(row.split()[1]) for row in (copy / "reports/curves/theta_3/plots/metrics/lr.tsv").read_text().splitlines()[1:]]
    assert 3.0e-3 * 0.25 * 0.5 < max(rates) <= 3.0e-3 * 0.25 * (1 + 1e-6)  # a linear decay from the round's rate
    base, adapters = model_chain(copy / "models/theta_3")
    assert base == (copy / "models/base").resolve() and adapters == [copy / "models/theta_3"]
    changed = dvc(copy, "status").stdout
    assert all(f"train@{r}" in changed for r in (0, 1)), changed  # every round's stage sees the params


def declared_params(stage: dict) -> set[str]:
    """The params keys a dvc.yaml stage declares: its `params` list, and those its deps name by `${...}`."""
    named = set(re.findall(r"\$\{(\w+\.\w+)\}", json.dumps(stage.get("deps", []))))
    return set(stage.get("params") or []) | {k for k in named if not k.startswith("item.")}


def test_every_stage_declares_each_params_key_it_reads(pipeline):
    """Content addressing is as fine as the params: every `section.key` a stage's process read (traced by
    selfevo.config under $SELFEVO_PARAMS_TRACE in the fixture's run) is declared by its dvc.yaml stage,
    and every key a stage declares one by one is read by its code (an attribute of that name in the
    modules it imports: a key read only under other settings, e.g. judge.min_* with the judge on)."""
    from test_dvc_deps import code_closure

    repo, _ = pipeline
    reads: dict[str, set[str]] = {}
    for trace in (repo.parent / "reads").glob("*.txt"):
        reads.setdefault(trace.name.split(".")[0].split("@")[0], set()).update(trace.read_text().split())
    assert {"generate", "train", "train_hq", "evaluate", "score", "prepare"} <= set(reads)
    for name, stage in yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"].items():
        stage = stage.get("do", stage)
        script = re.search(r"python (stages/\w+)\.py", stage["cmd"]).group(1)
        declared = declared_params(stage)
        missing = {k for k in reads.get(name, ()) if k not in declared and k.split(".")[0] not in declared}
        assert not missing, f"{name} reads {sorted(missing)} but does not declare them"
        source = "".join((REPO / m).read_text() for m in code_closure(f"{script}.py"))
        unread = {k for k in declared if "." in k and not re.search(rf"\.{k.split('.')[1]}\b", source)}
        assert not unread, f"{name} declares {sorted(unread)} but no code of it reads them"


def test_a_key_only_evolution_reads_reruns_only_evolve_and_nothing_after_it(pipeline, tmp_path):
    """With evolution off, generate.evolve_keep changes nothing: only evolve@r declares it, reruns, and
    writes the same prompt set, so no generate, train or evaluate stage runs again."""
    repo, _ = pipeline
    copy = tmp_path / "copy"
    shutil.copytree(repo, copy)
    before = {p.name: p.read_bytes() for p in (copy / "data/prompts").glob("*.json")}
    set_params(copy, **{"generate.evolve_keep": 7})
    evolve = {f"evolve@{r}" for r in range(len(yaml.safe_load((copy / "params.yaml").read_text())["rounds"]))}
    assert set(re.findall(r"^(\S+):$", dvc(copy, "status").stdout, re.M)) == evolve
    assert repro(copy) == evolve
    assert {p.name: p.read_bytes() for p in (copy / "data/prompts").glob("*.json")} == before


def anchored_records(repo: Path) -> dict[str, tuple[dict, dict]]:
    """The generation cache's files holding anchored questions: settings and records by the writer's fingerprint."""
    files = [json.loads(f.read_text()) for f in sorted((repo / ".cache/generate").glob("*.json"))]
    return {f["settings"]["model"]: (f["settings"], {k: v for k, v in f["questions"].items() if k.startswith("anchor:")})
            for f in files if any(k.startswith("anchor:") for k in f["questions"])}


def test_the_base_writes_a_later_rounds_anchored_questions(pipeline, tmp_path):
    """generate.anchor_writer: base: round 1's anchored questions are what θ_0 writes (same windows, seeds
    and label), recorded under θ_0's fingerprint; `round` has θ_1 write them, under θ_1's. (The fixture's
    margins are so wide that θ_0 and θ_1 write the same text here; the record's key tells the writer.)"""
    from selfevo.config import load_params, load_section
    from selfevo.generate.anchors import generate_anchored, load_anchor_prompt
    from selfevo.generate.itemcache import ItemCache
    from selfevo.generate.prompts import load_prompts
    from selfevo.models.lineage import fingerprint
    from selfevo.models.modeling import load_model, load_tokenizer

    repo, _ = pipeline
    copy = tmp_path / "copy"
    shutil.copytree(repo, copy)
    shutil.rmtree(copy / ".cache/generate")
    # sampled, so that the fixture writes some text to the anchored prompt (greedy, it writes none)
    set_params(copy, **{"generate.anchor": True, "generate.anchor_writer": "base", "generate.temperature": 1.0})
    dvc(copy, "repro", "-s", "generate@1")
    base, theta_1 = copy / "models/base", copy / "models/theta_1"
    by_writer = anchored_records(copy)
    assert set(by_writer) == {fingerprint(base)} and by_writer[fingerprint(base)][0]["label"] == "1"
    raw = load_params(copy / "params.yaml")
    params, model_params = load_section("generate", raw), load_section("model", raw)
    anchor = load_anchor_prompt(copy / "prompts/en")
    cache = ItemCache(tmp_path / "cache", model_fingerprint="θ_0", prompts=load_prompts(copy / "prompts/en"),
                      params=params, label=1, anchor=anchor.as_dict())
    chunks = [json.loads(line) for line in (copy / "data/prepared/chunks.jsonl").read_text().splitlines()]
    expected, _ = generate_anchored(load_model(base, model_params).eval(), load_tokenizer(base, model_params), chunks,
                                    anchor, params, 1, cache)
    assert by_writer[fingerprint(base)][1] == cache.questions and any(cache.questions.values())
    pairs = [json.loads(line) for line in (copy / "data/rounds/round_1/qa.jsonl").read_text().splitlines()]
    assert [p for p in pairs if p["variant"] == "anchored"] == expected
    set_params(copy, **{"generate.anchor_writer": "round"})
    dvc(copy, "repro", "-s", "generate@1")
    by_writer = anchored_records(copy)
    assert set(by_writer) == {fingerprint(base), fingerprint(theta_1)}
    assert by_writer[fingerprint(theta_1)][1].keys() == cache.questions.keys()  # the same items, θ_1's records


def test_a_corpus_file_at_another_path_is_a_dependency(pipeline, tmp_path):
    """corpus.path is the one source of prepare's input: its command reads it and DVC watches it, so an
    edit to a JSON corpus at a non-default path reruns prepare. A folder named like shell code (a space,
    an apostrophe, a `;`) is read as named and runs nothing."""
    repo, _ = pipeline
    copy = tmp_path / "copy"
    shutil.copytree(repo, copy)
    folder = "our docs'; touch PWNED; echo '"
    (copy / folder).mkdir()
    corpus = copy / folder / "fragments.jsonl"
    write_jsonl(corpus, [{"body": f"Alarm: ALM-20{i}\nSeverity: minor\n"} for i in range(4)])
    set_params(copy, **{"corpus.path": f"{folder}/fragments.jsonl", "corpus.text_field": "body"})
    dvc(copy, "repro", "prepare")
    assert not (copy / "PWNED").exists() and not (copy / folder / "PWNED").exists()
    chunks = (copy / "data/prepared/chunks.jsonl").read_text()
    assert "ALM-203" in chunks and "ALM-100" not in chunks
    write_jsonl(corpus, [{"body": f"Alarm: ALM-30{i}\nSeverity: major\n"} for i in range(4)])
    assert "prepare" in dvc(copy, "status", "prepare").stdout
    assert "Running stage 'prepare'" in dvc(copy, "repro", "prepare").stdout
    assert "ALM-303" in (copy / "data/prepared/chunks.jsonl").read_text()


def run_in_two_processes(repo: Path, stage: str, folder: Path) -> list[str]:
    """A stage's command from dvc.lock under `torchrun --nproc_per_node 2` (gloo on CPU: what `accelerate
    launch` starts on two GPUs), its outputs redirected into `folder`; returns the outputs' paths."""
    from selfevo.stageargs import placeholder_values

    lock = yaml.safe_load((repo / "dvc.lock").read_text())["stages"][stage]
    outs = [o["path"] for o in lock["outs"]]
    moved = {".cache/generate": str(folder / "cache"), **{out: str(folder / out) for out in outs}}
    values = placeholder_values(yaml.safe_load((repo / "params.yaml").read_text()), stage)
    cmd = re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), lock["cmd"])  # as the stage fills it
    args = [moved.get(arg, arg) for arg in shlex.split(cmd)[1:]]
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    result = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                             *args], cwd=repo, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    return outs


def test_two_processes_write_the_same_files_as_one(pipeline, tmp_path):
    """generate, score and evaluate in two processes: each runs every other batch, and process 0 writes
    the gathered results, the same bytes as the one-process run of the pipeline."""
    repo, _ = pipeline
    for stage in ("generate@1", "score@0", "evaluate@0"):
        outs = run_in_two_processes(repo, stage, tmp_path / stage)
        for out in outs:
            if out.startswith("metrics/generate/"):  # counts items reused from the pipeline's item cache
                continue
            if out.startswith("metrics/evaluate/"):  # the processor record holds each process's thread count
                stats = [json.loads(p.read_text()) for p in (tmp_path / stage / out, repo / out)]
                assert [{k: v for k, v in s.items() if k != "processor"} for s in stats[:1]] == \
                    [{k: v for k, v in stats[1].items() if k != "processor"}], f"{stage}: {out}"
                continue
            assert (tmp_path / stage / out).read_bytes() == (repo / out).read_bytes(), f"{stage}: {out}"


def test_data_parallel_training_takes_the_one_process_steps(pipeline, tmp_path):
    """train@0 in two processes: each takes half of every batch and the gradients are summed, so the
    adapter is the one-process adapter up to the order of floating-point sums."""
    from safetensors.torch import load_file

    repo, _ = pipeline
    run_in_two_processes(repo, "train@0", tmp_path)
    one = load_file(repo / "models/theta_1/adapter_model.safetensors")
    two = load_file(tmp_path / "models/theta_1/adapter_model.safetensors")
    assert one.keys() == two.keys()
    for key in one:
        torch.testing.assert_close(two[key], one[key], atol=1e-4, rtol=1e-3)
    base = json.loads((repo / "metrics/train/round_0.json").read_text())
    stats = json.loads((tmp_path / "metrics/train/round_0.json").read_text())
    assert stats["steps"] == base["steps"] and stats["tokens"] == base["tokens"]
    assert stats["final_loss"] == pytest.approx(base["final_loss"], rel=1e-3)
