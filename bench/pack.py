"""Benchmark: comwit's tree digest and pack against GNU tar | zstd and coreutils sha256sum.

    .venv/bin/python bench/pack.py [--sizes small,medium,large] [--runs 5] [--workdir DIR]
                                   [--whole-process]

Generates the seeded corpora (bench/corpus.py) in a temporary directory, runs every tool on
the same files in the same run (interleaved, after one untimed warm-up round that also
fills the page cache), prints medians, throughput and peak RSS, then deletes everything.
Each tool runs in its own process so peak RSS is its own; comwit's time is measured around
the library call (the process time, with interpreter start-up, is shown too).

`comwit pack (warm stat cache)` packs with the stat cache an earlier pack left: the files
are read for the archive but not hashed again.

`--whole-process` adds the real CLI, `comwit pack APP -o OUT` (the venv's `comwit` script,
start-up, manifest loading and exit included), compared by process time with the tar and
zstd pipeline: what a user sees from outside. Twice: cold (no stat cache, as in a fresh
checkout: every byte hashed) and warm (the stat cache of an earlier pack or plan). Target:
within 1.3x on the medium corpus; the last lines say met or missed for each.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from comwit.artifact.stat_cache import RACY_NS
from corpus import make_corpus
from emulator_process import clean_environ, describe_machine, markdown_table, scratch

_CHILD = """
import json, sys, time
from pathlib import Path
from comwit.artifact.digest import digest_tree
from comwit.artifact.pack import pack
from comwit.artifact.stat_cache import StatCache
mode, src, out = sys.argv[1:4]
start = time.perf_counter()
if mode.startswith("pack"):
    cache = StatCache.open(Path(out).parent / "stat", Path(src)) if mode == "pack-warm" else None
    result = pack(Path(src), Path(out), cache=cache)
    size, digest = result.size, result.tree.digest
else:
    tree = digest_tree(Path(src))
    size, digest = 0, tree.digest
print(json.dumps({"seconds": time.perf_counter() - start, "size": size, "digest": digest}))
"""


@dataclass
class Sample:
    seconds: float  # the timed work
    process_seconds: float  # the whole process (or pipeline), start-up included
    cpu_seconds: float  # user + system, all threads (and both processes of a pipeline)
    rss_mb: float  # peak RSS of the largest process
    out_bytes: int
    digest: str = ""  # comwit's tree digest, the same in every comwit run


@dataclass
class Tool:
    name: str
    run: Callable[[Path, Path], Sample]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="small,medium,large")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workdir", type=Path, default=None, help="where to make the corpora")
    parser.add_argument(
        "--whole-process", action="store_true", help="also time the `comwit pack` CLI process"
    )
    args = parser.parse_args()
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    with scratch("comwit-bench-", args.workdir) as work:
        print(describe_machine())
        for size in sizes:
            _bench_corpus(size, work, args.runs, whole_process=args.whole_process)
    return 0


def _bench_corpus(size: str, work: Path, runs: int, *, whole_process: bool = False) -> None:
    t0 = time.perf_counter()
    corpus = make_corpus(size, work / size)
    written = time.time()  # no file of the corpus changes after this
    made = time.perf_counter() - t0
    file_list = work / f"{size}.files"
    file_list.write_bytes(b"".join(os.fsencode(p) + b"\0" for p in _files(corpus.path)))
    # A stat cache trusts no stamp within RACY_NS of its hashes: let the new files age.
    time.sleep(max(0.0, written + RACY_NS / 1e9 + 0.1 - time.time()))
    tools = [
        Tool(_TAR, _tar_zstd),
        Tool(_PACK, lambda d, o: _comwit("pack", d, o)),
        Tool(_WARM, lambda d, o: _comwit("pack-warm", d, o)),
        Tool("sha256sum (every file)", lambda d, o: _sha256sum(file_list)),
        Tool("comwit digest", lambda d, o: _comwit("digest", d, o)),
    ]
    if whole_process:
        (work / "comwit.toml").write_text(
            f'version = 1\nproject = "bench"\n[apps.site]\nbuild_dir = "{size}"\n'
        )
        tools[3:3] = [
            Tool(_CLI, lambda d, o: _comwit_cli(work, o, cold=True)),
            Tool(_CLI_WARM, lambda d, o: _comwit_cli(work, o, cold=False)),
        ]
    samples: dict[str, list[Sample]] = {t.name: [] for t in tools}
    out = work / f"{size}.tar.zst"
    for round_no in range(runs + 1):  # round 0 warms the page cache and is not counted
        for tool in tools:
            sample = tool.run(corpus.path, out)
            out.unlink(missing_ok=True)
            if round_no:
                samples[tool.name].append(sample)
    digests = {s.digest for runs_ in samples.values() for s in runs_ if s.digest}
    packs = [name for name in samples if name in (_PACK, _WARM, _CLI, _CLI_WARM)]
    sizes = {s.out_bytes for name in packs for s in samples[name]}
    if len(digests) != 1 or len(sizes) != 1:
        raise SystemExit(f"comwit was not reproducible: digests {digests}, sizes {sizes}")
    load = os.getloadavg()[0]
    print(
        f"\n## {size}: {corpus.files} files, {corpus.total_bytes / 1e6:.0f} MB "
        f"(generated in {made:.1f} s); median of {runs} runs; load average {load:.2f}"
    )
    print(_table(tools, samples, corpus.total_bytes))
    if whole_process:
        print(_verdicts(samples))
    shutil.rmtree(corpus.path)


_COLUMNS = ("tool", "time s", "process s", "CPU s", "MB/s", "peak RSS MB", "out MB", "ratio")
_TAR = "GNU tar --sort=name, zstd -T0 -3"
_PACK = "comwit pack (digest included)"
_WARM = "comwit pack (warm stat cache)"
_CLI = "comwit pack CLI, cold (whole process)"
_CLI_WARM = "comwit pack CLI, warm (whole process)"
_TARGET = 1.3  # the whole process against tar | zstd, on the medium corpus
_AGAINST = {  # what each comwit figure is compared with
    _PACK: _TAR,
    _WARM: _TAR,
    _CLI: _TAR,
    _CLI_WARM: _TAR,
    "comwit digest": "sha256sum (every file)",
}


def _median(samples: dict[str, list[Sample]], name: str, field: str) -> float:
    """The median of one field of a tool's samples."""
    return float(statistics.median(getattr(s, field) for s in samples[name]))


def _verdicts(samples: dict[str, list[Sample]]) -> str:
    """One line per whole-process row: its wall and CPU ratios, and the target met or not."""
    lines = []
    for name in (_CLI, _CLI_WARM):
        wall = _median(samples, name, "seconds") / _median(samples, _TAR, "seconds")
        cpu = _median(samples, name, "cpu_seconds") / _median(samples, _TAR, "cpu_seconds")
        verdict = "met" if wall <= _TARGET else "missed"
        lines.append(
            f"{name}: {wall:.2f}x tar|zstd wall, {cpu:.2f}x CPU; target {_TARGET}x wall {verdict}"
        )
    return "\n".join(lines)


def _table(tools: list[Tool], samples: dict[str, list[Sample]], total_bytes: int) -> str:
    rows = [_COLUMNS]
    for tool in tools:
        secs = _median(samples, tool.name, "seconds")
        against = _AGAINST.get(tool.name)
        rows.append(
            (
                tool.name,
                f"{secs:.3f}",
                f"{_median(samples, tool.name, 'process_seconds'):.3f}",
                f"{_median(samples, tool.name, 'cpu_seconds'):.2f}",
                f"{total_bytes / 1e6 / secs:.0f}",
                f"{max(s.rss_mb for s in samples[tool.name]):.1f}",
                f"{samples[tool.name][-1].out_bytes / 1e6:.1f}",
                f"{secs / _median(samples, against, 'seconds'):.2f}" if against else "",
            )
        )
    return markdown_table(rows)


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def _tar_zstd(src: Path, out: Path) -> Sample:
    start = time.perf_counter()
    tar = _spawn(
        ["tar", "--sort=name", "-cf", "-", "-C", str(src), "."], out.parent, stdout=subprocess.PIPE
    )
    zstd = _spawn(["zstd", "-q", "-f", "-T0", "-3", "-o", str(out)], out.parent, stdin=tar.stdout)
    assert tar.stdout is not None
    tar.stdout.close()
    cpu_a, rss_a = _reap(tar)
    cpu_b, rss_b = _reap(zstd)
    elapsed = time.perf_counter() - start
    return Sample(elapsed, elapsed, cpu_a + cpu_b, max(rss_a, rss_b), out.stat().st_size)


def _sha256sum(file_list: Path) -> Sample:
    start = time.perf_counter()
    xargs = _spawn(
        ["xargs", "-0", "-a", str(file_list), "sha256sum"],
        file_list.parent,
        stdout=subprocess.DEVNULL,
    )
    cpu, rss = _reap(xargs)
    elapsed = time.perf_counter() - start
    return Sample(elapsed, elapsed, cpu, rss, 0)


def _comwit(mode: str, src: Path, out: Path) -> Sample:
    start = time.perf_counter()
    child = _spawn(
        [sys.executable, "-c", _CHILD, mode, str(src), str(out)], out.parent, stdout=subprocess.PIPE
    )
    assert child.stdout is not None
    stdout = child.stdout.read()
    cpu, rss = _reap(child)
    elapsed = time.perf_counter() - start
    report = json.loads(stdout)
    return Sample(report["seconds"], elapsed, cpu, rss, report["size"], report["digest"])


def _comwit_cli(project: Path, out: Path, *, cold: bool) -> Sample:
    """`comwit pack site -o OUT` in `project`, timed as a whole process; `cold` first
    removes the stat cache (not timed), else the previous pack's is used."""
    if cold:
        shutil.rmtree(project / ".comwit" / "stat", ignore_errors=True)
    script = Path(sys.executable).with_name("comwit")
    start = time.perf_counter()
    child = _spawn(
        [str(script), "pack", "site", "-o", str(out)],
        project,
        cwd=project,
        stdout=subprocess.PIPE,
        env=clean_environ(),
    )
    assert child.stdout is not None
    stdout = child.stdout.read().decode()
    cpu, rss = _reap(child)
    elapsed = time.perf_counter() - start
    digest = next(line.split()[-1] for line in stdout.splitlines() if line.startswith("digest:"))
    return Sample(elapsed, elapsed, cpu, rss, out.stat().st_size, digest)


def _spawn(command: list[str], work: Path, **kwargs: Any) -> subprocess.Popen[bytes]:
    """Start `command` under GNU time, which reports the CPU time and peak RSS of that
    process alone (a child of this interpreter would inherit its RSS as a floor)."""
    fd, name = tempfile.mkstemp(prefix="time-", dir=work)
    os.close(fd)
    report = Path(name)
    proc = subprocess.Popen(
        ["/usr/bin/time", "-f", "%U %S %M", "-o", str(report), *command], **kwargs
    )
    _REPORTS[proc.pid] = report
    return proc


_REPORTS: dict[int, Path] = {}


def _reap(proc: subprocess.Popen[bytes]) -> tuple[float, float]:
    """Wait for `proc`; return its CPU seconds (user + system) and peak RSS in MB."""
    if proc.wait():
        raise SystemExit(f"{proc.args!r} failed with exit code {proc.returncode}")
    report = _REPORTS.pop(proc.pid)
    user, system, rss_kb = report.read_text().split()[-3:]
    report.unlink()
    return float(user) + float(system), int(rss_kb) / 1024


if __name__ == "__main__":
    raise SystemExit(main())
