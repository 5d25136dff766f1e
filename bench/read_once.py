"""Benchmark: a deploy of the 1 GB corpus reads each byte of the build dir once.

    .venv/bin/python bench/read_once.py [--corpus large] [--workdir DIR]

The real CLI runs in a process of its own against the emulator (also its own process):
`python -c` installs an audit hook that counts every `open` of a file under the build
dir, then calls `comwit.cli.main(["apply", "--yes"])`. Three applies, each checked:

1. first deploy (new app, no stat cache): every file opened exactly once;
2. one file changed, stat cache warm: every file opened exactly once (packed while
   planning, the digest taken from the pack);
3. nothing changed: no file opened at all, no upload.

Bytes read = sum of (size x opens): each file is read whole once opened. Exit 1 when any
file is opened more often than that. Everything is removed at the end, also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import make_site_repo
from emulator_process import (
    Emulator,
    describe_machine,
    markdown_table,
    running_emulator,
    scratch,
)

_PROJECT = "bench-read-once"
_SCOPES = ("project:read", "app:read", "app:deploy", "app:write")

# Runs in the CLI's process: count opens under the build dir, run main(), write the counts.
_COUNTING_MAIN = """
import collections, os, sys
site, report = os.path.realpath(sys.argv[1]) + "/", sys.argv[2]
opened = collections.Counter()
def hook(event, args):
    if event == "open" and isinstance(args[0], str) and args[0].startswith(site):
        opened[args[0][len(site):]] += 1
sys.addaudithook(hook)
from comwit.cli import main
code = main(sys.argv[3:])
with open(report, "w") as out:
    import json; json.dump(dict(opened), out)
sys.exit(code)
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="large", help="a corpus name of bench/corpus.py")
    parser.add_argument("--workdir", type=Path, default=None, help="where the temp dir goes")
    args = parser.parse_args()
    with scratch("comwit-bench-read-once-", args.workdir) as work:
        root = work / "repo"
        corpus = make_site_repo(args.corpus, root, _PROJECT)
        sizes = _sizes(corpus.path)
        rows = [("apply", "files", "opened once", "opened more", "bytes read", "x tree", "wall s")]
        failed = False
        with running_emulator(work / "emulator", work / "emulator.log") as emulator:
            token = emulator.issue_token(_SCOPES, [_PROJECT])
            for label, expect_reads in (("first deploy", True), ("one file changed", True)):
                if label == "one file changed":
                    changed = corpus.path / sorted(sizes)[len(sizes) // 2]
                    changed.write_bytes(changed.read_bytes()[::-1] + b"!")
                    sizes = _sizes(corpus.path)
                    time.sleep(2.5)
                row, ok = _apply(
                    label, root, corpus.path, sizes, emulator, token, work, expect_reads
                )
                rows.append(row)
                failed |= not ok
            row, ok = _apply(
                "nothing changed", root, corpus.path, sizes, emulator, token, work, False
            )
            rows.append(row)
            failed |= not ok
        print(f"{len(sizes)} files, {sum(sizes.values()) / 1e6:.0f} MB")
        print(markdown_table(rows))
        print("each byte read once: " + ("MISSED" if failed else "yes"))
        print(describe_machine())
        return 1 if failed else 0


def _apply(
    label: str,
    root: Path,
    site: Path,
    sizes: dict[str, int],
    emulator: Emulator,
    token: str,
    work: Path,
    reads: bool,
) -> tuple[tuple[str, ...], bool]:
    report = work / "opened.json"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("COMWIT_")}
    environ |= {"COMWIT_API_URL": emulator.url, "COMWIT_TOKEN": token, "NO_COLOR": "1"}
    command = [sys.executable, "-c", _COUNTING_MAIN, str(site), str(report), "apply", "--yes"]
    start = time.perf_counter()
    proc = subprocess.run(
        command, cwd=root, env=environ, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{label}: apply failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    opened: dict[str, int] = json.loads(report.read_text())
    opened = {path: n for path, n in opened.items() if path in sizes}  # not .comwitignore
    once = sum(1 for n in opened.values() if n == 1)
    more = sum(1 for n in opened.values() if n > 1)
    read = sum(sizes[path] * n for path, n in opened.items())
    total = sum(sizes.values())
    ok = (once == len(sizes) and more == 0) if reads else not opened
    row = (
        label,
        str(len(sizes)),
        str(once),
        str(more),
        str(read),
        f"{read / total:.2f}",
        f"{seconds:.2f}",
    )
    return row, ok


def _sizes(site: Path) -> dict[str, int]:
    return {
        str(path.relative_to(site)): path.stat().st_size
        for path in site.rglob("*")
        if path.is_file() and not path.is_symlink()
    }


if __name__ == "__main__":
    raise SystemExit(main())
