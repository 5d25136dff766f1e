"""End to end: a local ledger file (backend = "local") that no file can be is refused by
validate and plan, at its line, before anything is asked of the API. apply used to find out
only after its changes were made, and then told to move away a file that was not there."""

from __future__ import annotations

import pytest

MANIFEST = """\
version = 1
project = "proj"
[state]
backend = "local"
path = "{path}"
[apps.web]
build_dir = "dist"
"""


@pytest.mark.parametrize(
    ("path", "said"),
    [
        ("ledger\\u0000.json", "holds a NUL character, which no file name can; fix state.path"),
        ("/", "/ is a directory; point state.path at a JSON file"),
        ("/dev/zero", "/dev/zero is a character device, not a regular file; point state.path at a JSON file"),
        ("comwit.toml/ledger.json", "{root}/comwit.toml/ledger.json cannot be used (not a directory); fix state.path"),
        # Every apply deployed the ledger again, so no plan was ever without changes.
        ("dist/state.json", "{root}/dist/state.json is inside the build dir of app web, which would deploy the ledger with it (and every plan would find it changed); point state.path elsewhere, e.g. .comwit/state.json"),
        # Overwritten by comwit's own records: every plan found the live build unknown.
        (".comwit/pending-ledger.json", ".comwit/pending-ledger.json is one of comwit's own files; point state.path at another file"),
        (".comwit/stat/ledger.json", ".comwit/stat/ledger.json is one of comwit's own files; point state.path at another file"),
    ],
    ids=["nul", "directory", "device", "under a file", "in a build dir", "comwit's own", "cache"],
)  # fmt: skip
@pytest.mark.parametrize("command", [["validate"], ["plan"], ["apply", "--yes"]])
def test_a_ledger_path_no_file_can_be_is_refused_before_any_request(world, path, said, command):
    world.write("dist/index.html", "<p>hi</p>")
    world.manifest(MANIFEST.format(path=path))
    world.reset_stats()
    result = world.comwit(*command)
    assert (result.code, result.out) == (1, "")
    shown = said.format(root=world.root.resolve())
    assert result.err.splitlines()[-1] == f"error: comwit.toml:5:1: state.path: {shown}"
    assert world.stats()["total"] == 0


def test_a_ledger_file_not_made_yet_is_made_by_the_first_apply(world):
    world.write("dist/index.html", "<p>hi</p>")
    world.manifest(MANIFEST.format(path="records/ledger.json"))
    assert world.comwit("validate").code == 0
    result = world.comwit("apply", "--yes")
    assert result.code == 0, result.err
    assert (world.root / "records" / "ledger.json").is_file()
