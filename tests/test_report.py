"""The paper's score (BLEU / BLEU of θ_HQ from the same run), the report stage that writes it, the
ablation table, and ROUGE-L."""

import json
import subprocess
import sys

import pytest
import yaml

import sacrebleu

from conftest import REPO
from tiny import round_chain
from selfevo.evaluate.facts import states
from selfevo.evaluate.metrics import HEADLINE, paper_score, score_answers, split_headline

sys.path.insert(0, str(REPO / "scripts"))
from ablation import dial_table, markdown_table  # noqa: E402


def write(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


REFERENCES = ["The fan module is faulty.", "Replace the battery.", "Clean the air filter.", "It is a major alarm.",
              "Tighten the power cable."]
FACTS = [["fan module"], ["battery"], ["air filter"], ["major"], ["power cable"]]


def predictions(right: int) -> list[str]:
    """`right` answers that restate their reference; the rest say nothing useful."""
    return REFERENCES[:right] + ["Unknown"] * (len(REFERENCES) - right)


def write_model(tmp_path, name, trained, right, metrics_path=None, facts=True):
    """An evaluation as the evaluate stage writes it: headline metrics, the rest in evaluate/<name>, and
    the per-question predictions the report's intervals come from."""
    answers = predictions(right)
    bleu = sacrebleu.corpus_bleu(answers, [REFERENCES]).score
    records = [{"question": f"Q{i}?", "reference": ref, "prediction": a, "nll": 3.0 - right / 2 + i / 10}
               for i, (ref, a) in enumerate(zip(REFERENCES, answers))]
    if facts:
        for record, fs in zip(records, FACTS):
            record.update(facts=fs, stated=[states(record["prediction"], f) for f in fs])
    data = {"rounds_trained": trained, "bleu": round(bleu, 4), "chrf": 1.0, "rouge_l": 1.0, "questions": 5,
            "reference_nll": sum(r["nll"] for r in records) / 5, "general_score": right / 5, "general_nll": 1.0,
            **({"fact_chance": 0.1, "facts_all": right / 5} if facts else {})}
    headline, detail = split_headline(data)
    write(tmp_path / (metrics_path or f"eval/{name}.json"), headline)
    write(tmp_path / "evaluate" / f"{name}.json", detail)
    (tmp_path / "predictions" / "general").mkdir(parents=True, exist_ok=True)
    (tmp_path / "predictions" / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    (tmp_path / "predictions" / "general" / f"{name}.jsonl").write_text("".join(
        json.dumps({"question": "Q?", "keywords": ["yes"], "prediction": "yes" if i < right else "no"}) + "\n"
        for i in range(5)))
    return bleu


def run_report(tmp_path, hq_right=4, rounds=2, trained=(0, 1, 2), right=(1, 3, 5), facts=True, teacher="qa_file"):
    """The report stage in tmp_path, with `rounds` rounds in its params.yaml and evaluations of θ_0 .. θ_2
    (trained `trained` rounds, `right` of 5 answers right) and of θ_HQ (`hq_right`; None: missing)."""
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["rounds"] = round_chain(rounds)
    params["baselines"]["teacher"] = teacher
    params["evaluate"]["bootstrap_draws"] = 200
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    for name, n, r in zip(("theta_0", "theta_1", "theta_2"), trained, right):
        write_model(tmp_path, name, n, r, facts=facts)
    if hq_right is not None:
        write_model(tmp_path, "theta_HQ", 1, hq_right, "hq.json", facts=facts)
    write(tmp_path / "references.json", {"big-model": {"bleu": 8.0, "reference_nll": 1.0}})
    (tmp_path / "test.jsonl").write_text("".join(json.dumps({"question": f"Q{i}?", "answer": ref, **(
        {"facts": fs} if facts else {})}) + "\n" for i, (ref, fs) in enumerate(zip(REFERENCES, FACTS))))
    (tmp_path / "chunks.jsonl").write_text(json.dumps({"id": "c", "text": " ".join(REFERENCES[:4])}) + "\n")
    write(tmp_path / "coverage" / "round_0.json", {"units_stated": 0.5, "top_opening": {"opening": "what is", "share": 0.4}})
    out = tmp_path / "out"
    return subprocess.run(
        [sys.executable, str(REPO / "stages" / "report.py"), "--rounds", "eval", "--details", "evaluate",
         "--hq", "hq.json", "--references", "references.json", "--predictions", "predictions",
         "--test", "test.jsonl", "--chunks", "chunks.jsonl", "--plot", "out/scores.json",
         "--figure", "out/fig2.png", "--summary", "out/summary.json", "--score", "out/score.json",
         "--coverage", "coverage"],
        cwd=tmp_path, capture_output=True, text=True), out


def test_score_divides_by_the_hq_bleu_of_the_same_run(tmp_path):
    result, out = run_report(tmp_path, hq_right=4)
    assert result.returncode == 0, result.stderr
    bleu = [sacrebleu.corpus_bleu(predictions(r), [REFERENCES]).score for r in (1, 3, 5, 4)]
    curve = json.loads((out / "scores.json").read_text())
    assert [r["score"] for r in curve] == [round(b / bleu[3], 4) for b in bleu[:3]]
    assert all(r["theta_0"] == curve[0]["score"] and r["theta_HQ"] == 1.0 for r in curve)
    assert all(r["score_low"] <= r["score"] <= r["score_high"] for r in curve)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["theta_HQ"]["score"]["value"] == 1.0
    assert summary["references"]["big-model"]["score"] == round(8.0 / round(bleu[3], 4), 4)
    assert summary["final_score"] == curve[-1]["score"]
    assert summary["coverage"] == [{"round": 0, "units_stated": 0.5, "top_opening": {"opening": "what is", "share": 0.4}}]
    assert json.loads((out / "score.json").read_text()) == {"score": curve[-1]["score"], "best_score": curve[-1]["score"]}
    assert (out / "fig2.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    result, out = run_report(tmp_path, hq_right=5)  # a different θ_HQ in the same folder changes every score
    assert json.loads((out / "scores.json").read_text())[-1]["score"] == 1.0


def test_fact_recall_its_interval_chance_and_paired_comparisons_are_reported(tmp_path):
    result, out = run_report(tmp_path, hq_right=4)
    assert result.returncode == 0, result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert [summary[f"theta_{n}"]["fact_recall"]["value"] for n in range(3)] == [0.2, 0.6, 1.0]
    assert summary["theta_2"]["fact_chance"] == 0.1 and "fact_recall" in summary["theta_HQ"]
    rows = {(c["model"], c["against"], c["metric"]): c for c in summary["comparisons"]}
    assert {("theta_2", "theta_1", "bleu"), ("theta_2", "theta_0", "fact_recall"), ("theta_1", "theta_HQ", "score"),
            ("theta_0", "theta_HQ", "general_score")} <= set(rows)
    assert ("theta_1", "theta_0", "reference_nll") in rows and ("theta_1", "theta_0", "fact_recall") in rows
    # an NLL that falls is better
    assert rows[("theta_2", "theta_0", "reference_nll")]["better"] and rows[("theta_2", "theta_0", "reference_nll")]["difference"] < 0
    assert summary["unsupported_facts"] == [{"record": 5, "fact": "power cable"}]  # not in the one chunk
    assert "record 5: 'power cable'" in result.stderr
    curve = json.loads((out / "scores.json").read_text())
    assert all(r["fact_recall_low"] <= r["fact_recall"] <= r["fact_recall_high"] for r in curve)


def test_a_test_set_without_facts_reports_the_rest_and_says_so(tmp_path):
    result, out = run_report(tmp_path, facts=False)
    assert result.returncode == 0, result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert "fact_recall" not in summary["theta_1"] and "bleu" in summary["theta_1"]
    assert any("fact metrics absent" in n for n in summary["notes"]) and "fact metrics absent" in result.stderr


def test_a_self_taught_theta_hq_is_named_next_to_the_score(tmp_path):
    params_base = yaml.safe_load((REPO / "params.yaml").read_text())["model"]["base"]
    result, out = run_report(tmp_path, teacher=params_base)
    assert result.returncode == 0, result.stderr
    assert any("self-taught yardstick" in n for n in json.loads((out / "summary.json").read_text())["notes"])
    result, out = run_report(tmp_path)
    assert not any("self-taught" in n for n in json.loads((out / "summary.json").read_text())["notes"])


def test_report_takes_exactly_the_models_of_the_rounds_chain(tmp_path):
    result, out = run_report(tmp_path, rounds=1)  # theta_2.json is stale: left out, with a warning
    assert result.returncode == 0, result.stderr
    assert [r["rounds_trained"] for r in json.loads((out / "scores.json").read_text())] == [0, 1]
    assert "theta_2 left out" in result.stderr
    result, _ = run_report(tmp_path, rounds=3)  # theta_3.json was never written
    assert result.returncode == 1 and "eval/theta_3.json: evaluation missing; run `dvc repro`" in result.stderr
    result, _ = run_report(tmp_path, trained=(0, 1, 1))  # round 1 started from θ_0, not θ_1
    assert result.returncode == 1
    assert "theta_2.json: a model trained 1 rounds, where the rounds chain in params.yaml gives 2" in result.stderr


def test_missing_hq_metric_names_what_to_run(tmp_path):
    result, out = run_report(tmp_path, hq_right=None)
    assert result.returncode == 1
    assert "hq.json" in result.stderr and "dvc repro evaluate_hq" in result.stderr
    assert not (out / "summary.json").exists()


def test_zero_hq_bleu_leaves_the_score_undefined_and_reports_the_rest(tmp_path):
    assert paper_score(3.0, 0.0) is None and paper_score(3.0, 4.0) == 0.75
    result, out = run_report(tmp_path, hq_right=0)
    assert result.returncode == 0, result.stderr
    assert "score BLEU / BLEU(θ_HQ) is undefined" in result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["final_score"] is None and "BLEU is 0" in summary["score_undefined"]
    assert json.loads((out / "score.json").read_text()) == {"score": None, "best_score": None}
    assert summary["theta_2"]["bleu"]["value"] == 100.0 and summary["theta_2"]["fact_recall"]["value"] == 1.0
    assert [r["score"] for r in json.loads((out / "scores.json").read_text())] == [None, None, None]


def test_headline_metrics_are_the_default_view_of_dvc_metrics_show():
    """Only the models' headline files and the score are DVC metrics: `dvc metrics show` stays a few
    columns wide; every stage's stats are plain outputs, shown by naming them."""
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    declared = [next(iter(m)) if isinstance(m, dict) else m
                for stage in stages.values() for m in stage.get("do", stage).get("metrics", [])]
    assert sorted(declared) == sorted(["metrics/eval/theta_0.json", "metrics/eval/${item.trains}.json",
                                       "metrics/baselines/hq.json", "metrics/baselines/references.json",
                                       "metrics/score.json"])
    assert set(HEADLINE) == {"bleu", "fact_recall", "fact_recall_low", "fact_recall_high", "reference_nll",
                             "general_score"}
    headline, detail = split_headline({"bleu": 1.0, "chrf": 2.0, "fact_recall": 0.5, "fact_recall_low": 0.4,
                                       "fact_recall_high": 0.6, "bleu_low": 0.5, "general_nll": 0.7})
    assert set(headline) == {"bleu", "fact_recall", "fact_recall_low", "fact_recall_high"}
    assert set(detail) == {"chrf", "bleu_low", "general_nll"}


def test_rouge_l_is_reported_and_tracks_overlap():
    refs = ["the fan module is faulty", "replace the battery"]
    same = score_answers(refs, refs, "13a")
    half = score_answers(["the fan is broken", "replace it"], refs, "13a")
    assert same["rouge_l"] == pytest.approx(100.0)
    assert 0 < half["rouge_l"] < same["rouge_l"]
    # Chinese: by characters (rouge-score's own tokenizer would drop every character)
    assert score_answers(["风扇故障"], ["风扇模块故障"], "zh")["rouge_l"] > 50


def test_ablation_table_has_a_row_per_strategy_and_a_column_per_round():
    curve = lambda s: [{"rounds_trained": n, "score": s + n / 10, "bleu": 1.0, "rouge_l": 2.0, "reference_nll": 3 - n}
                       for n in range(3)]
    summary = {"theta_HQ": {"bleu": {"value": 4.0}, "reference_nll": {"value": 0.5}}}
    table = markdown_table({"none": curve(0.1), "ifd": curve(0.2)}, {"none": summary, "ifd": summary})
    lines = table.splitlines()
    assert lines[0].startswith("| experiment | θ_0 | θ_1 | θ_2 | final score [95%] | final fact recall")
    assert lines[2] == "| none | 0.100 | 0.200 | 0.300 | 0.300 | - | 1.00 | 2.00 | 1.0000 |"
    assert lines[3].startswith("| ifd | 0.200 |")
    final = {**curve(0.2)[-1], "score_low": 0.1, "score_high": 0.5, "fact_recall": 0.25, "fact_recall_low": 0.1,
             "fact_recall_high": 0.4, "fact_chance": 0.05}
    row = markdown_table({"ifd": curve(0.2)[:-1] + [final]}, {"ifd": summary}).splitlines()[2]
    assert "| 0.400 [0.100, 0.500] | 0.250 [0.100, 0.400] (0.050) | 1.00 |" in row


def test_dial_table_has_a_row_per_experiment_with_diversity_by_round():
    curve = [{"rounds_trained": n, "score": 0.5 + n / 10, "bleu": 1.0, "rouge_l": 2.0, "reference_nll": 3 - n,
              "general_score": 0.4 - n / 100} for n in range(3)]
    rounds = [{"round": r, "pairs": 10, "kept_by_judge": 9 - r, "distinct_2": 0.5 + r / 10,
               "kinds": {"purpose": 0.75, "cause": 0.25}, "repeat_similarity": None if r == 0 else 0.8}
              for r in range(2)]
    table = dial_table({"fixed": curve, "evolved": curve}, {"fixed": {"rounds": rounds}, "evolved": {"rounds": rounds}})
    lines = table.splitlines()
    assert len(lines) == 4 and lines[2].startswith("| fixed | 0.700 | 1.0000 | 0.400 -> 0.380 | 0.500 / 0.600 |")
    assert "purpose 75%, cause 25%" in lines[2] and "| - / 0.80 | 9 / 8 |" in lines[2]


def test_stage_times_reads_each_stages_time_from_its_outputs(tmp_path):
    import os

    import yaml
    from stage_times import durations, stage_ends, table

    lock = {"stages": {"prepare": {"outs": [{"path": "chunks.jsonl"}]},
                       "generate@0": {"outs": [{"path": "round_0"}, {"path": "g0.json"}]},
                       "old": {"outs": [{"path": "old.json"}]}}}
    (tmp_path / "dvc.lock").write_text(yaml.safe_dump(lock))
    for name, when in (("chunks.jsonl", 110), ("round_0/qa.jsonl", 150), ("g0.json", 170), ("old.json", 50)):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("x")
        os.utime(tmp_path / name, (when, when))
    rows = durations(stage_ends(yaml.safe_load((tmp_path / "dvc.lock").read_text()), tmp_path), since=100)
    assert rows == [("prepare", 10), ("generate@0", 60)]  # the stage that did not run is left out
    assert "| generate | 60 s | 86% |" in table(rows)
