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
    assert "selfevo/generate/vllm_logits.py" in selfevo_imports(REPO / "selfevo/generate/vllm_backend.py")
    assert "selfevo/generate/generation.py" in selfevo_imports(REPO / "selfevo/chat.py")
    assert "selfevo/batching.py" in code_closure("stages/evaluate.py")


@pytest.mark.parametrize("name", sorted(stages()))
def test_no_param_value_is_pasted_into_a_command(name):
    """DVC pastes `${...}` into `cmd:` before the shell reads it: no command holds one; the stage fills
    its placeholders itself (selfevo/stageargs.py)."""
    cmd = stages()[name]["cmd"]
    assert "${" not in cmd
    assert all(arg.count("'") == 0 for arg in shlex.split(cmd))


def test_placeholders_are_filled_from_params_after_the_shell(monkeypatch, tmp_path):
    """A corpus folder named like shell code is one argument, verbatim; a round stage gets its round."""
    import argparse

    from selfevo.stageargs import stage_args

    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["corpus"]["path"] = "data/x'; touch PWNED; echo '"
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    monkeypatch.chdir(tmp_path)
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus")
    parser.add_argument("--out")
    monkeypatch.setenv("DVC_STAGE", "train@1")
    args = stage_args(parser, ["--corpus", "{corpus}", "--out", "models/{trains}/r{round}_{start}.{language}"])
    assert args.corpus == "data/x'; touch PWNED; echo '"
    assert args.out == "models/theta_2/r1_theta_1.en"
    monkeypatch.setenv("DVC_STAGE", "prepare")
    with pytest.raises(PipelineError, match="DVC_STAGE is 'prepare', not <stage>@<round>"):
        stage_args(parser, ["--out", "models/{trains}"])
    monkeypatch.setenv("DVC_STAGE", "train@7")
    with pytest.raises(PipelineError, match="stage train@7: params.yaml's rounds list has 3 rounds"):
        stage_args(parser, ["--out", "models/{trains}"])
    assert stage_args(parser, ["--out", "plain/path"]).out == "plain/path"  # by hand: paths as given


def test_no_selfevo_module_imports_itself_through_others():
    """The library is a tree of concerns: no import cycle (a module reached again from its own imports)."""
    graph = {str(p.relative_to(REPO)): set(selfevo_imports(p)) for p in (REPO / "selfevo").rglob("*.py")}

    def cycle_from(start: str) -> list[str] | None:
        todo, seen = [(start, [start])], set()
        while todo:
            module, path = todo.pop()
            for nxt in graph.get(module, ()):
                if nxt == start:
                    return path + [nxt]
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append((nxt, path + [nxt]))
        return None

    cycles = [c for c in map(cycle_from, sorted(graph)) if c]
    assert not cycles, " ; ".join(" -> ".join(c) for c in cycles)


def test_no_selfevo_module_is_over_300_lines():
    """The library stays cut by concern: a module that grows past 300 lines is split (docs/layout.md)."""
    long = {str(p.relative_to(REPO)): n for p in (REPO / "selfevo").rglob("*.py")
            if (n := len(p.read_text().splitlines())) > 300}
    assert not long, long


PHASES = ("data", "generate", "score", "train", "evaluate", "models")


def test_the_library_is_cut_by_the_pipeline_s_phases():
    """selfevo/ holds one sub-package per phase, in the order data flows (and the models they all load),
    beside a small core that every phase uses (params, errors, JSON, batching, text, processes) and the
    two public entry points (`python -m selfevo.chat`, `python -m selfevo.export`). No core module
    imports a phase's, so the core stays below the phases."""
    packages = sorted(p.name for p in (REPO / "selfevo").iterdir() if (p / "__init__.py").is_file())
    assert packages == sorted(PHASES)
    core = {p.name for p in (REPO / "selfevo").glob("*.py")} - {"__init__.py", "chat.py", "export.py"}
    assert core == {"batching.py", "config.py", "config_data.py", "config_train.py", "distributed.py", "errors.py",
                    "jsonio.py", "stageargs.py", "text.py"}
    for name in core:
        upward = {m for m in selfevo_imports(REPO / "selfevo" / name) if m.count("/") > 1}
        assert not upward, f"selfevo/{name} imports {sorted(upward)}"
