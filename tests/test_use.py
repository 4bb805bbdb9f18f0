"""Using a trained model: `selfevo.chat` answers questions from standard input as the evaluation
does, and `selfevo.export` writes a folder that plain transformers loads and that answers the same."""

import io
import os
import shutil

import pytest
import torch
import yaml

from selfevo.chat import answer, chat, one_line
from selfevo.config import load_params, load_section
from selfevo.export import export
from selfevo.models.modeling import load_model, load_tokenizer

from conftest import REPO
from test_modeling import train_round
from tiny import severity_question

QUESTION = severity_question("ALM-100")  # the fixture answers it by wide margins


@pytest.fixture(scope="module")
def round_model(tiny_base, model_params, tmp_path_factory):
    models = tmp_path_factory.mktemp("models")
    shutil.copytree(tiny_base, models / "base")
    train_round(models / "base", models / "theta_1", model_params, 0, seed=0)
    return models / "theta_1"


@pytest.fixture()
def raw_params(model_params):
    raw = load_params(REPO / "params.yaml")
    raw["model"] = dict(vars(model_params))
    return raw


def test_chat_answers_each_line_of_standard_input(round_model, raw_params, model_params):
    out = io.StringIO()
    chat(str(round_model), io.StringIO(f"{QUESTION}\n\nWhich planet is largest?\n"), out, raw_params)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2  # one answer a question, on one line; the blank line is skipped
    model, tokenizer = load_model(round_model, model_params), load_tokenizer(round_model, model_params)
    assert lines[0] == one_line(answer(model, tokenizer, QUESTION, load_section("evaluate", raw_params)))
    assert lines[0].strip()


def test_a_reply_of_several_lines_is_printed_on_one():
    assert one_line("XY-\n  XY-12?\n\n") == "XY- XY-12?" and one_line("") == ""


def test_export_loads_with_plain_transformers_and_answers_the_same(round_model, model_params, raw_params, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = export(round_model, tmp_path / "exported", model_params)
    names = {p.name for p in out.iterdir()}
    assert "model.safetensors" in names and not names & {"lineage.json", "pointer.json", "adapter_config.json"}
    plain = AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32).eval()
    plain_tokenizer = AutoTokenizer.from_pretrained(out)
    params = load_section("evaluate", raw_params)
    ours = load_model(round_model, model_params)
    expected = answer(ours, load_tokenizer(round_model, model_params), QUESTION, params)
    assert answer(plain, plain_tokenizer, QUESTION, params) == expected
    # the merged adapter is in the exported weights: they differ from the base's
    base = load_model(round_model.parent / "base", model_params).state_dict()
    assert any(not torch.equal(base[k], v) for k, v in plain.state_dict().items() if "proj" in k)


def test_export_never_replaces_a_folder_it_did_not_write(round_model, model_params, tmp_path):
    from selfevo.errors import PipelineError

    data = tmp_path / "data"
    data.mkdir()
    (data / "corpus.md").write_text("a user's file")
    (tmp_path / "data.tmp").mkdir()  # a sibling named like a scratch folder stays too
    (tmp_path / "data.tmp" / "keep.md").write_text("keep")
    with pytest.raises(PipelineError, match=r"data: a folder that export did not write, and not empty"):
        export(round_model, data, model_params)
    assert (data / "corpus.md").read_text() == "a user's file" and (tmp_path / "data.tmp" / "keep.md").is_file()
    out = export(round_model, tmp_path / "exported", model_params)
    assert export(round_model, out, model_params) == out  # its own folder, as it wrote it: replaced
    (out / "notes.md").write_text("a user's notes")
    with pytest.raises(PipelineError, match=r"exported: holds files export did not write \(notes.md\)"):
        export(round_model, out, model_params)
    assert (out / "notes.md").read_text() == "a user's notes" and (out / "config.json").is_file()
    assert (tmp_path / "data.tmp" / "keep.md").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "data.tmp", "exported"]  # no scratch left


def test_export_never_writes_over_the_working_folder_or_its_parents(round_model, model_params, tmp_path,
                                                                   monkeypatch):
    from selfevo.errors import PipelineError

    work = tmp_path / "repo" / "sub"
    work.mkdir(parents=True)
    (work / "dvc.yaml").write_text("stages: {}\n")
    monkeypatch.chdir(work)
    for out in (".", "..", str(tmp_path)):
        with pytest.raises(PipelineError, match=r"holds the working folder"):
            export(round_model, out, model_params)
    assert (work / "dvc.yaml").read_text() == "stages: {}\n"


def test_chat_command_reads_standard_input(round_model, raw_params, model_params, tmp_path):
    """`python -m selfevo.chat MODEL` (what `make chat` runs) from a folder holding params.yaml."""
    import subprocess
    import sys

    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw_params))
    result = subprocess.run([sys.executable, "-m", "selfevo.chat", str(round_model)], cwd=tmp_path,
                            input=f"{QUESTION}\n", capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode == 0, result.stderr
    model, tokenizer = load_model(round_model, model_params), load_tokenizer(round_model, model_params)
    assert result.stdout.splitlines() == [one_line(answer(model, tokenizer, QUESTION, load_section("evaluate", raw_params)))]
