"""Make a plan: select apps, digest their build dirs while observing the API, then diff.

Digesting (local CPU and disk) and observing (network) overlap; neither mutates anything.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from comwit.api.client import ComwitClient
from comwit.artifact.digest import digest_tree
from comwit.artifact.tree import TreeDigest
from comwit.manifest import AppConfig, LoadedManifest, StateConfig
from comwit.manifest.checks import check_machine
from comwit.manifest.interpolate import Interpolated
from comwit.observe import DEFAULT_CONCURRENCY, observe
from comwit.plan.actions import Plan
from comwit.plan.desired import desired_state, select_apps
from comwit.plan.diff import Policy, diff
from comwit.plan.state import DesiredState, ObservedState
from comwit.store.ledger import AppEnvStore, LedgerStore, LocalStore
from comwit.store.trees import TreeCache


@dataclass(frozen=True)
class PlanRequest:
    project: str
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    policy: Policy = field(default_factory=Policy)
    concurrency: int = DEFAULT_CONCURRENCY


@dataclass(frozen=True)
class Planned:
    """A plan and everything it was made from (apply needs the build dirs and env values)."""

    plan: Plan
    desired: DesiredState
    observed: ObservedState
    trees: Mapping[str, TreeDigest]  # by app name
    env: Mapping[str, Mapping[str, Interpolated]]  # resolved values by app: keep in memory
    warnings: tuple[str, ...] = ()


async def make_plan(
    loaded: LoadedManifest,
    client: ComwitClient,
    request: PlanRequest,
    *,
    environ: Mapping[str, str],
) -> Planned:
    apps = select_apps(loaded, request.include, request.exclude)
    names = [app.name for app in apps]
    env = check_machine(loaded, environ, names)
    store = open_ledger_store(loaded.state, client, request.project)
    observing = asyncio.create_task(
        observe(client, request.project, names, store, concurrency=request.concurrency)
    )
    try:
        trees = await asyncio.to_thread(digest_apps, apps)
    except BaseException:
        observing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await observing
        raise
    observation = await observing
    cache = TreeCache(loaded.root / ".comwit" / "trees")
    cache.save({tree.digest: tree for tree in trees.values()})
    known = cache.load(
        entry.digest
        for app in observation.state.apps.values()
        for entry in app.ledger.entries.values()
    )
    known.update({tree.digest: tree.files for tree in trees.values()})
    desired = desired_state(
        request.project, apps, env=env, trees=trees, environment=loaded.env, root=loaded.root
    )
    plan = diff(desired, observation.state, policy=request.policy, trees=known)
    warnings = [w for tree in trees.values() for w in tree.warnings]
    return Planned(
        plan=plan,
        desired=desired,
        observed=observation.state,
        trees=trees,
        env=env,
        warnings=(*observation.warnings, *warnings),
    )


def digest_apps(apps: Sequence[AppConfig]) -> dict[str, TreeDigest]:
    """Tree digests of the apps that deploy a build dir, one after another (I/O bound)."""
    return {
        app.name: digest_tree(app.build_dir, app.exclude)
        for app in apps
        if app.build_dir is not None
    }


def open_ledger_store(state: StateConfig, client: ComwitClient, project: str) -> LedgerStore:
    if state.backend == "local" and state.path is not None:
        return LocalStore(state.path, project)
    return AppEnvStore(client, project)
