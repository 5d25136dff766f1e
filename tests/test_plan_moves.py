"""Hostname moves in the planner: both halves marked, the giver's detach first, and an
attach held back with its giver's detach."""

from __future__ import annotations

from comwit.plan.actions import AppPlan, AttachHost, DetachHost, Held
from comwit.plan.diff import Policy, diff
from comwit.plan.state import DesiredState, ObservedState

from tests.factories import DIGEST_A, desired, ledger, observed

LEDGER = ledger(("b1", DIGEST_A))


def _observed(**hosts: str) -> ObservedState:
    return ObservedState(
        "p",
        {
            app: observed(app, live="b1", hosts={host: "active"}, ledger=LEDGER)
            for app, host in hosts.items()
        },
    )


def _want(**hosts: str) -> DesiredState:
    return DesiredState("p", tuple(desired(app, hosts=(host,)) for app, host in hosts.items()))


def _actions(app: AppPlan) -> tuple[object, ...]:
    return tuple(app.actions)


def test_a_swap_is_two_moves_each_detaching_first():
    plan = diff(
        _want(alpha="y.example", beta="x.example"),
        _observed(alpha="x.example", beta="y.example"),
        policy=Policy(allow_detach=("*",)),
    )
    assert [_actions(app) for app in plan.apps] == [
        (
            DetachHost(app="alpha", host="x.example", moves_to="beta"),
            AttachHost(app="alpha", host="y.example", moves_from="beta"),
        ),
        (
            DetachHost(app="beta", host="y.example", moves_to="alpha"),
            AttachHost(app="beta", host="x.example", moves_from="alpha"),
        ),
    ]


def test_a_cycle_of_three_is_three_moves():
    plan = diff(
        _want(a1="z.example", a2="x.example", a3="y.example"),
        _observed(a1="x.example", a2="y.example", a3="z.example"),
        policy=Policy(allow_detach=("*",)),
    )
    moves = [
        (a.app, a.host, a.moves_from if isinstance(a, AttachHost) else a.moves_to)
        for app in plan.apps
        for a in app.actions
    ]
    assert moves == [
        ("a1", "x.example", "a2"),
        ("a1", "z.example", "a3"),
        ("a2", "y.example", "a3"),
        ("a2", "x.example", "a1"),
        ("a3", "z.example", "a1"),
        ("a3", "y.example", "a2"),
    ]


def test_a_move_whose_detach_is_held_holds_the_attach_too():
    plan = diff(_want(alpha="x.example", beta="y.example"), _observed(alpha="y.example"))
    alpha, beta = plan.apps
    assert alpha.actions == (AttachHost(app="alpha", host="x.example"),)
    assert alpha.held == (
        Held(
            action=DetachHost(app="alpha", host="y.example", moves_to="beta"),
            reason="moving it to app 'beta' would leave live app 'alpha' with no active hostname "
            "until its new ones are attached and finalized; pass --allow-detach y.example to "
            "move it",
        ),
    )
    assert not any(isinstance(a, AttachHost) for a in beta.actions)  # a new app, created
    assert beta.held == (
        Held(
            action=AttachHost(app="beta", host="y.example", moves_from="alpha"),
            reason="it moves from app 'alpha', whose detach of it is held back (see there)",
        ),
    )


def test_a_move_from_an_app_that_keeps_another_active_hostname_is_not_held():
    want = DesiredState(
        "p", (desired("alpha", hosts=("w.example",)), desired("beta", hosts=("y.example",)))
    )
    have = ObservedState(
        "p",
        {
            "alpha": observed(
                "alpha",
                live="b1",
                hosts={"w.example": "active", "y.example": "active"},
                ledger=LEDGER,
            ),
            "beta": observed("beta", live="b1", ledger=LEDGER),
        },
    )
    alpha, beta = diff(want, have).apps
    assert alpha.actions == (DetachHost(app="alpha", host="y.example", moves_to="beta"),)
    assert beta.actions == (AttachHost(app="beta", host="y.example", moves_from="alpha"),)


def test_a_move_from_an_app_that_cannot_be_applied_is_held():
    want = DesiredState("p", (desired("alpha", pin="gone"), desired("beta", hosts=("y.example",))))
    plan = diff(want, _observed(alpha="y.example"))
    assert plan.apps[0].error is not None
    assert plan.apps[1].held == (
        Held(
            action=AttachHost(app="beta", host="y.example", moves_from="alpha"),
            reason="it moves from app 'alpha', which cannot be applied: fix that app first",
        ),
    )
