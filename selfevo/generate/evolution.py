"""Question-prompt evolution (Dial-insight's diverse prompts): a population of question-prompt
variants, each a task sentence (what kind of question to ask, and how) set into one frame. Each chunk
draws its variant by a seeded weighted choice; after a round, variants whose pairs scored well (judge
and IFD) are kept and mutated by the model itself with an evolution prompt, weak ones are dropped.

A prompt set is a JSON file, {"frame", "evolve", "variants": [{id, kind, form, task, weight, parent,
born}]}: round r reads the set `evolve@r-1` wrote (round 0 the seed set of prompts/<lang>/variants.yaml),
so the evolved set is a DVC output the next round depends on. Everything is seeded.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections import Counter
from pathlib import Path

import yaml

from selfevo.errors import PipelineError
from selfevo.generate.prompts import Messages
from selfevo.score.judge import DIMENSIONS

VARIANTS_FILE = "variants.yaml"


def load_seed_set(folder: str | Path) -> dict:
    """The seed prompt set of prompts/<lang>/variants.yaml, checked."""
    path = Path(folder) / VARIANTS_FILE
    if not path.is_file():
        raise PipelineError(f"{path}: prompt variants file not found")
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    for key, placeholders in (("frame", ("{knowledge}", "{task}")), ("evolve", ("{task}",))):
        if not isinstance(raw.get(key), str):
            raise PipelineError(f"{path}: missing {key!r}")
        for placeholder in placeholders:
            if placeholder not in raw[key]:
                raise PipelineError(f"{path}: {key}: no {placeholder} placeholder")
    seeds = raw.get("seeds")
    if not isinstance(seeds, list) or len(seeds) < 2:
        raise PipelineError(f"{path}: seeds: give at least two variants")
    variants = []
    for i, seed in enumerate(seeds):
        if not isinstance(seed, dict) or not all(isinstance(seed.get(k), str) and seed[k] for k in ("kind", "form", "task")):
            raise PipelineError(f"{path}: seeds[{i}]: needs kind, form and task (strings)")
        variants.append({"id": f"s{i}", "kind": seed["kind"], "form": seed["form"], "task": seed["task"].strip(),
                         "weight": 1.0, "parent": None, "born": "seed"})
    return {"frame": raw["frame"].strip(), "evolve": raw["evolve"].strip(), "variants": variants}


def asks_from_set(evolve: bool, questions_per_chunk: int) -> bool:
    """Whether any question is asked with a variant of the prompt set: with prompt evolution, or more
    than one question per chunk; otherwise every question is asked with the fixed prompt."""
    return evolve or questions_per_chunk > 1


def set_in_use(folder: str | Path, evolve: bool, questions_per_chunk: int) -> dict:
    """The seed set (`load_seed_set`, checked either way) when questions are asked from it: with prompt
    evolution, or more than one question per chunk. Otherwise every question is asked with the fixed
    prompt, and the set holds no variants, so an edit of variants.yaml changes no round's input and
    reruns no round."""
    prompt_set = load_seed_set(folder)
    if asks_from_set(evolve, questions_per_chunk):
        return prompt_set
    return {"variants": [], "unused": "generate.evolve_prompts is false and generate.questions_per_chunk is 1: "
                                      "every question is asked with the fixed prompt (question.txt)"}


def question_template(prompt_set: dict, variant: dict) -> str:
    """The variant's question prompt, with its {knowledge} placeholder."""
    return prompt_set["frame"].replace("{task}", variant["task"])


def slot_variants(prompt_set: dict, first: tuple[str, str], n: int, seed: int, label: int | str,
                  chunk_id: str) -> list[tuple[str, str]]:
    """A chunk's question prompts for `n` slots, (variant id, template) each: slot 0 is `first`, every
    other slot a variant of a kind no earlier slot has (a seeded weighted choice per chunk and slot),
    so a chunk's questions ask for different things. Fewer when the set has fewer kinds."""
    if n <= 1:
        return [first]
    by_template = {question_template(prompt_set, v): v["kind"] for v in prompt_set["variants"]}
    by_id = {v["id"]: v["kind"] for v in prompt_set["variants"]}
    kinds = {by_id.get(first[0]) or by_template.get(first[1])}
    slots = [first]
    for slot in range(1, n):
        left = [v for v in prompt_set["variants"] if v["kind"] not in kinds]
        if not left:
            break
        chosen = choose_variant(left, seed, f"{label}/{slot}", chunk_id)
        kinds.add(chosen["kind"])
        slots.append((chosen["id"], question_template(prompt_set, chosen)))
    return slots


def chunk_slots(prompt_set: dict, fixed: str, chunks: list[dict], *, evolve: bool, n: int, seed: int,
                label: int | str) -> list[list[tuple[str, str]]]:
    """Per chunk, its question slots' (variant id, template): slot 0 asks with a variant of the set
    drawn for the chunk (`choose_variant`) when prompts evolve, else with the fixed prompt `fixed`;
    slots 1..n-1 ask for other kinds (`slot_variants`)."""
    slots = []
    for chunk in chunks:
        if evolve:
            drawn = choose_variant(prompt_set["variants"], seed, label, chunk["id"])
            first = (drawn["id"], question_template(prompt_set, drawn))
        else:
            first = ("fixed", fixed)
        slots.append(slot_variants(prompt_set, first, n, seed, label, chunk["id"]))
    return slots


def choose_variant(variants: list[dict], seed: int, label: int | str, chunk_id: str) -> dict:
    """A seeded weighted choice per chunk: it depends on the chunk and the set, not on the others."""
    digest = hashlib.sha256(f"{seed}:{label}:{chunk_id}:variant".encode()).hexdigest()
    rng = random.Random(int(digest[:16], 16))
    return rng.choices(variants, weights=[v["weight"] for v in variants])[0]


def pair_quality(pair: dict) -> float:
    """A kept pair's quality in [0, 1]: its mean judge score, lowered when its IFD is above 1 (the
    question made the answer harder to predict: a mismatched pair)."""
    judged = sum(pair["judge"][d] for d in DIMENSIONS) / len(DIMENSIONS)
    ifd = pair.get("ifd")
    return judged if ifd is None or ifd <= 1 else judged / ifd


def fitness(variants: list[dict], drawn: Counter, kept_pairs: list[dict]) -> dict[str, float]:
    """Per variant: the summed quality of its kept pairs over the chunks that drew it, so a pair that
    cleaning or the judge dropped counts 0. A variant no chunk drew keeps its weight as its fitness."""
    total: Counter = Counter()
    for pair in kept_pairs:
        total[pair["variant"]] += pair_quality(pair)
    return {v["id"]: round(total[v["id"]] / drawn[v["id"]], 6) if drawn[v["id"]] else v["weight"] for v in variants}


def evolve_messages(prompt_set: dict, task: str) -> Messages:
    return [{"role": "user", "content": prompt_set["evolve"].replace("{task}", task)}]


def clean_task(raw: str, lead: str, existing: set[str]) -> str | None:
    """A mutated task sentence, or None: the first line, unquoted; it must start like the seeds
    (`lead`), be one sentence of 20-200 characters and new."""
    line = raw.strip().split("\n")[0].strip().strip('"').strip()
    line = re.sub(r"^(new instruction|instruction)\s*:\s*", "", line, flags=re.IGNORECASE)
    if not line.lower().startswith(lead.lower()) or not 20 <= len(line) <= 200:
        return None
    if not line.endswith((".", "?", "。", "？")):
        line += "."
    if re.search(r"[.?!。？！]\s*\S", line[:-1]) or line in existing:
        return None
    return line


def fittest(variants: list[dict], scores: dict[str, float], keep: int) -> list[dict]:
    """The `keep` variants with the highest fitness (ties: set order)."""
    return sorted(variants, key=lambda v: -scores[v["id"]])[:keep]


def next_generation(prompt_set: dict, scores: dict[str, float], mutations: dict[str, str | None], *,
                    keep: int, label: int | str) -> dict:
    """The next prompt set: the `keep` fittest variants (ties: seed order), weighted by fitness, and
    one child per kept variant whose mutation was valid (`mutations`: parent id -> new task or None),
    born in round `label` with its parent's fitness as weight. Weights never fall to 0 (a floor of
    0.01), so a variant can recover."""
    ranked = fittest(prompt_set["variants"], scores, keep)
    survivors = [{**v, "weight": max(scores[v["id"]], 0.01)} for v in ranked]
    children = [{"id": f"r{label}-{v['id']}", "kind": v["kind"], "form": f"{v['form']}+evolved",
                 "task": mutations[v["id"]], "weight": max(scores[v["id"]], 0.01), "parent": v["id"],
                 "born": label} for v in ranked if mutations.get(v["id"])]
    return {**prompt_set, "variants": survivors + children}
