"""A slice of the paper's data and a profile that runs on it: params/paper.yaml end to end on a small
model, in minutes (tests/test_profile.py on CPU with a tiny fixture, scripts/gpu_check.sh on a GPU with
the embedded model).

    python scripts/paper_slice.py --base smollm2 --out params/paper-slice.yaml \
        [--fragments 40] [--questions 10] [--rounds 2] [--k 10]

It writes, in this checkout:
- data/paper/slice.json: the first N distinct fragments of the release's corpus, in its field;
- data/paper/slice_test.jsonl: the first M records of its test set (scripts/paper_testset.py);
- data/teacher/qa.jsonl: θ_HQ's data, one pair per slice fragment read from the fragment itself (its
  first line asked about, its first sentence as the answer; no test record), since no stronger model is
  at hand; the shipped file (about the sample corpus) is replaced, so run it in a checkout of its own;
- the profile: params/paper.yaml with the base replaced, θ_HQ from that QA file, no reference models,
  the slice as corpus and test set, k and the rounds. Every other value is the paper profile's.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
PAPER = ROOT / "data" / "paper"
CORPUS, TEST = "data/paper/slice.json", "data/paper/slice_test.jsonl"


def paper_slice(fragments: int, questions: int) -> tuple[list[str], list[dict]]:
    """The first `fragments` distinct fragments of the paper's corpus and its first `questions` test records."""
    corpus = json.loads((PAPER / "AIOps_data.json").read_text(encoding="utf-8"))
    distinct = list(dict.fromkeys(record["instruction"] for record in corpus))
    test = [json.loads(line) for line in (PAPER / "test.jsonl").read_text(encoding="utf-8").splitlines()]
    return distinct[:fragments], test[:questions]


def fragment_pair(fragment: str) -> dict:
    """A question on a fragment's first line, answered by its first sentence: read off the text."""
    first = fragment.strip().split("\n")[0].strip().rstrip("：:")
    sentence = re.split(r"(?<=[。！？])", fragment.strip(), maxsplit=1)[0].strip()
    return {"question": f"{first}是什么？", "answer": sentence}


def write_slice(base: str, fragments: int, questions: int, rounds: int, k: int, out: Path) -> None:
    texts, tests = paper_slice(fragments, questions)
    if k >= len(texts):
        raise SystemExit(f"--k {k} must be below the slice's {len(texts)} pairs a round")
    (ROOT / CORPUS).write_text(json.dumps([{"instruction": t} for t in texts], ensure_ascii=False), encoding="utf-8")
    (ROOT / TEST).write_text("".join(json.dumps(t, ensure_ascii=False) + "\n" for t in tests), encoding="utf-8")
    teacher = ROOT / "data" / "teacher" / "qa.jsonl"
    teacher.write_text("".join(json.dumps(fragment_pair(t), ensure_ascii=False) + "\n" for t in texts),
                       encoding="utf-8")
    params = yaml.safe_load((ROOT / "params" / "paper.yaml").read_text(encoding="utf-8"))
    params["model"]["base"] = base
    params["baselines"].update(teacher="qa_file", references=[])
    params["corpus"]["path"] = CORPUS
    params["evaluate"]["test"] = TEST
    params["selection"]["k"] = k
    params["rounds"] = params["rounds"][:rounds]
    out.write_text(yaml.safe_dump(params, sort_keys=False, allow_unicode=True), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description="Write a slice of the paper's data and a profile for it.")
    parser.add_argument("--base", required=True, help="model.base: a local model folder, or smollm2")
    parser.add_argument("--out", required=True, help="the profile to write, e.g. params/paper-slice.yaml")
    parser.add_argument("--fragments", type=int, default=40)
    parser.add_argument("--questions", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--k", type=int, default=10)
    args = parser.parse_args()
    write_slice(args.base, args.fragments, args.questions, args.rounds, args.k, Path(args.out))
    print(f"{CORPUS} ({args.fragments} fragments), {TEST} ({args.questions} questions), data/teacher/qa.jsonl, "
          f"{args.out}")


if __name__ == "__main__":
    main()
