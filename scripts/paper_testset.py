"""The paper's public test set (data/paper/AIOps_eval_data.json, Zero-Pointer/Self-Evolution at 46e95f5) in
this project's test format, and the subset whose references state checkable terms of their fragments.

    python scripts/paper_testset.py        # writes data/paper/test.jsonl and data/paper/test_facts.jsonl

Each record of the release holds `instruction` (the O&M fragment the question is about), `input` (the
question) and `output` (the reference answer, written by the paper's teacher). test.jsonl keeps all 100 as
{question, answer, source}: BLEU and the reference NLL, as the paper scores. test_facts.jsonl keeps the
records with facts, chosen by one rule that reads no model output: a fact is a term of the reference answer
that its fragment also holds and its question does not (the question gives it away), and that is
    - a Latin-script name of 3 or more characters (a command, parameter, product or protocol name), or
    - a number of 2 or more characters,
and not common in the corpus (in more than 5% of data/paper/AIOps_data.json's fragments: "NF", "ID", "http"
name nothing in particular). At most the first 3 per record, in the order the reference states them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PAPER = REPO / "data" / "paper"
TERM = re.compile(r"(?<![A-Za-z0-9_])(?:[A-Za-z][A-Za-z0-9_]*[A-Za-z0-9]|\d+(?:\.\d+)?)(?![A-Za-z0-9_])")
MAX_FACTS = 3
COMMON_SHARE = 0.05


def _is_fact(term: str) -> bool:
    return len(term) >= 2 if term[0].isdigit() else len(term) >= 3


def common_terms(fragments: list[str]) -> set[str]:
    """Terms found in more than COMMON_SHARE of the fragments."""
    counts: dict[str, int] = {}
    for fragment in set(fragments):
        for term in set(TERM.findall(fragment)):
            counts[term] = counts.get(term, 0) + 1
    return {t for t, n in counts.items() if n > COMMON_SHARE * len(set(fragments))}


def facts_of(record: dict, common: set[str]) -> list[str]:
    facts: list[str] = []
    for term in TERM.findall(record["output"]):
        if _is_fact(term) and term not in facts and term not in common \
                and re.search(rf"(?<![A-Za-z0-9_]){re.escape(term)}(?![A-Za-z0-9_])", record["instruction"]) \
                and term not in record["input"]:
            facts.append(term)
    return facts[:MAX_FACTS]


def convert(evaluation: list[dict], corpus: list[dict]) -> tuple[list[dict], list[dict]]:
    common = common_terms([r["instruction"] for r in corpus])
    tests = [{"question": r["input"], "answer": r["output"], "source": r["instruction"]} for r in evaluation]
    with_facts = [{**t, "facts": facts} for t, r in zip(tests, evaluation) if (facts := facts_of(r, common))]
    return tests, with_facts


def main() -> None:
    evaluation = json.loads((PAPER / "AIOps_eval_data.json").read_text(encoding="utf-8"))
    corpus = json.loads((PAPER / "AIOps_data.json").read_text(encoding="utf-8"))
    tests, with_facts = convert(evaluation, corpus)
    for name, rows in (("test.jsonl", tests), ("test_facts.jsonl", with_facts)):
        (PAPER / name).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(f"paper test set: {len(tests)} questions -> {PAPER / 'test.jsonl'}; {len(with_facts)} with "
          f"{sum(len(r['facts']) for r in with_facts)} facts -> {PAPER / 'test_facts.jsonl'}")


if __name__ == "__main__":
    main()
