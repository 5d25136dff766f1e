import dataclasses
import errno
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from comwit import __version__
from comwit.cli import main
from comwit.cli.app import load_command
from comwit.cli.commands import COMMANDS
from comwit.cli.settings import Edges, OutputFormat, Settings, parse

SRC = Path(__file__).parent.parent / "src" / "comwit"


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


@pytest.mark.parametrize(
    ("group", "commands"), [("preview", ("up", "down", "prune")), ("emulator", ("serve", "token"))]
)
def test_a_group_without_a_command_prints_its_help_and_exits_0(capsys, group, commands):
    assert main([group]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"Usage: comwit {group} ")
    listed = out.split("Commands:\n", 1)[1].split()
    assert set(commands) <= set(listed)


def test_help_lists_every_command_with_its_whole_summary(capsys):
    assert main(["--help"]) == 0
    commands = capsys.readouterr().out.split("Commands:\n", 1)[1]
    assert "..." not in commands
    flat = re.sub(r"\s+", " ", commands)
    for entry in COMMANDS:
        assert f" {entry.name} {entry.summary}" in f" {flat}", entry.name


@pytest.mark.parametrize("entry", COMMANDS, ids=lambda e: e.name)
def test_the_table_summary_is_the_first_paragraph_of_the_command_help(entry):
    command = load_command(entry)
    assert command.name == entry.name
    assert re.sub(r"\s+", " ", (command.help or "").split("\n\n")[0]) == entry.summary


def test_emulator_help_shows_whole_summaries(capsys):
    assert main(["emulator", "--help"]) == 0
    out = capsys.readouterr().out
    assert "..." not in out.split("Commands:\n", 1)[1]
    assert "a member of these projects." in re.sub(r"\s+", " ", out)


def test_version_and_help_import_neither_httpx_nor_pydantic():
    script = (
        "import sys, io; from comwit.cli import main; "
        "assert main(['--version']) == 0; v = set(sys.modules); "
        "assert main(['--help']) == 0; h = set(sys.modules); "
        "heavy = ('httpx', 'pydantic', 'zstandard', 'fastapi', 'rich'); "
        "print(sorted(m for m in heavy if m in v), sorted(m for m in heavy if m in h), "
        "'typer' in v)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert proc.stdout.strip().splitlines()[-1] == "[] [] False"


def test_shared_options_parse_into_one_frozen_settings_value():
    edges = Edges({"NO_COLOR": "1"}, io.StringIO(), io.StringIO(), io.StringIO())
    given = {
        "manifest": Path("x.toml"),
        "env": "staging",
        "app": ["w*"],
        "exclude_app": ["api"],
        "output_format": "json",
        "quiet": True,
        "concurrency": 3,
    }
    settings = parse(given, edges)
    assert (settings.manifest, settings.env, settings.include, settings.exclude) == (
        Path("x.toml"),
        "staging",
        ("w*",),
        ("api",),
    )
    assert (settings.output_format, settings.concurrency) == (OutputFormat.json, 3)
    assert settings.console.verbosity < 0
    assert settings.environ == {"NO_COLOR": "1"}
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.env = "prod"  # type: ignore[misc]


def test_the_manifest_defaults_to_comwit_toml_when_not_given(tmp_path, monkeypatch):
    (tmp_path / "comwit.toml").write_text("")
    monkeypatch.chdir(tmp_path)
    edges = Edges({}, io.StringIO(), io.StringIO(), io.StringIO())
    settings = parse({}, edges)
    assert isinstance(settings, Settings)
    assert (settings.manifest_file, settings.manifest) == (None, Path("comwit.toml"))


@pytest.mark.parametrize(
    ("option", "variable", "manifest", "chosen"),
    [
        ("opt", "var", "toml", "opt"),
        (None, "var", "toml", "var"),
        (None, None, "toml", "toml"),
        (None, None, None, "config"),
        (None, "", "", "config"),
        (None, "  ", "toml", "toml"),  # a blank variable counts as unset, as an empty one
        (None, "\t", None, "config"),
        (None, " var\n", "toml", "var"),  # the spaces of a pasted value are not the id's
    ],
)
def test_the_project_is_the_option_then_the_variable_then_the_manifest_then_the_config(
    tmp_path, option, variable, manifest, chosen
):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"default_project": "config"}))
    environ = {"COMWIT_CONFIG": str(config)}
    if variable is not None:
        environ["COMWIT_PROJECT"] = variable
    edges = Edges(environ, io.StringIO(), io.StringIO(), io.StringIO())
    assert parse({"project": option}, edges).chosen_project(manifest) == chosen


def test_no_project_anywhere_is_none(tmp_path):
    edges = Edges({"XDG_CONFIG_HOME": str(tmp_path)}, *(io.StringIO(),) * 3)  # no file there
    assert parse({}, edges).chosen_project() is None


def test_a_command_writes_to_the_streams_main_is_given(tmp_path):
    (tmp_path / "comwit.toml").write_text('version = 1\n[apps.web]\nbuild_dir = "."\n')
    out, err = io.StringIO(), io.StringIO()
    edges = Edges({}, io.StringIO(), out, err)
    assert main(["validate", "-f", str(tmp_path / "comwit.toml")], edges=edges) == 0
    assert "is valid: 1 app (web)" in out.getvalue()
    assert main(["validate", "-f", str(tmp_path / "missing.toml")], edges=edges) == 1
    assert err.getvalue().startswith("error: ")


class _Full(io.StringIO):
    """A stream on a full disk: every write fails as /dev/full's does."""

    def write(self, text: str) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize(
    "args", [["--version"], ["validate"], ["--help"], ["plan", "--help"], ["emulator"]]
)
def test_a_stdout_that_takes_nothing_is_one_line_error_not_a_bug(tmp_path, args):
    """`comwit status > /dev/full` said "comwit hit a bug (OSError)" and exited 3; so did
    the help click writes itself."""
    (tmp_path / "comwit.toml").write_text('version = 1\n[apps.web]\nbuild_dir = "."\n')
    err = io.StringIO()
    edges = Edges({}, io.StringIO(), _Full(), err)
    manifest = ["-f", str(tmp_path / "comwit.toml")] if args == ["validate"] else []
    assert main([*args, *manifest], edges=edges) == 1
    assert err.getvalue() == "error: cannot write to stdout: no space left on device\n"


def test_a_stderr_that_takes_nothing_leaves_the_exit_code_to_tell():
    """An error that cannot be said is still exit 1, not an OSError out of `main`."""
    edges = Edges({}, io.StringIO(), io.StringIO(), _Full())
    assert main(["validate", "-f", "/nonexistent/comwit.toml"], edges=edges) == 1


def test_a_stderr_that_takes_nothing_costs_its_messages_not_the_commands_output(
    tmp_path, monkeypatch
):
    """`comwit plan 2>/dev/full` printed nothing and exited 1: its first note on stderr (the
    local emulator's) stopped it."""
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "index.html").write_text("hi")
    (tmp_path / "comwit.toml").write_text(
        'version = 1\nproject = "demo"\n[apps.web]\nbuild_dir = "web"\n'
    )
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    edges = Edges({"COMWIT_API_URL": "local"}, io.StringIO(), out, _Full())
    assert main(["plan", "--detailed-exitcode"], edges=edges) == 2
    assert "+ web" in out.getvalue()


def test_a_full_disk_under_stdout_is_said_by_the_real_process(tmp_path):
    (tmp_path / "comwit.toml").write_text('version = 1\n[apps.web]\nbuild_dir = "."\n')
    with Path("/dev/full").open("w") as full:
        proc = subprocess.run(
            [sys.executable, "-m", "comwit", "validate", "-f", str(tmp_path / "comwit.toml")],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
            timeout=60,
        )
    assert (proc.returncode, proc.stderr) == (
        1,
        "error: cannot write to stdout: no space left on device\n",
    )


def test_exit_codes_are_defined_in_one_module_only():
    defined = [
        path.relative_to(SRC).as_posix()
        for path in SRC.rglob("*.py")
        if re.search(r"^EXIT_\w+\s*(:[^=]*)?=", path.read_text(), re.MULTILINE)
    ]
    assert defined == ["exit_codes.py"]


def test_the_readme_lists_exactly_the_exit_codes_that_module_defines():
    from comwit import exit_codes

    readme = (SRC.parent.parent / "README.md").read_text()
    table = readme[readme.index("## Exit codes") :].split("\n\n")[1]
    listed = {int(code) for code in re.findall(r"^\| (\d+) \|", table, re.MULTILINE)}
    defined = {value for name, value in vars(exit_codes).items() if name.startswith("EXIT_")}
    assert listed == defined


def test_the_script_leaves_with_the_exit_code_after_flushing_all_output(tmp_path):
    schema = subprocess.run(
        [sys.executable, "-m", "comwit", "schema", "--plan"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert schema.returncode == 0
    assert json.loads(schema.stdout)["title"]  # all of it arrived, though teardown was skipped
    failed = subprocess.run(
        [sys.executable, "-m", "comwit", "validate", "-f", str(tmp_path / "none.toml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert failed.returncode == 1
    assert failed.stderr.startswith("error: ") and failed.stderr.endswith("\n")


def test_a_working_directory_that_was_deleted_is_a_one_line_error(tmp_path, monkeypatch):
    (tmp_path / "comwit.toml").write_text('version = 1\n[apps.web]\nbuild_dir = "."\n')
    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()
    out, err = io.StringIO(), io.StringIO()
    edges = Edges({}, io.StringIO(), out, err)
    assert main(["validate", "-f", str(tmp_path / "comwit.toml")], edges=edges) == 1
    assert err.getvalue() == (
        "error: the working directory no longer exists; cd into one that does and run comwit again\n"
    )
    assert main(["--version"], edges=edges) == 0  # needs no working directory


def test_a_closed_stdout_is_a_one_line_error_before_anything_runs(tmp_path, monkeypatch):
    # `comwit ... >&-`: Python gives the process no sys.stdout at all.
    (tmp_path / "comwit.toml").write_text('version = 1\n[apps.web]\nbuild_dir = "."\n')
    err = io.StringIO()
    monkeypatch.setattr(sys, "stdout", None)
    monkeypatch.setattr(sys, "stderr", err)
    for argv in (["--version"], ["validate", "-f", str(tmp_path / "comwit.toml")]):
        assert main(argv) == 1
    assert err.getvalue() == (
        "error: standard output is closed; give comwit one (>/dev/null to discard it)\n" * 2
    )


def test_a_closed_stderr_leaves_the_command_and_its_exit_code_as_they_are(tmp_path, monkeypatch):
    (tmp_path / "comwit.toml").write_text('version = 1\n[apps.web]\nbuild_dir = "."\n')
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", None)
    assert main(["validate", "-f", str(tmp_path / "comwit.toml")]) == 0
    assert main(["validate", "-f", str(tmp_path / "missing.toml")]) == 1
    assert "is valid: 1 app (web)" in out.getvalue()
    sys.stderr.close()  # what comwit opened in its place (the process's, in the script)


@pytest.mark.parametrize("closed", [1, 2])
def test_the_script_with_a_closed_stream_leaves_with_no_traceback(tmp_path, closed):
    (tmp_path / "comwit.toml").write_text('version = 1\n[apps.web]\nbuild_dir = "."\n')
    script = f'exec "$@" {closed}>&-'
    command = [sys.executable, "-m", "comwit", "validate", "-f", str(tmp_path / "comwit.toml")]
    proc = subprocess.run(
        ["sh", "-c", script, "sh", *command], capture_output=True, text=True, check=False
    )
    assert (proc.returncode, proc.stderr) == (
        (1, "error: standard output is closed; give comwit one (>/dev/null to discard it)\n")
        if closed == 1
        else (0, "")
    )


@pytest.mark.parametrize(
    "environ",
    [{"COMWIT_API_URL": "http://127.0.0.1:9", "HOME": "/no\nwhere", "XDG_CONFIG_HOME": ""}],
)
def test_an_error_is_one_line_whatever_its_values_hold(tmp_path, environ):
    (tmp_path / "comwit.toml").write_text(
        'version = 1\nproject = "p"\n[apps.web]\nbuild_dir = "."\n'
    )
    err = io.StringIO()
    edges = Edges(environ, io.StringIO(), io.StringIO(), err)
    assert main(["plan", "-f", str(tmp_path / "comwit.toml")], edges=edges) == 1
    assert err.getvalue().count("\n") == 1
    assert "/no\\nwhere/.config/comwit/config.json" in err.getvalue()


def test_each_manifest_problem_is_one_line_whatever_its_file_name_holds(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the file is named as given, not by a long temporary path
    err = io.StringIO()
    edges = Edges({}, io.StringIO(), io.StringIO(), err)
    assert main(["validate", "-f", "a\nb.toml"], edges=edges) == 1
    assert err.getvalue().count("\n") == 1
    assert err.getvalue().startswith("error: a\\nb.toml: no manifest at ")
