"""The README's command table follows the CLI: a row per command, and every option a row
names is one that command takes (a renamed or removed option breaks this test)."""

from __future__ import annotations

import re
from pathlib import Path

from click import Command as ClickCommand

from comwit.cli.app import load_command
from comwit.cli.commands import COMMANDS

README = (Path(__file__).parent.parent / "README.md").read_text()
# `| `comwit apply [PLANFILE] [--yes] ...` | what it does |` -> ("apply", "[PLANFILE] [--yes] ...")
ROWS = re.findall(r"^\| `comwit ([a-z]+)((?: [a-z]+)?)([^`]*)` \|", README, re.MULTILINE)


def _command(name: str, sub: str) -> ClickCommand:
    command = load_command(next(entry for entry in COMMANDS if entry.name == name))
    subcommands = getattr(command, "commands", None)
    return subcommands[sub] if subcommands and sub else command  # `completion bash`: an argument


def test_the_readme_table_has_a_row_for_every_command():
    assert {name for name, _, _ in ROWS} == {entry.name for entry in COMMANDS}


def test_every_option_in_the_readme_table_is_one_its_command_takes():
    for name, sub, usage in ROWS:
        command = _command(name, sub.strip())
        takes = {opt for param in command.params for opt in param.opts}
        named = set(re.findall(r"(?<![\w-])--?[a-z][a-z-]*", usage))
        assert named <= takes, f"comwit {name}{sub}: {sorted(named - takes)} not in its --help"
