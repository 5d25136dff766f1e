"""Each byte of a build dir is read once by an apply that deploys it, and not at all by a
plan of an unchanged tree; a command reads the local ledger file once, besides the writes
that read it again under its lock: every file opened is counted (an audit hook sees each
`open`)."""

from __future__ import annotations

import asyncio
import functools
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from comwit.api.client import ComwitClient
from comwit.apply.execute import Executor, Inputs
from comwit.apply.reporter import QuietReporter
from comwit.apply.result import ApplyResult
from comwit.artifact.digest import digest_tree
from comwit.artifact.stat_cache import StatCache, stat_cache_dir
from comwit.emulator.app import create_app
from comwit.emulator.store import SCOPES, Store
from comwit.manifest import load_manifest
from comwit.plan.actions import Deploy
from comwit.planner import Planned, PlanRequest, make_plan, open_ledger_store
from comwit.secret import Secret

from tests.artifact_support import cache_of, later
from tests.e2e_support import MANIFEST
from tests.factories import no_commit_guard

PROJECT = "proj"
pytestmark = pytest.mark.audit_hook  # run last (see `_count_opens_from_now_on`)

_watching: list[Counter[str]] = []


def _count_opens(event: str, args: tuple[object, ...]) -> None:
    if event == "open" and _watching and isinstance(args[0], str | os.PathLike):
        _watching[-1][os.fspath(args[0])] += 1


@functools.cache
def _count_opens_from_now_on() -> None:
    # Added on first use, not on import (every process that collects the suite imports this
    # module), and it cannot be removed: it counts only inside `opened_under`. On Python 3.11 a
    # Python audit hook runs inside each sys.settrace(), and another thread's settrace() in
    # that window fails ("Cannot install a trace function while another..."). Coverage has
    # each new thread call settrace() as it starts (threading.settrace), so a thread could die
    # before it ran, and the command under test with it (seen in CI). From here on new threads
    # are not traced: coverage still follows this process's main thread, and the other tests
    # cover what these threads run. These tests run last, and never in a process that runs
    # other tests afterwards (tests/conftest.py, ./scripts/check).
    threading.settrace(None)
    sys.addaudithook(_count_opens)


@contextmanager
def opened_under(root: Path) -> Iterator[Counter[str]]:
    """How often each file under `root` was opened (paths relative to it) in the block;
    filled in when the block ends."""
    _count_opens_from_now_on()
    seen: Counter[str] = Counter()
    _watching.append(seen)
    try:
        yield (under := Counter())
    finally:
        _watching.pop()
        prefix = os.path.realpath(root) + "/"
        under.update(
            {
                p[len(prefix) :]: n
                for p, n in seen.items()
                if p.startswith(prefix) and Path(p).is_file()  # not a missing .comwitignore
            }
        )


def test_threads_started_while_opens_are_counted_start_untraced():
    # With coverage's tracer on, a thread starting under the audit hook could die before it
    # ran (see `_count_opens_from_now_on`); without the tracer there is nothing to collide.
    with opened_under(Path.cwd()):
        assert threading.gettrace() is None
        ran: list[bool] = []
        threads = [threading.Thread(target=ran.append, args=(True,)) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)
    assert ran == [True] * 8


def _tree(root: Path, files: int = 30) -> dict[str, int]:
    sizes = {}
    for i in range(files):
        path = root / f"d{i % 4}" / f"f{i}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(1000 + 37 * i))
        sizes[f"d{i % 4}/f{i}.bin"] = 1000 + 37 * i
    return sizes


def test_an_unchanged_tree_is_confirmed_by_lstat_alone(tmp_path):
    build = tmp_path / "dist"
    _tree(build)
    first = digest_tree(build, cache=cache_of(tmp_path, build))
    with opened_under(build) as opened:
        again = digest_tree(build, cache=cache_of(tmp_path, build))
    assert again == first
    assert opened == Counter()


def test_a_changed_file_is_read_again_and_only_it(tmp_path):
    build = tmp_path / "dist"
    _tree(build)
    digest_tree(build, cache=cache_of(tmp_path, build))
    (build / "d1" / "f1.bin").write_bytes(b"new content")
    with opened_under(build) as opened:
        changed = digest_tree(build, cache=cache_of(tmp_path, build))
    assert opened == Counter({"d1/f1.bin": 1})
    assert changed == digest_tree(build)  # the same digest as without any cache


def test_a_racy_entry_is_hashed_again(tmp_path):
    build = tmp_path / "dist"
    _tree(build, files=3)
    now = time.time_ns
    digest_tree(build, cache=StatCache.open(tmp_path / "stat", build, now))
    # Hashed in the same instant the files were written: they may change again unseen.
    with opened_under(build) as opened:
        digest_tree(build, cache=StatCache.open(tmp_path / "stat", build, now))
    assert sorted(opened) == ["d0/f0.bin", "d1/f1.bin", "d2/f2.bin"]


def test_same_size_and_mtime_but_a_new_inode_is_hashed_again(tmp_path):
    build = tmp_path / "dist"
    _tree(build, files=2)
    digest_tree(build, cache=cache_of(tmp_path, build))
    target = build / "d0" / "f0.bin"
    st = target.stat()
    replacement = tmp_path / "other.bin"
    replacement.write_bytes(b"x" * st.st_size)
    os.utime(replacement, ns=(st.st_atime_ns, st.st_mtime_ns))
    replacement.replace(target)  # like a build tool writing a new file and renaming it
    with opened_under(build) as opened:
        tree = digest_tree(build, cache=cache_of(tmp_path, build))
    assert opened == Counter({"d0/f0.bin": 1})
    assert tree == digest_tree(build)


@pytest.mark.parametrize(
    "garbage", [b"", b"comwit-stat-v1\n", b"comwit-stat-v1\n" + b"\xff" * 40, b"junk" * 100]
)
def test_an_unreadable_cache_counts_as_empty(tmp_path, garbage):
    build = tmp_path / "dist"
    _tree(build, files=2)
    cache = cache_of(tmp_path, build)
    cache.path.parent.mkdir(parents=True)
    cache.path.write_bytes(garbage)
    assert len(cache_of(tmp_path, build)) == 0
    assert digest_tree(build, cache=StatCache.open(tmp_path / "stat", build)) == digest_tree(build)


# -- plan and apply, in process, against the emulator's own app -----------------------------


class Project:
    def __init__(self, tmp_path: Path) -> None:
        self.root = tmp_path / "repo"
        self.build = self.root / "web"
        self.sizes = _tree(self.build, files=40)
        (self.root / "comwit.toml").write_text(
            f'version = 1\nproject = "{PROJECT}"\n[apps.web]\nbuild_dir = "web"\n'
        )
        self.store = Store(tmp_path / "emulator")
        self.token = self.store.issue_token(SCOPES, [PROJECT])
        self.transport = httpx.ASGITransport(app=create_app(self.store))

    def plan(self, *, pack: bool) -> Planned:
        return asyncio.run(self._plan(pack))

    def apply(self) -> ApplyResult:
        return asyncio.run(self._apply())

    async def _plan(self, pack: bool) -> Planned:
        loaded = load_manifest(self.root / "comwit.toml")
        work = self.root.parent / "work"
        work.mkdir(exist_ok=True)
        async with self._client() as client:
            return await make_plan(
                loaded,
                client,
                PlanRequest(project=PROJECT),
                environ={},
                make_guard=lambda: no_commit_guard(loaded.root),
                store=open_ledger_store(loaded.state, client, PROJECT),
                pack_into=work if pack else None,
            )

    async def _apply(self) -> ApplyResult:
        loaded = load_manifest(self.root / "comwit.toml")
        work = self.root.parent / "work"
        work.mkdir(exist_ok=True)
        async with self._client() as client:
            store = open_ledger_store(loaded.state, client, PROJECT)
            planned = await make_plan(
                loaded,
                client,
                PlanRequest(project=PROJECT),
                environ={},
                make_guard=lambda: no_commit_guard(loaded.root),
                store=store,
                pack_into=work,
            )
            inputs = Inputs(
                project=PROJECT,
                root=loaded.root,
                env=planned.env,
                observed=planned.observed.apps,
                packed=planned.packed,
            )
            result = await Executor(client, store, inputs, QuietReporter()).apply(planned.plan)
        assert result.ok, result
        return result

    def _client(self) -> ComwitClient:
        return ComwitClient("http://emulator.test", Secret(self.token), transport=self.transport)

    def age(self) -> None:
        """Take the stat cache's hashes again as if `LATER_NS` from now, as they are when the
        build finished a few seconds before the plan: no file is racy then."""
        web = load_manifest(self.root / "comwit.toml").apps["web"]
        digest_tree(
            self.build, web.exclude, StatCache.open(stat_cache_dir(self.root), self.build, later)
        )


@pytest.fixture
def project(tmp_path):
    made = Project(tmp_path)
    yield made
    made.store.close()


def test_a_first_deploy_reads_each_file_once(project):
    with opened_under(project.build) as opened:
        (deployed,) = project.apply().outcomes
    assert opened == Counter(dict.fromkeys(project.sizes, 1))
    assert deployed.uploaded > 0


def test_a_deploy_after_a_change_reads_each_file_once(project):
    (first,) = project.apply().outcomes
    project.age()
    (project.build / "d2" / "f2.bin").write_bytes(b"changed")
    with opened_under(project.build) as opened:
        (second,) = project.apply().outcomes
    assert opened == Counter(dict.fromkeys(project.sizes, 1))
    assert second.uploaded > 0
    assert second.build_id not in (None, first.build_id)


def test_a_plan_after_a_deploy_reads_nothing_and_finds_no_changes(project):
    project.apply()
    project.age()
    with opened_under(project.build) as opened:
        planned = project.plan(pack=False)
    assert opened == Counter()
    assert not planned.plan.has_changes


def test_an_apply_of_an_unchanged_tree_reads_and_packs_nothing(project):
    project.apply()
    project.age()
    with opened_under(project.build) as opened:
        planned = project.plan(pack=True)
    assert opened == Counter()
    assert planned.packed == {}


def test_an_archive_packed_while_planning_is_dropped_when_an_existing_build_matches(project):
    original = (project.build / "d2" / "f2.bin").read_bytes()
    project.apply()
    project.age()
    (project.build / "d2" / "f2.bin").write_bytes(b"changed")
    project.apply()
    project.age()
    (project.build / "d2" / "f2.bin").write_bytes(original)  # a revert: v1 is a build already
    with opened_under(project.build) as opened:
        planned = project.plan(pack=True)
    assert opened == Counter(dict.fromkeys(project.sizes, 1))  # packed: an upload was likely
    assert type(planned.plan.apps[0].actions[0]).__name__ == "Activate"
    assert planned.packed == {}
    assert list((project.root.parent / "work").iterdir()) == []


def _deploy(planned: Planned) -> Deploy:
    (deploy,) = [a for a in planned.plan.apps[0].actions if isinstance(a, Deploy)]
    return deploy


def test_a_plan_after_the_manifests_exclude_changed_leaves_those_files_out(project):
    project.apply()
    project.age()
    manifest = project.root / "comwit.toml"
    manifest.write_text(manifest.read_text() + 'exclude = ["d0/"]\n')
    changes = _deploy(project.plan(pack=False)).tree_changes
    assert changes is not None
    assert changes.removed == sum(1 for path in project.sizes if path.startswith("d0/"))
    assert changes.dirs_removed == 1


def test_a_tree_confirmed_unchanged_since_the_last_plan_still_lists_what_changed_live(project):
    project.apply()
    project.age()
    (project.build / "d2" / "f2.bin").write_bytes(b"changed")
    first = _deploy(project.plan(pack=False)).tree_changes  # walked, remembered
    project.age()
    with opened_under(project.build) as opened:
        again = _deploy(project.plan(pack=False)).tree_changes  # confirmed, no walk
    assert opened == Counter()
    assert again == first
    assert again is not None and again.changed_paths == ("d2/f2.bin",)


# -- the ledger files, read once per command ------------------------------------------------

LOCAL_LEDGER = ".comwit/state.json"
PENDING = ".comwit/pending-ledger.json"  # its records of both apps: read once too


@pytest.fixture
def local_world(world):
    """The end-to-end project with the local ledger backend, applied once."""
    world.manifest(MANIFEST + '\n[state]\nbackend = "local"\n')
    assert world.comwit("apply", "--yes").code == 0
    return world


def test_an_apply_with_nothing_to_do_reads_the_ledger_files_once(local_world):
    with opened_under(local_world.root) as opened:
        applied = local_world.comwit("apply", "--yes")
    assert applied.code == 0, applied.out + applied.err
    assert "unchanged" in applied.out
    assert (opened[LOCAL_LEDGER], opened[PENDING]) == (1, 1)


def test_unlock_with_no_lease_to_remove_reads_the_ledger_file_once(local_world):
    with opened_under(local_world.root) as opened:
        unlocked = local_world.comwit("unlock", "web")
    assert unlocked.code == 0, unlocked.out + unlocked.err
    assert "has no apply lease: nothing to do" in unlocked.err
    assert opened[LOCAL_LEDGER] == 1
