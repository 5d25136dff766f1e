"""Benchmark: `comwit plan` against the emulator with injected latency on every request.

    .venv/bin/python bench/plan.py [--sizes 10,100,300,1000] [--latency-ms 20] [--runs 5]
                                   [--concurrency N] [--profile FILE] [--workdir DIR]

The emulator runs in its own process (`comwit emulator serve --port 0`). For each size N a
project of N apps, each with a one-file build dir, is created with one `comwit apply --yes`
(no latency yet; its time is shown) and checked to plan no changes; then every contract
route gets the latency, and `comwit plan` (the real CLI, a subprocess) is timed while the
emulator's statistics count its requests.

Two bounds for the wall time: the concurrency bound, one request listing the apps then
the rest in waves of C at once (ceil((requests - 1) / C) x latency + latency, C = 16 unless
--concurrency), and the sequential one (requests x latency). The CLI's start-up (`comwit
--version`, timed just before each plan) is part of the wall time. For the smallest size,
`plan --concurrency 1` shows how close one request at a time comes to its bound. comwit's
own CPU time per app (start-up included), the emulator's CPU during the plan (both share
the machine's cores) and the plan's peak RSS are shown beside it.

Targets: at most 3 requests per app plus one; 100 apps within 1/4 of the sequential bound;
under 4 ms of comwit's CPU per app at 1,000 apps (or the largest size above 100).
`--profile FILE` also runs one plan of the largest size under cProfile and prints where
its time went. Everything (the emulator, its data, the projects) is removed at the end,
also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import math
import pstats
import shutil
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from emulator_process import (
    Emulator,
    check,
    describe_machine,
    markdown_table,
    run_comwit,
    running_emulator,
    scratch,
)

_SCOPES = ("project:read", "app:read", "app:deploy", "app:write")
_CONCURRENCY = 16  # the planner's default
_TARGET_APPS = 100
_TARGET_RATIO = 0.25
_TARGET_CPU_MS = 4.0


@dataclass(frozen=True)
class Row:
    label: str
    apps: int
    requests: int
    concurrency: int
    wall: float  # median over the runs, start-up included
    startup: float  # median of `comwit --version`, each run just before a plan
    latency_ms: int
    cpu: float  # median CPU seconds of the comwit process
    emulator_cpu: float  # median CPU seconds the emulator spent during the plan
    peak_rss_mb: float  # the largest over the runs
    setup: float  # seconds the one apply that made the project took

    @property
    def bound(self) -> float:
        """The list, then the other requests in waves of `concurrency`."""
        waves = math.ceil((self.requests - 1) / self.concurrency)
        return (waves + 1) * self.latency_ms / 1000

    @property
    def sequential_bound(self) -> float:
        return self.requests * self.latency_ms / 1000

    @property
    def cpu_ms_per_app(self) -> float:
        return self.cpu * 1000 / self.apps


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,300,1000", help="app counts, comma-separated")
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5, help="timed plans per size (median)")
    parser.add_argument("--concurrency", type=int, default=None, help="plan --concurrency")
    parser.add_argument("--profile", type=Path, default=None, help="cProfile the largest plan")
    parser.add_argument("--workdir", type=Path, default=None, help="where the temp dir goes")
    args = parser.parse_args()
    sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()})
    with scratch("comwit-bench-plan-", args.workdir) as work:
        print(describe_machine())
        with running_emulator(work / "emulator", work / "emulator.log") as emulator:
            token = emulator.issue_token(_SCOPES, [_project(n) for n in sizes])
            rows = []
            for apps in sizes:
                rows += _bench_size(emulator, token, work, apps, args, sizes)
        print(f"\nlatency {args.latency_ms} ms on every request; median of {args.runs} runs")
        print(_table(rows))
        return _verdict(rows)


def _project(apps: int) -> str:
    return f"bench-plan-{apps}"


def _bench_size(
    emulator: Emulator,
    token: str,
    work: Path,
    apps: int,
    args: argparse.Namespace,
    sizes: list[int],
) -> list[Row]:
    root = _make_project(work / f"apps-{apps}", apps)
    started = time.perf_counter()
    check(run_comwit(["apply", "--yes", "-q", "--parallel", "16"], root, emulator, token), "apply")
    setup = time.perf_counter() - started
    plan = ["plan", "-q", "--detailed-exitcode"]  # exit 2 if apply left anything to do
    if args.concurrency:
        plan += ["--concurrency", str(args.concurrency)]
    check(run_comwit(plan, root, emulator, token), "plan right after apply")
    emulator.add_latency(args.latency_ms)  # on failure, the emulator is stopped with it
    concurrency = args.concurrency or _CONCURRENCY
    rows = [_timed(emulator, token, root, plan, apps, args, "plan", concurrency, setup)]
    if apps == sizes[0]:
        sequential = [*plan, "--concurrency", "1"]
        label = "--concurrency 1"
        rows.append(_timed(emulator, token, root, sequential, apps, args, label, 1, setup))
    if args.profile is not None and apps == sizes[-1]:
        _profile(emulator, token, root, plan, args.profile)
    emulator.clear_faults()
    shutil.rmtree(root)
    return rows


def _timed(
    emulator: Emulator,
    token: str,
    root: Path,
    command: list[str],
    apps: int,
    args: argparse.Namespace,
    label: str,
    concurrency: int,
    setup: float,
) -> Row:
    walls: list[float] = []
    startups: list[float] = []
    cpus: list[float] = []
    emulator_cpus: list[float] = []
    rss: list[float] = []
    counts: set[int] = set()
    for _ in range(args.runs):
        startups.append(check(run_comwit(["--version"], root), "comwit --version").seconds)
        emulator.reset_stats()
        served = emulator.cpu_seconds()
        run = check(run_comwit(command, root, emulator, token), " ".join(command))
        emulator_cpus.append(emulator.cpu_seconds() - served)
        cpus.append(run.cpu)
        rss.append(run.peak_rss_mb)
        stats = emulator.stats()
        if stats["mutating"]:
            raise SystemExit(f"plan made {stats['mutating']} mutating requests: {stats}")
        walls.append(run.seconds)
        counts.add(stats["total"])
    if len(counts) != 1:
        raise SystemExit(f"request counts differ between runs of {label}: {sorted(counts)}")
    return Row(
        label=label,
        apps=apps,
        requests=counts.pop(),
        concurrency=concurrency,
        wall=statistics.median(walls),
        startup=statistics.median(startups),
        latency_ms=args.latency_ms,
        cpu=statistics.median(cpus),
        emulator_cpu=statistics.median(emulator_cpus),
        peak_rss_mb=max(rss),
        setup=setup,
    )


def _profile(emulator: Emulator, token: str, root: Path, command: list[str], out: Path) -> None:
    """One more plan under cProfile (comwit's main() and all it calls); the top of it."""
    profiled = ["-m", "cProfile", "-o", str(out.resolve())]
    run = check(run_comwit(command, root, emulator, token, python=profiled), "profiled plan")
    print(f"\nprofile of one plan ({run.seconds:.2f} s wall, {run.cpu:.2f} s CPU): {out}")
    pstats.Stats(str(out)).strip_dirs().sort_stats("tottime").print_stats(25)


def _make_project(root: Path, apps: int) -> Path:
    """A manifest of `apps` apps, each with its own one-file build dir (distinct content)."""
    root.mkdir()
    tables = []
    for i in range(apps):
        name = f"app-{i:04d}"
        site = root / "sites" / name
        site.mkdir(parents=True)
        (site / "index.html").write_text(f"<h1>{name}</h1>\n")
        tables.append(f'[apps.{name}]\nbuild_dir = "sites/{name}"\n')
    header = f'version = 1\nproject = "{_project(apps)}"\n\n'
    (root / "comwit.toml").write_text(header + "\n".join(tables))
    return root


_COLUMNS = (
    "run",
    "apps",
    "set-up s",
    "requests",
    "per app",
    "wall s",
    "bound s",
    "x bound",
    "seq bound s",
    "x seq",
    "start-up s",
    "CPU s",
    "CPU ms/app",
    "emulator CPU s",
    "peak RSS MB",
)


def _table(rows: list[Row]) -> str:
    cells = [_COLUMNS]
    for row in rows:
        cells.append(
            (
                row.label,
                str(row.apps),
                f"{row.setup:.1f}",
                str(row.requests),
                f"{(row.requests - 1) / row.apps:.2f}+1",
                f"{row.wall:.3f}",
                f"{row.bound:.2f}",
                f"{row.wall / row.bound:.2f}",
                f"{row.sequential_bound:.2f}",
                f"{row.wall / row.sequential_bound:.3f}",
                f"{row.startup:.3f}",
                f"{row.cpu:.2f}",
                f"{row.cpu_ms_per_app:.2f}",
                f"{row.emulator_cpu:.2f}",
                f"{row.peak_rss_mb:.0f}",
            )
        )
    return markdown_table(cells)


def _verdict(rows: list[Row]) -> int:
    """Print whether the targets are met; exit 1 when one is missed."""
    plans = [row for row in rows if row.label == "plan"]
    failed = False
    for row in plans:
        if row.requests > 3 * row.apps + 1:
            print(f"MISSED: {row.apps} apps took {row.requests} requests (> 3 per app + 1)")
            failed = True
    for row in plans:
        if row.apps == _TARGET_APPS:
            ratio = (row.wall - row.startup) / row.sequential_bound
            met = ratio <= _TARGET_RATIO
            print(
                f"target (100 apps in <= 1/4 of the sequential bound, start-up left out): "
                f"{'met' if met else 'MISSED'} ({ratio:.3f})"
            )
            failed |= not met
    largest = max(plans, key=lambda row: row.apps)
    if largest.apps > _TARGET_APPS:
        met = largest.cpu_ms_per_app < _TARGET_CPU_MS
        print(
            f"target (under {_TARGET_CPU_MS:g} ms of comwit's CPU per app at {largest.apps} "
            f"apps): {'met' if met else 'MISSED'} ({largest.cpu_ms_per_app:.2f} ms)"
        )
        failed |= not met
    print(describe_machine())
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
