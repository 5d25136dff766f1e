"""End to end against an API that plays an assumption differently: `GET .../apps/{a}`
answering the app flat instead of in `{"app": ...}`. Plan, apply, a saved plan and a lost
deploy answer all still work, because apps are read through the list route."""

from __future__ import annotations

import pytest

from comwit.emulator.inprocess import InProcessEmulator
from comwit.emulator.settings import Assumptions, Settings
from comwit.emulator.store import SCOPES

from tests.e2e_support import PROJECT, World, actions, populate

GET_APP = "GET /v1/projects/{project_id}/apps/{app_id}"


@pytest.fixture
def flat_world(tmp_path):
    root = tmp_path / "repo"
    root.mkdir()
    settings = Settings(auto_dns=True, assumptions=Assumptions(app_envelope=None))
    with InProcessEmulator(tmp_path / "emulator-data", settings=settings) as emulator:
        token = emulator.issue_token(SCOPES, [PROJECT])
        made = World(root, emulator.url, token, {}, transport=emulator.transport)
        yield populate(made)


def test_the_emulator_really_answers_the_app_flat(flat_world):
    assert flat_world.comwit("apply", "--yes").code == 0
    app = flat_world.app("web")
    assert flat_world.api(f"apps/{app['app_id']}") == app


def test_plan_apply_saved_plan_and_a_lost_deploy_answer_work_with_a_flat_app(flat_world, tmp_path):
    first = flat_world.comwit("apply", "--yes")
    assert first.code == 0, first.out + first.err
    assert actions(flat_world.plan_json()) == []

    flat_world.write("web/index.html", "<h1>v2</h1>")
    saved = tmp_path / "plan.json"
    assert flat_world.comwit("plan", "--out", str(saved)).code in (0, 2)
    applied = flat_world.comwit("apply", str(saved), "--yes")
    assert applied.code == 0, applied.out + applied.err

    flat_world.write("api/server.js", "serve(2)")
    flat_world.admin("POST", "faults/drop", {"route": "deploy", "count": 1, "when": "after"})
    adopted = flat_world.comwit("apply", "--yes", "--app", "api")
    assert adopted.code == 0, adopted.out + adopted.err
    assert "the upload's answer was lost; adopted build" in adopted.err
    assert actions(flat_world.plan_json()) == []
    assert GET_APP not in flat_world.stats()["requests"]
