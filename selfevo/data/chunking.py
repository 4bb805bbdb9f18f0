"""Documents into clean, deduplicated chunks with stable content-hash ids.

Chunks follow the document's structure: its Markdown headings first, then its paragraphs, and each chunk
opens with a header line naming its document and section ("KubeletDown > Mitigation"), so a question
about any chunk can name what it is about. Reading the documents is selfevo/data/corpus.py's.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from itertools import takewhile

from selfevo.data.corpus import Document
from selfevo.text import CJK, sentences


def normalize(text: str) -> str:
    """Unify line ends, trim each line and its inner runs of spaces, keep at most one blank line."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u3000", " ")
    lines = [re.sub(r"[ \t\f\v]+", " ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _split_line(line: str, max_chars: int) -> list[tuple[str, str]]:
    """An oversized line as pieces of at most max_chars, each with the separator that joins it to the
    previous one: cut after sentences, then between words, and only a run with neither (a very long
    token, or CJK text with no punctuation) cut hard."""
    pieces: list[tuple[str, str]] = []
    for sentence in sentences(line):
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


_HEADING = re.compile(r"^(#{1,6})\s+(.+?)(?:\s+#+)?\s*$")


_FENCE = re.compile(r"^(```|~~~)")


_MARKUP = re.compile(r"[*_`]+|\[([^\]]*)\]\([^)]*\)")  # emphasis, code marks, [links](url) -> link text


def _plain(heading: str) -> str:
    return re.sub(r"\s+", " ", _MARKUP.sub(lambda m: m.group(1) or "", heading)).strip()


def sections(text: str, title: str | None) -> list[tuple[list[str], str]]:
    """A document as (path, body) per Markdown heading: the path is its title, then the headings above
    the body ("ls > DESCRIPTION"). A first-level heading that opens the document is its title (and
    leaves the body). Heading lines inside code fences are code, not headings; other heading lines stay
    in their body as written."""
    lines = text.split("\n")
    first = next((line for line in lines if line.strip()), "")
    opening = _HEADING.match(first)
    if opening and len(opening.group(1)) == 1 and _plain(opening.group(2)):  # the title: said by every header
        title = _plain(opening.group(2))
        lines.remove(first)
    stack: list[tuple[int, str]] = []
    out: list[tuple[list[str], list[str]]] = [([], [])]
    fenced = False
    for line in lines:
        if _FENCE.match(line.strip()):
            fenced = not fenced
        heading = None if fenced else _HEADING.match(line)
        if heading:
            level = len(heading.group(1))
            stack = [(lv, name) for lv, name in stack if lv < level] + [(level, _plain(heading.group(2)))]
            if any(kept.strip() and not _HEADING.match(kept) for kept in out[-1][1]):
                out.append(([], []))
            out[-1] = ([name for _, name in stack], out[-1][1])  # a heading with no text yet: its subheading's
        out[-1][1].append(line)
    prefix = [title] if title else []
    return [(prefix + path, "\n".join(body)) for path, body in out if "\n".join(body).strip()]


def subject_header(path: list[str]) -> str:
    return " > ".join(p for p in path if p)


def with_header(header: str, body: str) -> str:
    """The chunk a model reads: its header line, unless the body's first line already says it all, in
    place of a heading line that opens the body and says its last part."""
    first, _, rest = body.partition("\n")
    if not header or header.lower() in first.lower():
        return body
    heading = _HEADING.match(first)
    if heading and _plain(heading.group(2)) == header.split(" > ")[-1] and rest.strip():
        body = rest.strip()
    return f"{header}\n\n{body}"


def document_chunks(doc: Document, max_chars: int) -> list[tuple[str, str]]:
    """(header, body) of each chunk of a document (with_header joins them): its sections, each packed
    with the sections after it while they fit in max_chars (the header is then the path they share),
    an oversized one split on paragraphs, lines and sentences (split_chunks)."""
    pieces: list[tuple[list[str], str]] = []
    for path, body in sections(normalize(doc.text), doc.title):
        budget = max(max_chars - len(subject_header(path)) - 2, max_chars // 2)
        parts = split_chunks(normalize(body), budget)
        for i in range(len(parts) - 1, 0, -1):  # headings alone go with the text under them
            if all(_HEADING.match(line) or not line.strip() for line in parts[i - 1].split("\n")):
                parts[i - 1:i + 1] = [parts[i - 1] + "\n\n" + parts[i]]
        pieces += [(path, part) for part in parts]
    chunks: list[tuple[list[str], str]] = []
    for path, text in pieces:
        if chunks:
            shared = [a for a, _ in takewhile(lambda names: names[0] == names[1], zip(chunks[-1][0], path))]
            joined = chunks[-1][1] + "\n\n" + text
            if len(subject_header(shared)) + 2 + len(joined) <= max_chars:
                chunks[-1] = (shared, joined)
                continue
        chunks.append((path, text))
    return [(subject_header(path), text) for path, text in chunks]


_TERM = re.compile(rf"[{CJK}]+|[^\W_][\w.+-]*[^\W_]|[^\W_]")


STOP_WORDS = frozenset("""a an the of and or to in on for with by at from as is are be this that these those it its
how what when where which who why your you about into over under via vs not no""".split())


def subject_terms(headers: list[str], sources: list[str]) -> list[list[str]]:
    """Per chunk header, the terms that name its subject: its words, less stop words and less the words
    in the headers of many documents (more than 2, and more than a tenth of them): "Description" or
    "Mitigation", a section every document has, names nothing; "KubeletDown" or "rsync" does."""
    words = [[t for t in dict.fromkeys(_TERM.findall(h)) if t.lower() not in STOP_WORDS] for h in headers]
    documents: dict[str, set[str]] = {}
    for source, ws in zip(sources, words):
        documents.setdefault(source, set()).update(t.lower() for t in ws)
    frequency = Counter(t for terms in documents.values() for t in terms)
    common = {t for t, n in frequency.items() if n > max(2, len(documents) / 10)}
    return [[t for t in ws if t.lower() not in common] for ws in words]


def prepare_chunks(docs: list[Document], max_chars: int, min_chars: int) -> tuple[list[dict], dict]:
    """Chunks as records {id, source, subject, subject_terms, text}, exact duplicates dropped, with
    counts of what happened, per format too."""
    seen: set[str] = set()
    chunks, stats = [], {"documents": len(docs), "chunks": 0, "duplicates_dropped": 0, "too_short_dropped": 0,
                         "formats": {}, "large_documents": {}}
    for doc in docs:
        counts = stats["formats"].setdefault(doc.format, {"documents": 0, "characters": 0})
        counts["documents"] += 1
        counts["characters"] += len(doc.text)
        pieces = document_chunks(doc, max_chars)
        if len(pieces) > LARGE_DOCUMENT_CHUNKS:
            stats["large_documents"][doc.source] = len(pieces)
        for header, body in pieces:
            text = with_header(header, body)
            if len(text) < min_chars:
                stats["too_short_dropped"] += 1
                continue
            if body in seen:  # the same text under another title (a licence, a footer) is said once
                stats["duplicates_dropped"] += 1
                continue
            seen.add(body)
            chunks.append({"id": chunk_id(text), "source": doc.source, "subject": header, "text": text})
    for chunk, terms in zip(chunks, subject_terms([c["subject"] for c in chunks], [c["source"] for c in chunks])):
        chunk["subject_terms"] = terms
    stats["chunks"] = len(chunks)
    return chunks, stats
