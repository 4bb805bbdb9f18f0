"""prepare: the corpus -> clean, deduplicated chunks with content-hash ids.

    python stages/prepare.py --corpus data/corpus --out data/prepared/chunks.jsonl --stats metrics/prepare.json \
        --cache .cache/convert

PDF, Word, PowerPoint, Excel and HTML files are converted to Markdown first (selfevo.data.convert), each
once: --cache keeps what a file converted to under its content hash.
"""

import argparse
import sys

from selfevo.config import load_section
from selfevo.data.chunking import prepare_chunks
from selfevo.data.convert import Converter
from selfevo.data.corpus import read_documents
from selfevo.errors import PipelineError, run_stage
from selfevo.jsonio import write_json, write_jsonl
from selfevo.stageargs import stage_args
from selfevo.text import chinese_share


def check_language(chunks: list[dict], language: str, corpus: str) -> None:
    """Prompts in one language over a corpus in the other write nothing usable: stop before any model runs."""
    share = chinese_share(c["text"] for c in chunks)
    if language == "zh" and share < 0.2 or language == "en" and share > 0.5:
        other = "en" if language == "zh" else "zh"
        raise PipelineError(f"params.yaml: prompts.language is {language}, but {corpus} is {share:.0%} Chinese: set "
                            f"prompts.language: {other} (and evaluate.bleu_tokenize: {'13a' if other == 'en' else 'zh'})")


def main() -> None:
    parser = argparse.ArgumentParser(description="Split a corpus into chunks.")
    parser.add_argument("--corpus", required=True, help="folder of documents, or a .json/.jsonl file")
    parser.add_argument("--cache", help="folder of converted documents (none: convert every time)")
    parser.add_argument("--out", required=True)
    parser.add_argument("--stats", required=True)
    args = stage_args(parser)

    params = load_section("corpus")
    with Converter(args.cache, params.convert_timeout) as converter:
        docs, skipped = read_documents(args.corpus, params.text_field, converter)
    chunks, stats = prepare_chunks(docs, params.max_chunk_chars, params.min_chunk_chars)
    stats.update(converted=converter.converted, conversions_reused=converter.reused, skipped_files=len(skipped),
                 skipped=skipped)
    if skipped:
        print(f"warning: {args.corpus}: {len(skipped)} files left out: {', '.join(skipped[:10])}"
              + (" ..." if len(skipped) > 10 else ""), file=sys.stderr)
    for source, n in stats["large_documents"].items():
        print(f"warning: {source}: cut into {n} chunks of at most corpus.max_chunk_chars "
              f"({params.max_chunk_chars}); a document this long with few paragraph breaks is often a bad "
              f"text extraction or several documents in one", file=sys.stderr)
    if not chunks:
        raise PipelineError(f"{args.corpus}: no chunk of at least corpus.min_chunk_chars ({params.min_chunk_chars}) "
                            f"characters: {stats['too_short_dropped']} too short, {stats['duplicates_dropped']} "
                            f"duplicates; lower corpus.min_chunk_chars or add documents")
    check_language(chunks, load_section("prompts").language, args.corpus)
    write_jsonl(args.out, chunks)
    write_json(args.stats, stats)
    print(f"prepare: {stats['documents']} documents -> {stats['chunks']} chunks "
          f"({stats['duplicates_dropped']} duplicates dropped) in {args.out}")


if __name__ == "__main__":
    run_stage(main)
