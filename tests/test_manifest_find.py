"""comwit.toml is looked up in the working directory and above it, like git and ruff do, and
every message names the file that was used."""

from __future__ import annotations

from pathlib import Path

import pytest

from comwit.errors import ManifestError
from comwit.manifest.find import find_manifest


def test_the_nearest_manifest_above_wins(tmp_path):
    (tmp_path / "comwit.toml").write_text("")
    (tmp_path / "site" / "comwit.toml").parent.mkdir()
    (tmp_path / "site" / "comwit.toml").write_text("")
    deep = tmp_path / "site" / "dist" / "assets"
    deep.mkdir(parents=True)
    assert find_manifest(deep) == tmp_path.resolve() / "site" / "comwit.toml"
    assert find_manifest(tmp_path / "site") == tmp_path.resolve() / "site" / "comwit.toml"


def test_the_search_stops_at_the_top_of_the_repository(tmp_path):
    (tmp_path / "comwit.toml").write_text("")  # outside the repository: not this project's
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "web").mkdir()
    with pytest.raises(ManifestError, match="up to the repository's top"):
        find_manifest(repo / "web")
    (repo / "comwit.toml").write_text("")
    assert find_manifest(repo / "web") == repo.resolve() / "comwit.toml"


def test_a_git_file_marks_the_top_too(tmp_path):
    """A submodule or worktree has a `.git` file, not a directory."""
    (tmp_path / "comwit.toml").write_text("")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / ".git").write_text("gitdir: ../.git/modules/sub\n")
    with pytest.raises(ManifestError):
        find_manifest(tmp_path / "sub")


def test_validate_in_a_subdirectory_uses_and_names_the_manifest_above(world):
    result = world.comwit("validate", cwd="web/assets")
    assert result.code == 0, result.err
    assert result.err == "Using the manifest ../../comwit.toml.\n"
    assert result.out.startswith("../../comwit.toml is valid: 2 apps (api, web)")


def test_apply_in_a_subdirectory_deploys_build_dirs_relative_to_the_manifest(world):
    applied = world.comwit("apply", "--yes", cwd="web")
    assert applied.code == 0, applied.err
    assert "Using the manifest ../comwit.toml." in applied.err
    assert {b["build_id"] for b in world.builds("web")} and world.builds("api")
    again = world.comwit("plan", "--detailed-exitcode", cwd="api")
    assert again.code == 0, again.out + again.err
    assert not (Path(world.root) / "web" / ".comwit").exists()  # state sits by the manifest


def test_errors_in_the_manifest_above_carry_its_path(world):
    world.manifest('version = 1\nproject = "proj"\n[apps.web]\nbulid_dir = "web"\n')
    result = world.comwit("plan", cwd="web/assets")
    assert result.code == 1
    assert "error: ../../comwit.toml:4:1: apps.web.bulid_dir: unknown key 'bulid_dir'" in result.err


def test_quiet_runs_do_not_say_which_manifest(world):
    result = world.comwit("plan", "-q", cwd="web")
    assert result.code == 0, result.err
    assert "Using the manifest" not in result.err
