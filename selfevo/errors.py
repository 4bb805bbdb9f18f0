"""The one exception type the stages report to users, and the wrapper that reports it."""

import errno
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Callable

SHELLS = {"sh", "dash", "bash", "zsh", "fish", "ksh"}
DISK_ERRORS = {errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EDQUOT, errno.EPERM}
"""Errors of the place a stage writes to, not of its code: told in one line, without a traceback."""


class PipelineError(Exception):
    """Bad input or configuration: always names the file, record or key at fault."""


PARAMS_FILE = "params.yaml"  # DVC's own default; `dvc exp run -S` edits this file


def check_param(ok: bool, key: str, message: str) -> None:
    """A params.yaml value that breaks its rule stops the stage, naming its dotted key."""
    if not ok:
        raise PipelineError(f"{PARAMS_FILE}: {key}: {message}")


def check_budget(value: int | None, key: str) -> None:
    check_param(value is None or (isinstance(value, int) and value > 0), key, "must be a positive integer or null")


def check_writable(folder: Path, what: str) -> None:
    """Stop with a clear error, before any work, where `folder` (made if missing) cannot be written."""
    import tempfile

    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as e:
        raise PipelineError(f"{what} {folder}: cannot be written ({e.strerror or e}); nothing was computed yet")


def _parent_of(pid: int) -> int | None:
    """The parent pid of a live process (Linux /proc), or None when it cannot be read."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def _terminated(signum, frame) -> None:
    print(f"stopped: {Path(sys.argv[0]).stem} was terminated; what it had finished is kept, rerun to go on",
          file=sys.stderr)
    sys.exit(128 + signum)


def _stop_with_launcher(poll_s: float = 1.0) -> None:
    """SIGTERM ends the stage as an exception (so atomic writes clean up after themselves), and the stage
    stops itself when whoever started it is gone: dvc runs a stage's command through `$SHELL -c`, so the
    launcher is the shell's parent when the parent is a shell (dash does not exec the command), else the
    parent. A stopped or killed `dvc repro` leaves no stage writing behind it."""
    signal.signal(signal.SIGTERM, _terminated)
    parent = os.getppid()
    grandparent = _parent_of(parent)
    if grandparent is None:  # no /proc: not Linux
        return
    try:
        shell = Path(f"/proc/{parent}/comm").read_text().strip() in SHELLS
    except OSError:
        shell = False

    def watch() -> None:
        while os.getppid() == parent and (not shell or _parent_of(parent) == grandparent):
            time.sleep(poll_s)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, daemon=True, name="stop-with-launcher").start()


def run_stage(main: Callable[[], None]) -> None:
    """Run a stage's main(); a PipelineError ends it with one clear line and exit status 1."""
    _stop_with_launcher()
    try:
        main()
    except PipelineError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
    except OSError as e:
        if e.errno not in DISK_ERRORS:
            raise
        print(f"error: {e.filename or 'a file'}: cannot be written ({e.strerror}); free space or choose a writable "
              f"place, then rerun", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print(f"stopped: {Path(sys.argv[0]).stem} was interrupted; what it had finished is kept, rerun to go on",
              file=sys.stderr)
        sys.exit(130)
