"""The command table: every `comwit` command, declared without importing its module.

`comwit --help` reads only this table; a command's module (and what it needs: httpx,
pydantic, zstandard, the emulator) is imported when that command runs.

To add a command: write `cli/<name>_cmd.py` with a function decorated with
`comwit.cli.settings.command(...)` (its first parameter is the `Settings` of the shared
options it names; its own options follow as typer parameters; it returns an exit code from
`comwit.exit_codes`), then add one `Command` line below. The summary is the first paragraph of
the function's docstring (a test holds them equal), shown in full by `comwit --help`.
"""

from __future__ import annotations

from comwit.frozen import frozen


@frozen
class Command:
    name: str
    target: str  # "module:attribute": a command function, or a typer.Typer of subcommands
    summary: str


COMMANDS = (
    Command(
        "init",
        "comwit.cli.init_cmd:init",
        "Write a starter comwit.toml from the build dirs found here, or from the project's apps.",
    ),
    Command(
        "validate",
        "comwit.cli.manifest_cmds:validate",
        "Check the manifest, its environments, build dirs and ${VAR}s, offline.",
    ),
    Command(
        "schema",
        "comwit.cli.manifest_cmds:schema",
        "Print the JSON Schema of comwit.toml (for Taplo / Even Better TOML).",
    ),
    Command(
        "pack",
        "comwit.cli.pack_cmd:pack",
        "Pack an app's build_dir as `apply` uploads it; print the path, size and tree digest.",
    ),
    Command(
        "plan",
        "comwit.cli.plan_cmds:plan",
        "Show what `apply` would change. Read-only: needs project:read and app:read.",
    ),
    Command(
        "apply",
        "comwit.cli.apply_cmd:apply",
        "Make the apps match the manifest: upload, roll back, bind and unbind, set env vars.",
    ),
    Command(
        "report",
        "comwit.cli.report_cmd:report",
        "Merge the results of a plan's shards into one summary and exit code; missing shards fail.",
    ),
    Command(
        "rollback",
        "comwit.cli.rollback_cmd:rollback",
        "Make an existing build of APP live again (no upload); the ledger records it.",
    ),
    Command(
        "status",
        "comwit.cli.status_cmd:status",
        "Show each app's live build and hostnames, and whether it matches the manifest.",
    ),
    Command(
        "dns",
        "comwit.cli.dns_cmd:dns",
        "Show the DNS records to publish for each hostname waiting for them. Read-only.",
    ),
    Command(
        "builds",
        "comwit.cli.builds_cmd:builds",
        "List APP's builds, newest first: the live one, size, and what the ledger knows of each.",
    ),
    Command(
        "logs",
        "comwit.cli.logs_cmd:logs",
        "Show APP's log, oldest line first; --follow keeps showing new lines for a while.",
    ),
    Command(
        "doctor",
        "comwit.cli.doctor_cmd:doctor",
        "Check that the API in use offers what comwit relies on (read-only, a few seconds).",
    ),
    Command(
        "preview",
        "comwit.cli.preview_cmd:preview",
        "A live copy of the apps per pull request: up, down, prune.",
    ),
    Command(
        "unlock",
        "comwit.cli.unlock_cmd:unlock",
        "Remove APP's apply lease, left by a run that is gone (a live run loses its guard).",
    ),
    Command(
        "import",
        "comwit.cli.import_cmd:import_",
        "Write a comwit.toml for the project's existing apps (hostnames, env vars).",
    ),
    Command(
        "completion",
        "comwit.cli.completion_cmd:completion",
        "Print the shell completion script for bash, zsh or fish.",
    ),
    Command(
        "emulator",
        "comwit.cli.emulator_cmds:emulator",
        "The local emulator of the Comwit API (for development, tests and demos).",
    ),
)
