"""End to end: `dns = "managed"` hostnames are checked at plan time against the project's
domains, and a service with managed DNS disabled (501) is explained before apply starts."""

from __future__ import annotations

import pytest

from comwit.emulator.inprocess import InProcessEmulator
from comwit.emulator.settings import Settings
from comwit.emulator.store import SCOPES

from tests.e2e_support import PROJECT, World, actions, populate

MANIFEST = f"""\
version = 1
project = "{PROJECT}"
[apps.web]
build_dir = "web"
hosts = [{{ name = "www.example.com", dns = "managed" }}]
[apps.api]
build_dir = "api"
"""


def _world(root, emulator):
    token = emulator.issue_token(SCOPES, [PROJECT])
    made = World(root, emulator.url, token, {}, transport=emulator.transport)
    return populate(made, MANIFEST)


@pytest.fixture
def managed_world(tmp_path):
    root = tmp_path / "repo"
    root.mkdir()
    with InProcessEmulator(tmp_path / "data", settings=Settings(auto_dns=True)) as emulator:
        yield _world(root, emulator)


def _add_zone(world, domain):
    answer = world.request(
        "POST", f"/v1/projects/{PROJECT}/domains", json={"domain": domain}, token=world.token
    )
    answer.raise_for_status()


def test_a_managed_hostname_under_no_project_domain_is_a_plan_error_and_apply_skips_it(
    managed_world,
):
    planned = managed_world.comwit("plan")
    assert planned.code == 1
    assert (
        'x web: hostname www.example.com has dns = "managed", but it is under no domain that '
        "Comwit manages for project proj (its project domains: none)" in planned.out
    )
    applied = managed_world.comwit("apply", "--yes")
    assert applied.code == 1
    assert managed_world.builds("api") and managed_world.api("apps")["apps"][0]["name"] == "api"


def test_a_plan_with_an_error_is_not_saved(managed_world, tmp_path):
    out = tmp_path / "plan.json"
    planned = managed_world.comwit("plan", "--out", str(out))
    assert planned.code == 1
    assert f"warning: not saving the plan to {out}: fix the errors above first" in planned.err
    assert not out.exists()


def test_under_an_active_project_domain_it_plans_and_applies_active(managed_world):
    _add_zone(managed_world, "example.com")
    applied = managed_world.comwit("apply", "--yes")
    assert applied.code == 0, applied.out + applied.err
    domains = managed_world.api(f"apps/{managed_world.app('web')['app_id']}/domains")
    assert domains["domains"][0]["status"] == "active"
    assert actions(managed_world.plan_json()) == []


def test_managed_dns_disabled_is_explained_with_its_501_at_plan_time(tmp_path):
    root = tmp_path / "repo"
    root.mkdir()
    settings = Settings(auto_dns=True, managed_dns=False)
    with InProcessEmulator(tmp_path / "data", settings=settings) as emulator:
        world = _world(root, emulator)
        planned = world.comwit("plan")
        stats = world.stats()
    assert planned.code == 1
    assert (
        'hostname www.example.com has dns = "managed", but managed DNS is not enabled on this '
        "service (GET /v1/projects/proj/domains answered 501: Managed DNS (project domains) is "
        "not enabled on this service;" in planned.out
    )
    assert 'use dns = "external" and publish the DNS records comwit prints' in planned.out
    assert stats["mutating"] == 0
