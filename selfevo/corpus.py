"""Reading a corpus into clean, deduplicated chunks with stable content-hash ids.

A corpus is a folder of .txt/.md files, or one .json (a list of records) / .jsonl file whose
records hold the text in a configurable field.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from selfevo.errors import PipelineError
from selfevo.jsonio import read_jsonl

TEXT_SUFFIXES = {".txt", ".md"}


@dataclass(frozen=True)
class Document:
    source: str
    """Where the text came from: a file name, or `file:record` for JSON corpora."""
    text: str


def _decode(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise PipelineError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None


def read_documents(path: str | Path, text_field: str) -> list[Document]:
    """All documents of a corpus folder or file, in a stable order. Empty input is an error."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in TEXT_SUFFIXES)
        if not files:
            raise PipelineError(f"{path}: no .txt or .md files in the corpus folder")
        docs = []
        for f in files:
            text = _decode(f)
            if not text.strip():
                raise PipelineError(f"{f}: empty document")
            docs.append(Document(str(f.relative_to(path)), text))
        return docs
    if path.suffix == ".jsonl":
        records = read_jsonl(path, required=(text_field,))
    elif path.suffix == ".json":
        try:
            records = json.loads(_decode(path))
        except json.JSONDecodeError as e:
            raise PipelineError(f"{path}: line {e.lineno}: not valid JSON ({e.msg})") from None
        if not isinstance(records, list):
            raise PipelineError(f"{path}: expected a JSON list of records")
    elif path.is_file():
        raise PipelineError(f"{path}: unsupported corpus file; use a folder of .txt/.md, or .json/.jsonl")
    else:
        raise PipelineError(f"{path}: corpus not found")
    docs = []
    for i, record in enumerate(records, 1):
        if not isinstance(record, dict) or not isinstance(record.get(text_field), str):
            raise PipelineError(f"{path}: record {i}: no string field {text_field!r} (set corpus.text_field)")
        docs.append(Document(f"{path.name}:{i}", record[text_field]))
    if not docs:
        raise PipelineError(f"{path}: the corpus holds no records")
    return docs


def normalize(text: str) -> str:
    """Unify line ends, trim each line and its inner runs of spaces, keep at most one blank line."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u3000", " ")
    lines = [re.sub(r"[ \t\f\v]+", " ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def split_chunks(text: str, max_chars: int) -> list[str]:
    """Greedy packing of paragraphs into chunks of at most max_chars; an oversized paragraph is
    split on its lines, and an oversized line is cut hard."""
    pieces: list[tuple[str, str]] = []  # (text, separator that joins it to the previous piece)
    for para in text.split("\n\n"):
        if len(para) <= max_chars:
            pieces.append((para, "\n\n"))
            continue
        for j, line in enumerate(para.split("\n")):
            for i in range(0, len(line), max_chars):
                pieces.append((line[i:i + max_chars], "\n\n" if j == 0 and i == 0 else "\n"))
    chunks: list[str] = []
    for piece, sep in pieces:
        if chunks and len(chunks[-1]) + len(sep) + len(piece) <= max_chars:
            chunks[-1] += sep + piece
        else:
            chunks.append(piece)
    return chunks


def chunk_id(text: str) -> str:
    """Stable id from content alone: the same text gets the same id on every machine and run."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def prepare_chunks(docs: list[Document], max_chars: int, min_chars: int) -> tuple[list[dict], dict]:
    """Chunks as records {id, source, text}, exact duplicates dropped, with counts of what happened."""
    seen: set[str] = set()
    chunks, stats = [], {"documents": len(docs), "chunks": 0, "duplicates_dropped": 0, "too_short_dropped": 0}
    for doc in docs:
        for text in split_chunks(normalize(doc.text), max_chars):
            if len(text) < min_chars:
                stats["too_short_dropped"] += 1
                continue
            cid = chunk_id(text)
            if cid in seen:
                stats["duplicates_dropped"] += 1
                continue
            seen.add(cid)
            chunks.append({"id": cid, "source": doc.source, "text": text})
    stats["chunks"] = len(chunks)
    return chunks, stats
