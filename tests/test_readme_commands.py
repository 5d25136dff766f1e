"""The README's command table and the synopses of docs/commands.md follow the CLI, both ways:
a row per command (subcommands too), every option a command's --help shows is in its row (but
the common options, explained once below the table), every option a row names is one that
command takes, and choices a row spells out are the option's own. Any other command line the
README or docs/ show names only options its command takes."""

from __future__ import annotations

import re
from pathlib import Path

from typer._click import Command as ClickCommand
from typer._click import Context

from comwit.cli.app import load_command
from comwit.cli.commands import COMMANDS

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text()
COMMANDS_MD = (ROOT / "docs" / "commands.md").read_text()
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

# Taken by most commands and explained once, in the README's "Common options" paragraph; a row
# may show them, and need not.
COMMON = ("--file", "--env", "--project", "--api-url", "--quiet", "--verbose")

# An option as a usage line names it, with the choices it spells out: `--format text|json`.
NAMED = re.compile(r"(?<![\w-])(--?[a-z][a-z-]*)(?: ([a-z0-9-]+(?:\|[a-z0-9-]+)+)(?![\w|-]))?")


def _commands() -> dict[str, ClickCommand]:
    """Every command a user types, by its name: `plan`, `preview up`, `emulator serve`, ..."""
    found = {}
    for entry in COMMANDS:
        command = load_command(entry)
        subcommands = getattr(command, "commands", None) or {}
        found.update({f"{entry.name} {sub}": each for sub, each in subcommands.items()})
        if not subcommands:
            found[entry.name] = command
    return found


CLI = _commands()


def _split(usage: str) -> tuple[str, str]:
    """`preview up --pr N` -> ("preview up", " --pr N"); `completion bash|zsh|fish` -> "completion"."""
    words = usage.split()
    name = " ".join(words[:2]) if " ".join(words[:2]) in CLI else words[0]
    return name, usage.removeprefix(name)


def _readme_rows() -> dict[str, str]:
    """`| `comwit apply [PLANFILE] [--yes] ...` | ... |` -> {"apply": " [PLANFILE] [--yes] ..."}."""
    rows = {}
    for line in re.findall(r"^\| `comwit ([^`]+)` \|", README, re.MULTILINE):
        name, usage = _split(line.replace("\\|", "|"))
        assert name not in rows, f"comwit {name}: two rows in the README's table"
        rows[name] = usage
    return rows


def _synopses(text: str) -> dict[str, str]:
    """The fenced blocks of a page that are a command's usage (`comwit status [-f FILE] ...`),
    continuation lines joined."""
    blocks = re.findall(r"^```\n(comwit .*?)^```", text, re.MULTILINE | re.DOTALL)
    return dict(_split(" ".join(block.split()).removeprefix("comwit ")) for block in blocks)


def _options(command: ClickCommand) -> dict[str, tuple[set[str], set[str]]]:
    """What `--help` shows of each option: {"--format": ({"--format"}, {"text", "json"})}."""
    context = Context(command)
    shown = {}
    for param in command.params:
        record = param.get_help_record(context)
        if param.param_type_name != "option" or record is None:
            continue  # an argument, or a hidden option
        choices = re.search(r"<([^>]+)>", record[0])
        names = set(param.opts) | set(param.secondary_opts)
        shown[max(param.opts, key=len)] = (names, set(choices[1].split("|")) if choices else set())
    return shown


def _mismatches(where: str, usages: dict[str, str]) -> list[str]:
    problems = []
    for name, usage in sorted(usages.items()):
        found = ["no such command"] if name not in CLI else _differences(CLI[name], usage)
        problems += [f"{where}: comwit {name}: {problem}" for problem in found]
    return problems


def _differences(command: ClickCommand, usage: str) -> list[str]:
    options = _options(command)
    named = dict(NAMED.findall(usage))
    takes = set().union(*(names for names, _ in options.values()))
    problems = [f"{option} is not in its --help" for option in sorted(named.keys() - takes)]
    for option, (names, choices) in sorted(options.items()):
        spelled = [named[name] for name in names if name in named]
        if not spelled and option not in COMMON:
            problems.append(f"{option} (in its --help) is missing")
        elif spelled and spelled[0] and set(spelled[0].split("|")) != choices:
            problems.append(f"{option} {spelled[0]}, --help: {'|'.join(sorted(choices))}")
    return problems


def test_the_readme_table_has_a_row_for_every_command():
    assert set(_readme_rows()) == set(CLI)


def test_each_readme_row_shows_exactly_the_options_its_command_takes():
    problems = _mismatches("README", _readme_rows())
    assert not problems, "\n".join(problems)


def test_each_synopsis_in_docs_commands_shows_exactly_the_options_its_command_takes():
    problems = _mismatches("docs/commands.md", _synopses(COMMANDS_MD))
    assert not problems, "\n".join(problems)


def test_each_command_in_docs_commands_has_its_synopsis():
    sections = re.findall(r"^## `comwit ([a-z]+)", COMMANDS_MD, re.MULTILINE)
    assert sorted(sections) == sorted(_synopses(COMMANDS_MD))


def test_the_common_options_are_explained_below_the_readme_table():
    paragraph = re.search(r"^Common options\b.*?\n\n", README, re.MULTILINE | re.DOTALL)
    assert paragraph
    options = _options(CLI["plan"])  # plan takes every one of them
    for option in COMMON:
        names = options[option][0]
        assert any(f"`{name} " in paragraph[0] or f"`{name}`" in paragraph[0] for name in names), (
            option
        )


def test_a_row_that_lacks_an_option_or_names_a_wrong_one_is_found():
    problems = _mismatches("README", {"logs": " APP [--tail N] [--format text|yaml] [--folow]"})
    assert "README: comwit logs: --folow is not in its --help" in problems
    assert "README: comwit logs: --since (in its --help) is missing" in problems
    assert "README: comwit logs: --format text|yaml, --help: json|text" in problems
    assert not any("--file" in problem for problem in problems)  # a common option


def _command_lines(text: str) -> list[str]:
    """Each `comwit ...` a page shows, in inline code or a line of a block, up to a pipe,
    redirection or comment: `comwit plan --out plan.json`."""
    pieces = re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", text, flags=re.DOTALL))
    pieces += [
        line
        for block in re.findall(r"```\w*\n(.*?)```", text, re.DOTALL)
        for line in block.splitlines()
    ]
    found = []
    for piece in pieces:
        for match in re.finditer(r"(?:^|[\s$(\"])comwit ([a-z][a-z-]*(?: [a-z]+)?)(.*)", piece):
            line = match[1] + match[2]
            found.append(re.split(r" [|>#;]| \|\||\)", line)[0])
    return found


def test_every_command_line_in_the_docs_names_only_options_its_command_takes():
    problems = []
    for page in PAGES:
        for line in _command_lines(page.read_text()):
            name, usage = _split(line)
            if name not in CLI:
                continue  # prose: "comwit plans the build dirs"
            takes = set().union(*(names for names, _ in _options(CLI[name]).values()))
            named = set(re.findall(r"(?<![\w-])--?[a-zA-Z][\w-]*", usage)) - {"-h", "--help"}
            problems += [
                f"{page.name}: comwit {line}: {option}" for option in sorted(named - takes)
            ]
    assert not problems, "\n".join(problems)
