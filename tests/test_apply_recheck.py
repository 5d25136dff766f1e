"""An app planned again under its lease goes on only with the same changes: what the actions
say of the app as it was (its live build, old values) may differ, nothing else."""

from __future__ import annotations

import pytest

from comwit.apply.recheck import same_changes
from comwit.plan.actions import (
    AppPlan,
    AttachHost,
    Deploy,
    DetachHost,
    Held,
    Preconditions,
    RecordLedger,
    SetEnv,
)
from comwit.plan.state import Options

from tests.factories import DIGEST_A, DIGEST_B

DEPLOY = Deploy(
    app="web",
    build_dir="web",
    digest=DIGEST_B,
    reason="content_changed",
    hosts=("www.example.com",),
    live_build="build-1",
    old_digest=DIGEST_A,
    size=120,
)
RECORD = RecordLedger(app="web", digest=DIGEST_B)
SET = SetEnv(app="web", key="LEVEL", change="update", value="info", old="debug")
DETACH = DetachHost(app="web", host="new.example.com")


def _plan(*actions, held=(), live="build-1") -> AppPlan:
    return AppPlan(
        app="web",
        preconditions=Preconditions(exists=True, app_id="app-1", active_build_id=live),
        actions=actions,
        held=tuple(Held(action=a, reason="protected") for a in held),
    )


PLANNED = _plan(SET, DEPLOY, RECORD)


def test_the_same_changes_from_another_live_build_are_the_same():
    from_theirs = DEPLOY.model_copy(
        update={"live_build": "build-2", "old_digest": None, "reason": "unknown_content"}
    )
    env = SET.model_copy(update={"old": None, "change": "add"})
    assert same_changes(PLANNED, _plan(env, from_theirs, RECORD, live="build-2"))


@pytest.mark.parametrize(
    "again",
    [
        _plan(SET, DEPLOY.model_copy(update={"digest": DIGEST_A}), RECORD),
        _plan(
            SET, DEPLOY.model_copy(update={"hosts": ("a.example.com", "www.example.com")}), RECORD
        ),
        _plan(
            SET, DEPLOY.model_copy(update={"options": Options(max_concurrent_requests=5)}), RECORD
        ),
        _plan(SET.model_copy(update={"value": "debug"}), DEPLOY, RECORD),
        _plan(DEPLOY, RECORD),
        _plan(SET, DEPLOY, RECORD, DETACH),
        _plan(SET, DEPLOY, RECORD, held=(DETACH,)),
        _plan(SET, DEPLOY, RECORD, AttachHost(app="web", host="new.example.com")),
        _plan(DEPLOY, SET, RECORD),
    ],
    ids=[
        "other-digest",
        "other-hostnames-bound",
        "other-options",
        "other-env-value",
        "one-action-fewer",
        "a-detach-more",
        "a-detach-held-back",
        "an-attach-more",
        "another-order",
    ],
)
def test_anything_else_is_not_the_same_changes(again):
    assert not same_changes(PLANNED, again)
