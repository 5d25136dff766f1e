"""Shards of a plan: its changed apps split into N groups of about equal bytes to upload,
for a CI job matrix (`plan --shards N`, `apply PLAN --shard i/N`). Pure and deterministic.

Apps that hand a hostname to each other (a move) stay in one shard: the move's two halves
are ordered inside one apply.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence

from comwit.escape import quoted
from comwit.frozen import frozen
from comwit.plan.actions import AppPlan, AttachHost, Deploy, DetachHost, Plan

# What an app with nothing to upload weighs: its API calls still take time.
APP_COST = 64 * 1024
MAX_SHARDS = 256  # GitHub Actions runs at most 256 jobs of one matrix

_SHARD = re.compile(r"^([1-9][0-9]*)/([1-9][0-9]*)$")


@frozen
class Shard:
    index: int  # 1-based
    count: int
    apps: tuple[str, ...]  # sorted
    weight: int  # bytes to upload (plus APP_COST per app)

    @property
    def name(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(text: str) -> tuple[int, int]:
    """ "2/4" -> (2, 4); ValueError with a sentence otherwise."""
    match = _SHARD.match(text.strip())
    if not match or int(match.group(1)) > int(match.group(2)):
        raise ValueError(f"--shard {quoted(text)} is not I/N with 1 <= I <= N (for example 2/4)")
    return int(match.group(1)), int(match.group(2))


def upload_bytes(app: AppPlan) -> int:
    return sum(action.size for action in app.actions if isinstance(action, Deploy))


def split(plan: Plan, *, shards: int | None = None, size: int | None = None) -> tuple[Shard, ...]:
    """The plan's changed apps in `shards` groups (or groups of at most `size` apps), balanced
    by bytes to upload: heaviest first, each to the lightest shard that has room. Never more
    shards than groups of apps; no changes -> no shards."""
    if (shards is None) == (size is None):
        raise ValueError("give the number of shards or the shard size, not both")
    groups = _groups([app for app in plan.apps if app.changed and not app.error])
    if not groups:
        return ()
    apps_total = sum(len(group) for group, _ in groups)
    if size is not None:
        count = math.ceil(apps_total / size)
        room = size
    else:
        count = shards or 1
        room = apps_total
    count = max(1, min(count, len(groups), MAX_SHARDS))
    room = max(room, math.ceil(apps_total / count))
    members: list[list[str]] = [[] for _ in range(count)]
    weights = [0] * count
    for names, weight in sorted(groups, key=lambda g: (-g[1], -len(g[0]), g[0])):
        fits = [i for i in range(count) if len(members[i]) + len(names) <= room] or range(count)
        best = min(fits, key=lambda i: (weights[i], len(members[i]), i))
        members[best] += names
        weights[best] += weight
    filled = [(tuple(sorted(m)), w) for m, w in zip(members, weights, strict=True) if m]
    return tuple(
        Shard(index, len(filled), apps, weight)
        for index, (apps, weight) in enumerate(filled, start=1)
    )


def matrix(shards: Sequence[Shard]) -> dict[str, list[dict[str, str]]]:
    """The CI's job matrix: `{"include": [{"shard": "1/4", "apps": "a,b"}, ...]}`."""
    return {"include": [{"shard": s.name, "apps": ",".join(s.apps)} for s in shards]}


def _groups(apps: Sequence[AppPlan]) -> list[tuple[tuple[str, ...], int]]:
    """Apps joined by hostname moves, each group with its weight."""
    parent = {app.app: app.app for app in apps}

    def root(name: str) -> str:
        while parent[name] != name:
            parent[name] = parent[parent[name]]
            name = parent[name]
        return name

    for app in apps:
        for other in _partners(app):
            if other in parent:
                parent[root(other)] = root(app.app)
    weight = {app.app: upload_bytes(app) + APP_COST for app in apps}
    grouped: dict[str, list[str]] = {}
    for name in sorted(parent):
        grouped.setdefault(root(name), []).append(name)
    return [(tuple(names), sum(weight[n] for n in names)) for names in grouped.values()]


def _partners(app: AppPlan) -> Iterable[str]:
    for action in app.actions:
        if isinstance(action, AttachHost) and action.moves_from:
            yield action.moves_from
        if isinstance(action, DetachHost) and action.moves_to:
            yield action.moves_to
