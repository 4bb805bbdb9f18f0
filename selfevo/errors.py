"""The one exception type the stages report to users, and the wrapper that reports it."""

import sys
from typing import Callable


class PipelineError(Exception):
    """Bad input or configuration: always names the file, record or key at fault."""


def run_stage(main: Callable[[], None]) -> None:
    """Run a stage's main(); a PipelineError ends it with one clear line and exit status 1."""
    try:
        main()
    except PipelineError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
