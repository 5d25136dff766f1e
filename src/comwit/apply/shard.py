"""One shard of a saved plan (`apply PLANFILE --shard I/N`): the same plan restricted to the
shard's apps, so every saved-plan check runs on each of them; and the time each app took."""

from __future__ import annotations

import time

from comwit.apply.reporter import QuietReporter, Reporter, Transfer
from comwit.errors import PlanError
from comwit.plan.shards import parse_shard, split
from comwit.store.saved import SavedPlan


def shards_of(saved: SavedPlan, count: int) -> tuple[tuple[str, ...], ...]:
    """The apps of each shard: as `plan --shards` saved them, else split the same way. A
    static matrix of `--shards N` jobs (GitLab's parallel:matrix) may name shards that got no
    apps (fewer changed apps than N): they are empty."""
    if saved.shards or saved.shard_count:  # no changes: `--shards N` saved N empty shards
        if count not in (len(saved.shards), saved.shard_count):
            total = saved.shard_count or len(saved.shards)
            shards = "1 shard" if total == 1 else f"{total} shards"
            raise PlanError(
                f"the plan was split into {shards}, not {count}: "
                f"use --shard I/{total}, as in the plan's matrix"
            )
        return saved.shards + ((),) * (count - len(saved.shards))
    made = tuple(shard.apps for shard in split(saved.plan, shards=count))
    if len(made) != count:
        raise PlanError(
            f"the plan's changes make {len(made)} shards, not {count}: "
            f"plan with --shards {count} and use its matrix"
        )
    return made


def select_shard(saved: SavedPlan, text: str) -> tuple[SavedPlan, tuple[tuple[str, ...], ...]]:
    """The saved plan of shard `text` ("2/4") alone, and every shard's apps. Shard 1 also
    carries the apps with nothing to do, so that the merged report names every app once."""
    try:
        index, count = parse_shard(text)
    except ValueError as exc:
        raise PlanError(str(exc)) from None
    shards = shards_of(saved, count)
    chosen = set(shards[index - 1])
    apps = tuple(
        app
        for app in saved.plan.apps
        if app.app in chosen or (index == 1 and not app.changed and not app.error)
    )
    names = {app.app for app in apps}
    others = tuple(sorted({*saved.plan.not_selected, *(a.app for a in saved.plan.apps)} - names))
    shard = f"{index}/{count}"
    plan = saved.plan.model_copy(update={"apps": apps, "not_selected": others, "shard": shard})
    return saved.model_copy(
        update={
            "plan": plan,
            "build_dirs": {k: v for k, v in saved.build_dirs.items() if k in names},
            "observed": {k: v for k, v in saved.observed.items() if k in names},
        }
    ), shards


class TimedReporter:
    """A reporter that also notes when each app's last step happened."""

    def __init__(self) -> None:
        self.inner: Reporter = QuietReporter()
        self.started = time.monotonic()
        self.seconds: dict[str, float] = {}

    def wrap(self, inner: Reporter) -> Reporter:
        self.inner = inner
        return self

    def step(self, app: str, text: str) -> None:
        self.seconds[app] = round(time.monotonic() - self.started, 3)
        self.inner.step(app, text)

    def transfer(self, app: str, verb: str, total: int) -> Transfer:
        return self.inner.transfer(app, verb, total)

    def close(self) -> None:
        self.inner.close()
