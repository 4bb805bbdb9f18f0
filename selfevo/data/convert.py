"""Documents that are not plain text (PDF, Word, PowerPoint, Excel, HTML) as Markdown, through the
`markitdown` converter, offline on a CPU.

Each conversion runs in a worker process with a time limit (`corpus.convert_timeout`), so a PDF that
hangs the parser stops the stage naming the file instead of hanging it. What a file converts to is kept
in a cache folder under the hash of its bytes and the converter's version, so a rerun of `prepare`
(another chunk size, one new document) converts nothing twice.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import re
import sys
import zipfile
from importlib.metadata import version
from pathlib import Path

from selfevo.errors import PipelineError
from selfevo.jsonio import write_text

CONVERTED_SUFFIXES = {".pdf", ".docx", ".pptx", ".xlsx", ".html", ".htm"}
ZIP_SUFFIXES = {".docx", ".pptx", ".xlsx"}
OLE_MAGIC = bytes.fromhex("d0cf11e0a1b11ae1")
"""What a password-protected .docx/.pptx/.xlsx starts with: Office encrypts the zip package into an OLE
container (old binary .doc/.ppt/.xls files are OLE containers too)."""
_COMMENT = re.compile(r"<!--.*?-->", re.S)
OUTPUT_VERSION = 1
"""Part of the cache key: raise it when what is done to the converter's output changes."""
MIN_PDF_CHARS_PER_PAGE = 20
"""A PDF whose text layer holds fewer letters than this per page is a scan (an image of text)."""


def _markdown(path: str) -> tuple[str, str]:
    """In the worker: the file as Markdown; an error as its message (exceptions do not all pickle)."""
    from markitdown import MarkItDown

    try:
        return "ok", MarkItDown(enable_plugins=False).convert_local(path).markdown
    except Exception as e:  # noqa: BLE001 - every converter failure is reported with its file
        cause = e.__cause__ or e
        return "error", f"{type(cause).__name__}: {cause}".strip()


def _pdf_pages(data: bytes) -> int:
    return max(1, len(re.findall(rb"/Type\s*/Page\b", data)))


def _why(message: str) -> str:
    lowered = message.lower()
    if "password" in lowered or "encrypt" in lowered:
        return "it is encrypted or password-protected; save an unprotected copy"
    return f"the converter failed ({message[:300]}): a corrupt or unsupported file?"


PACKAGE_PARTS = {".docx": "word/document.xml", ".pptx": "ppt/presentation.xml", ".xlsx": "xl/workbook.xml"}
"""The part every Office package of that kind holds: a zip without it is not that kind of document."""


def _check_package(path: Path) -> None:
    part = PACKAGE_PARTS.get(path.suffix.lower())
    try:
        with zipfile.ZipFile(path) as package:
            names = set(package.namelist())
    except (zipfile.BadZipFile, OSError) as e:
        raise PipelineError(f"{path}: cannot convert: a damaged zip package ({e})") from None
    if part and part not in names:
        raise PipelineError(f"{path}: cannot convert: a zip file without {part}, so not a {path.suffix.lower()} "
                            "document: misnamed")


class Converter:
    """Converts files one after another in one worker process, with a cache folder (None: no cache)."""

    def __init__(self, cache: str | Path | None, timeout_s: float):
        self.cache = Path(cache) if cache else None
        self.timeout_s = timeout_s
        self.key = f"markitdown-{version('markitdown')}-{OUTPUT_VERSION}"
        self.converted = self.reused = 0
        self._pool = None

    def __enter__(self) -> "Converter":
        return self

    def __exit__(self, *exc) -> None:
        self._stop()

    def _stop(self) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None

    def _convert(self, path: Path) -> tuple[str, str]:
        if self._pool is None:
            # fork where it is safe (Linux): no re-import of the caller's main module, which `spawn` needs
            self._pool = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn").Pool(1)
        job = self._pool.apply_async(_markdown, (str(path),))
        try:
            return job.get(self.timeout_s)
        except multiprocessing.TimeoutError:
            self._stop()  # the worker is stuck in the file: end it, a later file gets a new one
            raise PipelineError(f"{path}: conversion took longer than corpus.convert_timeout "
                                f"({self.timeout_s:g} s); raise it, or convert the file to text yourself") from None

    def markdown(self, path: Path) -> str:
        """The file's text as Markdown; a scan, an encrypted or a corrupt file stops naming it."""
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        cached = self.cache / self.key / f"{digest}.md" if self.cache else None
        if cached and cached.is_file():
            self.reused += 1
            return cached.read_text(encoding="utf-8")
        if path.suffix.lower() == ".pdf" and not data.lstrip()[:4] == b"%PDF":
            raise PipelineError(f"{path}: cannot convert: not a PDF file (no %PDF header): corrupt, or misnamed")
        if path.suffix.lower() in ZIP_SUFFIXES and data.startswith(OLE_MAGIC):
            raise PipelineError(f"{path}: cannot convert: an OLE container, not a {path.suffix.lower()} package: "
                                "encrypted (password-protected; save an unprotected copy), or an old binary "
                                "Office file renamed (save it in the new format)")
        if path.suffix.lower() in ZIP_SUFFIXES and not zipfile.is_zipfile(path):
            raise PipelineError(f"{path}: cannot convert: not a {path.suffix.lower()} package (a zip file): "
                                "corrupt, or misnamed")
        if path.suffix.lower() in ZIP_SUFFIXES:
            _check_package(path)
        status, text = self._convert(path)
        if status == "error":
            raise PipelineError(f"{path}: cannot convert: {_why(text)}")
        text = _COMMENT.sub("", text).strip()  # markitdown's "<!-- Slide number: 3 -->" marks are not text
        if path.suffix.lower() == ".pdf":
            letters = sum(c.isalnum() for c in text)
            pages = _pdf_pages(data)
            if letters < MIN_PDF_CHARS_PER_PAGE * pages:
                raise PipelineError(f"{path}: {letters} letters of text in {pages} page(s): a scanned PDF with no text "
                                    "layer; run OCR on it first (e.g. `ocrmypdf in.pdf out.pdf`), then use the result")
        if not text:
            raise PipelineError(f"{path}: converts to no text: an empty document?")
        self.converted += 1
        if cached:
            try:
                write_text(cached, text)
            except OSError:
                pass  # a cache that cannot be written only costs a conversion next time
        return text
