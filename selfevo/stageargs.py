"""A stage's command-line arguments, with the placeholders of dvc.yaml's commands filled from params.yaml.

DVC pastes a `${...}` value into a stage's `cmd:` before the shell reads it, so a param value holding a
quote would run as shell code, and an honest folder name with an apostrophe would break the command.
So no `cmd:` in dvc.yaml holds a `${...}` (tests/test_config.py): its arguments carry these
placeholders, which the stage fills from the checked params once the shell is done with the command:

    {round} {start} {trains}   the round the stage runs: rounds[i] of params.yaml, where DVC names the
                               stage `<name>@i` in the environment variable DVC_STAGE
    {language}                 prompts.language
    {corpus}                   corpus.path
    {test}                     evaluate.test

Run by hand, a stage takes the paths themselves and needs none of this."""

from __future__ import annotations

import argparse
import os
import re
import sys
from typing import Any

from selfevo.config import load_params, load_rounds, load_section
from selfevo.errors import PipelineError

_PLACEHOLDER = re.compile(r"\{(round|start|trains|language|corpus|test)\}")


def _round_index(stage: str) -> int:
    name = stage.rsplit(":", 1)[-1]  # DVC prefixes a dvc.yaml outside the root with its path and a colon
    index = name.rsplit("@", 1)[-1] if "@" in name else ""
    if not index.isdigit():
        raise PipelineError(f"this command names a round ({{round}}, {{start}} or {{trains}}) but DVC_STAGE is "
                            f"{stage!r}, not <stage>@<round>: run it with `dvc repro`, or by hand with the paths "
                            f"themselves")
    return int(index)


_FROM_PARAMS = {"language": ("prompts", "language"), "corpus": ("corpus", "path"), "test": ("evaluate", "test")}
_ROUND = frozenset({"round", "start", "trains"})


def placeholder_values(raw: dict[str, Any], stage: str,
                       wanted: frozenset[str] = frozenset(_FROM_PARAMS) | _ROUND) -> dict[str, str]:
    """The `wanted` placeholders' values for the stage DVC names `stage` (the round's only where it names
    one); a param no placeholder of the command names is not read, so the stage need not declare it."""
    values = {name: getattr(load_section(section, raw), key)
              for name, (section, key) in _FROM_PARAMS.items() if name in wanted}
    if wanted & _ROUND and "@" in stage.rsplit(":", 1)[-1]:
        rounds, index = load_rounds(raw), _round_index(stage)
        if index >= len(rounds):
            raise PipelineError(f"stage {stage}: params.yaml's rounds list has {len(rounds)} rounds")
        chosen = rounds[index]
        values.update(round=str(chosen.round), start=chosen.start, trains=chosen.trains)
    return values


def stage_args(parser: argparse.ArgumentParser, argv: list[str] | None = None) -> argparse.Namespace:
    """`parser.parse_args`, with every placeholder in the arguments filled from params.yaml."""
    argv = sys.argv[1:] if argv is None else argv
    wanted = frozenset(m.group(1) for a in argv for m in _PLACEHOLDER.finditer(a))
    if not wanted:
        return parser.parse_args(argv)
    stage = os.environ.get("DVC_STAGE", "")
    values = placeholder_values(load_params(), stage, wanted)

    def fill(match: re.Match) -> str:
        if match.group(1) not in values:
            _round_index(stage)  # raises: the round placeholders need a round stage
        return values[match.group(1)]

    return parser.parse_args([_PLACEHOLDER.sub(fill, a) for a in argv])
