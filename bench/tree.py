"""Benchmark: a no-change `comwit plan` of one app with 100,000 small files.

    .venv/bin/python bench/tree.py [--corpus many] [--runs 5] [--workdir DIR]

One app whose build dir is the `many` corpus (100,000 files / 200 MB shaped like
node_modules) is deployed once with `comwit apply --yes` against the emulator in its own
process; then `comwit plan --detailed-exitcode` (the real CLI, whole process, start-up
included) must find no changes, timed side by side with what it is compared with, the
runs alternating:

- first run (no stat cache: `.comwit/stat/` and `.comwit/trees/` removed before each run,
  as in a fresh checkout): every file is read and hashed. Baseline:
  `find DIR -type f -print0 | sort -z | xargs -0 sha256sum`. Target: within 1.5x.
- second run (the stat cache of the run before): nothing is read, only lstat'ed.
  Baseline: `find DIR -printf '%s %T@ %i %p\\n'`. Target: within 2x.

`comwit --version` is timed too, so the start-up share of each plan shows. comwit runs
with its .pyc files written, as an installed comwit has them (PYTHONDONTWRITEBYTECODE is
left out). Everything is removed at the end, also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import make_site_repo
from emulator_process import (
    Run,
    check,
    describe_machine,
    markdown_table,
    run_comwit,
    running_emulator,
    scratch,
)

_PROJECT = "bench-tree"
_SCOPES = ("project:read", "app:read", "app:deploy", "app:write")
_PLAN = ["plan", "-q", "--detailed-exitcode"]  # exit 2 would mean changes: a failure here
_FIRST_TARGET = 1.5
_SECOND_TARGET = 2.0


@dataclass(frozen=True)
class Sample:
    seconds: float
    cpu: float
    rss_mb: float


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="many", help="a corpus name of bench/corpus.py")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workdir", type=Path, default=None, help="where the temp dir goes")
    args = parser.parse_args()
    with scratch("comwit-bench-tree-", args.workdir) as work:
        root = work / "repo"
        corpus = make_site_repo(args.corpus, root, _PROJECT)
        with running_emulator(work / "emulator", work / "emulator.log") as emulator:
            token = emulator.issue_token(_SCOPES, [_PROJECT])
            check(run_comwit(["apply", "--yes", "-q"], root, emulator, token), "apply")
            samples = _bench(
                root, corpus.path, lambda: run_comwit(_PLAN, root, emulator, token), args.runs
            )
        print(f"{corpus.files} files, {corpus.total_bytes / 1e6:.0f} MB; medians of {args.runs}")
        print(_table(samples))
        return _verdict(samples)


def _bench(root: Path, site: Path, plan: Callable[[], Run], runs: int) -> dict[str, list[Sample]]:
    samples: dict[str, list[Sample]] = {
        "comwit --version": [],
        "first plan (no stat cache)": [],
        "find | sort | xargs sha256sum": [],
        "second plan (stat cache)": [],
        "find -printf '%s %T@ %i %p'": [],
    }
    hash_all = f"find {site} -type f -print0 | sort -z | xargs -0 sha256sum > /dev/null"
    stat_all = f"find {site} -printf '%s %T@ %i %p\\n' > /dev/null"
    check(plan(), "warm-up plan")
    for _ in range(runs):
        samples["comwit --version"].append(_sample(run_comwit(["--version"], root)))
        for cache in ("stat", "trees"):
            shutil.rmtree(root / ".comwit" / cache, ignore_errors=True)
        first = check(plan(), "first plan")
        samples["first plan (no stat cache)"].append(_sample(first))
        samples["find | sort | xargs sha256sum"].append(_shell(hash_all))
        second = check(plan(), "second plan")
        samples["second plan (stat cache)"].append(_sample(second))
        samples["find -printf '%s %T@ %i %p'"].append(_shell(stat_all))
    return samples


def _sample(run: Run) -> Sample:
    return Sample(run.seconds, run.cpu, run.peak_rss_mb)


def _shell(command: str) -> Sample:
    script = ["/usr/bin/time", "-f", "%U %S %M", "sh", "-c", command]
    start = time.perf_counter()
    proc = subprocess.run(script, capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - start
    user, system, rss = proc.stderr.split()[-3:]
    return Sample(seconds, float(user) + float(system), int(rss) / 1024)


def _median(samples: list[Sample], field: str) -> float:
    return statistics.median(getattr(s, field) for s in samples)


def _table(samples: dict[str, list[Sample]]) -> str:
    cells = [("run", "wall s", "CPU s", "peak RSS MB", "x baseline (wall)")]
    pairs = {
        "first plan (no stat cache)": "find | sort | xargs sha256sum",
        "second plan (stat cache)": "find -printf '%s %T@ %i %p'",
    }
    for name, runs in samples.items():
        base = pairs.get(name)
        ratio = _median(runs, "seconds") / _median(samples[base], "seconds") if base else None
        cells.append(
            (
                name,
                f"{_median(runs, 'seconds'):.3f}",
                f"{_median(runs, 'cpu'):.3f}",
                f"{_median(runs, 'rss_mb'):.0f}",
                f"{ratio:.2f}" if ratio is not None else "",
            )
        )
    return markdown_table(cells)


def _verdict(samples: dict[str, list[Sample]]) -> int:
    def ratio(name: str, base: str) -> float:
        return _median(samples[name], "seconds") / _median(samples[base], "seconds")

    first = ratio("first plan (no stat cache)", "find | sort | xargs sha256sum")
    second = ratio("second plan (stat cache)", "find -printf '%s %T@ %i %p'")
    print(
        f"first plan: {first:.2f}x (target {_FIRST_TARGET}x); "
        f"second plan: {second:.2f}x (target {_SECOND_TARGET}x)"
    )
    print(describe_machine())
    return 0 if first <= _FIRST_TARGET and second <= _SECOND_TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
