"""Exclude patterns and .comwitignore: gitignore semantics over the build dir."""

from __future__ import annotations

import fnmatch
import io
import tarfile

import pytest
import zstandard

from comwit.artifact.digest import digest_tree
from comwit.artifact.ignore import MAX_IGNORE_BYTES, secret_pattern
from comwit.artifact.pack import pack
from comwit.errors import ArtifactError

from tests.artifact_support import write_tree
from tests.special_files import fifo_opened_later

# The names that look like secrets, in the order docs/artifacts.md lists them: the first
# one that matches is the `exclude` entry a warning suggests.
SECRET_GLOBS = (".env", ".env.*", "*.pem", "*.key", "id_rsa*", "*.p12", "*.pfx", ".netrc")

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


def test_a_comwitignore_that_is_a_fifo_is_an_error_at_once_not_a_wait(tmp_path):
    site = write_tree(tmp_path / "site", {"index.html": "hi"})
    with (
        fifo_opened_later(site / ".comwitignore", "w"),
        pytest.raises(ArtifactError) as err,
    ):
        digest_tree(site)
    assert str(err.value) == (
        f"cannot read {site / '.comwitignore'}: is a FIFO, not a regular file; fix or remove it"
    )


def test_a_comwitignore_linked_to_a_device_or_past_the_size_limit_is_not_read(tmp_path):
    site = write_tree(tmp_path / "site", {"index.html": "hi"})
    (site / "zero").symlink_to("/dev/zero")  # endless: reading it would never end
    (site / ".comwitignore").symlink_to("zero")
    with pytest.raises(ArtifactError, match=r"\.comwitignore is a symlink to zero, outside the"):
        digest_tree(site)
    (site / ".comwitignore").unlink()
    (site / ".comwitignore").write_text("*.map\n" * (MAX_IGNORE_BYTES // 6 + 1))
    with pytest.raises(ArtifactError, match=r"\.comwitignore: it is larger than 1 MiB; fix or"):
        digest_tree(site)


def test_a_comwitignore_linked_out_of_the_build_dir_is_refused_without_reading_it(world):
    world.manifest('version = 1\nproject = "proj"\n[apps.web]\nbuild_dir = "web"\n')
    world.write("web/index.html", "hi")
    world.write("elsewhere/ignore", "[z-a]\n")  # an invalid pattern, were it read
    (world.root / "web" / ".comwitignore").symlink_to("../elsewhere/ignore")
    for args in (("pack", "web", "-o", "web.tar.zst"), ("plan",)):
        result = world.comwit(*args)
        assert (result.code, result.err.count("\n")) == (1, 1), result.err
        assert ".comwitignore is a symlink to ../elsewhere/ignore, outside the build dir" in (
            result.err
        )
        assert "[z-a]" not in result.err


def test_a_comwitignore_linked_to_a_file_inside_the_build_dir_is_read(tmp_path):
    site = write_tree(tmp_path / "site", {"index.html": "hi", "app.js.map": "{}"})
    (site / "rules").write_text("*.map\n")
    (site / ".comwitignore").symlink_to("rules")
    assert paths(site) == ["index.html", "rules"]


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


@pytest.mark.parametrize(
    "name",
    [
        ".env",
        ".envrc",
        ".env.",
        "a.pem",
        ".pem",
        "pem",
        "x.pem.bak",
        "id_rsa",
        "id_rs",
        "my_id_rsa",
        "a.p12",
        "a.pfx",
        ".netrc",
        ".netrc2",
        "b.key",
        "key",
        "a.KEY",
        "\n.pem",
        "index.js",
        ".gitignore",
    ],
)
def test_a_name_is_flagged_exactly_when_a_secret_glob_matches_it(name):
    matching = [g for g in SECRET_GLOBS if fnmatch.fnmatchcase(name, g)]
    assert secret_pattern(name) == (matching[0] if matching else None)


VCS_TREE = {
    **TREE,
    ".git/HEAD": "ref: refs/heads/main\n",
    ".git/objects/ab/cdef": b"\x78\x9c",
    "docs/.hg/store/data": "x",
    "sub/.svn/entries": "12",
    "vendor/lib/.git": "gitdir: ../../.git/modules/lib\n",  # a submodule's .git is a file
}


def test_git_hg_and_svn_data_is_never_digested_or_packed(tmp_path):
    site = write_tree(tmp_path / "site", VCS_TREE)
    plain = write_tree(tmp_path / "plain", {**TREE, "vendor/lib/": None})
    tree = digest_tree(site)
    assert not [p for p in paths(site) if any(part in p for part in (".git", ".hg", ".svn"))]
    assert tree.digest == digest_tree(plain).digest
    packed = pack(site, tmp_path / "out.tar.zst")
    assert packed.tree == tree
    names = _archive_names(packed.path)
    assert "./index.html" in names
    assert not [n for n in names if ".git" in n or ".hg" in n or ".svn" in n]


@pytest.mark.parametrize(
    ("exclude", "ignore_file"),
    [(["!.git/"], None), ([], "!.git/\n"), (["!.git"], None)],
    ids=["negated exclude", "negated .comwitignore", "without the slash"],
)
def test_a_negated_pattern_brings_a_repository_back(tmp_path, exclude, ignore_file):
    spec = {**VCS_TREE, ".comwitignore": ignore_file} if ignore_file else VCS_TREE
    site = write_tree(tmp_path / "site", spec)
    kept = paths(site, exclude)
    assert {".git", ".git/HEAD", ".git/objects/ab/cdef"} <= set(kept)
    # As in gitignore, a pattern ending in / matches directories only: not a submodule's file.
    assert ("vendor/lib/.git" in kept) == (exclude == ["!.git"])
    assert "sub/.svn" not in kept
    packed = pack(site, tmp_path / "out.tar.zst", exclude=exclude)
    assert packed.tree == digest_tree(site, exclude)
    assert "./.git/objects/ab/cdef" in _archive_names(packed.path)


def test_secret_and_other_vcs_paths_are_warned_about_once_per_build_dir(tmp_path):
    spec = {
        "index.html": "hi",
        ".env": "A=1",
        "certs/tls.pem": "-",
        "CVS/Entries": "/index.html/1.1///",
        "assets/CVS/Entries": "",
        ".bzr/branch-format": "x",
        "keys/id_rsa": "-",
        "store.p12": "-",
    }
    site = write_tree(tmp_path / "site", spec)
    (warning,) = digest_tree(site).warnings
    assert warning == (
        f"7 paths in {site} look like secrets or version-control data and will be uploaded: "
        ".bzr/, .env, CVS/, assets/CVS/, certs/tls.pem and 2 more; add "
        '".bzr/", ".env", "CVS/", "*.pem", "id_rsa*", "*.p12" to the app\'s `exclude` '
        "setting to leave them out"
    )
    assert digest_tree(site, [".bzr/", ".env", "CVS/", "*.pem", "id_rsa*", "*.p12"]).warnings == ()


def _archive_names(path):
    raw = zstandard.ZstdDecompressor().decompressobj().decompress(path.read_bytes())
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        return tar.getnames()
