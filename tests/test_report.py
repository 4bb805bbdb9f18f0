"""The paper's score (BLEU / BLEU of θ_HQ from the same run), the report stage that writes it, the
ablation table, and ROUGE-L."""

import json
import subprocess
import sys

import pytest
import yaml

from conftest import REPO
from selfevo.metrics import HEADLINE, paper_score, score_answers, split_headline

sys.path.insert(0, str(REPO / "scripts"))
from ablation import dial_table, markdown_table  # noqa: E402


def write(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


def metrics(rounds_trained, bleu):
    return {"rounds_trained": rounds_trained, "bleu": bleu, "chrf": 2 * bleu, "rouge_l": 3 * bleu,
            "reference_nll": 10 / max(bleu, 1.0), "questions": 5}


def write_evaluation(tmp_path, metrics_path, name, data):
    """An evaluation as the evaluate stage writes it: headline metrics, and the rest in evaluate/<name>."""
    headline, detail = split_headline(data)
    write(tmp_path / metrics_path, headline)
    write(tmp_path / "evaluate" / f"{name}.json", detail)


def run_report(tmp_path, hq_bleu=None, rounds=2, trained=(0, 1, 2)):
    """The report stage in tmp_path, with `rounds` rounds in its params.yaml and metrics for θ_0 .. θ_2,
    trained `trained` rounds."""
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(
        {"rounds": [{"round": i, "start": "base" if i == 0 else f"round_{i - 1}"} for i in range(rounds)]}))
    for name, n, bleu in zip(("base", "round_0", "round_1"), trained, (2.0, 3.0, 5.0)):
        write_evaluation(tmp_path, f"eval/{name}.json", name, metrics(n, bleu))
    if hq_bleu is not None:
        write_evaluation(tmp_path, "hq.json", "hq", metrics(1, hq_bleu))
    write(tmp_path / "references.json", {"big-model": metrics(0, 8.0)})
    out = tmp_path / "out"
    return subprocess.run(
        [sys.executable, str(REPO / "stages" / "report.py"), "--rounds", "eval", "--details", "evaluate",
         "--hq", "hq.json",
         "--references", "references.json", "--plot", "out/scores.json",
         "--figure", "out/fig2.png", "--summary", "out/summary.json", "--score", "out/score.json"],
        cwd=tmp_path, capture_output=True, text=True), out


def test_score_divides_by_the_hq_bleu_of_the_same_run(tmp_path):
    result, out = run_report(tmp_path, hq_bleu=4.0)
    assert result.returncode == 0, result.stderr
    curve = json.loads((out / "scores.json").read_text())
    assert [r["score"] for r in curve] == [0.5, 0.75, 1.25]
    assert all(r["theta_0"] == 0.5 and r["theta_HQ"] == 1.0 and r["theta_HQ_reference_nll"] == 2.5 for r in curve)
    assert [r["reference_nll"] for r in curve] == [5.0, 10 / 3, 2.0]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["theta_HQ"]["score"] == 1.0 and summary["theta_2"]["score"] == 1.25
    assert summary["references"]["big-model"]["score"] == 2.0
    assert summary["final_score"] == 1.25
    assert json.loads((out / "score.json").read_text()) == {"score": 1.25, "best_score": 1.25}
    assert (out / "fig2.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # a different θ_HQ in the same folder changes every score
    result, out = run_report(tmp_path, hq_bleu=2.0)
    assert [r["score"] for r in json.loads((out / "scores.json").read_text())] == [1.0, 1.5, 2.5]


def test_report_takes_exactly_the_models_of_the_rounds_chain(tmp_path):
    result, out = run_report(tmp_path, hq_bleu=4.0, rounds=1)  # round_1.json is stale: left out, with a warning
    assert result.returncode == 0, result.stderr
    assert [r["rounds_trained"] for r in json.loads((out / "scores.json").read_text())] == [0, 1]
    assert "round_1 left out" in result.stderr
    result, _ = run_report(tmp_path, hq_bleu=4.0, rounds=3)  # round_2.json was never written
    assert result.returncode == 1 and "eval/round_2.json: evaluation missing; run `dvc repro`" in result.stderr
    result, _ = run_report(tmp_path, hq_bleu=4.0, trained=(0, 1, 1))  # round 1 started from θ_0, not θ_1
    assert result.returncode == 1
    assert "round_1.json: a model trained 1 rounds, where the rounds chain in params.yaml gives 2" in result.stderr


def test_missing_hq_metric_names_what_to_run(tmp_path):
    result, out = run_report(tmp_path, hq_bleu=None)
    assert result.returncode == 1
    assert "hq.json" in result.stderr and "dvc repro evaluate_hq" in result.stderr
    assert not (out / "summary.json").exists()


def test_zero_hq_bleu_leaves_the_score_undefined_and_reports_the_rest(tmp_path):
    assert paper_score(3.0, 0.0) is None and paper_score(3.0, 4.0) == 0.75
    result, out = run_report(tmp_path, hq_bleu=0.0)
    assert result.returncode == 0, result.stderr
    assert "score BLEU / BLEU(θ_HQ) is undefined" in result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["final_score"] is None and "BLEU is 0" in summary["score_undefined"]
    assert json.loads((out / "score.json").read_text()) == {"score": None, "best_score": None}
    assert summary["theta_2"]["bleu"] == 5.0 and summary["theta_2"]["reference_nll"] == 2.0
    assert [r["score"] for r in json.loads((out / "scores.json").read_text())] == [None, None, None]
    assert (out / "fig2.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_headline_metrics_are_the_default_view_of_dvc_metrics_show():
    """Only the models' headline files and the score are DVC metrics: `dvc metrics show` stays a few
    columns wide; every stage's stats are plain outputs, in git, shown by naming them."""
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    declared = [next(iter(m)) if isinstance(m, dict) else m
                for stage in stages.values() for m in stage.get("do", stage).get("metrics", [])]
    assert sorted(declared) == sorted(["metrics/eval/base.json", "metrics/eval/round_${item.round}.json",
                                       "metrics/baselines/hq.json", "metrics/baselines/references.json",
                                       "metrics/score.json"])
    assert set(HEADLINE) == {"bleu", "chrf", "rouge_l", "reference_nll", "general_score"}
    headline, detail = split_headline(metrics(2, 4.0) | {"general_score": 0.5, "general_nll": 0.7})
    assert set(headline) == {"bleu", "chrf", "rouge_l", "reference_nll", "general_score"}
    assert set(detail) == {"rounds_trained", "questions", "general_nll"}


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
    summary = {"theta_HQ": {"bleu": 4.0, "reference_nll": 0.5}}
    table = markdown_table({"none": curve(0.1), "ifd": curve(0.2)}, {"none": summary, "ifd": summary})
    lines = table.splitlines()
    assert lines[0].startswith("| experiment | θ_0 | θ_1 | θ_2 |")
    assert lines[2] == "| none | 0.100 | 0.200 | 0.300 | 1.00 | 2.00 | 1.0000 |"
    assert lines[3].startswith("| ifd | 0.200 |")


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
