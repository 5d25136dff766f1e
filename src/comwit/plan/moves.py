"""Hostname moves: a hostname one app of the plan gives up and another attaches. Pure.

A move is planned as a pair: the giver's detach (done first in the giver, so a receiver
never waits behind the giver's other work) and the receiver's attach (done once the detach
is). Swaps and cycles need no other order between apps, so they cannot deadlock. When the
giver's detach is held back, or the giver cannot be applied, the attach is held too: the API
refuses a hostname that another app holds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from comwit.escape import quoted
from comwit.frozen import frozen
from comwit.plan.actions import AppPlan, AttachHost, DetachHost, Held
from comwit.plan.state import DesiredState, ObservedState


@frozen
class Move:
    host: str
    giver: str
    receiver: str


def find_moves(desired: DesiredState, observed: ObservedState) -> dict[str, Move]:
    """Hostnames live on one app of the plan and wanted by another, by hostname."""
    owner = {host.name: app.name for app in observed.apps.values() for host in app.hosts}
    planned = {app.name for app in desired.apps}
    moves = {}
    for app in desired.apps:
        for host in app.hosts:
            giver = owner.get(host.name)
            if giver is not None and giver != app.name and giver in planned:
                moves[host.name] = Move(host.name, giver, app.name)
    return moves


def hold_blocked_moves(apps: Sequence[AppPlan], moves: Mapping[str, Move]) -> tuple[AppPlan, ...]:
    """Hold back each attach whose giver will not detach the hostname in this run."""
    by_name = {app.app: app for app in apps}
    return tuple(_hold(app, moves, by_name) for app in apps)


def _hold(app: AppPlan, moves: Mapping[str, Move], by_name: Mapping[str, AppPlan]) -> AppPlan:
    kept, held = [], list(app.held)
    for action in app.actions:
        move = moves.get(action.host) if isinstance(action, AttachHost) else None
        reason = _blocked(move, by_name[move.giver]) if move else None
        if reason:
            held.append(Held(action=action, reason=reason))
        else:
            kept.append(action)
    if len(kept) == len(app.actions):
        return app
    return app.model_copy(update={"actions": tuple(kept), "held": tuple(held)})


def _blocked(move: Move, giver: AppPlan) -> str | None:
    """Why the receiver cannot attach the hostname in this run, if it cannot."""
    if giver.error:
        return (
            f"it moves from app {quoted(move.giver)}, which cannot be applied: fix that app first"
        )
    for held in giver.held:
        if isinstance(held.action, DetachHost) and held.action.host == move.host:
            return (
                f"it moves from app {quoted(move.giver)}, whose detach of it is held back "
                "(see there)"
            )
    return None
