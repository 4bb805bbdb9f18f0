"""params.yaml's sections for learning from the data and measuring it: selection, training, evaluation and
the baselines. Each is a dataclass checked when it is built (selfevo/config.py loads them)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from selfevo.config_data import ModelParams
from selfevo.errors import check_budget, check_param


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
        check_param(self.strategy in STRATEGIES, "selection.strategy",
               f"unknown strategy {self.strategy!r}; use one of {', '.join(STRATEGIES)}")
        check_param(isinstance(self.k, int) and self.k >= 0, "selection.k", f"must be an integer >= 0, got {self.k!r}")
        check_param(self.max_ifd is None or self.max_ifd > 0, "selection.max_ifd", "must be positive or null")


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
    """How many of θ_0's replies to everyday requests (stage `everyday`, selfevo/train/everyday.py) every round
    also trains on, a seeded sample, so the tuned model keeps θ_0's general ability; 0: none (the paper)."""
    everyday_tokens: int
    """Reply budget of those replies (cut to their complete sentences)."""
    gradient_checkpointing: bool
    """Recompute activations in the backward pass: a 7B model with 2048-token examples needs it to fit
    in 32 GB; it costs ~30% more time and changes no result."""
    seed: int

    def __post_init__(self):
        check_param(self.lora_r > 0, "train.lora_r", "must be positive")
        check_param(self.lora_alpha > 0, "train.lora_alpha", "must be positive")
        check_param(0 <= self.lora_dropout < 1, "train.lora_dropout", "must be in [0, 1)")
        check_param(self.lr > 0, "train.lr", "must be positive")
        check_param(0 < self.lr_decay <= 1, "train.lr_decay", "must be in (0, 1] (1: every round at train.lr)")
        check_param(self.epochs > 0, "train.epochs", "must be positive")
        check_param(self.batch_size > 0, "train.batch_size", "must be positive")
        check_param(self.grad_accum >= 1, "train.grad_accum", "must be >= 1")
        check_param(self.checkpoint_steps >= 0, "train.checkpoint_steps", "must be >= 0 (0: no checkpoints)")
        check_param(self.replay_questions is None or self.replay_questions >= 0, "train.replay_questions",
               "must be null (every new pair) or an integer >= 0")
        check_param(self.everyday >= 0, "train.everyday", "must be >= 0 (0: no everyday replies replayed)")
        check_param(self.everyday_tokens > 0, "train.everyday_tokens", "must be positive")
        check_param(self.max_length >= 16, "train.max_length", "must be >= 16 tokens: shorter examples are all dropped")
        check_param(self.target_modules == "all-linear" or (isinstance(self.target_modules, list) and self.target_modules
                                                       and all(isinstance(m, str) and m for m in self.target_modules)),
               "train.target_modules", "must be all-linear or a list of module names")


@dataclass
class EvaluateParams:
    test: str
    """The held-out test set (JSONL {question, answer[, facts, kind]}): every evaluation, the coverage's
    fact count, the teacher's overlap check and the report read it (selfevo/data/testset.py)."""
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
        check_param(isinstance(self.test, str) and self.test.strip() != "" and not set("\n\r\0") & set(self.test),
               "evaluate.test", f"must be a path on one line, got {self.test!r}")
        check_param(100 <= self.bootstrap_draws <= 100_000, "evaluate.bootstrap_draws",
               "must be from 100 (a 95% interval) to 100000 (more moves no figure; the draws are held in memory)")
        check_param(self.general_max_new_tokens > 0, "evaluate.general_max_new_tokens", "must be positive")
        check_param(self.bleu_tokenize in {"13a", "zh", "intl", "char", "none", "flores200"}, "evaluate.bleu_tokenize",
               f"unknown sacrebleu tokenizer {self.bleu_tokenize!r}")
        for key in ("max_new_tokens", "max_prompt_tokens", "batch_size"):
            check_param(getattr(self, key) > 0, f"evaluate.{key}", "must be positive")
        check_budget(self.max_batch_tokens, "evaluate.max_batch_tokens")
        check_param(self.no_repeat_ngram >= 0, "evaluate.no_repeat_ngram", "must be >= 0")


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
        check_param(isinstance(self.teacher, str) and bool(self.teacher), "baselines.teacher",
               f"must be {QA_FILE!r} or a model path / hub id")
        check_param(isinstance(self.references, list) and all(isinstance(r, str) and r for r in self.references),
               "baselines.references", "must be a list of model paths / hub ids")
        check_param(len(set(self.references)) == len(self.references), "baselines.references", "has duplicates")
        check_param(self.quantization in {None, "8bit", "4bit"}, "baselines.quantization",
               f"unknown quantization {self.quantization!r}; use 8bit, 4bit or null")
        check_param(0.0 < self.max_test_overlap <= 1.0, "baselines.max_test_overlap", "must be in (0, 1]")
