"""Packing while planning: an apply's plan packs the build dirs it will likely upload (asking
first, once) and digests the others, against the real emulator app in this process."""

from __future__ import annotations

import asyncio
import shutil

import pytest

from comwit.api.client import ComwitClient
from comwit.artifact.digest import digest_tree
from comwit.artifact.stat_cache import stat_cache_dir
from comwit.emulator.inprocess import InProcessEmulator
from comwit.manifest import load_manifest
from comwit.planner import Planned, PlanRequest, make_plan, open_ledger_store
from comwit.secret import Secret

from tests.apply_support import PROJECT, Site, make_site
from tests.factories import no_commit_guard

ONE_APP = f'version = 1\nproject = "{PROJECT}"\n[apps.live]\nbuild_dir = "live"\n'
TWO_APPS = ONE_APP + '[apps.new]\nbuild_dir = "new"\n'


@pytest.fixture
def site(tmp_path) -> Site:
    """`live` deployed and recorded in its ledger, its stat cache gone since (a fresh checkout):
    the plan cannot tell it changed before reading it, so packing it would likely be wasted."""
    with InProcessEmulator(tmp_path / "emulator") as emulator:
        made = make_site(tmp_path, emulator)
        made.manifest(ONE_APP)
        made.write("live/index.html", "live")
        assert made.apply()[1].ok
        shutil.rmtree(stat_cache_dir(made.root))
        made.write("new/index.html", "new")
        yield made


def _plan(site: Site, answer: bool) -> tuple[Planned, int]:
    """The plan of an apply about to run (packing into a work dir), and how often packing
    was asked for (`answer`: the reply)."""
    asked = 0

    async def before_packing() -> bool:
        nonlocal asked
        asked += 1
        return answer

    async def go() -> Planned:
        work = site.root.parent / "work"
        work.mkdir(exist_ok=True)
        token = Secret(site.token)
        loaded = load_manifest(site.root / "comwit.toml")
        async with ComwitClient(site.emulator.url, token, transport=site.transport) as client:
            return await make_plan(
                loaded,
                client,
                PlanRequest(project=PROJECT),
                environ={},
                make_guard=lambda: no_commit_guard(site.root),
                store=open_ledger_store(loaded.state, client, PROJECT),
                pack_into=work,
                before_packing=before_packing,
            )

    return asyncio.run(go()), asked


def test_only_a_build_dir_the_apply_will_likely_upload_is_packed_after_asking_once(site):
    site.manifest(TWO_APPS)
    site.write("more/index.html", "")  # not in the manifest
    planned, asked = _plan(site, answer=True)
    assert asked == 1
    assert list(planned.packed) == ["new"]  # no live build: it is uploaded
    assert planned.packed["new"].tree == planned.trees["new"]
    assert planned.trees["live"].digest == digest_tree(site.root / "live").digest
    assert planned.packed["new"].path.is_file()


def test_packing_refused_digests_every_build_dir_instead(site):
    site.manifest(TWO_APPS)
    planned, asked = _plan(site, answer=False)
    assert (asked, planned.packed) == (1, {})
    assert planned.trees["new"].digest == digest_tree(site.root / "new").digest
    assert not any((site.root.parent / "work").iterdir())


def test_a_plan_likely_to_upload_nothing_does_not_ask_before_packing(site):
    planned, asked = _plan(site, answer=True)
    assert (asked, planned.packed, planned.plan.has_changes) == (0, {}, False)
