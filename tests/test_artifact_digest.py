"""Tree digest: what it covers, what it ignores, the per-file list, and the safety checks."""

from __future__ import annotations

import hashlib
import os
import socket
import stat

import pytest

from comwit.artifact.digest import _hash_file, digest_tree
from comwit.artifact.tree import FileEntry, TreeChanges, compare
from comwit.artifact.walk import Node
from comwit.errors import ArtifactError

from tests.artifact_support import SITE, Exe, Link, unprivileged, write_tree, write_tree_differently


def digest(path, exclude=()):
    return digest_tree(path, exclude).digest


def test_digest_follows_the_documented_encoding(tmp_path):
    site = write_tree(tmp_path / "site", {"a/run": Exe("x"), "b": Link("a/run")})
    sha = hashlib.sha256(b"x").hexdigest().encode()
    fields = [b"comwit-tree-v1", b"d", b"a", b"f", b"755", sha, b"a/run", b"l", b"a/run", b"b"]
    body = b"".join(field + b"\x00" for field in fields)
    assert digest(site) == "sha256:" + hashlib.sha256(body).hexdigest()


def test_same_tree_made_differently_has_the_same_digest_and_files(tmp_path):
    one = digest_tree(write_tree(tmp_path / "one", SITE))
    two = digest_tree(write_tree_differently(tmp_path / "two", SITE, mtime=86_400, umask=0o077))
    assert (one.digest, one.files) == (two.digest, two.files)


def test_files_are_listed_in_archive_order_with_sizes_and_hashes(tmp_path):
    site = write_tree(
        tmp_path / "site", {"a.txt": "1", "a/b": "22", "run": Exe("333"), "l": Link("a.txt")}
    )
    tree = digest_tree(site)
    assert tree.files == (
        FileEntry("a", "dir"),
        FileEntry("a/b", "file", 2, hashlib.sha256(b"22").hexdigest()),
        FileEntry("a.txt", "file", 1, hashlib.sha256(b"1").hexdigest()),
        FileEntry("l", "symlink", target="a.txt"),
        FileEntry("run", "file", 3, hashlib.sha256(b"333").hexdigest(), executable=True),
    )
    assert tree.total_size == 6


def _edit_content(root):
    (root / "index.html").write_text("<h1>bye</h1>\n")


def _rename(root):
    (root / "index.html").rename(root / "home.html")


def _exec_bit(root):
    (root / "index.html").chmod(0o755)


def _add(root):
    (root / "new.txt").write_text("")


def _remove(root):
    (root / "assets/logo.png").unlink()


def _add_empty_dir(root):
    (root / "more").mkdir()


def _retarget_link(root):
    (root / "latest.js").unlink()
    (root / "latest.js").symlink_to("index.html")


@pytest.mark.parametrize(
    "change", [_edit_content, _rename, _exec_bit, _add, _remove, _add_empty_dir, _retarget_link]
)
def test_any_change_changes_the_digest(tmp_path, change):
    site = write_tree(tmp_path / "site", SITE)
    before = digest(site)
    change(site)
    assert digest(site) != before


def test_excluded_files_change_nothing(tmp_path):
    site = write_tree(tmp_path / "site", SITE)
    before = digest(site, ["*.map", "tmp/"])
    write_tree(site, {"app.js.map": "{}", "tmp/x": "1", "assets/y.map": "2"})
    assert digest(site, ["*.map", "tmp/"]) == before


def test_secret_looking_files_are_warned_about_unless_excluded(tmp_path):
    site = write_tree(tmp_path / "site", {**SITE, ".env": "TOKEN=1", "certs/tls.pem": "-"})
    assert digest_tree(site, [".env"]).warnings == (
        f'certs/tls.pem in {site} looks like a secret and will be uploaded; add "*.pem" to '
        "the app's `exclude` setting to leave it out",
    )


def test_compare_counts_files_and_bytes_and_directories_apart(tmp_path):
    old = digest_tree(
        write_tree(tmp_path / "old", {"same": "1", "edit": "22", "gone": "333", "d/x": "4"})
    )
    new = digest_tree(
        write_tree(tmp_path / "new", {"same": "1", "edit": "55555", "add": "7777", "e/": None})
    )
    assert compare(old.files, new.files) == TreeChanges(
        added=1,
        changed=1,
        removed=2,
        added_bytes=4,
        changed_bytes=5,
        removed_bytes=4,
        dirs_added=1,
        dirs_removed=1,
        added_paths=("add",),
        changed_paths=("edit",),
        removed_paths=("d/x", "gone"),
    )
    assert compare(new.files, new.files).empty


# -- safety ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("link", "target"),
    [("abs", "/etc/passwd"), ("up", "../outside"), ("deep/up", "../../site2/x")],
)
def test_symlinks_leaving_the_build_dir_are_errors_naming_link_and_target(tmp_path, link, target):
    site = write_tree(tmp_path / "site", {"index.html": "hi", link: Link(target)})
    with pytest.raises(ArtifactError, match=rf"symlink {link} in .* points to .*{target}"):
        digest_tree(site)


def test_symlink_escaping_through_another_symlink_is_an_error(tmp_path):
    site = write_tree(
        tmp_path / "site", {"index.html": "hi", "a/up": Link(".."), "a/x": Link("up/..")}
    )
    with pytest.raises(ArtifactError, match=r"symlink a/x in .* points to up/\.\., outside"):
        digest_tree(site)


def test_symlinks_inside_the_build_dir_are_kept_even_when_dangling(tmp_path):
    site = write_tree(
        tmp_path / "site", {"index.html": "hi", "a/b": Link("../index.html"), "c": Link("gone")}
    )
    assert [f.target for f in digest_tree(site).files if f.kind == "symlink"] == [
        "../index.html",
        "gone",
    ]


def test_fifo_is_an_error_naming_it(tmp_path):
    site = write_tree(tmp_path / "site", {"index.html": "hi"})
    os.mkfifo(site / "pipe")
    with pytest.raises(ArtifactError, match=r"pipe in .* is a FIFO"):
        digest_tree(site)


def test_socket_is_an_error_naming_it(tmp_path):
    site = write_tree(tmp_path / "site", {"index.html": "hi"})
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(site / "sock"))
        with pytest.raises(ArtifactError, match=r"sock in .* is a socket"):
            digest_tree(site)


def test_special_files_that_are_excluded_are_fine(tmp_path):
    site = write_tree(tmp_path / "site", {"index.html": "hi"})
    os.mkfifo(site / "pipe")
    assert [f.path for f in digest_tree(site, ["pipe"]).files] == ["index.html"]


def test_unreadable_file_is_an_error_naming_it(tmp_path):
    site = write_tree(tmp_path / "site", {"index.html": "hi", "private.txt": "x"})
    (site / "private.txt").chmod(0)
    with (
        unprivileged(site),
        pytest.raises(ArtifactError, match=r"cannot read private.txt in .*: permission denied"),
    ):
        digest_tree(site)


def test_unreadable_directory_is_an_error_naming_it(tmp_path):
    site = write_tree(tmp_path / "site", {"index.html": "hi", "private/key.txt": "x"})
    (site / "private").chmod(0)
    with unprivileged(site), pytest.raises(ArtifactError, match=r"cannot read directory private"):
        digest_tree(site)


def test_device_file_is_an_error_naming_it(tmp_path):
    site = write_tree(tmp_path / "site", {"index.html": "hi"})
    try:
        os.mknod(site / "null", stat.S_IFCHR | 0o600, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("creating a device file needs CAP_MKNOD")
    with pytest.raises(ArtifactError, match=r"null in .* is a character device"):
        digest_tree(site)


@pytest.mark.parametrize(
    ("spec", "exclude"), [({}, ()), ({"a/b/": None}, ()), ({"x.map": "{}"}, ["*.map"])]
)
def test_build_dir_with_no_files_is_an_error(tmp_path, spec, exclude):
    site = write_tree(tmp_path / "site", spec)
    with pytest.raises(ArtifactError, match="has no files to pack"):
        digest_tree(site, exclude)


def test_missing_build_dir_is_an_error(tmp_path):
    with pytest.raises(ArtifactError, match=r"build dir .*/dist does not exist"):
        digest_tree(tmp_path / "dist")


def test_name_that_is_not_utf8_is_an_error(tmp_path):
    site = write_tree(tmp_path / "site", {"index.html": "hi"})
    (site / os.fsdecode(b"caf\xe9.txt")).write_text("x")
    with pytest.raises(ArtifactError, match=r"caf\\xe9.txt in .* is not valid UTF-8"):
        digest_tree(site)


@pytest.mark.parametrize("walked_size", [0, 5, 9, 11, 2_000_000])
def test_a_file_whose_size_changed_after_the_walk_is_refused(tmp_path, walked_size):
    (tmp_path / "f.bin").write_bytes(b"x" * 10)
    node = Node("f.bin", "file", walked_size, False, "")  # what lstat said, before a change
    with pytest.raises(ArtifactError, match="changed while it was being read"):
        _hash_file(str(tmp_path), node, bytearray(1 << 20))


@pytest.mark.parametrize("size", [0, 1, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, 3 << 20])
def test_a_file_is_hashed_whole_at_every_size_around_the_read_buffer(tmp_path, size):
    data = os.urandom(size)
    (tmp_path / "f.bin").write_bytes(data)
    node = Node("f.bin", "file", size, False, "")
    assert _hash_file(str(tmp_path), node, bytearray(1 << 20)) == hashlib.sha256(data).hexdigest()
