"""dvc.yaml's code deps are the code each stage runs: its script and every selfevo module the script
imports, directly or through other modules (imports inside functions included). A stage that imports
a module it does not depend on would keep stale results after an edit there, and `dvc repro` would
call them up to date; a dep it does not import would rerun it for nothing."""

import ast
import re
import shlex
from pathlib import Path

import pytest
import yaml

from conftest import REPO
from selfevo.config import CorpusParams
from selfevo.errors import PipelineError


def selfevo_imports(path: Path) -> set[str]:
    """The selfevo modules a file imports, as repository paths (selfevo/x.py)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "selfevo":
            if node.module == "selfevo":
                found |= {f"selfevo/{alias.name}.py" for alias in node.names}
            else:
                found.add(node.module.replace(".", "/") + ".py")
        elif isinstance(node, ast.Import):
            found |= {a.name.replace(".", "/") + ".py" for a in node.names if a.name.startswith("selfevo.")}
    return found


def code_closure(script: str) -> set[str]:
    """The script and every selfevo module reachable from it through imports."""
    seen, todo = {script}, [script]
    while todo:
        for module in selfevo_imports(REPO / todo.pop()):
            assert (REPO / module).is_file(), f"{module} is imported but does not exist"
            if module not in seen:
                seen.add(module)
                todo.append(module)
    return seen


def stages() -> dict[str, dict]:
    raw = yaml.safe_load((REPO / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    return {name: stage.get("do", stage) for name, stage in raw.items()}


@pytest.mark.parametrize("name", sorted(stages()))
def test_code_deps_are_exactly_what_the_stage_imports(name):
    stage = stages()[name]
    script = re.match(r"python (stages/\w+\.py)", stage["cmd"]).group(1)
    declared = {d for d in stage["deps"] if d.startswith(("stages/", "selfevo/"))}
    needed = code_closure(script)
    assert not needed - declared, f"{name}: runs code it does not depend on: {sorted(needed - declared)}"
    assert not declared - needed, f"{name}: depends on code it does not run: {sorted(declared - needed)}"


def test_the_import_scan_sees_imports_inside_functions():
    """vllm_backend.py imports vllm_logits inside a method (after vllm itself), chat.py generation."""
    assert "selfevo/vllm_logits.py" in selfevo_imports(REPO / "selfevo/vllm_backend.py")
    assert "selfevo/generation.py" in selfevo_imports(REPO / "selfevo/chat.py")
    assert "selfevo/batching.py" in code_closure("stages/evaluate.py")


@pytest.mark.parametrize("name", sorted(stages()))
def test_every_interpolated_value_reaches_its_stage_as_one_argument(name):
    """dvc runs a command through the shell: a value with spaces or shell syntax stays one argument."""
    hostile = "my docs;touch X;# $(id) `id` *"
    cmd = stages()[name]["cmd"]
    argv = shlex.split(re.sub(r"\$\{[^}]+\}", lambda m: hostile, cmd))
    assert len(argv) == len(shlex.split(re.sub(r"\$\{[^}]+\}", "x", cmd)))
    assert sum(arg.count(hostile) for arg in argv) == cmd.count("${")


def test_a_corpus_path_that_would_break_the_quoting_is_refused():
    with pytest.raises(PipelineError, match=r"corpus.path: must be a path with no single quote"):
        CorpusParams(path="it's; touch X", text_field="t", max_chunk_chars=10, min_chunk_chars=1, convert_timeout=1)
