"""The config itself: params.yaml loads into the dataclasses, dvc.yaml points at files that exist and
declares the params its stages read, and the README's commands are the ones CI runs."""

import os
import re
import subprocess
import sys

import pytest
import yaml

from selfevo.config import SECTIONS, load_params, load_rounds, load_section
from selfevo.errors import PipelineError

from conftest import REPO

PARAMS = load_params(REPO / "params.yaml")
DVC = yaml.safe_load((REPO / "dvc.yaml").read_text())


@pytest.mark.parametrize("profile", ["params.yaml", "params/paper.yaml"])
def test_every_section_loads(profile):
    params = load_params(REPO / profile)
    for name in SECTIONS:
        load_section(name, params)
    assert [r.round for r in load_rounds(params)] == list(range(len(params["rounds"])))


def test_paper_profile_has_the_papers_settings():
    paper = load_params(REPO / "params/paper.yaml")
    train = load_section("train", paper)
    assert (train.lora_r, train.lora_alpha, train.target_modules) == (4, 8, "all-linear")
    assert load_section("model", paper).base == "Qwen/Qwen1.5-7B-Chat"
    assert len(load_rounds(paper)) == 8


def test_paper_profile_is_coherent_with_its_data():
    """Chinese prompts and BLEU on the paper's Chinese corpus and test set, both shipped; k below the
    history the corpus yields after round 0 (one pair per distinct fragment at most)."""
    import json

    from selfevo.data.chunking import prepare_chunks
    from selfevo.data.corpus import read_documents
    from selfevo.data.testset import read_tests
    from selfevo.text import chinese_share

    paper = load_params(REPO / "params/paper.yaml")
    corpus, evaluate = load_section("corpus", paper), load_section("evaluate", paper)
    assert load_section("prompts", paper).language == "zh" and evaluate.bleu_tokenize == "zh"
    assert corpus.path.startswith("data/paper/") and evaluate.test.startswith("data/paper/")
    assert len(read_tests(REPO / evaluate.test)) == 100
    docs, _ = read_documents(REPO / corpus.path, corpus.text_field)
    chunks, _ = prepare_chunks(docs, corpus.max_chunk_chars, corpus.min_chunk_chars)
    assert load_section("selection", paper).k < len(chunks) <= len(json.loads((REPO / corpus.path).read_text()))
    assert chinese_share(c["text"] for c in chunks) > 0.5  # prepare's language check passes


def test_broken_round_chain_names_the_entry():
    params = {**PARAMS, "rounds": [{"round": 0, "start": "base", "trains": "theta_1"},
                                   {"round": 1, "start": "base", "trains": "theta_2"}]}
    with pytest.raises(PipelineError, match=r"rounds\[1\]"):
        load_rounds(params)


def test_unknown_and_missing_keys_are_named():
    with pytest.raises(PipelineError, match="selection.kk: unknown key"):
        load_section("selection", {"selection": {**PARAMS["selection"], "kk": 1}})
    missing = {k: v for k, v in PARAMS["train"].items() if k != "lr"}
    with pytest.raises(PipelineError, match="train.lr: missing key"):
        load_section("train", {"train": missing})
    with pytest.raises(PipelineError, match="generate.min_grounding: must be in"):
        load_section("generate", {"generate": {**PARAMS["generate"], "min_grounding": 1.5}})


def _outputs(body) -> set[str]:
    return {next(iter(o)) if isinstance(o, dict) else o
            for kind in ("outs", "metrics", "plots") for o in body.get(kind, [])}


# baselines run a round's stage file on other inputs
SHARED_SCRIPTS = {"evaluate_base": "evaluate", "evaluate_hq": "evaluate", "train_hq": "train"}


def test_every_stage_command_points_at_its_own_stage_file_and_declared_params():
    produced = set().union(*(_outputs(st.get("do", st)) for st in DVC["stages"].values()))
    for name, stage in DVC["stages"].items():
        body = stage.get("do", stage)
        script = re.search(r"python (stages/\S+\.py)", body["cmd"]).group(1)
        assert (REPO / script).is_file()
        assert script in body["deps"]
        expected = SHARED_SCRIPTS.get(name, name)
        assert script == f"stages/{expected}.py", f"stage {name} runs {script}"
        for section in body.get("params", []):
            assert section.split(".")[0] in PARAMS
        for dep in body["deps"]:
            if "$" not in dep and dep not in produced and not any(out.startswith(dep + "/") for out in produced):
                assert (REPO / dep).exists(), f"{name}: dep {dep} is neither in the repo nor a stage output"


def test_readme_commands_are_the_ones_ci_and_make_run():
    readme = (REPO / "README.md").read_text()
    ci = (REPO / ".ci" / "run").read_text()
    makefile = (REPO / "Makefile").read_text()
    assert "make test" in readme and "make repro" in readme
    assert "make test" in ci
    assert re.search(r"^test:", makefile, re.M) and re.search(r"^repro:", makefile, re.M)


@pytest.mark.parametrize("section,key,value,message", [
    ("train", "lr", "abc", r"train.lr: must be a number, got 'abc'"),
    ("train", "epochs", 2.5, r"train.epochs: must be an integer, got 2.5"),
    ("generate", "anchor_window", 0, r"generate.anchor_window: must be at least 1"),
    ("generate", "anchor_examples", -1, r"generate.anchor_examples: must be >= 0"),
    ("generate", "anchor", "yes", r"generate.anchor: must be true or false, got 'yes'"),
    ("generate", "anchor_writer", "teacher", r"generate.anchor_writer: unknown writer 'teacher'; use round or base"),
    ("train", "max_length", 0, r"train.max_length: must be >= 16 tokens"),
    ("train", "target_modules", [], r"train.target_modules: must be all-linear or a list of module names"),
    ("score", "max_length", 1, r"score.max_length: must be >= 16 tokens"),
    ("train", "epochs", True, r"train.epochs: must be an integer, got True"),
    ("model", "cpu_autocast", "yes", r"model.cpu_autocast: must be true or false, got 'yes'"),
    ("model", "threads", 0, r"model.threads: must be null or an integer >= 1"),
    ("model", "threads", "all", r"model.threads: must be an integer or null, got 'all'"),
    ("generate", "max_batch_tokens", "many", r"generate.max_batch_tokens: must be an integer or null"),
    ("baselines", "references", "Qwen/Qwen1.5-72B-Chat", r"baselines.references: must be a list of strings"),
    ("evaluate", "bootstrap_draws", 1_000_000_000, r"evaluate.bootstrap_draws: must be from 100 .* to 100000"),
    ("train", "everyday", -1, r"train.everyday: must be >= 0"),
])
def test_a_value_of_the_wrong_type_is_named_before_any_use(section, key, value, message):
    params = {**PARAMS, section: {**PARAMS[section], key: value}}
    with pytest.raises(PipelineError, match=message):
        load_section(section, params)


def test_a_number_yaml_read_as_a_string_is_taken_with_a_warning(capsys):
    raw = yaml.safe_load("lr: 1e-4\n")  # PyYAML: no dot, so a string
    assert raw["lr"] == "1e-4"
    train = load_section("train", {**PARAMS, "train": {**PARAMS["train"], **raw}})
    assert train.lr == pytest.approx(1.0e-4) and isinstance(train.lr, float)
    assert "train.lr: '1e-4' is a string in YAML" in capsys.readouterr().err
    k = load_section("selection", {**PARAMS, "selection": {**PARAMS["selection"], "max_ifd": 2}}).max_ifd
    assert k == 2.0 and isinstance(k, float)  # an int where a float is expected


def test_an_unknown_section_is_named_in_a_warning(tmp_path, capsys):
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({**PARAMS, "trian": {"lr": 1.0e-4}}))
    assert "trian" in load_params(tmp_path / "params.yaml")
    assert "unknown section 'trian' is ignored" in capsys.readouterr().err


def test_gpu_check_dry_run_passes_on_a_cpu():
    """scripts/gpu_check.sh --dry-run: what a maintainer's GPU check would run, checked anywhere."""
    result = subprocess.run(["bash", str(REPO / "scripts" / "gpu_check.sh"), "--dry-run"], capture_output=True,
                            text=True, env={**os.environ, "PY": sys.executable})
    assert result.returncode == 0, result.stderr
    assert "round 0 with generate.backend: torch" in result.stdout
    assert "dvc repro -q evaluate@0" in result.stdout and "make -C" in result.stdout


def test_the_lock_pins_every_dependency_at_the_version_pyproject_asks():
    """`make install` installs requirements.lock: it must hold each pyproject pin, and no torch (its
    build is installed first, on its own)."""
    import tomllib

    locked = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)$", (REPO / "requirements.lock").read_text(), re.M))
    norm = lambda name: re.sub(r"[-_.]+", "-", name).lower()  # noqa: E731
    locked = {norm(k): v for k, v in locked.items()}
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    pins = project["dependencies"] + project["optional-dependencies"]["test"]
    for pin in pins:
        name, _, version = pin.partition("==")
        name = name.split("[")[0]  # markitdown[pdf,docx,...]: the extras' packages are locked on their own
        if norm(name) == "torch":
            assert "torch" not in locked
        elif version:
            assert locked.get(norm(name)) == version, f"requirements.lock: {name} is not {version}: run make lock"
        else:
            assert norm(re.split(r"[<>=]", name)[0]) in locked, pin


def test_params_that_are_not_yaml_name_the_line(tmp_path):
    (tmp_path / "params.yaml").write_text("corpus:\n  path: data\nmodel: [\n")
    with pytest.raises(PipelineError, match=r"params.yaml: line 4: not valid YAML"):
        load_params(tmp_path / "params.yaml")
