"""`comwit completion SHELL`: the script that makes a shell complete comwit's commands, options.

The script calls `comwit` back on each TAB with `_COMWIT_COMPLETE` set; typer answers from the
command table (a command's module is imported only to complete its own options), so this
costs nothing at start-up when the variable is unset.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Annotated

import typer

from comwit.cli.settings import Settings, command
from comwit.errors import ComwitError
from comwit.escape import quoted
from comwit.exit_codes import EXIT_OK

COMPLETE_VAR = "_COMWIT_COMPLETE"


class Shell(enum.StrEnum):
    bash = "bash"
    zsh = "zsh"
    fish = "fish"


def prepare_completion(environ: Mapping[str, str]) -> None:
    """Teach typer's completion its shells; only when the shell is asking (COMPLETE_VAR set).
    A bash request without its words, or whose word index is not a number (the script
    always sends both), is a ComwitError, not a crash in typer."""
    from typer._completion_classes import completion_init

    if environ.get(COMPLETE_VAR) == "complete_bash":
        cword = environ.get("COMP_CWORD", "")
        script = "completion is answered for the script `comwit completion bash` prints"
        if "COMP_WORDS" not in environ:
            raise ComwitError(f"COMP_WORDS is not set; {script}")
        if not (cword.isascii() and cword.removeprefix("-").isdigit()):
            raise ComwitError(f"COMP_CWORD={quoted(cword)} is not a word index; {script}")

    completion_init()


_INSTALL = {
    Shell.bash: 'eval "$(comwit completion bash)"  # in ~/.bashrc',
    Shell.zsh: 'eval "$(comwit completion zsh)"  # in ~/.zshrc, after compinit',
    Shell.fish: "comwit completion fish > ~/.config/fish/completions/comwit.fish",
}


@command()
def completion(
    settings: Settings,
    shell: Annotated[Shell, typer.Argument(help="bash, zsh or fish.", show_default=False)],
) -> int:
    """Print the shell completion script for bash, zsh or fish.

    Install it with, for bash: eval "$(comwit completion bash)" in ~/.bashrc; for zsh: the
    same in ~/.zshrc; for fish: comwit completion fish > ~/.config/fish/completions/comwit.fish.
    """
    from typer._completion_shared import get_completion_script

    script = get_completion_script(prog_name="comwit", complete_var=COMPLETE_VAR, shell=shell)
    settings.console.print(script.strip("\n"))
    settings.console.info(f"Install it: {_INSTALL[shell]}")
    return EXIT_OK
