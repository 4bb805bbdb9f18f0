"""Real documents in: each format converts, its known sentence lands in a chunk under its title, and a
scan, an encrypted or corrupt file, or a slow conversion stops naming the file. The fixtures are built
here with the libraries the converter itself installs (python-pptx, openpyxl) or that the project
ships (matplotlib)."""

import zipfile

import matplotlib
import pytest

from selfevo.data.chunking import prepare_chunks
from selfevo.data.convert import Converter
from selfevo.data.corpus import read_documents
from selfevo.errors import PipelineError

matplotlib.use("Agg")
SENTENCE = "The rsync daemon listens on port 873 by default"


def html(path):
    path.write_text(f"<html><head><title>rsyncd</title></head><body><h1>Rsync daemon</h1><h2>Ports</h2>"
                    f"<p>{SENTENCE}.</p><h2>Logs</h2><p>Logs go to the system journal.</p></body></html>")


def docx(path):
    ns = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    paragraphs = "".join(f'<w:p><w:pPr><w:pStyle w:val="{style}"/></w:pPr><w:r><w:t>{text}</w:t></w:r></w:p>'
                         for style, text in [("Heading1", "Rsync daemon"), ("Heading2", "Ports"),
                                             ("Normal", SENTENCE + ".")])
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                   'package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-'
                   'package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override '
                   'PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.'
                   'wordprocessingml.document.main+xml"/></Types>')
        z.writestr("_rels/.rels", '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
                   'package/2006/relationships"><Relationship Id="r1" Type="http://schemas.openxmlformats.org/'
                   'officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>')
        z.writestr("word/document.xml", f'<?xml version="1.0"?><w:document {ns}><w:body>{paragraphs}</w:body>'
                   '</w:document>')


def pptx(path):
    from pptx import Presentation

    deck = Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[1])
    slide.shapes.title.text = "Ports"
    slide.placeholders[1].text = SENTENCE + "."
    deck.save(path)


def xlsx(path):
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["setting", "fact"])
    book.active.append(["port", SENTENCE])
    book.save(path)


def pdf(path, text=True):
    import matplotlib.pyplot as plt
    import numpy as np

    with matplotlib.rc_context({"pdf.fonttype": 42}):
        fig = plt.figure(figsize=(8.5, 11))
        if text:
            fig.text(0.05, 0.9, SENTENCE + ".", fontsize=10)
        else:  # a scan: the page is a picture
            fig.figimage(np.random.default_rng(0).random((200, 200)))
        fig.savefig(path)
        plt.close(fig)


@pytest.mark.parametrize("name,build", [("rsyncd.html", html), ("rsyncd.docx", docx), ("rsyncd.pptx", pptx),
                                        ("rsyncd.xlsx", xlsx), ("rsyncd.pdf", pdf)])
def test_each_format_gives_its_sentence_in_a_chunk_under_its_title(tmp_path, name, build):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    build(corpus / name)
    with Converter(tmp_path / "cache", timeout_s=120) as converter:
        docs, skipped = read_documents(corpus, "text", converter)
    chunks, stats = prepare_chunks(docs, max_chars=1500, min_chars=20)
    assert not skipped and stats["formats"][name[name.index("."):]]["documents"] == 1
    holding = [c for c in chunks if SENTENCE in " ".join(c["text"].split())]
    assert holding, chunks
    # an opening heading (a slide deck's first title), or the file's name
    title = {".html": "Rsync daemon", ".docx": "Rsync daemon", ".pptx": "Ports"}.get(name[name.index("."):], "rsyncd")
    assert all(title.lower() in c["text"].lower().split("\n")[0] for c in chunks)
    assert title.split()[0] in holding[0]["subject_terms"][0]
    assert "<!--" not in holding[0]["text"]  # markitdown's slide-number comments are not text


def test_a_conversion_is_cached_by_content(tmp_path):
    html(tmp_path / "a.html")
    for expected in (0, 1):
        with Converter(tmp_path / "cache", timeout_s=120) as converter:
            text = converter.markdown(tmp_path / "a.html")
        assert converter.reused == expected and SENTENCE in text


def encrypted_pdf(path):
    """A one-page PDF whose trailer names the standard security handler with a user password (none of
    the libraries here writes encrypted PDFs, so the file is written by hand, offsets and all)."""
    bodies = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
              b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R >>",
              b"<< /Length 0 >>\nstream\n\nendstream",
              b"<< /Filter /Standard /V 1 /R 2 /O <" + b"11" * 32 + b"> /U <" + b"22" * 32 + b"> /P -44 >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(bodies, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(bodies) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Encrypt 5 0 R /ID [<%s> <%s>] >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(bodies) + 1, b"33" * 16, b"33" * 16, xref)
    path.write_bytes(bytes(out))


def zip_of(path, files: dict[str, str]) -> None:
    import zipfile

    with zipfile.ZipFile(path, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)


OLE_MAGIC = bytes.fromhex("d0cf11e0a1b11ae1")  # the container of every password-protected Office file


@pytest.mark.parametrize("name,build,match", [
    ("locked.pdf", encrypted_pdf, r"locked.pdf: cannot convert: it is encrypted or password-protected"),
    ("locked.docx", lambda p: p.write_bytes(OLE_MAGIC + bytes(504)),
     r"locked.docx: cannot convert: .*encrypted .*password-protected"),
    ("scan.pdf", lambda p: pdf(p, text=False), r"scan.pdf: 0 letters of text in 1 page\(s\): a scanned PDF .* OCR"),
    ("broken.pdf", lambda p: p.write_bytes(b"this is not a pdf at all"), r"broken.pdf: cannot convert: not a PDF"),
    ("broken.docx", lambda p: p.write_bytes(b"PK\x03\x04 truncated zip"), r"broken.docx: cannot convert"),
    ("archive.docx", lambda p: zip_of(p, {"notes.txt": "an ordinary zip, renamed"}),
     r"archive.docx: cannot convert: a zip file without word/document.xml, so not a .docx document"),
])
def test_a_scan_or_a_corrupt_file_stops_naming_it(tmp_path, name, build, match):
    build(tmp_path / name)
    with Converter(None, timeout_s=120) as converter, pytest.raises(PipelineError, match=match):
        converter.markdown(tmp_path / name)


def test_a_slow_conversion_stops_naming_the_file_and_the_param(tmp_path):
    html(tmp_path / "slow.html")
    with Converter(None, timeout_s=0.001) as converter, \
            pytest.raises(PipelineError, match=r"slow.html: conversion took longer than corpus.convert_timeout"):
        converter.markdown(tmp_path / "slow.html")
