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
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise PipelineError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    if "\x00" in text:
        raise PipelineError(f"{path}: holds NUL bytes at character {text.index(chr(0))}: a binary file, not text")
    return text


def read_documents(path: str | Path, text_field: str) -> tuple[list[Document], list[str]]:
    """All documents of a corpus folder or file, in a stable order, and the files of a folder that
    were skipped for not being .txt/.md (hidden files and folders aside). Empty input is an error."""
    path = Path(path)
    if path.is_dir():
        # hidden files and everything under a hidden folder (.git/, .ipynb_checkpoints/) are not documents
        files = sorted(p for p in path.rglob("*")
                       if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts))
        texts = [f for f in files if f.suffix.lower() in TEXT_SUFFIXES]
        skipped = [str(f.relative_to(path)) for f in files if f.suffix.lower() not in TEXT_SUFFIXES]
        if not texts:
            raise PipelineError(f"{path}: no .txt or .md files in the corpus folder"
                                + (f" (skipped: {', '.join(skipped[:5])})" if skipped else ""))
        docs = []
        for f in texts:
            text = _decode(f)
            if not text.strip():
                raise PipelineError(f"{f}: empty document")
            docs.append(Document(str(f.relative_to(path)), text))
        return docs, skipped
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
        text = record[text_field]
        if not text.strip():
            raise PipelineError(f"{path}: record {i}: {text_field!r} is empty or only whitespace")
        if "\x00" in text:
            raise PipelineError(f"{path}: record {i}: {text_field!r} holds NUL bytes")
        docs.append(Document(f"{path.name}:{i}", text))
    if not docs:
        raise PipelineError(f"{path}: the corpus holds no records")
    return docs, []


def normalize(text: str) -> str:
    """Unify line ends, trim each line and its inner runs of spaces, keep at most one blank line."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u3000", " ")
    lines = [re.sub(r"[ \t\f\v]+", " ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|(?<=[。！？；])")


def _split_line(line: str, max_chars: int) -> list[tuple[str, str]]:
    """An oversized line as pieces of at most max_chars, each with the separator that joins it to the
    previous one: cut after sentences, then between words, and only a run with neither (a very long
    token, or CJK text with no punctuation) cut hard."""
    pieces: list[tuple[str, str]] = []
    for sentence in (s.strip() for s in _SENTENCE_END.split(line) if s.strip()):
        sep = " " if sentence[0].isascii() else ""  # sentence ends of CJK text take no space
        words = [sentence] if len(sentence) <= max_chars else sentence.split(" ")
        for word in words:
            for i in range(0, len(word), max_chars):
                pieces.append((word[i:i + max_chars], sep if i == 0 else ""))
            sep = " "
    return pieces


def split_chunks(text: str, max_chars: int) -> list[str]:
    """Greedy packing of paragraphs into chunks of at most max_chars; an oversized paragraph is
    split on its lines, an oversized line on its sentences, then words (_split_line)."""
    pieces: list[tuple[str, str]] = []  # (text, separator that joins it to the previous piece)
    for para in text.split("\n\n"):
        if len(para) <= max_chars:
            pieces.append((para, "\n\n"))
            continue
        for j, line in enumerate(para.split("\n")):
            first = "\n\n" if j == 0 else "\n"
            parts = [(line, "")] if len(line) <= max_chars else _split_line(line, max_chars)
            pieces += [(piece, first if i == 0 else sep) for i, (piece, sep) in enumerate(parts)]
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


LARGE_DOCUMENT_CHUNKS = 100
"""A document cut into more chunks than this is named in the stats and a warning: often a PDF or web
page extracted with no line breaks, or several documents pasted into one."""


def prepare_chunks(docs: list[Document], max_chars: int, min_chars: int) -> tuple[list[dict], dict]:
    """Chunks as records {id, source, text}, exact duplicates dropped, with counts of what happened."""
    seen: set[str] = set()
    chunks, stats = [], {"documents": len(docs), "chunks": 0, "duplicates_dropped": 0, "too_short_dropped": 0,
                         "large_documents": {}}
    for doc in docs:
        texts = split_chunks(normalize(doc.text), max_chars)
        if len(texts) > LARGE_DOCUMENT_CHUNKS:
            stats["large_documents"][doc.source] = len(texts)
        for text in texts:
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
