"""Strings from outside (API answers, the manifest, file names) are shown escaped: no
terminal escape reaches the screen, and none splits a line or mimics a plan line."""

from __future__ import annotations

import ast
import contextlib
import io
import json
from pathlib import Path

import pytest

import comwit
from comwit.cli import main
from comwit.cli.settings import Edges
from comwit.console import Console
from comwit.escape import cut, cut_path, one_line, printable, quoted

from tests.e2e_support import Result
from tests.hostile import hostile_server, routes

EVIL_KEY = "K\x1b[2J\nX"
EVIL_HOST = "evil.example.com\n~ upload build: INJECTED"
MANIFEST = """\
version = 1
project = "proj"
[apps.web]
build_dir = "web"
hosts = ["www.example.com"]
[apps.web.env]
LEVEL = "info"
"""


def test_one_line_escapes_controls_newlines_and_formatting_marks():
    assert one_line("a\x1b[2Jb\nc\td\r\x9b\u202e\u2028") == (
        "a\\u001b[2Jb\\nc\\td\\r\\u009b\\u202e\\u2028"
    )
    assert printable("two\nlines\tand\x07bell") == "two\nlines\tand\\u0007bell"


def test_half_a_character_is_escaped_as_json_would_spell_it():
    # A file name or argument that is not UTF-8 keeps its bytes as surrogates ("\udcff"):
    # written as they are, they fail a stream that takes only UTF-8.
    assert (
        one_line("a\udcff.toml\ud800")
        == printable("a\udcff.toml\ud800")
        == ("a\\udcff.toml\\ud800")
    )
    assert json.loads('"' + printable("a\udcff") + '"') == "a\udcff"


def test_a_name_that_is_not_utf8_is_shown_on_a_stream_that_takes_only_utf8(tmp_path):
    (tmp_path / "\udcff.toml").write_text('version = 1\n[apps.web]\nbuild_dir = "web"\n')
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "index.html").write_text("hi")
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict")
    edges = Edges({}, io.StringIO(), out, io.StringIO())
    assert main(["validate", "-f", str(tmp_path / "\udcff.toml")], edges=edges) == 0
    out.seek(0)
    assert "\\udcff.toml is valid: 1 app (web)" in out.read()


def test_ascii_text_is_escaped_as_any_text_is():
    every_ascii = "".join(map(chr, range(128)))
    # a non-ASCII character takes the whole class: the ASCII part must come out alike
    for text, rest in ((every_ascii + "\u00e9", "\u00e9"), (every_ascii + "\x9b", "\\u009b")):
        assert one_line(text) == one_line(every_ascii) + rest
        assert printable(text) == printable(every_ascii) + rest
    assert one_line("del\x7f") == printable("del\x7f") == "del\\u007f"
    assert printable("keep\nline\ttab\rcr") == "keep\nline\ttab\\rcr"


def test_the_console_keeps_its_own_colours_and_escapes_everything_else():
    out = io.StringIO()
    console = Console(out=out, err=out, color=True)
    console.print(console.style("add", "+ ok") + " \x1b[2J \ue000[2J \x9b31m")
    assert out.getvalue() == "\x1b[32m+ ok\x1b[0m \\u001b[2J \\ue000[2J \\u009b31m\n"


def _live_app_with_evil_strings():
    app = {"app_id": "a1", "name": "web", "active_build_id": "b1"}
    return routes(
        {
            "GET /v1/projects/proj/apps": {"apps": [app, {**app, "app_id": "a2",
                                                          "name": "x\x1b]0;owned\x07"}]},
            "GET /v1/projects/proj/apps/a1/builds": {"builds": [{"build_id": "b1"},
                                                                 {"build_id": "b0\x1b[2J\n*"}]},
            "GET /v1/projects/proj/apps/a1/domains": {"domains": [
                {"domain": "www.example.com", "app_id": "a1", "status": "active"},
                {"domain": EVIL_HOST, "app_id": "a1", "status": "active"},
            ]},
            "GET /v1/projects/proj/apps/a1/environment": {"variables": [
                {"key": "LEVEL", "value": "info"}, {"key": EVIL_KEY, "value": "v"},
            ]},
        }
    )  # fmt: skip


def against(world, url: str, *args: str) -> Result:
    """The CLI in this process, talking real HTTP to the loopback server at `url`."""
    out, err = io.StringIO(), io.StringIO()
    environ = world.environ({"COMWIT_API_URL": url})
    with contextlib.chdir(world.root):
        code = main(list(args), edges=Edges(environ, io.StringIO(), out, err))
    return Result(code, out.getvalue(), err.getvalue())


def test_hostnames_and_env_keys_from_the_api_are_shown_escaped(world):
    world.manifest(MANIFEST)
    with hostile_server(_live_app_with_evil_strings()) as server:
        text = against(world, server.url, "plan", "-v")
        markdown = against(world, server.url, "plan", "--format", "markdown")
        as_json = against(world, server.url, "plan", "--format", "json")
    for result in (text, markdown, as_json):
        assert "\x1b" not in result.out + result.err, result.out
        assert "~ upload build: INJECTED" not in result.out.replace(
            "\\n~ upload build: INJECTED", ""
        )
    assert "- env K\\u001b[2J\\nX (delete)" in text.out
    assert "- detach hostname evil.example.com\\n~ upload build: INJECTED" in text.out
    assert "left alone: 1 live app (x\\u001b]0;owned\\u0007)" in text.out
    assert "K\\u001b[2J\\nX" in markdown.out
    document = json.loads(as_json.out)
    assert {a.get("key") for a in document["apps"][0]["actions"]} >= {EVIL_KEY}


def test_status_and_builds_show_strings_from_the_api_escaped(world):
    world.manifest(MANIFEST)
    with hostile_server(_live_app_with_evil_strings()) as server:
        status = against(world, server.url, "status")
        builds = against(world, server.url, "builds", "web")
    assert status.code in (0, 2), status.err
    assert builds.code == 0, builds.err
    assert "\x1b" not in status.out + status.err + builds.out + builds.err
    assert "evil.example.com\\n~ upload build: INJECTED" in status.out
    assert "b0\\u001b[2J\\n*" in builds.out


def test_an_api_error_detail_cannot_clear_the_screen(world):
    world.manifest(MANIFEST)
    with hostile_server(routes({}, status=400, detail="\x1b[2J\x1b[Hall clear")) as server:
        result = against(world, server.url, "plan")
    assert result.code == 1
    assert "\x1b" not in result.err
    assert "\\u001b[2J\\u001b[Hall clear" in result.err


def test_a_manifest_key_holding_a_newline_keeps_its_error_on_one_line(world):
    world.manifest(MANIFEST + '"A\\nB" = "x"\n')
    result = world.comwit("validate")
    assert result.code == 1
    (line,) = result.err.strip().splitlines()
    assert "A\\nB" in line


def test_a_file_name_that_mimics_a_plan_line_is_shown_escaped(world):
    world.manifest(MANIFEST)
    world.write("web/index.html", "hi")
    world.write(".env.\n~ upload build: INJECTED".join(["web/", ""]), "SECRET=1")
    result = world.comwit("plan")
    assert result.code == 0, result.err
    assert "\n~ upload build: INJECTED" not in result.out + result.err
    assert ".env.\\n~ upload build: INJECTED in " in result.err


def test_a_long_value_is_cut_to_its_first_80_characters_and_its_length():
    assert cut("a" * 80) == "a" * 80
    assert cut("b" * 10_000) == "b" * 80 + "... (10,000 characters)"
    assert quoted("c\n" * 5_000) == "'" + "c\\n" * 40 + "... (10,000 characters)'"


LONG = "x" * 10_000


@pytest.mark.parametrize(
    "args",
    [
        ("logs", LONG),
        ("rollback", LONG),
        ("pack", LONG),
        ("plan", "--app", LONG),
        ("preview", "up", "--pr", "3", "--app", LONG),
        ("validate", "--env", LONG),
        ("validate", "-f", LONG),
        ("apply", LONG),
        ("plan", "--project", LONG),
        ("import", LONG),
        ("plan", "--format", LONG),
        (LONG,),
    ],
    ids=lambda args: " ".join(arg if arg != LONG else "LONG" for arg in args),
)
def test_a_very_long_argument_is_echoed_cut_in_its_one_line_error(world, args):
    world.manifest(MANIFEST)
    world.write("web/index.html", "hi")
    result = world.comwit(*args)
    assert result.code == 1
    lines = result.err.strip().splitlines()
    # A file's path keeps its start and its end (the file's name); any other value its start.
    shown = "x" * 50 + "..." + "x" * 150 if args == ("apply", LONG) else "x" * 80 + "..."
    assert shown + " (10,000 characters)" in lines[-1], lines[-1][:300]
    assert max(len(line) for line in lines) < 600


# Where Python's repr stays: what is not a message to a user, or not ours to word today.
_REPR_KEPT = {
    "frozen.py": "the dataclass repr and the TypeErrors Python's own dataclasses raise",
    "manifest/__init__.py": "a module __getattr__'s AttributeError, worded as Python's",
    "api/client.py": "a constant field name in a hint that spells the route's JSON as Python",
    "ci/failure.py": "an unexpected exception's repr, for a bug report",
    "store/ledger.py": "ledger messages (to be swept with the ledger store)",
    "artifact/ignore.py": "an exclude pattern (to be swept with artifact/)",
    "artifact/pack.py": "SOURCE_DATE_EPOCH (to be swept with artifact/)",
    "secret.py": "the form a token takes in bytes' repr (as an HTTP library echoes a header), to redact",
}


def test_a_long_path_keeps_its_start_and_its_file_name():
    assert cut_path("/a/short/path.json") == "/a/short/path.json"
    path = "/" + "d" * 300 + "/plan.json"
    shown = cut_path(path)
    assert shown == f"{path[:50]}...{path[-150:]} (311 characters)"
    assert shown.startswith("/ddd") and "plan.json (311 characters)" in shown
    assert cut_path(path, limit=len(path)) == path


def _reprs(path):
    """Lines of `path` that show a value with repr ({x!r} or repr()), outside __repr__."""
    found = []

    def visit(node, in_repr):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            in_repr = in_repr or node.name == "__repr__"
        if not in_repr and (
            (isinstance(node, ast.FormattedValue) and node.conversion == ord("r"))
            or (isinstance(node, ast.Name) and node.id == "repr")
        ):
            found.append(node.lineno)
        for child in ast.iter_child_nodes(node):
            visit(child, in_repr)

    visit(ast.parse(path.read_text()), False)
    return found


def test_messages_echo_values_with_quoted_not_with_pythons_repr():
    """One way to quote: repr flips between ' and ", shows PosixPath('...') and cuts nothing."""
    root = Path(comwit.__file__).parent
    found = {
        path.relative_to(root).as_posix(): lines
        for path in sorted(root.rglob("*.py"))
        if (lines := _reprs(path))
    }
    assert {name: lines for name, lines in found.items() if name not in _REPR_KEPT} == {}
    assert sorted(set(_REPR_KEPT) - set(found)) == []  # swept since: drop it from _REPR_KEPT
