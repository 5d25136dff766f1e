import subprocess
import sys

from comwit import __version__
from comwit.cli import main


def test_version_flag_prints_the_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"comwit {__version__}"


def test_unknown_command_is_a_one_line_error_with_exit_1(capsys):
    assert main(["frobnicate"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert err.count("\n") == 1
    assert "Traceback" not in err


def test_python_dash_m_runs_the_same_entry_point():
    proc = subprocess.run(
        [sys.executable, "-m", "comwit", "--version"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"comwit {__version__}"


def test_no_arguments_prints_help_and_exits_0(capsys):
    assert main([]) == 0
    assert "Usage: comwit" in capsys.readouterr().out
