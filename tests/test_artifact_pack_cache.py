"""Packing with a stat cache: hashes it vouches for are not taken again, the bytes stay the same."""

from __future__ import annotations

import io
import os
import time

import pytest

from comwit.artifact.digest import digest_tree
from comwit.artifact.pack import pack, pack_stream
from comwit.artifact.stat_cache import StatCache
from comwit.artifact.tree import make_tree_digest
from comwit.artifact.walk import walk
from comwit.errors import ArtifactError

from tests.artifact_support import SITE, cache_of, later, write_tree


def lying_cache(tmp_path, site, rel, clock=later):
    """A cache that remembers `rel` with a wrong hash (every stamp right): a pack that
    reports that hash took it from the cache instead of reading the file's bytes."""
    tree = walk(site)
    truth = digest_tree(site)
    files = [f._replace(sha256="0" * 64) if f.path == rel else f for f in truth.files]
    StatCache.blank(tmp_path / "stat", site, clock).save(
        tree, make_tree_digest(files, truth.warnings), clock()
    )
    return cache_of(tmp_path, site, clock), truth


def test_a_warm_pack_writes_the_same_archive_and_digest_as_a_cold_one(tmp_path):
    site = write_tree(tmp_path / "site", SITE)
    cold = pack(site, tmp_path / "cold.tar.zst")
    first = pack(site, tmp_path / "first.tar.zst", cache=cache_of(tmp_path, site))
    warm = pack(site, tmp_path / "warm.tar.zst", cache=cache_of(tmp_path, site))
    assert len(cache_of(tmp_path, site)) == sum(1 for f in cold.tree.files if f.kind == "file")
    assert first.tree == warm.tree == cold.tree
    assert warm.path.read_bytes() == first.path.read_bytes() == cold.path.read_bytes()


def test_a_warm_pack_takes_the_hashes_the_cache_vouches_for(tmp_path):
    site = write_tree(tmp_path / "site", SITE)
    cache, truth = lying_cache(tmp_path, site, "index.html")
    cold = pack(site, tmp_path / "cold.tar.zst")
    warm = pack(site, tmp_path / "warm.tar.zst", cache=cache)
    lied = next(f for f in warm.tree.files if f.path == "index.html")
    assert lied.sha256 == "0" * 64
    assert warm.tree.digest != truth.digest
    assert warm.path.read_bytes() == cold.path.read_bytes()  # the bytes were read all the same


def test_pack_stream_takes_hashes_from_the_cache_and_saves_it(tmp_path):
    site = write_tree(tmp_path / "site", SITE)
    cache, truth = lying_cache(tmp_path, site, "index.html")
    sink = io.BytesIO()
    _, tree = pack_stream(site, sink, cache=cache)
    assert tree.digest != truth.digest
    assert sink.getvalue() == pack(site, tmp_path / "cold.tar.zst").path.read_bytes()
    assert cache_of(tmp_path, site).confirm(site, ()) == tree  # saved what it packed


def test_racy_entries_are_hashed_again(tmp_path):
    site = write_tree(tmp_path / "site", SITE)
    now = time.time_ns
    cache, truth = lying_cache(tmp_path, site, "index.html", clock=now)  # files just written
    assert pack(site, tmp_path / "out.tar.zst", cache=cache).tree == truth


def test_a_file_rewritten_with_its_size_and_mtime_put_back_is_hashed_again(tmp_path):
    site = write_tree(tmp_path / "site", SITE)
    before = pack(site, tmp_path / "a.tar.zst", cache=cache_of(tmp_path, site)).tree
    page = site / "index.html"
    st = page.stat()
    page.write_bytes(bytes(b ^ 1 for b in page.read_bytes()))  # same size
    os.utime(page, ns=(st.st_atime_ns, st.st_mtime_ns))  # ctime still shows the change
    after = pack(site, tmp_path / "b.tar.zst", cache=cache_of(tmp_path, site)).tree
    assert after == digest_tree(site)
    assert after.digest != before.digest


def test_a_file_the_cache_vouched_for_that_changes_while_read_is_an_error(tmp_path):
    site = write_tree(tmp_path / "site", {**SITE, "big.bin": os.urandom(3 << 20)})
    pack(site, tmp_path / "a.tar.zst", cache=cache_of(tmp_path, site))
    big = site / "big.bin"

    def touch(n: int) -> None:  # called between staging buffers, in the middle of big.bin
        del n
        os.utime(big, ns=(1, 1))

    with pytest.raises(ArtifactError, match=r"big\.bin in .* changed while it was being read"):
        pack(site, tmp_path / "b.tar.zst", progress=touch, cache=cache_of(tmp_path, site))
    assert not (tmp_path / "b.tar.zst").exists()


def test_packing_an_unchanged_tree_again_leaves_the_cache_file_as_it_was(tmp_path):
    site = write_tree(tmp_path / "site", SITE)
    pack(site, tmp_path / "a.tar.zst", cache=cache_of(tmp_path, site))
    (path,) = (tmp_path / "stat").iterdir()
    written = path.read_bytes()
    os.utime(path, ns=(1, 1))
    pack(site, tmp_path / "b.tar.zst", cache=cache_of(tmp_path, site))
    assert (path.stat().st_mtime_ns, path.read_bytes()) == (1, written)
    (site / "index.html").write_text("<h1>changed</h1>\n")
    changed = pack(site, tmp_path / "c.tar.zst", cache=cache_of(tmp_path, site)).tree
    assert cache_of(tmp_path, site).confirm(site, ()) == changed == digest_tree(site)


def test_a_cache_with_racy_entries_is_rewritten_even_when_nothing_changed(tmp_path):
    site = write_tree(tmp_path / "site", SITE)
    pack(site, tmp_path / "a.tar.zst", cache=cache_of(tmp_path, site, clock=time.time_ns))
    (path,) = (tmp_path / "stat").iterdir()
    os.utime(path, ns=(1, 1))
    pack(site, tmp_path / "b.tar.zst", cache=cache_of(tmp_path, site))  # hashed "later" now
    assert path.stat().st_mtime_ns != 1
    assert cache_of(tmp_path, site).confirm(site, ()) == digest_tree(site)


@pytest.mark.parametrize("clock", [later, time.time_ns], ids=["settled", "racy"])
def test_digest_and_pack_ask_the_cache_the_same_question_of_each_node(tmp_path, clock):
    """digest looks a walk up at once (lookup), pack one file at a time (known)."""
    site = write_tree(tmp_path / "site", SITE)
    digest_tree(site, cache=cache_of(tmp_path, site, clock))
    (site / "index.html").write_text("<h1>HELLO</h1>\n")  # same size, new mtime and ctime
    (site / "assets" / "app.js").replace(site / "moved.js")  # same stamps, new path
    (site / "assets" / "app.js").write_text("console.log(1)\n" * 50)  # new inode
    (site / "new.txt").write_text("new")
    tree, cache = walk(site), cache_of(tmp_path, site, clock)
    answers = cache.lookup(tree.nodes)
    assert answers == tuple(map(cache.known, tree.nodes))
    vouched = {node.rel for node, sha in zip(tree.nodes, answers, strict=True) if sha}
    expected = {"assets/logo.png", "bin/serve.sh"} if clock is later else set()
    assert vouched == expected
    truth = {f.path: f.sha256 for f in digest_tree(site).files}
    assert all(sha == truth[node.rel] for node, sha in zip(tree.nodes, answers, strict=True) if sha)


@pytest.mark.parametrize("dated", ["index.html", "."])
def test_a_time_past_2262_is_packed_and_not_remembered(tmp_path, dated):
    """`touch -d 2300-01-01`: its nanoseconds do not fit the cache's 64 bits (it said "comwit
    hit a bug (OverflowError)")."""
    site = write_tree(tmp_path / "site", SITE)
    far = 10_413_792_000 * 10**9  # 2300-01-01, past what 64 signed bits of nanoseconds hold
    os.utime(site / dated, ns=(far, far))
    assert os.lstat(site / dated).st_mtime_ns > 2**63
    cold = pack(site, tmp_path / "cold.tar.zst")
    first = pack(site, tmp_path / "first.tar.zst", cache=cache_of(tmp_path, site))
    assert len(cache_of(tmp_path, site)) == 0  # nothing kept: hashed again each time
    second = pack(site, tmp_path / "second.tar.zst", cache=cache_of(tmp_path, site))
    assert first.tree == second.tree == cold.tree == digest_tree(site)
    assert second.path.read_bytes() == cold.path.read_bytes()
