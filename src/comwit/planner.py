"""Make a plan: select apps, digest their build dirs while observing the API, then diff.

Digesting (local CPU and disk) and observing (network) overlap; neither mutates anything.
Each byte is read at most once: the stat cache in `.comwit/stat/` vouches for unchanged
files, and when an apply will upload a build dir anyway, it is packed right away and the
digest comes from the pack.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from comwit.api.client import ComwitClient
from comwit.artifact.digest import Survey, finish, survey
from comwit.artifact.stat_cache import StatCache, stat_cache_dir
from comwit.artifact.tree import FileEntry, TreeDigest
from comwit.errors import ArtifactError, ManifestError
from comwit.frozen import frozen
from comwit.manifest import AppConfig, LoadedManifest, StateConfig
from comwit.manifest.checks import build_dir_problem, check_machine
from comwit.manifest.interpolate import Interpolated
from comwit.observe import DEFAULT_CONCURRENCY, observe
from comwit.plan.actions import AppPlan, Deploy, Plan
from comwit.plan.desired import desired_state, select_apps
from comwit.plan.diff import Policy, diff
from comwit.plan.managed import check_managed_hosts, managed_hosts
from comwit.plan.state import DesiredState, ObservedApp, ObservedState
from comwit.source import OrderGuard
from comwit.store.ledger import AppEnvStore, LedgerStore, LocalStore
from comwit.store.pending import PendingAwareStore, PendingLedgers
from comwit.store.trees import TreeCache

if TYPE_CHECKING:  # zstandard is imported only when something is packed
    from comwit.artifact.pack import PackResult


@frozen
class PlanRequest:
    project: str
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    policy: Policy = field(default_factory=Policy)
    concurrency: int = DEFAULT_CONCURRENCY


@frozen
class Planned:
    """A plan and everything it was made from (apply needs the build dirs and env values)."""

    plan: Plan
    desired: DesiredState
    observed: ObservedState
    trees: Mapping[str, TreeDigest]  # by app name
    env: Mapping[str, Mapping[str, Interpolated]]  # resolved values by app: keep in memory
    guard: OrderGuard  # what told the plan which live builds are newer; apply keeps to it
    warnings: tuple[str, ...] = ()
    packed: Mapping[str, PackResult] = field(default_factory=dict)  # by app, to upload


async def make_plan(
    loaded: LoadedManifest,
    client: ComwitClient,
    request: PlanRequest,
    *,
    environ: Mapping[str, str],
    make_guard: Callable[[], OrderGuard],
    store: LedgerStore,
    pack_into: Path | None = None,
    before_packing: Callable[[], Awaitable[bool]] | None = None,
) -> Planned:
    """The plan for the request's apps. With `pack_into` (an apply about to run), build
    dirs that will likely be uploaded are packed there now, so they are read only once;
    `before_packing`, when given, is asked first, once, and False means digest only.
    `make_guard` (it asks git) runs in a thread while the API is observed. `store` is the
    command's ledger store (`open_ledger_store`), opened once and used again by apply."""
    apps = select_apps(loaded, request.include, request.exclude)
    names = [app.name for app in apps]
    env = check_machine(loaded, environ, names)
    stat_dir = stat_cache_dir(loaded.root)
    guarding = asyncio.create_task(asyncio.to_thread(make_guard))
    observing = asyncio.create_task(
        observe(client, request.project, names, store, concurrency=request.concurrency)
    )
    try:
        surveys = await asyncio.to_thread(survey_apps, apps, stat_dir, loaded)
        observation = await observing
        outs = _pack_outs(surveys, observation.state, pack_into)
        if outs and before_packing is not None and not await before_packing():
            outs = {}
        trees, packed = await asyncio.to_thread(_digest_or_pack, apps, surveys, outs)
        # Live apps the manifest does not name at all; the ones left out by --app are not those.
        unmanaged = tuple(name for name in observation.state.unmanaged if name not in loaded.apps)
        observation = replace(observation, state=replace(observation.state, unmanaged=unmanaged))
        cache = TreeCache(loaded.root / ".comwit" / "trees")
        cache.save({tree.digest: tree for tree in trees.values()})
        known: dict[str, Sequence[FileEntry]] = dict(
            cache.load(_digests_to_compare(trees, observation.state))
        )
        known.update({tree.digest: tree.files for tree in trees.values()})
        desired = desired_state(
            request.project, apps, env=env, trees=trees, environment=loaded.env, root=loaded.root
        )
        desired = replace(desired, not_selected=tuple(n for n in loaded.apps if n not in names))
        guard = await guarding
    except BaseException:
        observing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await observing
        guarding.cancel()
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await guarding
        raise
    newer = await asyncio.to_thread(_newer_live, guard, observation.state)
    plan = diff(desired, observation.state, policy=request.policy, trees=known, newer_live=newer)
    warnings = [w for tree in trees.values() for w in tree.warnings]
    if managed_hosts(plan):
        from comwit.api.projects import project_zones  # only managed DNS needs the zones

        zones, unchecked = await project_zones(client, request.project)
        plan = plan if zones is None else check_managed_hosts(plan, zones)
        warnings += [unchecked] if unchecked else []
    deploying = {a.app for p in plan.apps for a in p.actions if isinstance(a, Deploy)}
    for app, result in list(packed.items()):
        if app not in deploying:  # unchanged after all, or an existing build matches
            result.path.unlink(missing_ok=True)
            del packed[app]
    return Planned(
        plan=plan,
        desired=desired,
        observed=observation.state,
        trees=trees,
        env=env,
        warnings=(*observation.warnings, *warnings),
        packed=packed,
        guard=guard,
    )


def plan_app_again(desired: DesiredState, policy: Policy, observed: ObservedApp) -> AppPlan:
    """The plan of the app `observed` from what is live now, as `make_plan` diffs it."""
    want = tuple(app for app in desired.apps if app.name == observed.name)
    now = ObservedState(desired.project, {observed.name: observed})
    return diff(replace(desired, apps=want), now, policy=policy).apps[0]


def _newer_live(guard: OrderGuard, observed: ObservedState) -> dict[str, str]:
    """Why each app's live build comes from a newer commit than this run's (asks git)."""
    found = {}
    for name, app in observed.apps.items():
        why = guard.check(app.ledger, app.active_build_id)
        if why:
            found[name] = why
    return found


def survey_apps(
    apps: Sequence[AppConfig], stat_dir: Path, loaded: LoadedManifest
) -> dict[str, Survey]:
    """Walk the build dirs and ask their stat caches which files are unchanged. A build dir
    that cannot be deployed is a problem at its `build_dir` line, as `validate` says it."""
    surveys: dict[str, Survey] = {}
    problems = []
    for app in apps:
        if app.build_dir is None:
            continue
        try:
            cache = StatCache.open(stat_dir, app.build_dir)
            surveys[app.name] = survey(app.build_dir, app.exclude, cache)
        except ArtifactError as exc:
            problems.append(build_dir_problem(loaded, app.name, str(exc)))
    if problems:
        raise ManifestError(problems)
    return surveys


def _pack_outs(
    surveys: Mapping[str, Survey], observed: ObservedState, pack_into: Path | None
) -> dict[str, Path]:
    """Where each build dir that will likely be uploaded is packed (none without `pack_into`)."""
    if pack_into is None:
        return {}
    return {
        name: pack_into / f"{name}.tar.zst"
        for name, surveyed in surveys.items()
        if _will_upload(surveyed, observed.apps.get(name))
    }


def _digest_or_pack(
    apps: Sequence[AppConfig], surveys: Mapping[str, Survey], outs: Mapping[str, Path]
) -> tuple[dict[str, TreeDigest], dict[str, PackResult]]:
    """Each surveyed build dir's digest: from its pack when `outs` says where it goes."""
    trees: dict[str, TreeDigest] = {}
    packed: dict[str, PackResult] = {}
    for app in apps:
        surveyed = surveys.get(app.name)
        if surveyed is None or app.build_dir is None:
            continue
        out = outs.get(app.name)
        if out is not None:
            from comwit.artifact.pack import pack

            packed[app.name] = result = pack(
                app.build_dir, out, exclude=app.exclude, cache=surveyed.cache
            )
            trees[app.name] = result.tree
        else:
            trees[app.name] = finish(surveyed)
    return trees, packed


def _will_upload(surveyed: Survey, have: ObservedApp | None) -> bool:
    """Whether an upload is likely enough to pack instead of hashing: files must be read,
    and either the live build's content is unknown (the plan cannot reuse it) or the stat
    cache knew this tree, so the files it cannot vouch for have changed."""
    if not surveyed.unknown:
        return False
    if (
        have is None
        or have.active_build_id is None
        or have.ledger.get(have.active_build_id) is None
    ):
        return True
    return surveyed.cache is not None and len(surveyed.cache) > 0


def _digests_to_compare(trees: Mapping[str, TreeDigest], observed: ObservedState) -> Iterable[str]:
    """The live builds' digests whose file lists say what changed: only where they differ
    from the build dir's digest (an unchanged tree needs no list)."""
    for name, tree in trees.items():
        have = observed.apps.get(name)
        entry = have.ledger.get(have.active_build_id) if have is not None else None
        if entry is not None and entry.digest != tree.digest:
            yield entry.digest


def open_ledger_store(state: StateConfig, client: ComwitClient, project: str) -> LedgerStore:
    """The manifest's ledger store, with the records an earlier run could not write kept
    and merged in (see `comwit.store.pending`)."""
    store: LedgerStore = (
        LocalStore(state.path, project)
        if state.backend == "local" and state.path is not None
        else AppEnvStore(client, project)
    )
    if state.pending is None:
        return store
    return PendingAwareStore(store, PendingLedgers(state.pending, project))
