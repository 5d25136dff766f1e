"""The stat cache's shortest path: a tree confirmed unchanged by one lstat per entry (each
directory's own stamps show what was added, removed or renamed in it), with no walk; any
change, a racy entry, other exclude rules or a damaged cache file take the full walk, which
gives the same digest as no cache at all."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from comwit.artifact.digest import digest_tree, survey
from comwit.artifact.stat_cache import _CHECKSUM, _MAGIC, MAX_BYTES, _checksum
from comwit.errors import ArtifactError

from tests.artifact_support import SITE, Exe, Link, cache_of, write_tree

DEEP = "a/b/c/d/e"


def _site(tmp_path: Path) -> Path:
    return write_tree(
        tmp_path / "site",
        {
            **SITE,
            f"{DEEP}/one.js": "1",
            f"{DEEP}/two.js": "2",
            "a/b/.env": "SECRET=1",
            "a/b/.git/HEAD": "ref: main\n",
            "logs/build.log": "noise",
        },
    )


def _remember(tmp_path: Path, site: Path, exclude=("logs/",)) -> None:
    digest_tree(site, exclude, cache_of(tmp_path, site))


def _confirmed(tmp_path: Path, site: Path, exclude=("logs/",)) -> bool:
    surveyed = survey(site, exclude, cache_of(tmp_path, site))
    return surveyed.confirmed is not None


def _digest_again(tmp_path: Path, site: Path, exclude=("logs/",)):
    """The digest through the cache, checked against the digest made without one."""
    cached = digest_tree(site, exclude, cache_of(tmp_path, site))
    assert cached == digest_tree(site, exclude)
    return cached


def test_an_unchanged_tree_is_confirmed_without_a_walk_with_its_entries_and_warnings(tmp_path):
    site = _site(tmp_path)
    first = digest_tree(site, ["logs/"], cache_of(tmp_path, site))
    surveyed = survey(site, ["logs/"], cache_of(tmp_path, site))
    assert surveyed.tree is None
    assert surveyed.confirmed == first  # digest, every entry, size and warnings
    assert surveyed.confirmed.warnings == first.warnings != ()
    assert list(surveyed.confirmed.files) == list(first.files)


def test_a_file_changed_with_its_size_and_mtime_restored_is_read_again(tmp_path):
    site = _site(tmp_path)
    _remember(tmp_path, site)
    target = site / DEEP / "one.js"
    before = target.stat()
    target.write_text("9")
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))  # only ctime tells
    assert not _confirmed(tmp_path, site)
    again = _digest_again(tmp_path, site)
    assert next(f for f in again.files if f.path == f"{DEEP}/one.js").size == 1


def test_a_file_replaced_by_another_inode_with_the_same_stamps_is_read_again(tmp_path):
    site = _site(tmp_path)
    _remember(tmp_path, site)
    target = site / DEEP / "two.js"
    before = target.stat()
    other = tmp_path / "other.js"
    other.write_text("3")
    os.utime(other, ns=(before.st_atime_ns, before.st_mtime_ns))
    other.replace(target)
    assert not _confirmed(tmp_path, site)
    _digest_again(tmp_path, site)


@pytest.mark.parametrize(
    "change",
    [
        lambda site: (site / DEEP / "three.js").write_text("3"),  # added
        lambda site: (site / DEEP / "one.js").unlink(),  # removed
        lambda site: (site / DEEP / "one.js").rename(site / DEEP / "uno.js"),  # renamed
        lambda site: (site / DEEP / "f").mkdir(),  # an empty directory added
        lambda site: (site / DEEP / "one.js").chmod(0o755),  # made executable
        lambda site: (site / "top.js").write_text("t"),  # added in the build dir itself
        lambda site: (site / "a" / "b" / "c").rename(site / "a" / "c"),  # a directory moved
    ],
    ids=["added", "removed", "renamed", "dir-added", "chmod", "top-added", "dir-moved"],
)
def test_a_change_deep_in_the_tree_takes_the_full_walk(tmp_path, change):
    site = _site(tmp_path)
    before = digest_tree(site, ["logs/"], cache_of(tmp_path, site))
    change(site)
    assert not _confirmed(tmp_path, site)
    assert _digest_again(tmp_path, site).digest != before.digest
    assert _confirmed(tmp_path, site)  # the walk remembered the new tree


def test_a_retargeted_symlink_is_seen(tmp_path):
    site = _site(tmp_path)
    before = digest_tree(site, ["logs/"], cache_of(tmp_path, site))
    (site / "latest.js").unlink()
    (site / "latest.js").symlink_to("index.html")
    assert not _confirmed(tmp_path, site)
    again = _digest_again(tmp_path, site)
    assert again.digest != before.digest
    assert next(f for f in again.files if f.path == "latest.js").target == "index.html"


def test_a_symlink_made_to_leave_the_build_dir_is_still_refused(tmp_path):
    site = _site(tmp_path)
    _remember(tmp_path, site)
    (site / "latest.js").unlink()
    (site / "latest.js").symlink_to("../outside.js")
    with pytest.raises(ArtifactError, match="outside the build dir"):
        digest_tree(site, ["logs/"], cache_of(tmp_path, site))


def test_a_tree_hashed_as_it_was_written_is_not_confirmed(tmp_path):
    site = _site(tmp_path)
    digest_tree(site, ["logs/"], cache_of(tmp_path, site, time.time_ns))  # hashed as written
    assert not _confirmed(tmp_path, site)


def test_changes_to_left_out_files_keep_the_tree_confirmed(tmp_path):
    site = _site(tmp_path)
    _remember(tmp_path, site)
    (site / "logs" / "build.log").write_text("more noise")
    (site / "a" / "b" / ".git" / "HEAD").write_text("ref: other\n")
    assert _confirmed(tmp_path, site)


@pytest.mark.parametrize(
    ("exclude", "ignore_file"),
    [(("logs/", "*.png"), None), ((), None), (("logs/",), "*.js\n")],
    ids=["pattern-added", "pattern-removed", "comwitignore-written"],
)
def test_other_exclude_rules_do_not_reuse_the_cached_verdicts(tmp_path, exclude, ignore_file):
    site = _site(tmp_path)
    before = digest_tree(site, ["logs/"], cache_of(tmp_path, site))
    if ignore_file is not None:
        (site / ".comwitignore").write_text(ignore_file)
    assert not _confirmed(tmp_path, site, exclude)
    assert _digest_again(tmp_path, site, exclude).digest != before.digest


def test_a_changed_comwitignore_is_not_confirmed(tmp_path):
    site = _site(tmp_path)
    (site / ".comwitignore").write_text("*.png\n")
    _remember(tmp_path, site)
    ignore = site / ".comwitignore"
    st = ignore.stat()
    ignore.write_text("*.js\n")  # the same size and mtime: only its text differs
    os.utime(ignore, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert not _confirmed(tmp_path, site)
    _digest_again(tmp_path, site)


def test_a_special_file_that_appears_is_refused_by_the_full_walk(tmp_path):
    site = _site(tmp_path)
    _remember(tmp_path, site)
    os.mkfifo(site / DEEP / "pipe")
    with pytest.raises(ArtifactError, match="is a FIFO"):
        digest_tree(site, ["logs/"], cache_of(tmp_path, site))


def _damage(data: bytes) -> list[bytes]:
    def flipped(at: int) -> bytes:
        damaged = bytearray(data)
        damaged[at] ^= 0x04
        return bytes(damaged)

    header = len(_MAGIC)
    return [
        b"",
        data[:10],
        data[: len(data) // 2],
        data + b"x",
        flipped(header + 3),  # the time the hashes were taken
        flipped(len(data) // 2),
        flipped(len(data) - 1),  # the checksum
        b"\0" * len(data),
    ]


def test_a_corrupt_or_truncated_cache_is_ignored_and_rewritten(tmp_path):
    site = _site(tmp_path)
    _remember(tmp_path, site)
    path = cache_of(tmp_path, site).path
    for damaged in _damage(path.read_bytes()):
        path.write_bytes(damaged)
        _digest_again(tmp_path, site)  # no error, the same digest as without a cache
        assert _confirmed(tmp_path, site)  # rewritten whole


def test_a_huge_cache_file_is_not_read(tmp_path):
    site = _site(tmp_path)
    _remember(tmp_path, site)
    path = cache_of(tmp_path, site).path
    with path.open("r+b") as file:
        file.truncate(MAX_BYTES + 1)  # sparse: takes no space
    assert len(cache_of(tmp_path, site)) == 0
    _digest_again(tmp_path, site)
    assert path.stat().st_size < 1 << 20


@pytest.mark.parametrize("version", [b"comwit-stat-v1\n", b"comwit-stat-v2\n"])
def test_an_older_format_counts_as_empty(tmp_path, version):
    site = _site(tmp_path)
    digest_tree(site, cache=cache_of(tmp_path, site))
    path = cache_of(tmp_path, site).path
    body = version + path.read_bytes()[len(_MAGIC) : -_CHECKSUM]
    path.write_bytes(body + _checksum(body))  # whole and checksummed: only its version is old
    assert len(cache_of(tmp_path, site)) == 0
    _digest_again(tmp_path, site)


def test_an_executable_and_symlink_tree_round_trips_through_the_cache(tmp_path):
    site = write_tree(
        tmp_path / "site", {"run.sh": Exe("#!/bin/sh\n"), "l": Link("run.sh"), "e/": None}
    )
    first = digest_tree(site, cache=cache_of(tmp_path, site))
    again = survey(site, cache=cache_of(tmp_path, site)).confirmed
    assert again is not None
    assert tuple(again.files) == tuple(first.files)


def test_a_symlink_whose_path_leaves_through_a_left_out_directory_is_refused(tmp_path):
    site = write_tree(tmp_path / "site", {"in/file.txt": "x", "top": Link("ex/l/file.txt")})
    (site / "ex").mkdir()
    (site / "ex" / "l").symlink_to("../in")
    _remember(tmp_path, site, exclude=("ex/",))
    outside = write_tree(tmp_path / "outside", {"file.txt": "y"})
    (site / "ex" / "l").unlink()
    (site / "ex" / "l").symlink_to(outside)  # left out, so no fingerprint covers it
    with pytest.raises(ArtifactError, match="outside the build dir"):
        digest_tree(site, ["ex/"], cache_of(tmp_path, site))
