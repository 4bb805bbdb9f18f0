"""The held-out test set: JSONL records {question, answer}, each optionally with `facts` (the short strings
a right answer states; selfevo.evaluate.facts) and `kind` (what sort of question it is, for the facts' chance
level), checked with errors that name the file and record."""

from __future__ import annotations

import sys

from selfevo.errors import PipelineError
from selfevo.jsonio import read_jsonl


def read_tests(path) -> list[dict]:
    tests = read_jsonl(path, required=("question", "answer"), texts=("question", "answer"))
    if not tests:
        raise PipelineError(f"{path}: no test questions")
    for line, record in enumerate(tests, 1):
        facts = record.get("facts")
        if facts is not None and (not isinstance(facts, list) or not facts
                                  or not all(isinstance(f, str) and f.strip() for f in facts)):
            raise PipelineError(f"{path}: record {line}: `facts` must be a non-empty list of strings, got {facts!r}")
        kind = record.get("kind")
        if kind is not None and (not isinstance(kind, str) or not kind.strip()):
            raise PipelineError(f"{path}: record {line}: `kind` must be a non-empty string, got {kind!r}")
    with_facts = sum("facts" in t for t in tests)
    if 0 < with_facts < len(tests):
        missing = next(n for n, t in enumerate(tests, 1) if "facts" not in t)
        raise PipelineError(f"{path}: record {missing}: no `facts`, where {with_facts} of {len(tests)} records have "
                            f"them; give every record its facts, or none")
    seen: dict[str, int] = {}
    for line, record in enumerate(tests, 1):
        first = seen.setdefault(" ".join(record["question"].lower().split()), line)
        if first != line:
            print(f"warning: {path}: record {line} asks the question of record {first} again; it counts once per "
                  f"copy in every figure", file=sys.stderr)
    return tests


def has_facts(tests: list[dict]) -> bool:
    return all("facts" in t for t in tests)
