"""Managed hostnames checked at plan time against the project's domains (pure)."""

from __future__ import annotations

import pytest

from comwit.plan.diff import diff
from comwit.plan.managed import ProjectZones, check_managed_hosts, managed_hosts
from comwit.plan.state import DesiredState, ObservedState

from tests.factories import DIGEST_A, desired, observed

PROJECT = "proj"


def _plan(*apps, have=()):
    return diff(
        DesiredState(PROJECT, apps=tuple(apps)),
        ObservedState(PROJECT, apps={a.name: a for a in have}),
    )


def test_the_managed_hostnames_a_plan_attaches_are_found():
    plan = _plan(
        desired("web", hosts=("a.example.com",), managed=("b.example.com",)),
        desired("api", managed=("api.example.com",)),
    )
    assert sorted(managed_hosts(plan)) == ["api.example.com", "b.example.com"]


@pytest.mark.parametrize(
    ("zones", "error"),
    [
        (ProjectZones(active=("example.com",)), None),
        (ProjectZones(active=("www.example.com",)), None),
        (
            ProjectZones(disabled="managed DNS is not enabled on this service (501)"),
            'hostname www.example.com has dns = "managed", but managed DNS is not enabled on '
            'this service (501): use dns = "external" and publish the DNS records comwit prints',
        ),
        (
            ProjectZones(pending=("example.com",)),
            'hostname www.example.com has dns = "managed", but project proj\'s domain '
            "example.com is not delegated yet: point its NS records at the nameservers Comwit "
            'gave for it, or use dns = "external"',
        ),
        (
            ProjectZones(active=("other.org", "notexample.com")),
            'hostname www.example.com has dns = "managed", but it is under no domain that '
            "Comwit manages for project proj (its project domains: other.org, notexample.com): "
            "add its domain to the project (POST /v1/projects/proj/domains) and delegate it, "
            'or use dns = "external"',
        ),
    ],
    ids=["under", "equal", "disabled", "pending", "none"],
)
def test_a_managed_hostname_needs_an_active_project_domain(zones, error):
    plan = _plan(desired("web", managed=("www.example.com",)))
    checked = check_managed_hosts(plan, zones)
    (app,) = checked.apps
    assert app.error == error
    if error is None:
        assert checked == plan
    else:
        assert app.actions == () and checked.has_errors


def test_only_apps_attaching_unusable_managed_hostnames_become_errors():
    plan = _plan(
        desired("web", managed=("www.example.com",)),
        desired("api", hosts=("api.example.com",)),
        desired("docs", digest=DIGEST_A, managed=("docs.example.com",)),
        have=[observed("docs", hosts={"docs.example.com": "active"})],
    )
    checked = check_managed_hosts(plan, ProjectZones(disabled="it is off (501)"))
    assert [(a.app, a.error is not None) for a in checked.apps] == [
        ("api", False),
        ("docs", False),  # already attached: nothing to attach, nothing to check
        ("web", True),
    ]
