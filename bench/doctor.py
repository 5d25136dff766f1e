"""Benchmark: `comwit doctor` answers within a few seconds, also over a slow link.

    .venv/bin/python bench/doctor.py [--runs 5] [--latency-ms 100] [--workdir DIR]

Runs `comwit doctor` as a process against an emulator in its own process (`comwit emulator
serve --port 0`), whose project has one app (so every read is checked), first as it is and
then with `--latency-ms` added to every `/v1/` request. Reports the median wall time, the
requests made and that none of them changed anything. Target: under 5 s at the given
latency (its checks run concurrently: the time is a few round trips, not one per check).
Exit 1 when missed, when doctor does not exit 0, or when it made a change.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from emulator_process import (
    Emulator,
    check,
    describe_machine,
    markdown_table,
    run_comwit,
    running_emulator,
    scratch,
)

_PROJECT = "doctor"
_TARGET_SECONDS = 5.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per case; the median counts")
    parser.add_argument("--latency-ms", type=int, default=100, help="added per request")
    parser.add_argument("--workdir", type=Path, help="where to make the project (default: tmp)")
    args = parser.parse_args()
    rows, ok = [], True
    with (
        scratch("comwit-doctor-", args.workdir) as work,
        running_emulator(
            work / "emulator", work / "emulator.log", "--project", _PROJECT
        ) as emulator,
    ):
        project = _make_project(work / "project", emulator)
        for latency in (0, args.latency_ms):
            emulator.clear_faults()
            if latency:
                emulator.add_latency(latency)
            seconds, requests, mutating = _measure(project, emulator, args.runs)
            within = seconds < _TARGET_SECONDS and mutating == 0
            ok = ok and within
            rows.append(
                [f"{latency} ms", f"{seconds:.2f} s", str(requests), str(mutating),
                 "yes" if within else "NO"]
            )  # fmt: skip
    print(describe_machine())
    header = ["latency per request", "median wall time", "requests", "mutating", "< 5 s"]
    print(markdown_table([header, *rows]))
    return 0 if ok else 1


def _make_project(root: Path, emulator: Emulator) -> Path:
    root.mkdir(parents=True)
    (root / "site").mkdir()
    (root / "site" / "index.html").write_text("<h1>doctor</h1>")
    (root / "comwit.toml").write_text(
        f'version = 1\nproject = "{_PROJECT}"\n[apps.web]\nbuild_dir = "site"\n'
    )
    check(run_comwit(["apply", "--yes"], root, emulator), "apply", 0)
    return root


def _measure(project: Path, emulator: Emulator, runs: int) -> tuple[float, int, int]:
    times = []
    for _ in range(runs):
        emulator.reset_stats()
        run = check(run_comwit(["doctor"], project, emulator), "doctor", 0)
        times.append(run.seconds)
        stats = emulator.stats()
    return statistics.median(times), stats["total"], stats["mutating"]


if __name__ == "__main__":
    raise SystemExit(main())
