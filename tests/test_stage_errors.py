"""A stage that keeps nothing says why, and which params decide it, instead of leaving the next stage
to fail on an empty file."""

import json
import subprocess
import sys

import yaml

from conftest import REPO


def test_generate_that_keeps_nothing_names_the_reasons_and_params(tmp_path, tiny_base):
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["model"].update(base=str(tiny_base), cpu_autocast=False)
    # one token cannot hold a question that names a code: nothing is kept, whatever the model writes
    params["generate"].update(min_grounding=1.0, named_subject=True, max_question_tokens=1, max_answer_tokens=8)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    (tmp_path / "chunks.jsonl").write_text("".join(json.dumps({"id": f"c{i}", "text": f"Alarm ALM-{i} is raised."}) + "\n"
                                                   for i in range(3)))
    (tmp_path / "set.json").write_text("{}")
    base = tmp_path / "models" / "base"
    base.mkdir(parents=True)
    (base / "pointer.json").write_text(json.dumps({"name_or_path": str(tiny_base)}))
    result = subprocess.run([sys.executable, str(REPO / "stages" / "generate.py"), "--model", "models/base",
                             "--chunks", "chunks.jsonl", "--prompts", str(REPO / "prompts" / "en"), "--round", "0",
                             "--out", "qa.jsonl", "--stats", "stats.json", "--prompt-set", "set.json"],
                            cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 1, result.stderr
    assert "generate@0: kept 0 of 3 chunks' pairs. Dropped: " in result.stderr
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["pairs"] == 0 and sum(stats["dropped"].values()) == 3  # the reasons stay on disk
    for reason in stats["dropped"]:  # each reason with what it means (tests/test_pairs.py: the params)
        assert f"{reason}: " in result.stderr
    assert not (tmp_path / "qa.jsonl").exists()


def run_teacher(folder, qa_file, chunks, test=REPO / "data" / "test.jsonl"):
    baselines = yaml.safe_load((REPO / "params.yaml").read_text())["baselines"]
    (folder / "params.yaml").write_text(yaml.safe_dump({"baselines": {**baselines, "teacher": "qa_file"}}))
    (folder / "chunks.jsonl").write_text("".join(json.dumps(c) + "\n" for c in chunks))
    return subprocess.run([sys.executable, str(REPO / "stages" / "teacher.py"), "--chunks", "chunks.jsonl",
                           "--prompts", str(REPO / "prompts" / "en"), "--qa-file", str(qa_file), "--test", str(test),
                           "--out", "out.jsonl", "--stats", "stats.json"], cwd=folder, capture_output=True, text=True)


def test_a_teacher_file_about_another_domain_is_flagged(tmp_path):
    from selfevo.data.chunking import prepare_chunks
    from selfevo.data.corpus import read_documents

    chunks, _ = prepare_chunks(read_documents(REPO / "data" / "corpus", "text")[0], 1500, 20)
    shipped = run_teacher(tmp_path, REPO / "data" / "teacher" / "qa.jsonl", chunks)
    assert shipped.returncode == 0 and "warning" not in shipped.stderr, shipped.stderr
    assert json.loads((tmp_path / "stats.json").read_text())["corpus_overlap"] > 0.6
    overlap = json.loads((tmp_path / "stats.json").read_text())["test_overlap"]
    assert overlap["over_threshold"] == 0 and 0 <= overlap["median"] <= overlap["max"] < overlap["threshold"]
    general = tmp_path / "general.jsonl"  # everyday QA, nothing about the alarms
    general.write_text((REPO / "data" / "general.jsonl").read_text())
    other = run_teacher(tmp_path, general, chunks)
    assert other.returncode == 0
    assert "general.jsonl: its answers share little with the corpus" in other.stderr
    assert json.loads((tmp_path / "stats.json").read_text())["corpus_overlap"] < 0.3


def test_a_teacher_model_that_keeps_nothing_stops_its_own_stage(tmp_path, tiny_base):
    """Not train_hq later with "no pairs": the teacher stage names the drop reasons, and the counts stay."""
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["model"].update(cpu_autocast=False)
    params["baselines"].update(teacher=str(tiny_base))
    params["generate"].update(max_question_tokens=1, max_answer_tokens=8)  # as above: nothing can be kept
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    (tmp_path / "chunks.jsonl").write_text("".join(json.dumps({"id": f"c{i}", "text": f"Alarm ALM-{i} is raised."})
                                                   + "\n" for i in range(3)))
    result = subprocess.run([sys.executable, str(REPO / "stages" / "teacher.py"), "--chunks", "chunks.jsonl",
                             "--prompts", str(REPO / "prompts" / "en"), "--qa-file", "none.jsonl",
                             "--test", str(REPO / "data" / "test.jsonl"), "--out", "out.jsonl",
                             "--stats", "stats.json"], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 1, result.stderr
    assert f"teacher ({tiny_base}): kept 0 of 3 chunks' pairs. Dropped: " in result.stderr
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["pairs"] == 0 and sum(stats["dropped"].values()) == 3
    assert not (tmp_path / "out.jsonl").exists()


def test_a_teacher_answer_copied_from_the_test_set_is_named(tmp_path):
    """A planted copy of a test reference among the shipped teacher pairs: the stage warns, naming it."""
    from selfevo.data.chunking import prepare_chunks
    from selfevo.data.corpus import read_documents

    chunks, _ = prepare_chunks(read_documents(REPO / "data" / "corpus", "text")[0], 1500, 20)
    pairs = (REPO / "data" / "teacher" / "qa.jsonl").read_text().splitlines()
    planted = json.loads((REPO / "data" / "test.jsonl").read_text().splitlines()[6])
    pairs[3] = json.dumps({"question": "Q?", "answer": planted["answer"]})
    (tmp_path / "qa.jsonl").write_text("\n".join(pairs) + "\n")
    result = run_teacher(tmp_path, tmp_path / "qa.jsonl", chunks)
    assert result.returncode == 0, result.stderr
    assert "1 of 60 teacher answers share more than 90% of their word 4-grams with a test reference" in result.stderr
    assert "hq-3 ~ test record 7 (100%)" in result.stderr
    assert json.loads((tmp_path / "stats.json").read_text())["test_overlap"]["over_threshold"] == 1


def test_train_onto_an_unwritable_out_stops_before_training_and_keeps_the_checkpoints(tmp_path, tiny_base):
    """The round's checkpoints are removed only once its adapter is written: an --out that cannot be
    written stops the stage before the first step, and a checkpoint folder already there stays."""
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["model"].update(base=str(tiny_base), cpu_autocast=False)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    (tmp_path / "qa.jsonl").write_text("".join(json.dumps({"id": f"c{i}-r0", "question": f"What is ALM-{i}?",
                                                           "answer": f"ALM-{i} is a fan fault."}) + "\n"
                                               for i in range(4)))
    (tmp_path / "blocker").write_text("a file where a folder should be")
    (tmp_path / "ckpt").mkdir()
    (tmp_path / "ckpt" / "checkpoint.safetensors").write_bytes(b"an earlier run's state")
    result = subprocess.run([sys.executable, str(REPO / "stages" / "train.py"), "--model", str(tiny_base),
                             "--qa", "qa.jsonl", "--out", "blocker/theta_1", "--stats", "t.json",
                             "--checkpoints", "ckpt"], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 1
    assert "error: --out blocker: cannot be written" in result.stderr and "Traceback" not in result.stderr
    assert "train theta_1:" not in result.stderr  # no step ran
    assert (tmp_path / "ckpt" / "checkpoint.safetensors").read_bytes() == b"an earlier run's state"


def test_prompts_in_the_other_language_than_the_corpus_stop_prepare(tmp_path):
    """Chinese prompts over an English corpus (or the reverse) would make every generation fail: prepare
    stops and names the key, before any model runs."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.md").write_text("# Fan Failure\n\nALM-7 is raised when the fan tray stops turning.\n")
    for language, expected in (("zh", "prompts.language is zh, but corpus is 0% Chinese: set prompts.language: en"),
                               ("en", None)):
        params = yaml.safe_load((REPO / "params.yaml").read_text())
        params["prompts"]["language"] = language
        (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
        result = subprocess.run([sys.executable, str(REPO / "stages" / "prepare.py"), "--corpus", "corpus",
                                 "--out", "chunks.jsonl", "--stats", "s.json"], cwd=tmp_path, capture_output=True,
                                text=True)
        if expected:
            assert result.returncode == 1 and expected in result.stderr and not (tmp_path / "chunks.jsonl").exists()
        else:
            assert result.returncode == 0, result.stderr
