"""The README and docs/: every relative link points to a file a fresh clone holds, inside the repository."""

import re
import subprocess
from pathlib import PurePosixPath

import pytest

from conftest import REPO

LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def documents():
    return [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def tracked() -> set[str]:
    """The files a clone holds: git's, which excludes every DVC output."""
    listed = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    return set(listed.splitlines())


@pytest.mark.parametrize("document", documents(), ids=lambda p: p.name)
def test_every_relative_link_points_to_a_tracked_file_inside_the_repository(document):
    files = tracked()
    folders = {str(p) for f in files for p in PurePosixPath(f).parents}
    broken = []
    for target in LINK.findall(document.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue  # a web address, or an anchor in the same page
        path = (document.parent / target.split("#")[0]).resolve()
        if not path.is_relative_to(REPO):
            broken.append(f"{target} (outside the repository)")
            continue
        relative = str(path.relative_to(REPO))
        if relative not in files and relative not in folders:
            broken.append(f"{target} (not in a clone)")
    assert not broken, f"{document.name}: " + "; ".join(broken)


def test_the_layout_lists_every_module_and_stage_and_nothing_else():
    """docs/layout.md names each library module and stage script once, and names none that is gone."""
    layout = (REPO / "docs" / "layout.md").read_text(encoding="utf-8")
    named = set(re.findall(r"\b([a-z_]+\.py)\b", layout))
    code = {p.name for p in (REPO / "selfevo").rglob("*.py") if p.name != "__init__.py"} | \
        {p.name for p in (REPO / "stages").glob("*.py")}
    assert not code - named, f"docs/layout.md does not list {sorted(code - named)}"
    scripts = {p.name for p in (REPO / "scripts").glob("*.py")} | {p.name for p in (REPO / "tests").rglob("*.py")}
    assert not named - code - scripts, f"docs/layout.md lists {sorted(named - code - scripts)}, which do not exist"
