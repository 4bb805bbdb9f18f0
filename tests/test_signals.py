"""A stopped `dvc repro` leaves no stage running behind it."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
STAGE = """
import os, sys, time
from pathlib import Path
from selfevo.errors import run_stage
def main():
    Path("pid").write_text(str(os.getpid()))
    time.sleep(60)
    Path("late").write_text("written after dvc stopped")
run_stage(main)
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat").read_text().split()[2] if Path(f"/proc/{pid}/stat").exists() else "?"
    return state != "Z"


def test_sigterm_to_dvc_stops_the_stage(tmp_path):
    (tmp_path / "stage.py").write_text(STAGE)
    (tmp_path / "dvc.yaml").write_text(f"stages:\n  slow:\n    cmd: {sys.executable} stage.py\n    outs: [late]\n")
    env = {**os.environ, "PYTHONPATH": str(REPO), "DVC_NO_ANALYTICS": "1"}
    dvc = [sys.executable, "-m", "dvc"]
    subprocess.run([*dvc, "init", "--no-scm", "-q"], cwd=tmp_path, env=env, check=True)
    repro = subprocess.Popen([*dvc, "repro", "-q"], cwd=tmp_path, env=env)
    deadline = time.time() + 60
    while not (tmp_path / "pid").exists() and time.time() < deadline:
        time.sleep(0.2)
    stage = int((tmp_path / "pid").read_text())
    repro.send_signal(signal.SIGTERM)
    repro.wait(timeout=30)
    deadline = time.time() + 10
    while alive(stage) and time.time() < deadline:
        time.sleep(0.1)
    assert not alive(stage), "the stage outlived dvc"
    assert not (tmp_path / "late").exists()


@pytest.mark.parametrize("raised,told,code", [
    ("OSError(errno.ENOSPC, 'No space left on device', 'metrics/x.json')",
     "error: metrics/x.json: cannot be written (No space left on device)", 1),
    ("OSError(errno.EROFS, 'Read-only file system', 'models/theta_1')",
     "error: models/theta_1: cannot be written (Read-only file system)", 1),
    ("KeyboardInterrupt()", "was interrupted; what it had finished is kept", 130),
])
def test_a_full_disk_or_an_interrupt_ends_a_stage_with_one_line(tmp_path, raised, told, code):
    script = tmp_path / "stage.py"
    script.write_text(f"import errno\nfrom selfevo.errors import run_stage\n\ndef main():\n    raise {raised}\n\n"
                      "run_stage(main)\n")
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
    assert result.returncode == code
    assert told in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
