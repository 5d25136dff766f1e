"""The command line: parse options, build the edges, call the core, map errors to exit codes.

Exit codes: 0 success or no changes, 1 an error the user can act on, 2 `plan
--detailed-exitcode` found changes, 3 a bug in comwit, 130 interrupted.
"""

from __future__ import annotations

import os
import sys
import traceback

import typer

from comwit import __version__
from comwit.errors import ComwitError
from comwit.secret import redact

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2
EXIT_BUG = 3
EXIT_INTERRUPTED = 130

app = typer.Typer(
    name="comwit",
    help="Declarative deploys for Comwit Cloud apps: plan, apply, roll back.",
    add_completion=False,
    pretty_exceptions_show_locals=False,  # locals hold tokens
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"comwit {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback(invoke_without_command=True)
def _root(
    ctx: typer.Context,
    version: bool = typer.Option(
        False, "--version", is_eager=True, callback=_show_version, help="Show the version."
    ),
) -> None:
    """Declarative deploys for Comwit Cloud apps: plan, apply, roll back."""
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())
        raise typer.Exit(EXIT_OK)


def _register() -> None:
    from comwit.cli import (
        apply_cmd,
        builds_cmd,
        emulator_cmds,
        import_cmd,
        manifest_cmds,
        pack_cmd,
        plan_cmds,
        rollback_cmd,
        status_cmd,
    )

    for module in (
        manifest_cmds,
        pack_cmd,
        plan_cmds,
        apply_cmd,
        rollback_cmd,
        status_cmd,
        builds_cmd,
        import_cmd,
        emulator_cmds,
    ):
        module.register(app)


_register()


def main(argv: list[str] | None = None) -> int:
    """Run one command; every outcome becomes an exit code, never a traceback."""
    try:
        result = app(args=argv, prog_name="comwit", standalone_mode=False)
    except typer.Exit as exc:
        result = exc.exit_code
    except typer.Abort:
        _say("error: interrupted")
        return EXIT_INTERRUPTED
    except typer.TyperException as exc:  # usage errors: unknown command, bad option value
        _say(f"error: {exc.format_message()} (see `comwit --help`)")
        return EXIT_ERROR
    except ComwitError as exc:
        for line in str(exc).splitlines() or [type(exc).__name__]:
            _say(f"error: {line}")
        return exc.exit_code
    except KeyboardInterrupt:
        _say("error: interrupted")
        return EXIT_INTERRUPTED
    except Exception as exc:  # the last line of defence: a bug, exit 3
        _say(f"error: comwit hit a bug ({type(exc).__name__}: {exc}); please report it")
        if os.environ.get("COMWIT_DEBUG"):
            _say("".join(traceback.format_exception(exc)))
        return EXIT_BUG
    if result == EXIT_INTERRUPTED:  # typer turns Ctrl-C into this exit code, silently
        _say("error: interrupted")
    return result if isinstance(result, int) else EXIT_OK


def _say(text: str) -> None:
    sys.stderr.write(redact(text).rstrip("\n") + "\n")
