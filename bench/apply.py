"""Benchmark: `comwit apply` with nothing to do on 100 apps, and the upload of one 1 GB build.

    .venv/bin/python bench/apply.py [--apps 100] [--runs 3] [--latency-ms 0]
                                    [--skip-noop] [--skip-large] [--workdir DIR]

The emulator runs in its own process (`comwit emulator serve --port 0 --auto-dns`, uploads
up to 4 GiB), and `comwit` (the real CLI) in a subprocess under GNU time, which gives its
peak RSS; requests and uploaded bytes come from the emulator's statistics.

- no-op: `--apps` apps (a one-file build dir, a hostname and an env var each) are applied
  once, then `comwit apply --yes` is timed `--runs` times; each run must send no mutating
  request and upload nothing.
- large: the seeded `large` corpus (bench/corpus.py: about 20,000 files, 1 GB, mostly
  incompressible) as one app's build dir. Timed: `comwit pack` alone (for context), the
  apply that uploads it (peak RSS target: under 200 MB), then apply again (nothing to do:
  the digest of 1 GB and the reads).

Everything (the corpus, the packed artifact, comwit's temporary files, the emulator and its
data) is removed at the end, also on Ctrl-C. Needs about 3 GB free under --workdir.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import make_corpus
from emulator_process import (
    Emulator,
    Run,
    check,
    describe_machine,
    markdown_table,
    run_comwit,
    running_emulator,
    scratch,
)

_SCOPES = ("project:read", "app:read", "app:deploy", "app:write")
_NOOP_PROJECT = "bench-apply-noop"
_LARGE_PROJECT = "bench-apply-large"
_MAX_ARTIFACT_BYTES = 4 << 30
_RSS_TARGET_MB = 200


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, default=100, help="apps in the no-op apply")
    parser.add_argument("--runs", type=int, default=3, help="no-op applies timed (median)")
    parser.add_argument("--latency-ms", type=int, default=0, help="per request, no-op only")
    parser.add_argument("--skip-noop", action="store_true")
    parser.add_argument("--skip-large", action="store_true")
    parser.add_argument("--workdir", type=Path, default=None, help="where the temp dir goes")
    args = parser.parse_args()
    serve = ["--auto-dns", "--max-artifact-bytes", str(_MAX_ARTIFACT_BYTES)]
    with scratch("comwit-bench-apply-", args.workdir) as work:
        print(describe_machine())
        ok = True
        with running_emulator(work / "emulator", work / "emulator.log", *serve) as emulator:
            token = emulator.issue_token(_SCOPES, [_NOOP_PROJECT, _LARGE_PROJECT])
            if not args.skip_noop:
                ok &= _bench_noop(emulator, token, work, args)
            if not args.skip_large:
                ok &= _bench_large(emulator, token, work)
        print(describe_machine())
        return 0 if ok else 1


# -- no-op apply ------------------------------------------------------------------------


def _bench_noop(emulator: Emulator, token: str, work: Path, args: argparse.Namespace) -> bool:
    root = _noop_project(work / "noop", args.apps)
    first = ["apply", "--yes", "-q", "--parallel", "16"]
    setup = _measured(emulator, token, first, root, work, "the first apply")
    measured: list[tuple[Run, dict[str, Any]]] = []
    if args.latency_ms:
        emulator.add_latency(args.latency_ms)  # on failure, the emulator is stopped with it
    for _ in range(args.runs):
        measured.append(_measured(emulator, token, ["apply", "--yes"], root, work, "apply"))
    emulator.clear_faults()
    shutil.rmtree(root)
    stats = [s for _, s in measured]
    mutating = max(s["mutating"] for s in stats)
    uploaded = max(s["bytes_uploaded"] for s in stats)
    requests = sorted({s["total"] for s in stats})
    print(
        f"\n## no-op apply: {args.apps} apps (a hostname and an env var each), "
        f"latency {args.latency_ms} ms; median of {args.runs} runs"
    )
    print(
        _table(
            [
                ("first apply (creates, uploads; -q)", *setup),
                ("apply, nothing to do", *_median_run(measured)),
            ]
        )
    )
    print(
        f"requests per no-op apply: {requests} ({(requests[-1] - 1) / args.apps:.2f} per app + 1)"
    )
    noop = bool(mutating == 0 and uploaded == 0)
    print(
        f"no-op: {'met' if noop else 'MISSED'}: {mutating} mutating requests, {uploaded} B uploaded"
    )
    return noop


def _noop_project(root: Path, apps: int) -> Path:
    root.mkdir()
    tables = []
    for i in range(apps):
        name = f"app-{i:03d}"
        site = root / "sites" / name
        site.mkdir(parents=True)
        (site / "index.html").write_text(f"<h1>{name}</h1>\n")
        tables.append(
            f'[apps.{name}]\nbuild_dir = "sites/{name}"\nhosts = ["{name}.example.com"]\n'
            f'[apps.{name}.env]\nLEVEL = "info"\n'
        )
    header = f'version = 1\nproject = "{_NOOP_PROJECT}"\n\n'
    (root / "comwit.toml").write_text(header + "\n".join(tables))
    return root


# -- one 1 GB build dir -----------------------------------------------------------------


def _bench_large(emulator: Emulator, token: str, work: Path) -> bool:
    root = work / "large"
    root.mkdir()
    start = time.perf_counter()
    corpus = make_corpus("large", root / "site")
    made = time.perf_counter() - start
    (root / "comwit.toml").write_text(
        f'version = 1\nproject = "{_LARGE_PROJECT}"\n\n[apps.big]\nbuild_dir = "site"\n'
    )
    packed = root / "big.tar.zst"
    pack = check(run_comwit(["pack", "big", "-o", str(packed)], root), "comwit pack")
    artifact_size = packed.stat().st_size
    packed.unlink()
    rows: list[tuple[str, Run, dict[str, Any] | None]] = [("pack only (comwit pack)", pack, None)]
    for label in ("apply (uploads it)", "apply again (nothing to do)"):
        rows.append((label, *_measured(emulator, token, ["apply", "--yes"], root, work, label)))
    shutil.rmtree(root)
    print(
        f"\n## one build dir of {corpus.files} files, {corpus.total_bytes / 1e6:.0f} MB "
        f"(generated in {made:.1f} s); artifact {artifact_size / 1e6:.0f} MB; one run each"
    )
    print(_table(rows))
    upload, again = rows[1], rows[2]
    assert upload[2] is not None and again[2] is not None
    uploaded_ok = upload[2]["deploys"] == 1 and upload[2]["bytes_uploaded"] >= artifact_size
    rss_ok = upload[1].peak_rss_mb < _RSS_TARGET_MB
    again_ok = again[2]["mutating"] == 0 and again[2]["bytes_uploaded"] == 0
    print(
        f"peak RSS of the 1 GB apply under {_RSS_TARGET_MB} MB: "
        f"{'met' if rss_ok else 'MISSED'} ({upload[1].peak_rss_mb:.0f} MB); "
        f"uploaded once: {'yes' if uploaded_ok else 'NO'}; "
        f"second apply changed nothing: {'yes' if again_ok else 'NO'}"
    )
    return uploaded_ok and rss_ok and again_ok


# -- output -----------------------------------------------------------------------------


def _measured(
    emulator: Emulator, token: str, args: list[str], root: Path, work: Path, what: str
) -> tuple[Run, dict[str, Any]]:
    """Run comwit; its own figures, the emulator's statistics and CPU time during the run."""
    emulator.reset_stats()
    served = emulator.cpu_seconds()
    env = {"TMPDIR": str(work)}  # comwit packs into a temporary directory: keep it in `work`
    run = check(run_comwit(args, root, emulator, token, env=env), what)
    return run, emulator.stats() | {"emulator_cpu": emulator.cpu_seconds() - served}


def _median_run(runs: list[tuple[Run, dict[str, Any]]]) -> tuple[Run, dict[str, Any]]:
    return sorted(runs, key=lambda run: run[0].seconds)[len(runs) // 2]


_COLUMNS = (
    "step",
    "wall s",
    "CPU s",
    "peak RSS MB",
    "requests",
    "mutating",
    "MB uploaded",
    "MB/s",
    "emulator CPU s",
)


def _table(rows: list[tuple[str, Run, dict[str, Any] | None]]) -> str:
    cells = [_COLUMNS]
    for label, run, stats in rows:
        uploaded = stats["bytes_uploaded"] if stats else 0
        emulator_cpu = stats.get("emulator_cpu") if stats else None
        cells.append(
            (
                label,
                f"{run.seconds:.2f}",
                f"{run.cpu:.2f}",
                f"{run.peak_rss_mb:.0f}",
                str(stats["total"]) if stats else "",
                str(stats["mutating"]) if stats else "",
                f"{uploaded / 1e6:.1f}" if stats else "",
                f"{uploaded / 1e6 / run.seconds:.0f}" if uploaded >= 1e6 else "",
                f"{emulator_cpu:.2f}" if emulator_cpu is not None else "",
            )
        )
    return markdown_table(cells)


if __name__ == "__main__":
    raise SystemExit(main())
