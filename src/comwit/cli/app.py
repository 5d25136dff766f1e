"""The root command: `--version`, `--help`, and the command table, each command loaded lazily."""

from __future__ import annotations

import enum
import functools
import importlib
import re
from typing import TYPE_CHECKING, Any, Final, Literal, get_origin

import typer
import typer._click
import typer.core
import typer.main

from comwit import __version__
from comwit.cli.coercion import coerce_param, coerce_plainly
from comwit.cli.commands import COMMANDS, Command
from comwit.cli.lasting import made_to_last
from comwit.exit_codes import EXIT_OK

if TYPE_CHECKING:
    from collections.abc import Callable

    from typer._click import Command as ClickCommand
    from typer._click import Context, HelpFormatter
    from typer._click import Parameter as ClickParameter
    from typer.core import TyperCommand, TyperOption
    from typer.models import CommandFunctionType

HELP: Final = "Declarative deploys for Comwit Cloud apps: plan, apply, roll back."
CONTEXT: Final = {"help_option_names": ["-h", "--help"]}


def typer_app(**attrs: object) -> typer.Typer:
    """A typer app made the way every comwit command group is made."""
    return _Typer(
        add_completion=False,
        pretty_exceptions_show_locals=False,  # locals hold tokens
        rich_markup_mode=None,
        context_settings=CONTEXT,
        **attrs,  # type: ignore[arg-type]
    )


class _CoercedHelp(typer._click.Command):
    """The -h/--help option that typer adds while parsing converts its value without
    pydantic, like the command's own options (commands and groups alike)."""

    def get_help_option(self, ctx: Context) -> TyperOption | None:
        option = super().get_help_option(ctx)
        coerce_param(option)
        return option


class ComwitCommand(_CoercedHelp, typer.core.TyperCommand):
    """A command as comwit makes each (its help option as `_CoercedHelp` says); an option
    given an empty value is refused, not taken as left out."""

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        rest = super().parse_args(ctx, args)
        if not ctx.resilient_parsing:
            for param in self.get_params(ctx):
                if isinstance(param, typer.core.TyperOption):
                    _refuse_empty(ctx, param)
        return rest


# The environment variable an option's help names in its place ("or COMWIT_PROJECT"): empty,
# it counts as unset (a CI's variable that is not set often reads as empty), while an empty
# option is a mistake.
_FALLBACK: Final = re.compile(r"\bor (COMWIT_[A-Z_]+)")


def _refuse_empty(ctx: Context, param: TyperOption) -> None:
    """A usage error when the option `param` was given an empty value on the command line."""
    if param.name is None:
        return
    if ctx.get_parameter_source(param.name) is not typer._click.core.ParameterSource.COMMANDLINE:
        return
    value = ctx.params.get(param.name)
    values = value if isinstance(value, list | tuple) else [value]
    if not any(isinstance(each, str) and not each.strip() for each in values):
        return
    flag = max(param.opts, key=len)
    fallback = _FALLBACK.search(param.help or "")
    unset = f" (an empty {fallback[1]} counts as unset)" if fallback else ""
    raise typer.BadParameter(
        f"an empty value; pass {flag} {param.metavar} or leave the option out{unset}",
        ctx=ctx,
        param=param,
    )


class _Typer(typer.Typer):
    """A typer app whose commands are `ComwitCommand`s unless declared otherwise."""

    def command(
        self, name: str | None = None, *, cls: type[TyperCommand] | None = None, **attrs: Any
    ) -> Callable[[CommandFunctionType], CommandFunctionType]:
        return super().command(name, cls=cls or ComwitCommand, **attrs)


class FullHelpGroup(_CoercedHelp, typer.core.TyperGroup):
    """A group whose `--help` lists each command's summary in full, wrapped, never cut short."""

    def format_commands(self, ctx: Context, formatter: HelpFormatter) -> None:
        rows = [(name, self.summary(ctx, name)) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                _write_rows(formatter, rows)

    def summary(self, ctx: Context, name: str) -> str:
        found = self.get_command(ctx, name)
        return (found.help or "").split("\n\n")[0].replace("\n", " ") if found else ""


def _write_rows(formatter: HelpFormatter, rows: list[tuple[str, str]]) -> None:
    """Name and summary per line, the summary wrapped at spaces only (click's own list
    breaks words at hyphens: "read-" / "only")."""
    import textwrap

    indent = " " * formatter.current_indent
    first = max(len(name) for name, _ in rows) + 2
    width = max((formatter.width or 80) - len(indent) - first, 20)
    for name, summary in rows:
        lines = textwrap.wrap(summary, width, break_on_hyphens=False) or [""]
        formatter.write(f"{indent}{name.ljust(first)}{lines[0]}\n")
        for line in lines[1:]:
            formatter.write(f"{indent}{' ' * first}{line}\n")


class LazyGroup(FullHelpGroup):
    """The root group: lists `COMMANDS`, imports a command's module only when it runs."""

    _table: Final = {each.name: each for each in COMMANDS}

    def list_commands(self, ctx: Context) -> list[str]:
        return list(self._table)

    def summary(self, ctx: Context, name: str) -> str:
        return self._table[name].summary

    def get_command(self, ctx: Context, cmd_name: str) -> ClickCommand | None:
        entry = self._table.get(cmd_name)
        return load_command(entry) if entry else None


def load_command(entry: Command) -> ClickCommand:
    """The click command of a table entry (a function, or a typer app of subcommands)."""
    module, _, attribute = entry.target.partition(":")
    with made_to_last():
        target = getattr(importlib.import_module(module), attribute)
    if isinstance(target, typer.Typer):
        group = typer.main.get_command(target)
        group.name = entry.name
        return _adapted(group)
    single = typer_app()
    single.command(entry.name)(target)
    return _adapted(typer.main.get_command(single))


def _adapted(command: ClickCommand) -> ClickCommand:
    """typer's command as comwit shows and parses it: named metavars, and plain values
    converted by comwit (no pydantic while the command line is read)."""
    coerce_plainly(command)
    return name_metavars(command)


# What an option's value is, as help shows it (`--app GLOB`), instead of a Python type
# (`<list[str]>`, `<int range>`). Options not listed show their own name in capitals.
METAVARS: Final = {
    "manifest": "FILE",
    "out": "FILE",
    "env": "NAME",
    "project": "ID",
    "api_url": "URL",
    "app": "GLOB",
    "exclude_app": "GLOB",
    "allow_detach": "HOST",
    "allow_delete_env": "KEY",
    "concurrency": "N",
    "parallel": "N",
    "shards": "N",
    "shard_size": "K",
    "level": "N",
    "port": "N",
    "max_artifact_bytes": "BYTES",
    "data": "DIR",
    "host": "ADDRESS",
    "to": "BUILD_ID",
}


def name_metavars(command: ClickCommand) -> ClickCommand:
    """Give every option that takes a value (and is not a choice) a metavar, subcommands too."""
    for param in command.params:
        name = param.name or ""
        if param.param_type_name == "argument" and param.metavar is None:
            param.metavar = name.upper()  # APP, PLANFILE: as the usage line and docs say
            if hasattr(param, "display_type_rich"):  # typer >= 0.2x appends `<str>` to it
                param.display_type_rich = _no_type
            if hasattr(param, "_usage_display_name"):  # and writes a required one `{APP}`
                param._usage_display_name = functools.partial(_usage_name, param)
        takes_value = param.param_type_name == "option" and not getattr(param, "is_flag", False)
        if takes_value and param.metavar is None and not _has_choices(param):
            param.metavar = METAVARS.get(name, name.upper())
    for sub in getattr(command, "commands", {}).values():
        name_metavars(sub)
    return command


def _no_type(ctx: object = None) -> None:
    return None


def _usage_name(param: ClickParameter) -> str:
    """An argument as click's usage line writes it: APP, [PLANFILE], RESULTS..."""
    name = param.metavar or (param.name or "").upper()
    if not param.required:
        name = f"[{name}]"
    return name + ("..." if param.nargs != 1 else "")


def _has_choices(param: object) -> bool:
    """An enum or Literal option shows its choices (`<text|json>`): they say more than a name."""
    annotation = getattr(getattr(param, "type_descriptor", None), "annotation", None)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return True
    if get_origin(annotation) is Literal:
        return True
    return type(getattr(param, "type", None)).__name__ == "Choice"  # older typer: click types


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"comwit {__version__}")
        raise typer.Exit(EXIT_OK)


root = typer_app(name="comwit", help=HELP, cls=LazyGroup)


@root.callback(invoke_without_command=True)
def _root(
    ctx: typer.Context,
    version: bool = typer.Option(
        False, "--version", is_eager=True, callback=_show_version, help="Show the version."
    ),
) -> None:
    """Declarative deploys for Comwit Cloud apps: plan, apply, roll back."""
    help_without_command(ctx)


def help_without_command(ctx: typer.Context) -> None:
    """A group's callback: run without a command, the group shows its help (exit 0)."""
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())
        raise typer.Exit(EXIT_OK)


def root_command() -> ClickCommand:
    return typer.main.get_command(root)
