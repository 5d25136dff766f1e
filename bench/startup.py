"""Benchmark: how long the `comwit` script takes to start, answer and leave.

    .venv/bin/python bench/startup.py [--runs 10] [--workdir DIR] [--instructions]

Times, as whole processes, `comwit --version`, `comwit --help`, `comwit validate` on
comwit.toml.example and a no-change `comwit plan` of 3 apps against an emulator that is
already running (its own process, `comwit emulator serve --port 0`), each side by side with
`python -c pass` and `python -c "import typer"` on the same interpreter. The six are run in
turn, round after round (so a busy moment of the machine hits all of them alike), and the
median of `--runs` rounds is reported, wall time and CPU time. The first, untimed round
writes comwit's .pyc files, as installing it does (PYTHONDONTWRITEBYTECODE is left out).
Targets: `--version` within 2x of `python -c pass`; `--help` within 1.5x of `import typer`;
`validate` under 3x and the plan under 5x of `import typer`. Exit 1 when one is missed.
"""

from __future__ import annotations

import argparse
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from emulator_process import (
    Emulator,
    check,
    clean_environ,
    describe_machine,
    markdown_table,
    run_comwit,
    running_emulator,
    scratch,
)

_REPO = Path(__file__).resolve().parent.parent
_PROJECT = "startup"
_APPS = 3


@dataclass(frozen=True)
class Probe:
    label: str
    argv: list[str]
    cwd: Path
    env: dict[str, str]


@dataclass(frozen=True)
class Timing:
    wall: float
    cpu: float


@dataclass(frozen=True)
class Target:
    probe: str
    baseline: str
    ratio: float


_TARGETS = (
    Target("comwit --version", "python -c pass", 2.0),
    Target("comwit --help", "python -c 'import typer'", 1.5),
    Target("comwit validate (example)", "python -c 'import typer'", 3.0),
    Target("comwit plan (3 apps, no change)", "python -c 'import typer'", 5.0),
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="rounds; the median is reported")
    parser.add_argument("--workdir", type=Path, help="where to make the project (default: tmp)")
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="also count each probe's instructions once under valgrind (a figure that other "
        "work on a shared machine does not change); the targets are checked on wall time",
    )
    args = parser.parse_args()
    with (
        scratch("comwit-startup-", args.workdir) as work,
        running_emulator(work / "emulator", work / "emulator.log") as emulator,
    ):
        project, token = _make_project(work / "project", emulator)
        probes = _probes(project, emulator, token)
        medians = _measure(probes, args.runs)
        counts = _count_instructions(probes) if args.instructions else {}
    print(_table(probes, medians, args.runs))
    if counts:
        print(_instruction_table(probes, counts))
    return _verdict(medians)


def _count_instructions(probes: list[Probe]) -> dict[str, int]:
    """Instructions each probe executes, counted by valgrind's cachegrind (no cache model)."""
    if shutil.which("valgrind") is None:
        raise SystemExit("--instructions needs valgrind on PATH")
    valgrind = (
        "valgrind",
        "--tool=cachegrind",
        "--cache-sim=no",
        "--cachegrind-out-file=/dev/null",
    )
    counts = {}
    for probe in probes:
        proc = subprocess.run(
            [*valgrind, *probe.argv],
            cwd=probe.cwd,
            env=probe.env | {"PYTHONHASHSEED": "0"},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
        found = re.search(r"I\s+refs:\s+([\d,]+)", proc.stderr)
        if proc.returncode != 0 or found is None:
            raise SystemExit(f"{probe.label} failed under valgrind:\n{proc.stderr[-2000:]}")
        counts[probe.label] = int(found.group(1).replace(",", ""))
    return counts


def _instruction_table(probes: list[Probe], counts: dict[str, int]) -> str:
    base, typer = counts["python -c pass"], counts["python -c 'import typer'"]
    cells = [("run", "M instructions", "x pass", "x import typer")]
    for probe in probes:
        n = counts[probe.label]
        cells.append((probe.label, f"{n / 1e6:.0f}", f"{n / base:.2f}", f"{n / typer:.2f}"))
    return "# instructions, one run each (valgrind)\n" + markdown_table(cells)


def _comwit() -> list[str]:
    """The installed `comwit` script, as users start it (else `python -m comwit`)."""
    script = Path(sys.executable).parent / "comwit"
    return [str(script)] if script.exists() else [sys.executable, "-m", "comwit"]


def _environ(extra: dict[str, str] | None = None) -> dict[str, str]:
    # The untimed first round writes comwit's .pyc files (see clean_environ).
    return clean_environ() | {"NO_COLOR": "1"} | (extra or {})


def _probes(project: Path, emulator: Emulator, token: str) -> list[Probe]:
    comwit, here = _comwit(), _REPO
    api = _environ({"COMWIT_API_URL": emulator.url, "COMWIT_TOKEN": token})
    return [
        Probe("python -c pass", [sys.executable, "-c", "pass"], here, _environ()),
        Probe("python -c 'import typer'", [sys.executable, "-c", "import typer"], here, _environ()),
        Probe("comwit --version", [*comwit, "--version"], here, _environ()),
        Probe("comwit --help", [*comwit, "--help"], here, _environ()),
        Probe(
            "comwit validate (example)",
            [*comwit, "validate", "-f", "comwit.toml.example"],
            here,
            _environ(),
        ),
        Probe(
            "comwit plan (3 apps, no change)",
            [*comwit, "plan", "--detailed-exitcode"],
            project,
            api,
        ),
    ]


def _make_project(root: Path, emulator: Emulator) -> tuple[Path, str]:
    """Three one-file apps, applied once, so that the timed plan finds no change."""
    root.mkdir()
    tables = []
    for i in range(_APPS):
        site = root / "sites" / f"app-{i}"
        site.mkdir(parents=True)
        (site / "index.html").write_text(f"<h1>app {i}</h1>\n")
        tables.append(f'[apps.app-{i}]\nbuild_dir = "sites/app-{i}"\n')
    header = f'version = 1\nproject = "{_PROJECT}"\n\n'
    (root / "comwit.toml").write_text(header + "\n".join(tables))
    scopes = ["project:read", "app:read", "app:write", "app:deploy"]
    token = emulator.issue_token(scopes, [_PROJECT])
    check(run_comwit(["apply", "--yes"], root, emulator, token), "the first apply")
    check(run_comwit(["plan", "--detailed-exitcode"], root, emulator, token), "the check plan")
    return root, token


def _measure(probes: list[Probe], runs: int) -> dict[str, Timing]:
    for probe in probes:  # once, untimed: warm the page cache and the .pyc files
        _time(probe)
    timings: dict[str, list[Timing]] = {probe.label: [] for probe in probes}
    for _ in range(runs):
        for probe in probes:
            timings[probe.label].append(_time(probe))
    return {
        label: Timing(
            statistics.median(t.wall for t in each), statistics.median(t.cpu for t in each)
        )
        for label, each in timings.items()
    }


def _time(probe: Probe) -> Timing:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(
        probe.argv,
        cwd=probe.cwd,
        env=probe.env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        check=False,
        timeout=120,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        tail = proc.stderr.decode(errors="replace")[-2000:]
        raise SystemExit(f"{probe.label} failed with exit code {proc.returncode}:\n{tail}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Timing(wall, cpu)


def _table(probes: list[Probe], medians: dict[str, Timing], runs: int) -> str:
    base = medians["python -c pass"]
    typer = medians["python -c 'import typer'"]
    cells = [("run", "wall ms", "CPU ms", "x pass (wall)", "x import typer (wall)")]
    for probe in probes:
        timing = medians[probe.label]
        cells.append(
            (
                probe.label,
                f"{timing.wall * 1000:.0f}",
                f"{timing.cpu * 1000:.0f}",
                f"{timing.wall / base.wall:.2f}",
                f"{timing.wall / typer.wall:.2f}",
            )
        )
    return f"# medians of {runs} alternating rounds\n" + markdown_table(cells)


def _verdict(medians: dict[str, Timing]) -> int:
    missed = False
    for target in _TARGETS:
        ratio = medians[target.probe].wall / medians[target.baseline].wall
        met = ratio <= target.ratio
        missed |= not met
        verdict = "met" if met else "MISSED"
        print(
            f"{target.probe}: {ratio:.2f}x {target.baseline} (target <= {target.ratio}x): {verdict}"
        )
    print(describe_machine())
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
