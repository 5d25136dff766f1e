"""What the hot commands load: each module a command imports costs every run of it.

Each case runs the command in a fresh interpreter (as the `comwit` script does, plugins of
pydantic disabled) and reads `sys.modules` once it has answered (a name kept out on purpose,
set to None, is not loaded).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

from comwit.cli import main
from comwit.cli.commands import COMMANDS
from comwit.cli.settings import Edges

REPO = Path(__file__).resolve().parent.parent

# Never needed by a command that only reads: the emulator and its server, packing, the
# emulator's database, and the package metadata that pydantic's plugin loader reads.
NOT_FOR_READING = (
    "fastapi",
    "starlette",
    "uvicorn",
    "comwit.emulator",
    "comwit.artifact.pack",
    "tarfile",
    "sqlite3",
    "importlib.metadata",
)
# Not needed offline: HTTP, the event loop, compression, and the ledger (read from the API).
NOT_OFFLINE = ("httpx", "httpcore", "anyio", "asyncio", "zstandard", "comwit.plan.ledger")
# Not needed to validate the example: IDNA's tables (its hostnames are ASCII) and logging
# (only the API's retries log).
NOT_TO_VALIDATE = ("idna", "logging")

_CHILD = """
import json, sys
from comwit.cli import main
code = main(sys.argv[1:])
sys.stdout.flush()
sys.stderr.write(json.dumps({"code": code, "modules": [m for m, v in sys.modules.items() if v]}) + "\\n")
"""


def _loaded(
    args: list[str], cwd: Path, environ: dict[str, str], *, plugins: str = "__all__"
) -> tuple[int, str, set[str]]:
    """The exit code, stdout and loaded modules of `comwit ARGS` run in a new interpreter,
    with PYDANTIC_DISABLE_PLUGINS set to `plugins` (empty: unset)."""
    environ = environ | {"PYDANTIC_DISABLE_PLUGINS": plugins, "NO_COLOR": "1"}
    if not plugins:
        del environ["PYDANTIC_DISABLE_PLUGINS"]
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    report = json.loads(proc.stderr.splitlines()[-1])
    return report["code"], proc.stdout, set(report["modules"])


def _within(loaded: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in loaded if any(m == n or m.startswith(n + ".") for n in names))


def test_validate_loads_nothing_of_http_the_emulator_packing_or_the_ledger():
    code, out, loaded = _loaded(["validate", "-f", "comwit.toml.example"], REPO, _clean())
    assert code == 0, out
    assert "is valid" in out
    assert _within(loaded, NOT_FOR_READING + NOT_OFFLINE + NOT_TO_VALIDATE) == []
    assert "comwit.manifest.model" in loaded


def test_with_pydantic_plugins_allowed_validate_still_looks_for_them():
    code, out, loaded = _loaded(
        ["validate", "-f", "comwit.toml.example"], REPO, _clean(), plugins=""
    )
    assert code == 0, out
    assert "importlib.metadata" in loaded  # pydantic's own loader ran: plugins are found


def test_a_no_change_plan_loads_nothing_of_the_emulator_packing_or_its_database(process_world):
    environ = process_world.environ()
    assert _run_here(process_world.root, environ, "apply", "--yes") == 0
    code, out, loaded = _loaded(["plan", "--detailed-exitcode"], process_world.root, environ)
    assert code == 0, out
    assert "No changes" in out
    assert _within(loaded, NOT_FOR_READING) == []
    assert {"httpx", "comwit.plan.diff"} <= loaded


def _run_here(root: Path, environ: dict[str, str], *args: str) -> int:
    """`comwit ARGS` in this process, over loopback HTTP like the process under test."""
    edges = Edges(environ, io.StringIO(), io.StringIO(), io.StringIO())
    with contextlib.chdir(root):
        return main(list(args), edges=edges)


def _clean() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("COMWIT_")}


# Reads command lines as `comwit` does, up to each command's body, and prints the modules that
# reading them loaded (not those that importing a command's own module loads).
_READ_CHILD = """
import json, sys
from comwit.cli.app import root_command
read = set()

def parse(command, name, args, parent):
    before = set(sys.modules)
    ctx = command.make_context(name, list(args), parent=parent, resilient_parsing=True)
    read.update(set(sys.modules) - before)
    return ctx

def visit(command, name, args, parent):
    ctx = parse(command, name, args, parent)
    if not hasattr(command, "resolve_command"):
        return
    for line in [args] if args else [[sub] for sub in command.list_commands(ctx)]:
        sub_name, sub, rest = command.resolve_command(ctx, line)  # imports its module
        visit(sub, sub_name, rest, ctx)

for line in json.loads(sys.argv[1]):
    visit(root_command(), "comwit", line, None)
print(json.dumps(sorted(read)))
"""
# What typer imports to check option values with pydantic.
PYDANTIC = ("pydantic", "pydantic_core", "typer._adapters")


def test_reading_the_command_line_of_any_command_loads_no_pydantic():
    lines = [
        ["pack", "--level", "3", "web", "-o", "x"],
        ["plan", "--concurrency", "4", "--app", "w*", "--format", "json"],
        ["report", "a.json", "b.json"],
        *([entry.name] for entry in COMMANDS if entry.name not in ("pack", "plan", "report")),
    ]
    proc = subprocess.run(
        [sys.executable, "-c", _READ_CHILD, json.dumps(lines)],
        env=_clean() | {"PYDANTIC_DISABLE_PLUGINS": "__all__"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    read = set(json.loads(proc.stdout))
    assert _within(read, PYDANTIC) == []


def test_a_command_that_needs_no_pydantic_runs_and_refuses_a_bad_value_without_it(tmp_path):
    for shell, expected in (("bash", 0), ("tcsh", 1)):
        code, out, loaded = _loaded(["completion", shell], tmp_path, _clean())
        assert code == expected, out
        assert loaded.isdisjoint(PYDANTIC)  # main() stands in for pydantic.plugin._loader


def test_pack_with_options_reads_them_and_stops_at_a_missing_manifest_without_pydantic(tmp_path):
    code, _, loaded = _loaded(["pack", "--level", "3", "web", "-o", "x"], tmp_path, _clean())
    assert code == 1
    assert loaded.isdisjoint(PYDANTIC)
    assert "comwit.cli.pack_cmd" in loaded  # the command ran: its body found no comwit.toml


# Not needed to pack a tree that no pattern excludes from: the gitignore matcher (pathspec is a
# tenth of a pack's start-up), nor HTTP, the ledger, the emulator or its database.
NOT_TO_PACK = (
    "pathspec",
    "httpx",
    "anyio",
    "asyncio",
    "comwit.plan.ledger",
    "fastapi",
    "comwit.emulator",
    "sqlite3",
    "tarfile",
    "importlib.metadata",
    *NOT_TO_VALIDATE,
)


def test_pack_loads_the_gitignore_matcher_only_when_a_pattern_excludes_something(tmp_path):
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.html").write_text("hi")
    (tmp_path / "site" / "debug.log").write_text("trace")
    manifest = 'version = 1\nproject = "p"\n[apps.web]\nbuild_dir = "site"\n'
    (tmp_path / "comwit.toml").write_text(manifest)
    code, out, loaded = _loaded(["pack", "web", "-o", "plain.tar.zst"], tmp_path, _clean())
    assert code == 0, out
    assert "files: 2 " in out
    assert _within(loaded, NOT_TO_PACK) == []
    # The pack runs on the TOML's word, before typer; a forked child validates the manifest
    # (cli.ahead)
    assert "zstandard" in loaded
    assert loaded.isdisjoint(PYDANTIC)
    assert "typer" not in loaded and "comwit.cli.settings" not in loaded

    (tmp_path / "comwit.toml").write_text(manifest + 'exclude = ["*.log"]\n')
    code, out, loaded = _loaded(["pack", "web", "-o", "excluded.tar.zst"], tmp_path, _clean())
    assert code == 0, out
    assert "files: 1 " in out
    assert "pathspec" in loaded


_LOG_CHILD = """
import io, json, sys
from comwit.console import logger, make_console
err = io.StringIO()
make_console(out=io.StringIO(), err=err, environ={"NO_COLOR": "1"})
before = "logging" in sys.modules
logger("comwit.api").warning("retry %d of %d", 1, 3)
logger("comwit.api").info("not shown at the normal verbosity")
print(json.dumps([before, err.getvalue()]))
"""


def test_a_console_made_before_logging_is_loaded_still_shows_comwit_log_records():
    proc = subprocess.run(
        [sys.executable, "-c", _LOG_CHILD],
        env=_clean(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(proc.stdout) == [False, "warning: retry 1 of 3\n"]
