"""Pairs anchored on the document's units, so that every fact of a document is stated by some pair.

A chunk's units are its lines (list items, key-value lines) and, in a line longer than `LONG_LINE`
characters, its sentences. Its first line is its title; a Markdown heading or a short line ending in a
colon ("Possible Reasons:") is the section of the units under it. Consecutive units of one section and
paragraph, up to `generate.anchor_window` of them, form a window. For every window, θ_r writes a
question that the window answers, from a completion-style few-shot prompt (prompts/<lang>/anchor.yaml:
examples from other domains, drawn per window and round by seed, several question forms), and the
answer is the window itself with its subject, as the document writes it: the title line, the section
line, the units. So each unit is stated by a pair's answer by construction, in the document's words; a
question that names none of the chunk's subject gets it (`unnamed`), so that it can be asked
closed-book. Each round draws other examples and other samples: the same units, asked in other words.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import yaml

from selfevo.config_data import GenerateParams
from selfevo.errors import PipelineError
from selfevo.generate.cleaning import clean_question, names_subject
from selfevo.generate.generation import generate_missing
from selfevo.generate.itemcache import ItemCache, item_key, item_seed
from selfevo.score.selection import ANCHORED
from selfevo.text import sentences

LONG_LINE = 200
"""A line longer than this many characters is prose: its sentences are its units."""
_HEADER = re.compile(r"^#{1,6}\s+\S.*$|^[^.!?。！？]{1,60}[:：]$")
_MARKER = re.compile(r"^(?:[-*+•]|\d+[.)])\s+")
_LABEL = re.compile(r"^[^\W\d][\w ]{0,20}[:：]\s*(?=\S)")


@dataclass(frozen=True)
class Window:
    title: str
    section: str
    units: tuple[str, ...]
    """The units as the document writes them (list markers kept)."""

    @property
    def answer(self) -> str:
        """The window with its subject: title line, section line, units."""
        return "\n".join([self.title, *([self.section] if self.section else []), *self.units])

    @property
    def text(self) -> str:
        """The units on one line, list markers off: what the question prompt shows."""
        return " ".join(_MARKER.sub("", u) for u in self.units)


def subject_of(title: str) -> str:
    """What a title names: its first part of a section path ("cut > DESCRIPTION" -> "cut"), a leading label
    off ("Alarm: ALM-1203 CPU Usage Too High" -> "ALM-1203 CPU Usage Too High"), heading marks off."""
    first = title.lstrip("#").strip().split(" > ")[0].strip()
    return _LABEL.sub("", first) or first


def units(text: str) -> tuple[str, list[tuple[str, int, str]]]:
    """A chunk's title and its units, each as (section, paragraph number, unit)."""
    lines = [line.strip() for line in text.split("\n")]
    start = next((i for i, line in enumerate(lines) if line), len(lines))
    title = lines[start].lstrip("#").strip() if start < len(lines) else ""
    section, paragraph, out = "", 0, []
    for line in lines[start + 1:]:
        if not line:
            paragraph += 1
        elif _HEADER.match(line):
            section, paragraph = line.lstrip("#").strip(), paragraph + 1
        else:
            out += [(section, paragraph, u) for u in ([line] if len(line) <= LONG_LINE else sentences(line))]
    return title, out


def windows(text: str, size: int) -> list[Window]:
    """The chunk's windows: consecutive units of one section and paragraph, `size` at most."""
    title, found = units(text)
    groups: list[tuple[str, int, list[str]]] = []
    for section, paragraph, unit in found:
        if not groups or groups[-1][:2] != (section, paragraph):
            groups.append((section, paragraph, []))
        groups[-1][2].append(unit)
    return [Window(title, section, tuple(us[i:i + size])) for section, _, us in groups for i in range(0, len(us), size)]


@dataclass(frozen=True)
class AnchorPrompt:
    block: str
    """One example or the window: {title}, {text}, {subject}; the question follows it."""
    unnamed: str
    """A question that names none of its chunk's subject: {question}, {subject}."""
    examples: tuple[dict, ...]
    openers: tuple[str, ...] = ()
    """First words a question may open with, one drawn per window: the reply is a question from its
    first token, in a form drawn by seed (none: the model opens it)."""

    @property
    def gap(self) -> str:
        return " " if self.block[-1].isascii() else ""

    def render(self, window: Window, n: int, rng: random.Random) -> tuple[str, str]:
        """The prompt: `n` examples drawn with `rng`, then the window, each in `block`, then an opener
        drawn with `rng`; and the opener, which the model writes on from."""
        def block(title: str, text: str) -> str:
            return (self.block.replace("{title}", title).replace("{subject}", subject_of(title))
                    .replace("{text}", text))
        shown = rng.sample(self.examples, min(n, len(self.examples)))
        opener = rng.choice(self.openers) if self.openers else ""
        return "\n\n".join([block(e["title"], e["text"]) + self.gap + e["question"] for e in shown]
                             + [block(window.title, window.text) + (self.gap + opener if opener else "")]), opener

    def as_dict(self) -> dict:
        return {"block": self.block, "unnamed": self.unnamed, "examples": list(self.examples),
                "openers": list(self.openers)}


def load_anchor_prompt(folder: str | Path) -> AnchorPrompt:
    path = Path(folder) / "anchor.yaml"
    if not path.is_file():
        raise PipelineError(f"{path}: anchored-question prompt not found (generate.anchor)")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    for key, fields in (("block", ("{title}", "{text}", "{subject}")), ("unnamed", ("{question}", "{subject}"))):
        if not isinstance(data.get(key), str) or not all(f in data[key] for f in fields):
            raise PipelineError(f"{path}: `{key}` must be a string holding {', '.join(fields)}")
    examples = data.get("examples")
    if not isinstance(examples, list) or not examples:
        raise PipelineError(f"{path}: `examples` must be a non-empty list")
    for n, e in enumerate(examples, 1):
        if not isinstance(e, dict) or not all(isinstance(e.get(k), str) and e[k].strip()
                                              for k in ("title", "text", "question")):
            raise PipelineError(f"{path}: examples[{n}]: needs non-empty `title`, `text` and `question`")
    openers = data.get("openers") or []
    if not isinstance(openers, list) or not all(isinstance(o, str) and o.strip() for o in openers):
        raise PipelineError(f"{path}: `openers` must be a list of words")
    return AnchorPrompt(data["block"], data["unnamed"], tuple(examples), tuple(o.strip() for o in openers))


def fit_anchor_prompt(tokenizer, prompt: AnchorPrompt, window: Window, n: int, seed: int,
                      budget: int) -> tuple[str, str]:
    """The window's prompt and opener (`AnchorPrompt.render`) with `n` examples drawn by `seed`, fewer
    where it is over `budget` tokens, and the window's text cut back (its start kept) where it is over
    with none."""
    def size(text: str) -> int:
        return len(tokenizer(text)["input_ids"]) if tokenizer is not None else 0
    for shown in range(n, -1, -1):
        text, opener = prompt.render(window, shown, random.Random(seed))
        if size(text) <= budget:
            return text, opener
    units_ = list(window.units)
    while size(text) > budget and len(units_[0]) > 1:
        units_ = [units_[0][:len(units_[0]) // 2]]
        text, opener = prompt.render(Window(window.title, window.section, tuple(units_)), 0, random.Random(seed))
    return text, opener


def anchored_question(raw: str, window: Window, chunk: dict, prompt: AnchorPrompt, opener: str = ""
                      ) -> tuple[str | None, str]:
    """The question of a raw reply after its opener (the cleaning's rules), given its chunk's subject
    where it names none (reason `subject_added`); or None and why it was dropped."""
    joined = opener + ("" if raw[:1] in "'’,.?" else prompt.gap) + raw if opener else raw
    question, why = clean_question(joined, chunk["text"])
    if question is None:
        return None, why
    if names_subject(question, chunk["text"], chunk.get("subject_terms", ())):
        return question, "kept"
    subject = subject_of(window.title)
    if subject.lower() in question.lower():
        return question, "kept"
    return prompt.unnamed.replace("{question}", question).replace("{subject}", subject), "subject_added"


def generate_anchored(model, tokenizer, chunks: list[dict], prompt: AnchorPrompt, params: GenerateParams,
                      label: int | str, cache: ItemCache | None = None) -> tuple[list[dict], dict]:
    """One pair per window of every chunk (`windows`), `{id, chunk_id, round, variant: anchored, question,
    answer}`, and stats: windows and units, pairs, questions given their subject, and the windows left
    without a pair by the reason of their last try (`generate.attempts` tries, fresh seeds each)."""
    recorded: dict[str, str] = cache.questions if cache else {}
    items = [(chunk, w, window) for chunk in chunks
             for w, window in enumerate(windows(chunk["text"], params.anchor_window))]
    names = [f"anchor:{params.anchor_window}:{params.anchor_examples}:{chunk['id']}/{w}" for chunk, w, _ in items]
    made: dict[int, dict] = {}
    reasons: Counter = Counter()
    added = reused = generated = 0
    pending = list(range(len(items)))
    for attempt in range(params.attempts):
        keys = [item_key(names[n], attempt) for n in pending]
        seeds = [item_seed(params.seed, label, key, "q") for key in keys]
        fitted = [fit_anchor_prompt(tokenizer, prompt, items[n][2], params.anchor_examples, seed,
                                    params.max_prompt_tokens) for n, seed in zip(pending, seeds)]
        prompts, openers = [p for p, _ in fitted], [o for _, o in fitted]
        cached = [recorded.get(key) for key in keys]
        raw = generate_missing(model, tokenizer, prompts, seeds, cached, max_new_tokens=params.max_question_tokens,
                               temperature=params.temperature, top_p=params.top_p, batch_size=params.batch_size,
                               max_batch_tokens=params.max_batch_tokens, max_prompt_tokens=params.max_prompt_tokens,
                               no_repeat_ngram=params.no_repeat_ngram, stop_at_line_end=True,
                               desc=f"anchored questions@{label} try {attempt + 1}",
                               on_done=(lambda idx, texts: cache.record_questions([keys[i] for i in idx], texts))
                               if cache else None)
        recorded.update(zip(keys, raw))
        if cache:
            cache.save()
        reused += sum(c is not None for c in cached)
        generated += sum(c is None for c in cached)
        why = {}
        for n, reply, opener in zip(pending, raw, openers):
            chunk, w, window = items[n]
            question, why[n] = anchored_question(reply, window, chunk, prompt, opener)
            if question:
                added += why[n] == "subject_added"
                made[n] = {"id": f"{chunk['id']}-a{w}-r{label}", "chunk_id": chunk["id"], "round": label,
                           "variant": ANCHORED, "question": question, "answer": window.answer}
        pending = [n for n in pending if n not in made]
        if attempt + 1 == params.attempts:
            reasons.update(why[n] for n in pending)
        if not pending:
            break
    pairs = [made[n] for n in sorted(made)]
    stats = {"windows": len(items), "units": sum(len(w.units) for _, _, w in items), "pairs": len(pairs),
             "units_in_pairs": sum(len(items[n][2].units) for n in made), "subject_added": added,
             "dropped": dict(sorted(reasons.items())), "generated": generated, "reused": reused}
    return pairs, stats
