"""Corpus reading: formats, normalisation, chunking on paragraphs, dedup, stable ids, and bad input."""

import json

import pytest

from selfevo.data.chunking import chunk_id, normalize, prepare_chunks, split_chunks
from selfevo.data.corpus import Document, read_documents
from selfevo.errors import PipelineError


def test_folder_of_text_files(tmp_path):
    (tmp_path / "b.md").write_text("Alarm: B\r\n\r\n\r\n\r\nStep   one.  ")
    (tmp_path / "a.txt").write_text("Alarm: A")
    (tmp_path / "skip.csv").write_text("x")
    (tmp_path / ".hidden").write_text("x")
    (tmp_path / ".git" / "objects").mkdir(parents=True)  # a checkout's own files are not documents
    (tmp_path / ".git" / "objects" / "notes.md").write_text("x")
    (tmp_path / ".git" / "HEAD").write_text("ref: refs/heads/main")
    docs, skipped = read_documents(tmp_path, "instruction")
    assert [d.source for d in docs] == ["a.txt", "b.md"]
    assert skipped == ["skip.csv (no supported format)"]
    assert normalize(docs[1].text) == "Alarm: B\n\nStep one."


def test_json_list_and_jsonl_with_text_field(tmp_path):
    (tmp_path / "c.json").write_text(json.dumps([{"instruction": "one"}, {"instruction": "two"}]))
    (tmp_path / "c.jsonl").write_text('{"text": "one"}\n\n{"text": "two"}\n')
    assert [d.text for d in read_documents(tmp_path / "c.json", "instruction")[0]] == ["one", "two"]
    assert [d.text for d in read_documents(tmp_path / "c.jsonl", "text")[0]] == ["one", "two"]


def test_chunks_split_on_paragraphs_and_respect_the_budget():
    text = "\n\n".join(f"Paragraph {i} " + "x" * 30 for i in range(6))
    chunks = split_chunks(text, 100)
    assert all(len(c) <= 100 for c in chunks) and len(chunks) == 3
    assert all(c.startswith("Paragraph") for c in chunks)  # never cut inside a paragraph
    long_line = split_chunks("y" * 250, 100)
    assert [len(c) for c in long_line] == [100, 100, 50]


def test_a_long_line_is_cut_between_sentences_then_words():
    sentences = " ".join(f"Sentence {i} has some words in it." for i in range(20))  # 34-35 chars each
    chunks = split_chunks(sentences, 100)
    assert all(len(c) <= 100 and c.endswith(".") for c in chunks)
    assert " ".join(chunks) == sentences  # nothing lost, nothing added
    words = " ".join(f"word{i}" for i in range(100))  # one sentence, no stop
    chunks = split_chunks(words, 50)
    assert all(len(c) <= 50 for c in chunks) and " ".join(chunks) == words
    assert all(w.startswith("word") for c in chunks for w in c.split(" "))  # no word cut apart
    chinese = "告警产生后请检查链路。" * 30  # 11 characters a sentence, no spaces
    chunks = split_chunks(chinese, 50)
    assert all(len(c) <= 50 and c.endswith("。") for c in chunks) and "".join(chunks) == chinese


def test_a_huge_document_is_named_in_the_stats():
    huge = Document("huge.txt", " ".join(f"Line {i} of a pasted manual." for i in range(2000)))
    chunks, stats = prepare_chunks([huge, Document("small.txt", "A small document.")], max_chars=200, min_chars=5)
    assert stats["large_documents"] == {"huge.txt": len(chunks) - 1} and len(chunks) > 100


def test_duplicates_dropped_and_ids_stable(tmp_path):
    (tmp_path / "a.md").write_text("Same text here.")
    (tmp_path / "b.md").write_text("Same   text here.\n")
    (tmp_path / "c.md").write_text("Other text here.")
    chunks, stats = prepare_chunks(read_documents(tmp_path, "t")[0], max_chars=100, min_chars=5)
    assert stats["duplicates_dropped"] == 1 and len(chunks) == 2
    assert chunks[0]["id"] == chunk_id("Same text here.") == chunk_id(normalize("Same   text here.\n"))


@pytest.mark.parametrize("setup,match", [
    (lambda p: p.mkdir(), "no documents in the corpus folder"),
    (lambda p: (p.mkdir(), (p / "e.md").write_text("  \n")), "e.md: empty document"),
    (lambda p: (p.mkdir(), (p / "bad.md").write_bytes(b"caf\xe9")), "bad.md: not UTF-8"),
    (lambda p: (p.mkdir(), (p / "bin.txt").write_bytes(b"ELF\x00\x01 text")), "bin.txt: holds NUL bytes"),
    (lambda p: (p.mkdir(), (p / "a.epub").write_bytes(b"PK")), r"no documents in the corpus folder .*; skipped: a.epub"),
])
def test_bad_folders_name_the_file(tmp_path, setup, match):
    corpus = tmp_path / "corpus"
    setup(corpus)
    with pytest.raises(PipelineError, match=match):
        read_documents(corpus, "text")


def test_malformed_jsonl_names_the_line(tmp_path):
    (tmp_path / "c.jsonl").write_text('{"text": "ok"}\n{"text": broken\n')
    with pytest.raises(PipelineError, match=r"c.jsonl: line 2: not valid JSON"):
        read_documents(tmp_path / "c.jsonl", "text")


def test_missing_text_field_names_record_and_key(tmp_path):
    (tmp_path / "c.json").write_text(json.dumps([{"instruction": "one"}, {"body": "two"}]))
    with pytest.raises(PipelineError, match=r"record 2: no string field 'instruction'"):
        read_documents(tmp_path / "c.json", "instruction")


@pytest.mark.parametrize("text", ["   \n\t", "ok\x00"])
def test_blank_or_binary_records_name_the_record(tmp_path, text):
    (tmp_path / "c.jsonl").write_text(json.dumps({"text": "fine"}) + "\n" + json.dumps({"text": text}) + "\n")
    with pytest.raises(PipelineError, match=r"c.jsonl: record 2: 'text' (is empty|holds NUL)"):
        read_documents(tmp_path / "c.jsonl", "text")


def test_a_corpus_that_gives_no_chunk_stops_prepare_naming_the_param(tmp_path):
    import subprocess
    import sys

    import yaml

    from conftest import REPO

    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "a.md").write_text("Short.")
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"corpus": params["corpus"]}))
    result = subprocess.run([sys.executable, str(REPO / "stages" / "prepare.py"), "--corpus", "corpus", "--out",
                             "chunks.jsonl", "--stats", "stats.json"], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 1
    assert "corpus: no chunk of at least corpus.min_chunk_chars (20) characters: 1 too short" in result.stderr
    assert not (tmp_path / "chunks.jsonl").exists()


def test_a_link_is_followed_only_to_a_file_inside_the_corpus_and_every_other_is_listed(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.md").write_text("# Secret\n\nThe root password is hunter2.\n")
    corpus = tmp_path / "corpus"
    (corpus / "sub").mkdir(parents=True)
    (corpus / "sub" / "real.md").write_text("# Real\n\nALM-1 is raised when the fan stops.\n")
    (corpus / "inside.md").symlink_to(corpus / "sub" / "real.md")
    (corpus / "passwd.md").symlink_to(outside / "secret.md")
    (corpus / "away").symlink_to(outside, target_is_directory=True)
    (corpus / "again").symlink_to(corpus / "sub", target_is_directory=True)
    (corpus / "gone.md").symlink_to(tmp_path / "nowhere.md")
    (corpus / "loop.md").symlink_to(corpus / "loop.md")
    docs, skipped = read_documents(corpus, "text")
    assert sorted(d.source for d in docs) == ["inside.md", "sub/real.md"]
    assert all("hunter2" not in d.text for d in docs)
    assert sorted(skipped) == sorted([
        f"passwd.md (a link that leaves the corpus, to {(outside / 'secret.md').resolve()})",
        f"away (a link that leaves the corpus, to {outside.resolve()})", "again (a link to a folder)",
        "gone.md (a dangling link)", "loop.md (a link that loops)"])


def test_a_byte_order_mark_before_the_title_keeps_the_title(tmp_path):
    (tmp_path / "a.md").write_bytes("\ufeff# Fan Failure\n\nALM-7 is raised when the fan stops.\n".encode())
    docs, _ = read_documents(tmp_path, "text")
    assert docs[0].text.startswith("# Fan Failure")
    chunks, _ = prepare_chunks(docs, 1500, 20)
    assert chunks[0]["text"].startswith("Fan Failure") or "Fan Failure" in chunks[0]["text"].splitlines()[0]
