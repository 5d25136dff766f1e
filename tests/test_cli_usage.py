"""Help and usage errors in comwit's words: metavars that name what a value is, option errors
without library wording, each pointing to the help of the command that was typed."""

from __future__ import annotations

import re

import pytest

from comwit.cli import main
from comwit.cli.commands import COMMANDS

PYTHON_TYPES = re.compile(r"<(list\[|int|str|path|float|bool|dict)|range>|\[str\]")
SUBCOMMANDS = {"emulator": ["serve", "token", "domain"]}
COMMAND_LINES = [
    [entry.name, *([sub] if sub else [])]
    for entry in COMMANDS
    for sub in (SUBCOMMANDS.get(entry.name) or [None])
]


@pytest.mark.parametrize("words", COMMAND_LINES, ids=" ".join)
def test_help_names_values_not_python_types(words, capsys):
    assert main([*words, "--help"]) == 0
    out = capsys.readouterr().out
    assert not PYTHON_TYPES.search(out), out
    for shown in re.findall(r"<[^>\s]*>", out):  # only choices go in brackets: <text|json>
        assert "|" in shown, shown


def test_plan_help_shows_the_metavars_the_docs_use(capsys):
    assert main(["plan", "--help"]) == 0
    out = capsys.readouterr().out
    for shown in ("-f, --file FILE", "--app GLOB", "--concurrency N", "--allow-detach HOST"):
        assert shown in out


@pytest.mark.parametrize(
    ("words", "shown"),
    [
        (["apply"], ["--parallel N", "--shard I/N", "--lock-timeout SECONDS"]),
        (["plan"], ["--shards N", "--shard-size K"]),
    ],
    ids=["apply", "plan"],
)
def test_apply_and_plan_help_name_counts_and_shards_by_what_they_are(words, shown, capsys):
    assert main([*words, "--help"]) == 0
    out = capsys.readouterr().out
    for option in shown:
        assert option in out


@pytest.mark.parametrize(
    ("words", "usage"),
    [
        (["builds"], "Usage: comwit builds [OPTIONS] APP"),
        (["report"], "Usage: comwit report [OPTIONS] RESULTS..."),
        (["apply"], "Usage: comwit apply [OPTIONS] [PLANFILE]"),
    ],
    ids=["required", "many", "optional"],
)
def test_usage_lines_write_arguments_plainly(words, usage, capsys):
    assert main([*words, "--help"]) == 0
    assert usage in capsys.readouterr().out.splitlines()


@pytest.mark.parametrize("words", COMMAND_LINES, ids=" ".join)
def test_no_usage_line_puts_an_argument_in_braces(words, capsys):
    assert main([*words, "--help"]) == 0
    usage = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("Usage"))
    assert "{" not in usage and "}" not in usage, usage


def test_import_help_does_not_speak_of_a_manifest_it_does_not_read(capsys):
    assert main(["import", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--file" not in out and "--env" not in out
    assert "overrides the manifest" not in out
    assert "--project ID    Project id (or COMWIT_PROJECT)." in out


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["plan", "--concurrency", "100"], "error: --concurrency: must be at most 64 (see `comwit plan --help`)"),
        (["plan", "--concurrency", "0"], "error: --concurrency: must be at least 1 (see `comwit plan --help`)"),
        (["plan", "--concurrency", "many"], "error: --concurrency: must be a whole number (see `comwit plan --help`)"),
        (["status", "--format", "yaml"], "error: --format: yaml is not one of 'text', 'json' (see `comwit status --help`)"),
        (["status", "--format", "it's"], "error: --format: it's is not one of 'text', 'json' (see `comwit status --help`)"),
        (["pack", "web", "--level", "99"], "error: --level: must be at most 19 (see `comwit pack --help`)"),
        (["emulator", "serve", "--port", "x"], "error: --port: must be a whole number (see `comwit emulator serve --help`)"),
        (["stauts"], "error: No such command 'stauts'; did you mean 'status'? (see `comwit --help`)"),
    ],
    ids=["too high", "too low", "not a number", "bad choice", "a quote", "level", "subcommand", "command"],
)  # fmt: skip
def test_option_errors_are_plain_and_point_to_the_command_help(args, expected, capsys):
    assert main(args) == 1
    err = capsys.readouterr().err
    assert err == expected + "\n"
    assert "Input should" not in err and "Value error" not in err


@pytest.mark.parametrize(
    ("url", "hint"),
    [
        ("locl", "did you mean 'local' (the embedded emulator)?"),
        ("Local", "did you mean 'local' (the embedded emulator)?"),
        ("api.cloud.comwit.io", "did you mean https://api.cloud.comwit.io?"),
        ("ftp://api.example.com", "or --api-url local for the embedded emulator"),
    ],
)
def test_a_mistyped_api_url_suggests_what_was_meant(world, url, hint):
    result = world.comwit("plan", "--api-url", url)
    assert result.code == 1
    assert result.err.splitlines() == [
        f"error: the API URL {url!r} is not an http(s) URL; {hint}"
        if "did you mean" in hint
        else f"error: the API URL {url!r} is not an http(s) URL; pass e.g. --api-url "
        f"https://api.cloud.comwit.io, {hint}"
    ]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["plan", "--project", ""], "--project: an empty value; pass --project ID or leave the option out (an empty COMWIT_PROJECT counts as unset) (see `comwit plan --help`)"),
        (["status", "--api-url", " "], "--api-url: an empty value; pass --api-url URL or leave the option out (an empty COMWIT_API_URL counts as unset) (see `comwit status --help`)"),
        (["plan", "--app", ""], "--app: an empty value; pass --app GLOB or leave the option out (see `comwit plan --help`)"),
        (["apply", "--app", "web", "--app", "", "--yes"], "--app: an empty value; pass --app GLOB or leave the option out (see `comwit apply --help`)"),
        (["plan", "--exclude-app", ""], "--exclude-app: an empty value; pass --exclude-app GLOB or leave the option out (see `comwit plan --help`)"),
        (["plan", "--env", ""], "--env: an empty value; pass --env NAME or leave the option out (see `comwit plan --help`)"),
        (["plan", "--allow-detach", ""], "--allow-detach: an empty value; pass --allow-detach HOST or leave the option out (see `comwit plan --help`)"),
        (["logs", "web", "--build", ""], "--build: an empty value; pass --build ID or leave the option out (see `comwit logs --help`)"),
        (["preview", "up", "--pr", "1", "--app", ""], "--app: an empty value; pass --app GLOB or leave the option out (see `comwit preview up --help`)"),
        (["import", "--project", "", "-o", "-"], "--project: an empty value; pass --project ID or leave the option out (an empty COMWIT_PROJECT counts as unset) (see `comwit import --help`)"),
        (["emulator", "token", "--project", ""], "--project: an empty value; pass --project ID or leave the option out (see `comwit emulator token --help`)"),
    ],
    ids=["project", "api-url", "app", "app among others", "exclude-app", "env", "allow-detach", "logs --build", "preview up", "import", "emulator token"],
)  # fmt: skip
def test_an_option_given_an_empty_value_is_refused_naming_it(world, args, expected):
    _refused_before_any_request(world, args, expected)


def _refused_before_any_request(world, args: list[str], expected: str) -> None:
    """`comwit ARGS` is exit 1 with the one line `error: EXPECTED`, nothing on stdout, and
    nothing asked of the API."""
    world.reset_stats()
    result = world.comwit(*args)
    assert (result.code, result.out) == (1, "")
    assert result.err == f"error: {expected}\n"
    assert world.stats()["total"] == 0


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["plan", "-o", ""], "--out: an empty path; pass a file name (see `comwit plan --help`)"),
        (["validate", "-f", ""], "--file: an empty path; pass a file name (see `comwit validate --help`)"),
        (["pack", "web", "-o", ""], "--out: an empty path; pass a file name (see `comwit pack --help`)"),
        (["apply", ""], "PLANFILE: an empty path; pass a file name (see `comwit apply --help`)"),
        (["report", "r.json", ""], "RESULTS: an empty path; pass a file name (see `comwit report --help`)"),
        (["emulator", "serve", "--data", ""], "--data: an empty path; pass a directory name (see `comwit emulator serve --help`)"),
    ],
    ids=["plan -o", "-f", "pack -o", "saved plan", "report", "emulator --data"],
)  # fmt: skip
def test_an_empty_path_is_refused_not_taken_for_the_directory(world, args, expected):
    """Path("") is ".": it used to be said as "cannot write .: is a directory"."""
    _refused_before_any_request(world, args, expected)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["plan", "--app", ","], "--app ',' names no app; pass --app NAME or leave the option out"),
        (["apply", "--yes", "--app", "web", "--app", " , "], "--app ' , ' names no app; pass --app NAME or leave the option out"),
        (["plan", "--exclude-app", ","], "--exclude-app ',' names no app; pass --exclude-app NAME or leave the option out"),
    ],
    ids=["plan", "apply among others", "exclude"],
)  # fmt: skip
def test_an_app_list_that_names_no_app_is_refused_not_taken_for_all(world, args, expected):
    """`--app "$CHANGED"` with an empty list (",") planned and applied every app."""
    _refused_before_any_request(world, args, expected)


def test_an_empty_comwit_project_counts_as_unset(world):
    result = world.comwit("plan", env={"COMWIT_PROJECT": "", "COMWIT_TIMEOUT": ""})
    assert result.code == 0, result.err
    assert result.out.startswith("comwit plan for project proj:")
