"""`comwit completion bash|zsh|fish`: a script that calls comwit back for completions, which
the command table answers; nothing of it is loaded when a command runs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from comwit.cli import main


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_the_script_calls_comwit_back_with_its_completion_variable(shell, capsys):
    assert main(["completion", shell]) == 0
    captured = capsys.readouterr()
    assert f"_COMWIT_COMPLETE=complete_{shell}" in captured.out
    assert "comwit" in captured.out
    assert captured.err.startswith("Install it: ")


def test_an_unknown_shell_lists_the_known_ones(capsys):
    assert main(["completion", "tcsh"]) == 1
    assert capsys.readouterr().err == (
        "error: SHELL: tcsh is not one of 'bash', 'zsh', 'fish' (see `comwit completion --help`)\n"
    )


def test_install_completion_points_to_the_completion_command(capsys):
    assert main(["--install-completion"]) == 1
    assert (
        "`comwit completion bash|zsh|fish` prints the completion script" in capsys.readouterr().err
    )


def _complete(words: str, cword: int) -> list[str]:
    environ = {**os.environ, "_COMWIT_COMPLETE": "complete_bash", "COMP_WORDS": words}
    environ["COMP_CWORD"] = str(cword)
    done = subprocess.run(
        [sys.executable, "-m", "comwit"],
        env=environ, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


@pytest.mark.parametrize("cword", ["", "abc", "\u0661"])
def test_a_completion_request_without_a_word_index_is_a_one_line_error(cword):
    environ = {**os.environ, "_COMWIT_COMPLETE": "complete_bash", "COMP_WORDS": "comwit pl"}
    environ["COMP_CWORD"] = cword
    done = subprocess.run(
        [sys.executable, "-m", "comwit"],
        env=environ, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.startswith(f"error: COMP_CWORD='{cword}' is not a word index;")
    assert done.stderr.count("\n") == 1


def test_a_completion_request_without_its_words_is_a_one_line_error():
    environ = {**os.environ, "_COMWIT_COMPLETE": "complete_bash", "COMP_CWORD": "1"}
    environ.pop("COMP_WORDS", None)
    done = subprocess.run(
        [sys.executable, "-m", "comwit"],
        env=environ, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.startswith("error: COMP_WORDS is not set;")
    assert _complete("comwit pl", -1) == ["plan"]  # a negative index, as typer reads it


def test_the_shell_gets_commands_options_and_choices():
    assert _complete("comwit pl", 1) == ["plan"]
    assert _complete("comwit plan --deta", 2) == ["--detailed-exitcode"]
    assert _complete("comwit status --format ", 3) == ["text", "json"]
    assert _complete("comwit emulator se", 2) == ["serve"]
    assert _complete("comwit emulator serve --project-listing ", 4) == ["on", "404", "501"]


@pytest.mark.skipif(not shutil.which("bash"), reason="needs bash")
def test_bash_loads_the_script_and_completes_with_it(tmp_path):
    script = subprocess.run(
        [sys.executable, "-m", "comwit", "completion", "bash"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    (tmp_path / "comwit").write_text(f'#!/bin/sh\nexec {sys.executable} -m comwit "$@"\n')
    (tmp_path / "comwit").chmod(0o755)
    probe = (
        f"{script}\nCOMP_WORDS=(comwit rollb); COMP_CWORD=1; _comwit_completion comwit; "
        'echo "${COMPREPLY[@]}"'
    )
    environ = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"}
    done = subprocess.run(
        ["bash", "--norc", "-c", probe],
        env=environ, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.stdout.split() == ["rollback"], done.stderr


def test_running_a_command_loads_nothing_of_completion():
    code = (
        "import io, sys; from comwit.cli import main; from comwit.cli.settings import Edges; "
        "main(['--help'], edges=Edges({}, io.StringIO(), io.StringIO(), io.StringIO())); "
        "print('comwit.cli.completion_cmd' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "False"
