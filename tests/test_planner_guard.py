"""The git guard that planning starts in a thread is awaited or cancelled on every way out:
a plan that fails after the build dirs are surveyed and the API observed (here: asking
whether to pack fails, as the token's scopes question can) leaves no task behind whose error
nobody saw."""

from __future__ import annotations

import asyncio
import gc
import threading
from pathlib import Path
from typing import Any, NoReturn

import httpx
import pytest

from comwit.api.client import ComwitClient
from comwit.emulator.app import create_app
from comwit.emulator.store import SCOPES, Store
from comwit.manifest import load_manifest
from comwit.planner import PlanRequest, make_plan, open_ledger_store
from comwit.secret import Secret

PROJECT = "proj"


class GitFailed(Exception):
    pass


class AskingFailed(Exception):
    pass


async def _fail_asking() -> NoReturn:
    raise AskingFailed


async def _plan_failing_late(root: Path, store: Store, asked: threading.Event) -> None:
    def make_guard() -> NoReturn:
        asked.set()
        raise GitFailed

    token = store.issue_token(SCOPES, [PROJECT])
    transport = httpx.ASGITransport(app=create_app(store))
    loaded = load_manifest(root / "comwit.toml")
    async with ComwitClient("http://emulator.test", Secret(token), transport=transport) as client:
        await make_plan(
            loaded,
            client,
            PlanRequest(project=PROJECT),
            environ={},
            make_guard=make_guard,
            store=open_ledger_store(loaded.state, client, PROJECT),
            pack_into=root.parent / "work",  # web was never deployed: it would be packed
            before_packing=_fail_asking,
        )


def test_a_plan_failing_after_the_survey_leaves_no_unretrieved_guard(tmp_path):
    root = tmp_path / "repo"
    (root / "web").mkdir(parents=True)
    (root / "web" / "index.html").write_text("hi\n")
    (root / "comwit.toml").write_text(
        f'version = 1\nproject = "{PROJECT}"\n[apps.web]\nbuild_dir = "web"\n'
    )
    unseen: list[dict[str, Any]] = []
    asked = threading.Event()

    async def run() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda _loop, ctx: unseen.append(ctx))
        with pytest.raises(AskingFailed):
            await _plan_failing_late(root, Store(tmp_path / "emulator"), asked)
        gc.collect()  # a task dropped with its error unseen reports it when collected

    asyncio.run(run())
    gc.collect()
    assert asked.is_set()
    assert unseen == []
