"""Exclude patterns and .comwitignore: gitignore semantics over the build dir."""

from __future__ import annotations

import pytest

from comwit.artifact.digest import digest_tree
from comwit.artifact.ignore import secret_pattern
from comwit.errors import ArtifactError

from tests.artifact_support import write_tree

TREE = {
    "index.html": "hi",
    "app.js": "x",
    "app.js.map": "{}",
    "docs/guide.md": "#",
    "docs/deep/notes.md": "#",
    "cache/a.bin": b"\0",
    "sub/cache/b.bin": b"\1",
}


def paths(build_dir, exclude=()):
    return [f.path for f in digest_tree(build_dir, exclude).files]


def test_exclude_patterns_use_gitignore_semantics(tmp_path):
    site = write_tree(tmp_path / "site", TREE)
    kept = paths(site, ["*.map", "/cache/", "docs/**/*.md"])
    assert kept == [
        "app.js",
        "docs",
        "docs/deep",
        "index.html",
        "sub",
        "sub/cache",
        "sub/cache/b.bin",
    ]


def test_comwitignore_adds_patterns_and_is_itself_left_out(tmp_path):
    site = write_tree(tmp_path / "site", {**TREE, ".comwitignore": "# maps\n\n*.map\ncache/\n"})
    assert paths(site) == [
        "app.js",
        "docs",
        "docs/deep",
        "docs/deep/notes.md",
        "docs/guide.md",
        "index.html",
        "sub",
    ]


def test_comwitignore_negation_brings_back_what_exclude_left_out(tmp_path):
    site = write_tree(tmp_path / "site", {**TREE, ".comwitignore": "!app.js.map\n"})
    assert "app.js.map" in paths(site, ["*.map"])


def test_files_under_an_excluded_directory_cannot_be_brought_back(tmp_path):
    site = write_tree(tmp_path / "site", TREE)
    assert not [p for p in paths(site, ["docs/", "!docs/guide.md"]) if p.startswith("docs")]


def test_only_the_root_comwitignore_is_left_out(tmp_path):
    site = write_tree(tmp_path / "site", {"index.html": "hi", "sub/.comwitignore": "*"})
    assert paths(site) == ["index.html", "sub", "sub/.comwitignore"]


def test_invalid_pattern_is_an_error_naming_it(tmp_path):
    site = write_tree(tmp_path / "site", {"index.html": "hi", ".comwitignore": "[z-a]\n"})
    with pytest.raises(ArtifactError, match=r"\.comwitignore: invalid exclude pattern '\[z-a\]'"):
        digest_tree(site)


@pytest.mark.parametrize(
    ("name", "pattern"),
    [
        (".env", ".env"),
        (".env.production", ".env.*"),
        ("tls.pem", "*.pem"),
        ("server.key", "*.key"),
        ("id_rsa", "id_rsa*"),
        ("id_rsa.pub", "id_rsa*"),
        ("environment.js", None),
        ("keys.json", None),
    ],
)
def test_secret_looking_names_map_to_the_exclude_entry_that_drops_them(name, pattern):
    assert secret_pattern(name) == pattern
