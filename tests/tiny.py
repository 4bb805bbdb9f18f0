"""A tiny random-weight model of the embedded base's architecture (LlamaForCausalLM) with a small
byte-level BPE tokenizer and SmolLM2's chat template, for tests: it loads in well under a second."""

from __future__ import annotations

from pathlib import Path

import torch

# SmolLM2-Instruct's ChatML template: a default system turn when the conversation has none
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}"
    "{% endif %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
# the same without a default system turn, as many chat models write it
PLAIN_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def tiny_tokenizer(texts: list[str], vocab_size: int = 300, chat_template: str = CHAT_TEMPLATE):
    """A byte-level BPE chat tokenizer learned from `texts` (any string can still be encoded)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|im_end|>",
                                   bos_token="<|im_start|>")
    fast.chat_template = chat_template
    return fast


def tiny_model(tokenizer, *, layers: int = 2, hidden: int = 64, heads: int = 4, seed: int = 0):
    """A LlamaForCausalLM like SmolLM2's (grouped-query attention, tied embeddings), random weights."""
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=hidden, num_hidden_layers=layers,
                         num_attention_heads=heads, num_key_value_heads=heads // 2, intermediate_size=2 * hidden,
                         max_position_embeddings=2048, tie_word_embeddings=True,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id)
    model = LlamaForCausalLM(config)
    model.generation_config = GenerationConfig(eos_token_id=tokenizer.eos_token_id,
                                               pad_token_id=tokenizer.pad_token_id)
    return model


# --- the committed chat fixture (tests/assets/tiny_chat, built by tests/assets/make_tiny_chat.py) --------

ASSETS = Path(__file__).resolve().parent / "assets"
TINY_CHAT = ASSETS / "tiny_chat"
LEVELS = ("minor", "major", "critical")
# the pipeline test's short prompts: a 2-layer model learns to follow them exactly
MINIMAL_PROMPTS = {
    "question.txt": "Document: {knowledge}\nWrite one question.",
    "answer.txt": "Question: {question}\nDocument: {knowledge}\nAnswer:",
    "opener.txt": "",
}
MINIMAL_VARIANTS = {"frame": "Document: {knowledge}\n{task}", "evolve": "Rewrite: {task}",
                    "seeds": [{"kind": "fact", "form": "direct", "task": "Write one question."},
                              {"kind": "fact", "form": "short", "task": "Write one short question."}]}
EVOLVED_TASK = "Write one clear question."
"""What the fixture writes when asked to rewrite a task: the one child the evolution can breed."""
EDIT_LINE = "Device: BBU3910"
"""The line the pipeline test appends to a document to edit it."""


def alarm_card(code: str, level: str, edited: bool = False) -> str:
    """A document of the pipeline test's corpus, as prepare writes its chunk."""
    return f"Alarm: {code}\nSeverity: {level}" + (f"\n{EDIT_LINE}" if edited else "")


def pipeline_cards() -> list[tuple[str, str]]:
    """(code, severity) of the pipeline test's corpus: ALM-100 .. ALM-107."""
    return [(f"ALM-10{i}", LEVELS[i % 3]) for i in range(8)]


def severity_question(code: str) -> str:
    return f"What is the severity of {code}?"


def severity_answer(code: str, level: str) -> str:
    return f"{code} is {level}."


@torch.no_grad()
def greedy_with_margins(model, tokenizer, messages, max_new_tokens: int) -> tuple[str, float]:
    """The greedy reply to `messages` and the smallest gap between the top two logits over its steps
    (the stop token's step included): a gap far above float noise means any processor picks the same."""
    from selfevo.generate.prompts import render_prompt

    ids = tokenizer(render_prompt(tokenizer, messages), add_special_tokens=False, return_tensors="pt")["input_ids"]
    reply, gap, past = [], float("inf"), None
    for _ in range(max_new_tokens):
        out = model(input_ids=ids, past_key_values=past, use_cache=True)
        top = out.logits[0, -1].float().topk(2)
        gap = min(gap, float(top.values[0] - top.values[1]))
        token = int(top.indices[0])
        if token == tokenizer.eos_token_id:
            break
        reply.append(token)
        ids, past = torch.tensor([[token]]), out.past_key_values
    return tokenizer.decode(reply, skip_special_tokens=True).strip(), gap


# the judge test's prompt and pairs: the fixture says Yes to a pair whose answer restates its chunk, No otherwise
JUDGE_TEMPLATE = "Knowledge: {knowledge}\nQ: {question}\nA: {answer}\n{criterion}"
JUDGE_CHUNKS = {"c1": "Alarm ALM-1 is raised when the fan stops.", "c2": "Alarm ALM-2 is raised when the power fails."}
JUDGE_GOOD = [{"chunk_id": "c1", "question": "When is ALM-1 raised?", "answer": "ALM-1 is raised when the fan stops."},
              {"chunk_id": "c2", "question": "When is ALM-2 raised?", "answer": "ALM-2 is raised when the power fails."}]
JUDGE_BAD = [{"chunk_id": "c1", "question": "When is ALM-1 raised?", "answer": "Bananas are yellow fruit."},
             {"chunk_id": "c2", "question": "When is ALM-2 raised?", "answer": "Paris is in France."}]


def judge_criteria() -> dict[str, str]:
    from selfevo.score.judge import DIMENSIONS

    return {d: f"Is it {d}?" for d in DIMENSIONS}


def judge_cases() -> list[tuple[str, str]]:
    """(the judging prompt's text, the verdict) for every judge-test pair and dimension."""
    cases = []
    for pairs, verdict in ((JUDGE_GOOD, "Yes"), (JUDGE_BAD, "No")):
        for pair in pairs:
            for criterion in judge_criteria().values():
                cases.append((JUDGE_TEMPLATE.replace("{criterion}", criterion).replace("{question}", pair["question"])
                              .replace("{answer}", pair["answer"]).replace("{knowledge}", JUDGE_CHUNKS[pair["chunk_id"]]),
                              verdict))
    return cases


# --- the paper profile's chat fixture (tests/assets/tiny_chat_zh, built by tests/assets/make_tiny_chat.py) --

TINY_CHAT_ZH = ASSETS / "tiny_chat_zh"
ZH_QUESTION = "这个告警应该如何处理？"
"""What the zh fixture asks of any fragment under the paper's question prompt."""
ZH_ANSWER = "先检查设备的状态，再按照步骤处理。"
"""What it answers under the paper's answer prompt, and closed-book."""


def paper_slice(fragments: int, questions: int) -> tuple[list[str], list[dict]]:
    """The paper slice (scripts/paper_slice.py): its first distinct fragments and test records."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("paper_slice", ASSETS.parents[1] / "scripts" / "paper_slice.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.paper_slice(fragments, questions)


def round_chain(n: int) -> list[dict]:
    """params.yaml's `rounds` for n rounds: round i starts from θ_i and trains θ_{i+1}."""
    return [{"round": i, "start": "base" if i == 0 else f"theta_{i}", "trains": f"theta_{i + 1}"} for i in range(n)]
