"""A run that died after the API took its upload left the upload in the ledger: the next
plan recognises the live build by its size and records it instead of uploading again."""

from __future__ import annotations

from comwit.plan.actions import Deploy, RecordLedger
from comwit.plan.diff import diff
from comwit.plan.ledger import Upload
from comwit.plan.state import DesiredState, ObservedApp, ObservedBuild, ObservedState

from tests.factories import DIGEST_A, DIGEST_B, desired, ledger, observed


def _killed_after_upload(size: int, digest: str = DIGEST_B) -> ObservedApp:
    """b1 recorded; b2 live, of `size` bytes, uploaded by a run that died before recording it."""
    have = observed(live="b2", builds=("b1",), ledger=ledger(("b1", DIGEST_A)))
    known = have.ledger
    left = Upload(digest, 100, "b1")
    builds = (ObservedBuild("b1", artifact_size=90), ObservedBuild("b2", artifact_size=size))
    return ObservedApp(
        name=have.name,
        app_id=have.app_id,
        active_build_id="b2",
        builds=builds,
        ledger=known.with_lease(None, left),
    )


def _plan(have: ObservedApp, digest: str = DIGEST_B):
    return diff(DesiredState("p", (desired(digest=digest),)), ObservedState("p", {"web": have}))


def test_the_live_build_of_the_left_upload_is_recorded_not_uploaded_again():
    (app,) = _plan(_killed_after_upload(100)).apps
    assert app.actions == (RecordLedger(app="web", digest=DIGEST_B, adopt="b2"),)


def test_a_live_build_of_another_size_or_other_content_is_uploaded():
    (other_size,) = _plan(_killed_after_upload(99)).apps
    assert [type(a) for a in other_size.actions] == [Deploy, RecordLedger]
    (other_content,) = _plan(_killed_after_upload(100), digest=DIGEST_A).apps
    assert not any(isinstance(a, RecordLedger) and a.adopt for a in other_content.actions)
