"""End to end: a plan never needs the project list (403, 404 or 501 there change nothing),
and a service answering 403 for a bad token gets the same advice as one answering 401."""

from __future__ import annotations

import pytest

from comwit.emulator.inprocess import InProcessEmulator
from comwit.emulator.settings import Assumptions, Settings
from comwit.emulator.store import SCOPES

from tests.e2e_support import PROJECT, World, populate

LISTING = "GET /v1/projects"


def _world(tmp_path, settings, scopes=SCOPES):
    root = tmp_path / "repo"
    root.mkdir()
    emulator = InProcessEmulator(tmp_path / "emulator-data", settings=settings)
    made = World(
        root,
        emulator.url,
        emulator.issue_token(scopes, [PROJECT]),
        {},
        transport=emulator.transport,
    )
    return populate(made), emulator


@pytest.mark.parametrize(
    ("listing", "scopes"),
    [(404, SCOPES), (501, SCOPES), (None, ("app:read", "app:deploy", "app:write"))],
    ids=["listing 404", "listing 501", "no project:read (403)"],
)
def test_plan_and_apply_work_whatever_the_project_listing_answers(tmp_path, listing, scopes):
    world, emulator = _world(tmp_path, Settings(auto_dns=True, project_listing=listing), scopes)
    with emulator:
        applied = world.comwit("apply", "--yes")
        planned = world.comwit("plan", "--detailed-exitcode")
        requests = world.stats()["requests"]
    assert applied.code == 0, applied.out + applied.err
    assert planned.code == 0, planned.out + planned.err
    assert LISTING not in requests


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_token_gets_the_same_advice_whether_the_service_says_401_or_403(tmp_path, status):
    world, emulator = _world(
        tmp_path, Settings(assumptions=Assumptions(status_unauthenticated=status))
    )
    with emulator:
        refused = world.comwit("plan", env={"COMWIT_TOKEN": "cwt_" + "1" * 40})
    assert refused.code == 1
    assert f"failed with {status}" in refused.err
    assert "check COMWIT_TOKEN, or the comwit CLI's config file" in refused.err
    assert "cwt_1111" not in refused.out + refused.err
