"""What docs/commands.md shows comwit printing is what it prints: the messages it quotes come
from the commands it describes, run in-process against the emulator, and `init`'s example
is its whole output."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from comwit.emulator.inprocess import InProcessEmulator
from comwit.emulator.store import SCOPES

from tests.e2e_support import World

PAGE = (Path(__file__).parent.parent / "docs" / "commands.md").read_text()
SHOWN = " ".join(PAGE.split())  # a quoted message may be wrapped over two lines
MANIFEST = """\
version = 1
project = "demo"
[apps.web]
build_dir = "web/dist"
[apps.api]
build_dir = "api/build"
"""


@pytest.fixture
def demo(tmp_path):
    """The two apps of the page's examples (api, web) in project demo, not applied yet."""
    root = tmp_path / "repo"
    with InProcessEmulator(tmp_path / "data", auto_dns=True) as emulator:
        world = World(
            root, emulator.url, emulator.issue_token(SCOPES, ["demo"]), {}, emulator.transport
        )
        world.write("web/dist/index.html", "<h1>web</h1>\n")
        world.write("api/build/index.js", "export default {}\n")
        yield world


def _error(result) -> str:
    assert result.code == 1, result.err
    (line,) = [line for line in result.err.splitlines() if line.startswith("error: ")]
    return line.removeprefix("error: ")


@pytest.mark.parametrize(
    "args", [["builds", "nope"], ["builds", "web"]], ids=["not in the manifest", "not created yet"]
)
def test_the_errors_of_builds_are_the_ones_the_page_quotes(demo, args):
    demo.manifest(MANIFEST)
    message = _error(demo.comwit(*args))
    assert message in SHOWN


def test_import_refuses_to_overwrite_with_the_error_the_page_quotes(demo):
    demo.manifest(MANIFEST)
    result = demo.comwit("import", "--project", "demo")
    assert f"error: {_error(result)}" in SHOWN


def test_the_init_example_is_what_init_prints(demo):
    shown = re.search(r"```console\n\$ comwit init --project demo\n(.*?)```", PAGE, re.DOTALL)
    assert shown
    result = demo.comwit("init", "--project", "demo")
    assert result.code == 0, result.err
    assert result.out + result.err == shown[1]
