"""Reading a corpus into documents.

A corpus is a folder of documents (.txt/.md as they are; .pdf, .docx, .pptx, .xlsx, .html through
selfevo.data.convert), or one .json (a list of records) / .jsonl file whose records hold the text in a
configurable field. selfevo/data/chunking.py cuts the documents into chunks.
"""

from __future__ import annotations

import errno
import json
import os
from dataclasses import dataclass
from pathlib import Path

from selfevo.data.convert import CONVERTED_SUFFIXES, Converter
from selfevo.errors import PipelineError
from selfevo.jsonio import read_jsonl

TEXT_SUFFIXES = {".txt", ".md"}
SUFFIXES = TEXT_SUFFIXES | CONVERTED_SUFFIXES


@dataclass(frozen=True)
class Document:
    source: str
    """Where the text came from: a file name, or `file:record` for JSON corpora."""
    text: str
    """Its text; Markdown for converted files."""
    title: str | None = None
    """What it is called where its text does not say (a file's name); None for a JSON record."""
    format: str = ".txt"
    """The file suffix it was read from, or `json` for a record."""


def _decode(path: Path) -> str:
    try:
        text = path.read_bytes().decode("utf-8").removeprefix("\ufeff")  # a byte-order mark is no text
    except UnicodeDecodeError as e:
        raise PipelineError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    if "\x00" in text:
        raise PipelineError(f"{path}: holds NUL bytes at character {text.index(chr(0))}: a binary file, not text")
    return text


def corpus_files(root: Path, readable: set[str]) -> tuple[list[Path], list[str]]:
    """The documents under a corpus folder, sorted, and every file left out with its reason: no supported
    suffix, or a link that is dangling, loops, leaves the corpus or names a folder (its files are read where
    they are, or not at all). A link is followed only to a file inside the corpus, so nothing from outside
    it reaches the chunks, the models or a DVC remote. Hidden files and folders are not documents."""
    real_root = root.resolve()
    files, skipped = [], []
    for folder, dirs, names in os.walk(root):  # does not descend into linked folders
        here = Path(folder)
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names) + [d for d in dirs if (here / d).is_symlink()]:
            path, shown = here / name, str((here / name).relative_to(root))
            if name.startswith("."):
                continue
            if path.is_symlink():
                try:
                    target = path.resolve(strict=True)
                except RuntimeError:  # a loop, on Python < 3.13
                    skipped.append(f"{shown} (a link that loops)")
                    continue
                except OSError as e:
                    skipped.append(f"{shown} (a link that loops)" if e.errno == errno.ELOOP
                                   else f"{shown} (a dangling link)")
                    continue
                if real_root not in target.parents:
                    skipped.append(f"{shown} (a link that leaves the corpus, to {target})")
                    continue
                if target.is_dir():
                    skipped.append(f"{shown} (a link to a folder)")
                    continue
            if path.suffix.lower() in readable:
                files.append(path)
            else:
                skipped.append(f"{shown} (no supported format)")
    return sorted(files), skipped


def read_documents(path: str | Path, text_field: str, converter: Converter | None = None
                   ) -> tuple[list[Document], list[str]]:
    """All documents of a corpus folder or file, in a stable order, and the files of a folder that
    were left out, each with its reason (`corpus_files`). Empty input is an error. Without a
    converter, only .txt/.md files are read."""
    path = Path(path)
    if path.is_dir():
        readable = SUFFIXES if converter else TEXT_SUFFIXES
        texts, skipped = corpus_files(path, readable)
        if not texts:
            raise PipelineError(f"{path}: no documents in the corpus folder (read: {', '.join(sorted(readable))})"
                                + (f"; skipped: {', '.join(skipped[:5])}" if skipped else ""))
        docs = []
        for f in texts:
            suffix = f.suffix.lower()
            text = _decode(f) if suffix in TEXT_SUFFIXES else converter.markdown(f)
            if not text.strip():
                raise PipelineError(f"{f}: empty document")
            docs.append(Document(str(f.relative_to(path)), text, f.stem, suffix))
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
        raise PipelineError(f"{path}: unsupported corpus file; use a folder of documents, or .json/.jsonl")
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
        docs.append(Document(f"{path.name}:{i}", text, None, "json"))
    if not docs:
        raise PipelineError(f"{path}: the corpus holds no records")
    return docs, []


