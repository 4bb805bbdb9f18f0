"""Selection: each strategy does what it says, random is seeded, and only earlier rounds are used."""

import json
import subprocess
import sys

import pytest

from selfevo.config_train import SelectionParams
from selfevo.errors import PipelineError
from selfevo.jsonio import read_jsonl, write_jsonl
from selfevo.score.selection import ANCHORED, select_history

from conftest import REPO
from tiny import round_chain

HISTORY = [{"id": f"c{i}-r{i % 3}", "round": i % 3, "question": f"q{i}?", "answer": f"a{i}", "ifd": ifd}
           for i, ifd in enumerate([0.9, 0.5, 1.2, 0.95, 0.1, 0.7, 0.99, None])]


def params(strategy, k=3, max_ifd=1.0, seed=0, anchored=False):
    return SelectionParams(strategy=strategy, k=k, max_ifd=max_ifd, anchored=anchored, seed=seed)


def test_ifd_takes_the_top_k_below_the_ceiling():
    chosen = select_history(HISTORY, params("ifd"), round_index=3)
    assert [r["ifd"] for r in chosen] == [0.99, 0.95, 0.9]  # 1.2 is above max_ifd, an unscorable pair (None) is dropped


def test_ifd_without_ceiling_takes_pairs_above_one():
    chosen = select_history(HISTORY, params("ifd", k=len(HISTORY) - 1, max_ifd=None), round_index=3)
    assert [r["ifd"] for r in chosen][:2] == [1.2, 0.99] and len(chosen) == 7


@pytest.mark.parametrize("strategy", ["ifd", "random"])
def test_a_k_not_below_the_pool_stops_with_the_param_named(strategy):
    with pytest.raises(PipelineError, match=rf"selection.k \(100\) is not below the {len(HISTORY)} pairs of round "
                                            rf"3's history: {strategy} selection would take every pair"):
        select_history(HISTORY, params(strategy, k=100), round_index=3)


def test_none_all_and_k_zero():
    assert select_history(HISTORY, params("none"), 3) == []
    assert select_history(HISTORY, params("all"), 3) == HISTORY
    assert select_history(HISTORY, params("ifd", k=0), 3) == []


def test_anchored_keeps_every_earlier_anchored_pair_and_chooses_k_among_the_rest():
    history = [dict(r, variant=ANCHORED if i in (1, 2, 4) else "fixed") for i, r in enumerate(HISTORY)]
    anchored = [history[1], history[2], history[4]]
    chosen = select_history(history, params("ifd", k=2, anchored=True), round_index=3)
    assert chosen[:3] == anchored  # whatever their IFD: 0.5, 1.2 (above max_ifd) and 0.1
    assert [r["ifd"] for r in chosen[3:]] == [0.99, 0.95]  # the top 2 of the others
    assert select_history(history, params("ifd", k=2), round_index=3) == [history[6], history[3]]  # off: IFD alone
    assert select_history(history, params("none", anchored=True), round_index=3) == anchored
    with pytest.raises(PipelineError, match=r"selection.k \(5\) is not below the 5 pairs"):  # the k is of the others
        select_history(history, params("ifd", k=5, anchored=True), round_index=3)


def test_random_is_seeded_and_differs_by_seed_and_round():
    first = select_history(HISTORY, params("random", k=4), 3)
    assert first == select_history(HISTORY, params("random", k=4), 3)
    assert len(first) == 4 and all(r in HISTORY for r in first)
    others = [select_history(HISTORY, params("random", k=4, seed=s), r) for s, r in [(1, 3), (2, 3), (0, 4)]]
    assert any(o != first for o in others)


@pytest.mark.parametrize("key,value,match", [("strategy", "best", "selection.strategy"), ("k", -1, "selection.k")])
def test_bad_params_name_the_key(key, value, match):
    kwargs = {"strategy": "ifd", "k": 3, "max_ifd": 1.0, "anchored": False, "seed": 0, key: value}
    with pytest.raises(PipelineError, match=match):
        SelectionParams(**kwargs)


def test_select_stage_refuses_pairs_from_the_current_round(tmp_path):
    """The stage reads the pool the previous round closed; a pair of this round (or later) in it is an error."""
    rounds = round_chain(4)
    (tmp_path / "params.yaml").write_text("selection: {strategy: all, k: 2, max_ifd: null, anchored: false, seed: 0}\n"
                                          f"rounds: {json.dumps(rounds)}\n")
    write_jsonl(tmp_path / "history.jsonl", HISTORY)
    run = lambda r: subprocess.run([sys.executable, str(REPO / "stages/selection.py"), "--history", "history.jsonl",
                                    "--round", str(r), "--out", "selected.jsonl"],
                                   cwd=tmp_path, capture_output=True, text=True)
    late = run(2)
    assert late.returncode == 1 and "round 2 may only select from earlier rounds" in late.stderr
    assert not (tmp_path / "selected.jsonl").exists()
    ok = run(3)
    assert ok.returncode == 0, ok.stderr
    assert len(read_jsonl(tmp_path / "selected.jsonl")) == len(HISTORY)
