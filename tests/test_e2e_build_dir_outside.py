"""End to end: a build dir outside the repository (git root, else the manifest's directory)
is refused, whether by `..`, an absolute path or a symlink, unless the app allows it."""

from __future__ import annotations

import pytest

APP = """\
version = 1
project = "proj"
[apps.web]
build_dir = "{build_dir}"
{extra}
"""


@pytest.fixture
def outside(world, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "id_rsa").write_text("private")
    return elsewhere


@pytest.mark.parametrize("how", ["dotdot", "absolute", "symlink"])
def test_a_build_dir_outside_the_repository_is_refused_saying_why(world, outside, how):
    build_dir = {"dotdot": "../elsewhere", "absolute": str(outside), "symlink": "dist"}[how]
    if how == "symlink":
        (world.root / "dist").symlink_to(outside)
    world.manifest(APP.format(build_dir=build_dir, extra=""))
    result = world.comwit("plan")
    assert result.code == 1
    (line,) = result.err.strip().splitlines()
    assert line.startswith("error: comwit.toml:4:1: apps.web.build_dir: build directory ")
    assert f"is outside the repository {world.root.resolve()}" in line
    assert "could then publish any directory of this machine" in line
    assert line.endswith("or set allow_outside_repo = true for this app")
    if how != "absolute":
        assert f"(it resolves to {outside.resolve()})" in line
    assert world.stats()["total"] == 0


def test_allow_outside_repo_lets_that_app_use_it(world, outside):
    world.manifest(APP.format(build_dir="../elsewhere", extra="allow_outside_repo = true"))
    assert world.comwit("plan").code == 0


def test_the_repository_is_the_git_root_above_the_manifest(world):
    (world.root / ".git").mkdir()
    (world.root / "site").mkdir()
    world.write("shared/index.html", "hi")
    (world.root / "site" / "comwit.toml").write_text(APP.format(build_dir="../shared", extra=""))
    assert world.comwit("plan", "-f", "site/comwit.toml").code == 0
