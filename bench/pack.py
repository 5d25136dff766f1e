"""Benchmark: comwit's tree digest and pack against GNU tar | zstd and coreutils sha256sum.

    .venv/bin/python bench/pack.py [--sizes small,medium,large] [--runs 5] [--workdir DIR]

Generates the seeded corpora (bench/corpus.py) in a temporary directory, runs every tool on
the same files in the same run (interleaved, after one untimed warm-up round that also
fills the page cache), prints medians, throughput and peak RSS, then deletes everything.
Each tool runs in its own process so peak RSS is its own; comwit's time is measured around
the library call (the process time, with interpreter start-up, is shown too).
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import make_corpus

_CHILD = """
import json, sys, time
from pathlib import Path
from comwit.artifact.digest import digest_tree
from comwit.artifact.pack import pack
mode, src, out = sys.argv[1:4]
start = time.perf_counter()
if mode == "pack":
    result = pack(Path(src), Path(out))
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
    rss_mb: float  # peak RSS of the largest process
    out_bytes: int


@dataclass
class Tool:
    name: str
    run: Callable[[Path, Path], Sample]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="small,medium,large")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workdir", type=Path, default=None, help="where to make the corpora")
    args = parser.parse_args()
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    work = Path(tempfile.mkdtemp(prefix="comwit-bench-", dir=args.workdir))
    try:
        print(_machine())
        for size in sizes:
            _bench_corpus(size, work, args.runs)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _bench_corpus(size: str, work: Path, runs: int) -> None:
    t0 = time.perf_counter()
    corpus = make_corpus(size, work / size)
    made = time.perf_counter() - t0
    file_list = work / f"{size}.files"
    file_list.write_bytes(b"".join(os.fsencode(p) + b"\0" for p in _files(corpus.path)))
    tools = [
        Tool("tar --sort=name | zstd -T0 -3", _tar_zstd),
        Tool("comwit pack (digest included)", lambda d, o: _comwit("pack", d, o)),
        Tool("sha256sum (every file)", lambda d, o: _sha256sum(file_list)),
        Tool("comwit digest", lambda d, o: _comwit("digest", d, o)),
    ]
    samples: dict[str, list[Sample]] = {t.name: [] for t in tools}
    out = work / f"{size}.tar.zst"
    for round_no in range(runs + 1):  # round 0 warms the page cache and is not counted
        for tool in tools:
            sample = tool.run(corpus.path, out)
            out.unlink(missing_ok=True)
            if round_no:
                samples[tool.name].append(sample)
    mb = corpus.total_bytes / 1e6
    print(
        f"\n## {size}: {corpus.files} files, {mb:.0f} MB "
        f"(generated in {made:.1f} s), median of {runs} runs"
    )
    print(
        f"| {'tool':<32} | {'time s':>7} | {'process s':>9} | {'MB/s':>6} | "
        f"{'peak RSS MB':>11} | {'out MB':>7} | {'ratio':>5} |"
    )
    print(f"|{'-' * 34}|{'-' * 8}:|{'-' * 10}:|{'-' * 7}:|{'-' * 12}:|{'-' * 8}:|{'-' * 6}:|")
    base = {"comwit pack (digest included)": tools[0].name, "comwit digest": tools[2].name}
    for tool in tools:
        secs = statistics.median(s.seconds for s in samples[tool.name])
        proc = statistics.median(s.process_seconds for s in samples[tool.name])
        rss = max(s.rss_mb for s in samples[tool.name])
        out_mb = samples[tool.name][-1].out_bytes / 1e6
        ref = base.get(tool.name)
        ratio = (
            f"{secs / statistics.median(s.seconds for s in samples[ref]):.2f}" if ref else "1.00"
        )
        print(
            f"| {tool.name:<32} | {secs:>7.3f} | {proc:>9.3f} | {mb / secs:>6.0f} | "
            f"{rss:>11.1f} | {out_mb:>7.1f} | {ratio:>5} |"
        )
    shutil.rmtree(corpus.path)


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def _tar_zstd(src: Path, out: Path) -> Sample:
    start = time.perf_counter()
    tar = subprocess.Popen(
        ["tar", "--sort=name", "-cf", "-", "-C", str(src), "."], stdout=subprocess.PIPE
    )
    zstd = subprocess.Popen(["zstd", "-q", "-f", "-T0", "-3", "-o", str(out)], stdin=tar.stdout)
    assert tar.stdout is not None
    tar.stdout.close()
    rss = max(_wait(tar), _wait(zstd))
    elapsed = time.perf_counter() - start
    return Sample(elapsed, elapsed, rss, out.stat().st_size)


def _sha256sum(file_list: Path) -> Sample:
    start = time.perf_counter()
    xargs = subprocess.Popen(
        ["xargs", "-0", "-a", str(file_list), "sha256sum"], stdout=subprocess.DEVNULL
    )
    rss = _wait(xargs)
    elapsed = time.perf_counter() - start
    return Sample(elapsed, elapsed, rss, 0)


def _comwit(mode: str, src: Path, out: Path) -> Sample:
    start = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, mode, str(src), str(out)], stdout=subprocess.PIPE
    )
    assert child.stdout is not None
    stdout = child.stdout.read()
    rss = _wait(child)
    elapsed = time.perf_counter() - start
    report = json.loads(stdout)
    return Sample(report["seconds"], elapsed, rss, report["size"])


def _wait(proc: subprocess.Popen[bytes]) -> float:
    """Reap `proc` and return its own peak RSS in MB (a child's, not the children's max)."""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"{proc.args!r} failed with exit code {proc.returncode}")
    return usage.ru_maxrss / 1024


def _machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "unknown CPU",
    )
    return f"# {os.cpu_count()} CPUs ({cpu}), Python {sys.version.split()[0]}"


if __name__ == "__main__":
    raise SystemExit(main())
