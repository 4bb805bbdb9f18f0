"""Typed views of params.yaml: one dataclass per section, checked at stage start.

params.yaml is the only source of every value; a stage reads just the keys it declares in dvc.yaml (so
an edit to a key it does not read leaves it cached; the pipeline tests trace the reads to check it). A
wrong or missing key fails here with its dotted name, before any work is done.
"""

from __future__ import annotations

import atexit
import dataclasses
import functools
import os
import sys
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml

from selfevo.config_data import CorpusParams, GenerateParams, JudgeParams, ModelParams, PromptParams, ScoreParams
from selfevo.config_train import BaselineParams, EvaluateParams, SelectionParams, TrainParams
from selfevo.errors import PARAMS_FILE, PipelineError, check_param

T = TypeVar("T")


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
    check_param(isinstance(raw, dict), key, "must be a mapping")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - names)
    check_param(not unknown, f"{key}.{unknown[0]}" if unknown else key, "unknown key")
    missing = sorted(names - set(raw))
    check_param(not missing, f"{key}.{missing[0]}" if missing else key, "missing key")
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
    check_param(isinstance(raw, dict), "(top level)", "must be a mapping")
    for name in sorted(set(raw) - set(SECTIONS) - {"rounds"}):
        print(f"warning: {path}: unknown section {name!r} is ignored (known: {', '.join(SECTIONS)}, rounds)",
              file=sys.stderr)
    return raw


def load_section(name: str, params: dict[str, Any] | None = None) -> Any:
    """The typed, checked section `name` of params.yaml (under $SELFEVO_PARAMS_TRACE, one that records
    the keys the stage reads: `TRACE_ENV`)."""
    params = load_params() if params is None else params
    check_param(name in params, name, "missing section")
    section = _build(SECTIONS[name], params[name], name)
    if os.environ.get(TRACE_ENV):
        _write_reads_at_exit()
        object.__setattr__(section, "__class__", _traced_class(type(section), name))
    return section


TRACE_ENV = "SELFEVO_PARAMS_TRACE"
"""A folder: each stage process that loads params writes there the `section.key`s it read, one per line,
as `<DVC stage, or script>.<pid>.txt` (tests/test_pipeline.py checks them against dvc.yaml's)."""

_READS: set[str] = set()


@functools.cache
def _traced_class(cls: type, section: str) -> type:
    """`cls` whose instances record every field read (the checks of `__post_init__` ran before)."""
    fields = frozenset(f.name for f in dataclasses.fields(cls))

    def __getattribute__(self, key):
        if key in fields:
            _READS.add(f"{section}.{key}")
        return object.__getattribute__(self, key)

    return type(cls.__name__, (cls,), {"__getattribute__": __getattribute__})


@functools.cache
def _write_reads_at_exit() -> None:
    atexit.register(_write_reads)


def _write_reads() -> None:
    folder = Path(os.environ[TRACE_ENV])
    folder.mkdir(parents=True, exist_ok=True)
    stage = os.environ.get("DVC_STAGE", "").rsplit(":", 1)[-1] or Path(sys.argv[0]).stem
    (folder / f"{stage}.{os.getpid()}.txt").write_text("".join(f"{k}\n" for k in sorted(_READS)))


def load_rounds(params: dict[str, Any] | None = None) -> list[Round]:
    """The round list, checked to be a chain: round i starts from the model that round i-1 trained."""
    params = load_params() if params is None else params
    raw = params.get("rounds")
    check_param(isinstance(raw, list) and len(raw) > 0, "rounds", "must be a non-empty list")
    rounds = [_build(Round, r, f"rounds[{i}]") for i, r in enumerate(raw)]
    for i, r in enumerate(rounds):
        start = "base" if i == 0 else f"theta_{i}"
        check_param(r.round == i and r.start == start and r.trains == f"theta_{i + 1}", f"rounds[{i}]",
               f"expected {{round: {i}, start: {start}, trains: theta_{i + 1}}}, got "
               f"{{round: {r.round}, start: {r.start}, trains: {r.trains}}}")
    return rounds
