"""Packing: reproducible bytes, what GNU tar makes of them, headers, and nothing left on error."""

from __future__ import annotations

import hashlib
import io
import os
import socket
import subprocess
import tarfile
from pathlib import Path

import pytest
import zstandard

from comwit.artifact.digest import digest_tree
from comwit.artifact.pack import DEFAULT_MTIME, _Packer, pack, pack_stream
from comwit.artifact.walk import Walker
from comwit.errors import ArtifactError

from tests.artifact_support import (
    SITE,
    Exe,
    Link,
    snapshot,
    unprivileged,
    write_tree,
    write_tree_differently,
)

LONG = "/".join(["a-rather-long-directory-name-for-a-package"] * 3)  # > 100 bytes
ODD = {
    **SITE,
    f"node_modules/{LONG}/index.js": "module.exports = 1\n",
    f"node_modules/{LONG}/{'n' * 120}.js": "y\n",  # needs a PAX path
    "node_modules/.bin/tool": Link(f"../{LONG}/index.js"),
    "caf\u00e9/\u6587\u6863.txt": "unicode\n",
    "sp ace/new\nline.txt": "odd\n",
    "a.b": "sorted after a/",
    "a/x": "",
}


def tar_zstd(tmp_path, site, **kwargs):
    return pack(site, tmp_path / "out.tar.zst", **kwargs)


def members(path):
    raw = zstandard.ZstdDecompressor().decompressobj().decompress(path.read_bytes())
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        return tar.getmembers()


def test_same_tree_made_differently_packs_to_identical_bytes(tmp_path):
    one = write_tree(tmp_path / "one", ODD)
    two = write_tree_differently(tmp_path / "two", ODD, mtime=1_234_567, umask=0o077)
    a = pack(one, tmp_path / "a.tar.zst")
    b = pack(two, tmp_path / "b.tar.zst")
    assert a.path.read_bytes() == b.path.read_bytes()
    assert a.size == a.path.stat().st_size


def test_the_tar_stream_and_digest_of_a_known_tree_stay_as_they_were(tmp_path):
    # Pinned: a change to these is a change of every archive and digest comwit makes.
    result = tar_zstd(tmp_path, write_tree(tmp_path / "site", ODD))
    raw = zstandard.ZstdDecompressor().decompressobj().decompress(result.path.read_bytes())
    assert hashlib.sha256(raw).hexdigest() == (
        "ed372fbbc44ff47c6b6b02a4c9005b556957dffa1add3143c07982b11a48fee8"
    )
    assert result.tree.digest == (
        "sha256:3801a60ac770c7ab35a9a4b8b077e7dbab750ad1fa1e50ca3f26cc4dfcfbede6"
    )


def test_pack_reports_the_same_tree_digest_as_digest_tree(tmp_path):
    site = write_tree(tmp_path / "site", ODD)
    assert tar_zstd(tmp_path, site, exclude=["*.png"]).tree == digest_tree(site, ["*.png"])


def test_gnu_tar_extracts_an_identical_tree(tmp_path):
    site = write_tree(tmp_path / "site", ODD)
    result = tar_zstd(tmp_path, site)
    (tmp_path / "x").mkdir()
    subprocess.run(
        ["tar", "--zstd", "-xf", str(result.path), "-C", str(tmp_path / "x")], check=True
    )
    assert snapshot(tmp_path / "x") == snapshot(site)


def test_members_are_named_and_ordered_like_gnu_tar_sort_name(tmp_path):
    site = write_tree(tmp_path / "site", ODD)
    ours = tar_zstd(tmp_path, site).path

    def listing(command):
        return subprocess.run(command, shell=True, check=True, capture_output=True).stdout

    gnu = listing(f"tar --sort=name -cf - -C '{site}' . | tar -tf -")
    assert listing(f"tar --zstd -tf '{ours}'") == gnu
    assert gnu.startswith(b"./\n./a/\n./a/x\n./a.b\n")


def test_headers_are_normalized(tmp_path):
    site = write_tree_differently(tmp_path / "site", SITE, mtime=1_700_000_000, umask=0o027)
    found = {
        m.name: (m.type, m.mode, m.mtime, m.uid, m.gid, m.uname, m.gname)
        for m in members(tar_zstd(tmp_path, site).path)
    }
    fixed = (DEFAULT_MTIME, 0, 0, "", "")
    assert found["./index.html"] == (tarfile.REGTYPE, 0o644, *fixed)
    assert found["./bin/serve.sh"] == (tarfile.REGTYPE, 0o755, *fixed)
    assert found["./assets"] == (tarfile.DIRTYPE, 0o755, *fixed)
    assert found["./latest.js"] == (tarfile.SYMTYPE, 0o777, *fixed)
    assert found["."] == (tarfile.DIRTYPE, 0o755, *fixed)


@pytest.mark.parametrize("length", [97, 98, 99, 100])
def test_names_around_the_ustar_name_fields_length_are_read_back_whole(tmp_path, length):
    # "./" + the name: 99 to 102 bytes, on either side of the 100-byte name field
    name = "d/" + "n" * (length - 2)
    site = write_tree(tmp_path / "site", {name: "x"})
    archive = tar_zstd(tmp_path, site).path.read_bytes()
    raw = zstandard.ZstdDecompressor().decompressobj().decompress(archive)
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        files = [m for m in tar.getmembers() if m.isfile()]
    assert [(m.name, m.size, m.pax_headers) for m in files] == [(f"./{name}", 1, {})]


def test_mtime_comes_from_the_argument_then_source_date_epoch(tmp_path, monkeypatch):
    site = write_tree(tmp_path / "site", SITE)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1600000000")
    assert {m.mtime for m in members(tar_zstd(tmp_path, site).path)} == {1_600_000_000}
    assert {m.mtime for m in members(tar_zstd(tmp_path, site, mtime=42).path)} == {42}


def test_bad_source_date_epoch_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(ArtifactError, match="SOURCE_DATE_EPOCH='yesterday' is not a whole number"):
        tar_zstd(tmp_path, write_tree(tmp_path / "site", SITE))


@pytest.mark.parametrize("mtime", [-1, 8**11])
def test_mtime_a_ustar_header_cannot_hold_is_an_error(tmp_path, mtime):
    with pytest.raises(ArtifactError, match=f"mtime {mtime} is out of range"):
        tar_zstd(tmp_path, write_tree(tmp_path / "site", SITE), mtime=mtime)
    assert not (tmp_path / "out.tar.zst").exists()


def test_level_changes_the_compression_not_the_tar_stream(tmp_path):
    site = write_tree(tmp_path / "site", ODD)
    fast = pack(site, tmp_path / "1.tar.zst", level=1)
    small = pack(site, tmp_path / "19.tar.zst", level=19)
    unzstd = zstandard.ZstdDecompressor()
    assert fast.path.read_bytes() != small.path.read_bytes()
    assert unzstd.decompressobj().decompress(
        fast.path.read_bytes()
    ) == unzstd.decompressobj().decompress(small.path.read_bytes())


def test_progress_adds_up_to_the_uncompressed_size(tmp_path):
    site = write_tree(tmp_path / "site", SITE)
    seen = []
    result = tar_zstd(tmp_path, site, progress=seen.append)
    raw = zstandard.ZstdDecompressor().decompressobj().decompress(result.path.read_bytes())
    assert sum(seen) == len(raw) and len(raw) % 10240 == 0


def test_a_tree_larger_than_the_staging_buffers_round_trips(tmp_path):
    big = os.urandom(9 << 20)
    site = write_tree(
        tmp_path / "site", {"big.bin": big, "small.txt": "x", "z/big2.bin": big[:5_000_001]}
    )
    result = tar_zstd(tmp_path, site)
    (tmp_path / "x").mkdir()
    subprocess.run(
        ["tar", "--zstd", "-xf", str(result.path), "-C", str(tmp_path / "x")], check=True
    )
    assert snapshot(tmp_path / "x") == snapshot(site)
    assert result.tree == digest_tree(site)


STAGE = 1 << 20  # the staging buffer: the stream so far is "./" (512) and a header (512)


@pytest.mark.parametrize(
    "spec",
    [
        {"a.bin": STAGE - 1025},
        {"a.bin": STAGE - 1024},  # ends exactly at the buffer's end
        {"a.bin": STAGE - 1023},
        {"a.bin": 2 * STAGE - 1024, "b.bin": 0},
        {"a.bin": STAGE - 1536, "b.bin": 0},  # b's header fills the buffer, b reads nothing
        {"a.bin": STAGE - 1536, "b.bin": 1},
        {"a.bin": STAGE - 5120, "b.bin": 5000},  # a small file split between two buffers
        {"a.bin": 64 << 10, "b.bin": (64 << 10) + 1},  # two files in one buffer
    ],
    ids=[
        "before",
        "at",
        "after",
        "two-buffers-then-empty",
        "empty-at-end",
        "one-at-end",
        "small-split",
        "mid-sized",
    ],
)
def test_files_ending_around_a_staging_buffers_end_round_trip(tmp_path, spec):
    site = write_tree(tmp_path / "site", {k: os.urandom(n) for k, n in spec.items()})
    result = tar_zstd(tmp_path, site)
    raw = zstandard.ZstdDecompressor().decompressobj().decompress(result.path.read_bytes())
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        packed = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
    assert packed == {f"./{k}": (site / k).read_bytes() for k in spec}
    assert result.tree == digest_tree(site)


@pytest.mark.parametrize("change", ["grows", "shrinks"])
def test_a_file_whose_size_changes_while_it_is_read_is_an_error(tmp_path, change):
    site = write_tree(tmp_path / "site", {"big.bin": os.urandom(3 * STAGE), "z.txt": "z"})
    big = site / "big.bin"

    def resize(n: int) -> None:  # called between staging buffers, in the middle of big.bin
        del n
        if big.stat().st_size == 3 * STAGE:
            with big.open("ab") as f:
                f.write(b"x") if change == "grows" else f.truncate(2 * STAGE)

    (tmp_path / "out").mkdir()
    with pytest.raises(ArtifactError, match=r"big\.bin in .* changed while it was being read"):
        pack(site, tmp_path / "out" / "app.tar.zst", progress=resize)
    assert list((tmp_path / "out").iterdir()) == []


# -- errors leave nothing behind -------------------------------------------------------


def _absolute_link(site):
    (site / "passwd").symlink_to("/etc/passwd")


def _escaping_link(site):
    (site / "up").symlink_to("../elsewhere")


def _fifo(site):
    os.mkfifo(site / "pipe")


def _all_excluded(site):
    (site / ".comwitignore").write_text("*\n")


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (_absolute_link, "symlink passwd in .* points to the absolute path /etc/passwd"),
        (_escaping_link, "symlink up in .* points to ../elsewhere, outside the build dir"),
        (_fifo, "pipe in .* is a FIFO"),
        (_all_excluded, "has no files to pack"),
    ],
)
def test_unsafe_trees_are_errors_and_write_nothing(tmp_path, breakage, message):
    site = write_tree(tmp_path / "site", SITE)
    breakage(site)
    (tmp_path / "out").mkdir()
    with pytest.raises(ArtifactError, match=message):
        pack(site, tmp_path / "out" / "app.tar.zst")
    assert list((tmp_path / "out").iterdir()) == []


def test_socket_is_an_error_and_writes_nothing(tmp_path):
    site = write_tree(tmp_path / "site", SITE)
    (tmp_path / "out").mkdir()
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(site / "sock"))
        with pytest.raises(ArtifactError, match=r"sock in .* is a socket"):
            pack(site, tmp_path / "out" / "app.tar.zst")
    assert list((tmp_path / "out").iterdir()) == []


def test_unreadable_file_found_while_packing_leaves_nothing(tmp_path):
    site = write_tree(tmp_path / "site", {**SITE, "zz/private.txt": "x" * 100_000})
    (site / "zz/private.txt").chmod(0)
    out = tmp_path / "out"
    out.mkdir()
    with (
        unprivileged(site, out),
        pytest.raises(ArtifactError, match=r"cannot read zz/private\.txt"),
    ):
        pack(site, out / "app.tar.zst")
    assert list(out.iterdir()) == []


def test_archive_inside_the_build_dir_is_refused(tmp_path):
    site = write_tree(tmp_path / "site", SITE)
    with pytest.raises(ArtifactError, match="inside the build dir"):
        pack(site, site / "assets" / "app.tar.zst")
    assert not (site / "assets" / "app.tar.zst").exists()


def test_out_of_range_level_is_an_error(tmp_path):
    with pytest.raises(ArtifactError, match="compression level 0 is out of range"):
        pack(write_tree(tmp_path / "site", SITE), tmp_path / "a.tar.zst", level=0)


def test_executable_bit_travels_with_the_file(tmp_path):
    site = write_tree(tmp_path / "site", {"run": Exe("#!/bin/sh\n"), "data": "x"})
    modes = {m.name: m.mode for m in members(tar_zstd(tmp_path, site).path)}
    assert (modes["./run"], modes["./data"]) == (0o755, 0o644)


@pytest.mark.parametrize(
    "files",
    [
        {"small.txt": "x"},  # the end: waiting for the last bytes to be hashed
        {"big.bin": b"\0" * (9 << 20)},  # the middle: waiting for a free staging buffer
    ],
    ids=["at-the-end", "midway"],
)
def test_a_compression_thread_that_ends_before_its_work_is_an_error_not_a_hang(tmp_path, files):
    site = write_tree(tmp_path / "site", files)
    packer = _Packer(Walker(site), io.BytesIO(), 3, 0, lambda n: None, worker=lambda p: None)
    with pytest.raises(ArtifactError, match=r"compression thread ended .*run the command again"):
        packer.run()


def test_a_pack_replaces_what_is_at_out_and_leaves_it_when_it_fails(tmp_path):
    site = write_tree(tmp_path / "site", SITE)
    out = tmp_path / "app.tar.zst"
    out.write_bytes(b"yesterday's archive")
    fresh = pack(site, tmp_path / "fresh.tar.zst")
    pack(site, out)
    assert out.read_bytes() == fresh.path.read_bytes()
    # A link at `out` is replaced by the archive; what it pointed at is left alone.
    kept = tmp_path / "kept.bin"
    kept.write_bytes(b"not an archive")
    out.unlink()
    out.symlink_to(kept)
    pack(site, out)
    assert not out.is_symlink() and out.read_bytes() == fresh.path.read_bytes()
    assert kept.read_bytes() == b"not an archive"
    # A pack that fails leaves the archive that was there.
    (site / "index.html").chmod(0)
    with unprivileged(site, tmp_path), pytest.raises(ArtifactError, match="cannot read index"):
        pack(site, out)
    assert out.read_bytes() == fresh.path.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "app.tar.zst",
        "fresh.tar.zst",
        "kept.bin",
        "site",
    ]


@pytest.mark.parametrize("stop", [KeyboardInterrupt, OSError])
def test_a_pack_stopped_as_its_archive_takes_the_old_ones_place_puts_the_old_one_back(
    tmp_path, monkeypatch, stop
):
    site = write_tree(tmp_path / "site", SITE)
    out = tmp_path / "app.tar.zst"
    out.write_bytes(b"yesterday's archive")
    real = Path.replace

    def replace(self, target):
        if self.name.endswith(".partial"):  # the new archive, as it is renamed into place
            raise stop()
        return real(self, target)

    monkeypatch.setattr(Path, "replace", replace)
    with pytest.raises((KeyboardInterrupt, ArtifactError)):
        pack(site, out)
    assert out.read_bytes() == b"yesterday's archive"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.tar.zst", "site"]


def test_a_failed_rename_whose_old_file_cannot_be_put_back_says_where_it_is(tmp_path, monkeypatch):
    site = write_tree(tmp_path / "site", SITE)
    out = tmp_path / "app.tar.zst"
    out.write_bytes(b"yesterday's archive")
    real = Path.rename

    def rename(self, target):
        if self.name.endswith(".old"):  # putting the old one back fails as well
            raise OSError(5, "Input/output error")
        return real(self, target)

    def replace(self, target):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "rename", rename)
    monkeypatch.setattr(Path, "replace", replace)
    with pytest.raises(
        ArtifactError, match="no space left on device; the file that was there"
    ) as exc:
        pack(site, out)
    (aside,) = tmp_path.glob(".app.tar.zst.*.old")
    assert str(aside) in str(exc.value)
    assert aside.read_bytes() == b"yesterday's archive"
    assert not list(tmp_path.glob("*.partial"))


class _ClosedPipe(io.RawIOBase):
    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def test_a_reader_that_stops_reading_is_said_as_such_not_as_a_file_that_cannot_be_read(tmp_path):
    big = {f"big{i}.bin": os.urandom(3 << 20) for i in range(6)}
    site = write_tree(tmp_path / "site", {**SITE, **big})
    with pytest.raises(ArtifactError) as exc:
        pack_stream(site, _ClosedPipe())
    assert str(exc.value) == "cannot write the archive: what reads it stopped reading (broken pipe)"


def test_a_full_disk_names_the_archive_not_the_file_being_read(tmp_path, monkeypatch):
    # zstd writes its first output while later files are still being read
    big = {f"big{i}.bin": os.urandom(3 << 20) for i in range(6)}
    site = write_tree(tmp_path / "site", {**SITE, **big})
    out = tmp_path / "app.tar.zst"
    real = os.fdopen

    class _Full(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def write(self, data) -> int:
            raise OSError(28, "No space left on device")

    def fdopen(fd, *args, **kwargs):
        os.close(fd)
        return _Full() if args and "w" in args[0] else real(fd, *args, **kwargs)

    monkeypatch.setattr(os, "fdopen", fdopen)
    with pytest.raises(
        ArtifactError, match=r"^cannot write .*app\.tar\.zst: no space left on device$"
    ):
        pack(site, out)
    assert not out.exists() and not list(tmp_path.glob(".*.partial"))
