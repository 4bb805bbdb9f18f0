"""The second corpus: GNU coreutils' manual pages as Markdown, one document per command (not alarm
sheets; used to tune prompts and cleaning rules beside the sample, never as a test set).

    python scripts/make_man_corpus.py --out data/corpora/coreutils

Needs `man` and the coreutils manual pages (Debian: packages man-db and coreutils). The pages are
rendered as plain text, their section titles become `##` headings under a `# <command>` title, and the
sections that every page shares (AUTHOR, REPORTING BUGS, COPYRIGHT, SEE ALSO) are left out. The pages
are GPL-3.0-or-later, like coreutils (see the folder's README.md).
"""

import argparse
import os
import re
import subprocess
from pathlib import Path

COMMANDS = """basename cat chgrp chmod chown comm cp csplit cut date dd df dirname du echo env expand expr factor
fmt fold head id join ln ls mkdir mktemp mv nl nproc od paste printf realpath rm rmdir seq shuf sleep sort split
stat tac tail tee timeout touch tr truncate uniq wc""".split()
BOILERPLATE = {"AUTHOR", "REPORTING BUGS", "COPYRIGHT", "SEE ALSO"}


def page(command: str) -> str:
    env = {**os.environ, "MANWIDTH": "1000", "MANOPT": "--nh --nj"}  # one line per paragraph, no hyphens
    text = subprocess.run(["man", "-P", "cat", "1", command], env=env, capture_output=True, text=True,
                          check=True).stdout
    text = re.sub(r".\x08", "", text)  # overstrike bold and underline
    lines = text.split("\n")[1:]  # the running header
    while lines and not lines[-1].strip():
        lines.pop()
    lines = lines[:-1]  # the running footer
    out, keep = [f"# {command}", ""], True
    for line in lines:
        if line and not line[0].isspace():
            keep = line.strip() not in BOILERPLATE
            if keep:
                out += ["", f"## {line.strip()}", ""]
        elif keep:
            out.append(line.strip())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip() + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for command in COMMANDS:
        (out / f"{command}.md").write_text(page(command), encoding="utf-8")
    print(f"{len(COMMANDS)} pages -> {out}")


if __name__ == "__main__":
    main()
