"""The tree cache in .comwit/trees: with more apps than it keeps, a run rewrites nothing."""

from __future__ import annotations

import os

from comwit.artifact.tree import FileEntry, TreeDigest
from comwit.store.trees import TreeCache


def _trees(count: int, start: int = 0) -> dict[str, TreeDigest]:
    trees = {}
    for i in range(start, start + count):
        files = (FileEntry(f"f{i}.txt", "file", 1, f"{i:064x}"),)
        trees[f"app{i}"] = TreeDigest(f"sha256:{i:064x}", files, 1, ())
    return trees


def test_more_trees_than_kept_are_all_kept_and_not_rewritten_next_run(tmp_path):
    cache = TreeCache(tmp_path / "trees", keep=10)
    trees = _trees(25)
    cache.save(trees)
    inodes = {p.name: p.stat().st_ino for p in (tmp_path / "trees").iterdir()}
    assert len(inodes) == 25
    cache.save(trees)
    assert {p.name: p.stat().st_ino for p in (tmp_path / "trees").iterdir()} == inodes
    assert set(cache.load(t.digest for t in trees.values())) == {t.digest for t in trees.values()}


def test_trees_of_earlier_runs_beyond_keep_are_pruned_oldest_first(tmp_path):
    cache = TreeCache(tmp_path / "trees", keep=10)
    cache.save(_trees(10))
    for age, path in enumerate(sorted((tmp_path / "trees").iterdir()), start=1):
        os.utime(path, (1_000_000 - age, 1_000_000 - age))  # an earlier run's
    cache.save(_trees(5, start=100))
    kept = cache.load(t.digest for t in (_trees(10) | _trees(5, start=100)).values())
    assert len(kept) == 10
    assert {t.digest for t in _trees(5, start=100).values()} <= set(kept)
    newest_old = sorted((tmp_path / "trees").iterdir())  # those the utime made newest stay
    assert len(newest_old) == 10


def test_a_list_reads_back_as_it_was_saved_with_every_kind_of_entry(tmp_path):
    files = (
        FileEntry("bin", "dir"),
        FileEntry("bin/run", "file", 12, "ab" * 32, executable=True),
        FileEntry("index.html", "file", 0, "cd" * 32),
        FileEntry("latest", "symlink", target="bin/run"),
        FileEntry("zzz", "symlink", target="index.html"),
    )
    tree = TreeDigest("sha256:" + "e" * 64, files, 12, ())
    cache = TreeCache(tmp_path / "trees")
    cache.save({"app": tree})
    assert cache.load([tree.digest]) == {tree.digest: files}


def test_an_unreadable_list_is_unknown(tmp_path):
    cache = TreeCache(tmp_path / "trees")
    trees = _trees(1)
    cache.save(trees)
    (path,) = (tmp_path / "trees").iterdir()
    data = path.read_bytes()
    for damaged in (b"", data[:-3], data + b"x", b"junk" + data[4:]):
        path.write_bytes(damaged)
        assert cache.load(t.digest for t in trees.values()) == {}


def test_lists_of_the_older_format_are_pruned_first(tmp_path):
    (tmp_path / "trees").mkdir()
    old = tmp_path / "trees" / ("0" * 64 + ".json.gz")
    old.write_bytes(b"\x1f\x8b")
    future = old.stat().st_mtime_ns + 3600 * 10**9  # newer than what save writes: only
    os.utime(old, ns=(future, future))  # its format, not its age, has it pruned
    TreeCache(tmp_path / "trees", keep=2).save(_trees(2))
    assert not old.exists()
    assert len(list((tmp_path / "trees").iterdir())) == 2
