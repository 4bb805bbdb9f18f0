"""Where the time of the last `dvc repro` went: each stage's time, from when its outputs were written.

    python scripts/stage_times.py --since <epoch seconds when dvc repro started> [--json out.json]

DVC runs the stages one after another, so a stage took the time between the last write of its own
outputs and the last write of the stage that ran before it (the first: since --since). Stages whose
outputs are older than --since did not run; they are left out. Prints a Markdown table (stage, time,
share) and, per kind of stage (generate, score, ...), the total over the rounds.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def last_write(path: Path) -> float | None:
    if path.is_dir():
        times = [p.stat().st_mtime for p in path.rglob("*") if p.is_file()]
        return max(times) if times else None
    return path.stat().st_mtime if path.exists() else None


def stage_ends(lock: dict, root: Path) -> dict[str, float]:
    """Each stage's last output write, by stage name."""
    ends = {}
    for name, stage in lock["stages"].items():
        times = [t for out in stage.get("outs", []) if (t := last_write(root / out["path"])) is not None]
        if times:
            ends[name] = max(times)
    return ends


def durations(ends: dict[str, float], since: float) -> list[tuple[str, float]]:
    """(stage, seconds) of the stages that ran after `since`, in the order they ran."""
    ran = sorted((t, name) for name, t in ends.items() if t >= since)
    out, previous = [], since
    for t, name in ran:
        out.append((name, t - previous))
        previous = t
    return out


def table(rows: list[tuple[str, float]]) -> str:
    total = sum(s for _, s in rows) or 1.0
    kinds: dict[str, float] = defaultdict(float)
    for name, seconds in rows:
        kinds[name.split("@")[0]] += seconds
    lines = ["| stage | time | share |", "|---|---|---|"]
    lines += [f"| {name} | {seconds:.0f} s | {seconds / total:.0%} |" for name, seconds in rows]
    lines += ["", "| kind of stage | time over the rounds | share |", "|---|---|---|"]
    lines += [f"| {kind} | {seconds:.0f} s | {seconds / total:.0%} |"
              for kind, seconds in sorted(kinds.items(), key=lambda kv: -kv[1])]
    lines += ["", f"Total: {total / 60:.1f} min"]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--since", type=float, required=True, help="when dvc repro started (epoch seconds)")
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args()
    lock = yaml.safe_load((args.root / "dvc.lock").read_text())
    rows = durations(stage_ends(lock, args.root), args.since)
    if not rows:
        sys.exit(f"no stage of {args.root / 'dvc.lock'} wrote its outputs after {args.since:.0f}")
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps([{"stage": n, "seconds": round(s, 1)} for n, s in rows], indent=2) + "\n")


if __name__ == "__main__":
    main()
