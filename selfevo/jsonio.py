"""JSON/JSONL reading and writing with errors that name the file and line, and atomic writes."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable

import jsonlines

from selfevo.distributed import is_main
from selfevo.errors import PipelineError


def read_jsonl(path: str | Path, required: tuple[str, ...] = (), texts: tuple[str, ...] = ()) -> list[dict]:
    """Every record of a JSONL file; each must be an object holding the `required` keys, and the
    `texts` keys as strings that are not blank."""
    path = Path(path)
    if not path.is_file():
        raise PipelineError(f"{path}: file not found")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise PipelineError(f"{path}: line {line}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    # blank lines are skipped, but errors name the line as an editor shows it
    numbered = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    records = []
    try:
        for (lineno, _), record in zip(numbered, jsonlines.Reader(line for _, line in numbered)):
            if not isinstance(record, dict):
                raise PipelineError(f"{path}: line {lineno}: expected a JSON object, got {type(record).__name__}")
            missing = [k for k in required if k not in record]
            if missing:
                raise PipelineError(f"{path}: line {lineno}: missing key(s) {', '.join(missing)}")
            blank = next((k for k in texts if not isinstance(record[k], str) or not record[k].strip()), None)
            if blank:
                raise PipelineError(f"{path}: line {lineno}: `{blank}` must be a non-empty string, "
                                    f"got {record[blank]!r}")
            records.append(record)
    except jsonlines.InvalidLineError as e:
        raise PipelineError(f"{path}: line {numbered[e.lineno - 1][0]}: not valid JSON ({e.__cause__ or e})") from None
    return records


def _atomic_write(path: Path, write) -> None:
    """Write through a temporary file in the same folder, so a crash never leaves half a file. When a
    stage runs in several processes (selfevo.distributed), process 0 alone writes."""
    if not is_main():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def write_jsonl(path: str | Path, records: Iterable[dict]) -> None:
    def write(f):
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False, allow_nan=False) + "\n")
    _atomic_write(Path(path), write)


def write_json(path: str | Path, obj: Any) -> None:
    _atomic_write(Path(path), lambda f: f.write(json.dumps(obj, ensure_ascii=False, indent=2) + "\n"))


def write_text(path: str | Path, text: str) -> None:
    _atomic_write(Path(path), lambda f: f.write(text))


def read_json(path: str | Path) -> Any:
    path = Path(path)
    if not path.is_file():
        raise PipelineError(f"{path}: file not found")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise PipelineError(f"{path}: line {e.lineno}: not valid JSON ({e.msg})") from None
