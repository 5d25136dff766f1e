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
