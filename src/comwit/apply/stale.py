"""Before a saved plan runs at all: is it for this API, project and manifest, unchanged,
does what it read still hold, and are its actions the ones the manifest implies?

Whole-plan mismatches and tampered actions refuse the plan; an app whose build dir,
${VAR} values or live state changed is marked stale on its own (skipped) so the other
apps can proceed. One change of live state is not stale: a run of this plan that was
killed part-way (a shard's job, say) did some of the app's actions, and what the manifest
now implies is the rest of them; the rerun applies that rest, so it converges. All of it
is read-only and done before the first change.
"""

from __future__ import annotations

from collections.abc import Mapping

from comwit.api.client import ComwitClient
from comwit.apply.rederive import check_actions, check_apps_named, implied_apps, is_rest_of
from comwit.apply.verify import changed_apps
from comwit.artifact.digest import digest_tree
from comwit.artifact.stat_cache import StatCache, stat_cache_dir
from comwit.errors import ManifestError, StalePlanError
from comwit.escape import cut_path, one_line, quoted
from comwit.frozen import frozen
from comwit.manifest import LoadedManifest
from comwit.manifest.checks import build_dir_problems, resolve_env
from comwit.manifest.interpolate import Interpolated
from comwit.observe import observe
from comwit.plan.actions import AppPlan, Deploy, Plan
from comwit.plan.state import ObservedState
from comwit.render.describe import short
from comwit.store.ledger import LedgerReader
from comwit.store.saved import SavedPlan, fingerprint, public_url


def check_saved_plan(
    saved: SavedPlan, loaded: LoadedManifest, *, project: str, api_url: str
) -> None:
    """Refuse a plan made against another API, project, environment or manifest text."""
    if public_url(api_url) != saved.api_url:
        raise StalePlanError(
            f"the plan was made against {quoted(saved.api_url)}, "
            f"not {quoted(public_url(api_url))}; apply it with the same --api-url, or plan again"
        )
    if project != saved.plan.project:
        raise StalePlanError(
            f"the plan is for project {quoted(saved.plan.project)}, not {quoted(project)}"
        )
    if loaded.env != saved.manifest.environment:
        raise StalePlanError(
            f"the plan was made {_with_env(saved.manifest.environment)}, "
            f"not {_with_env(loaded.env)}"
        )
    if loaded.digest != saved.manifest.digest:
        shown = one_line(cut_path(saved.manifest.path))
        raise StalePlanError(f"{shown} changed after the plan was made; plan again")


def _with_env(name: str | None) -> str:
    return "without --env" if name is None else f"with --env {quoted(name)}"


@frozen
class Rechecked:
    """A saved plan read again against the API, before its first change."""

    plan: Plan  # the saved plan; an app an interrupted run of it changed in part: the rest
    env: dict[str, dict[str, Interpolated]]  # the resolved ${VAR} values, by app
    observed: ObservedState
    stale: dict[str, str]  # app -> why it is skipped
    resumed: tuple[str, ...] = ()  # apps whose interrupted run this one finishes


async def recheck_saved_plan(
    saved: SavedPlan,
    loaded: LoadedManifest,
    client: ComwitClient,
    store: LedgerReader,
    environ: Mapping[str, str],
) -> Rechecked:
    """The plan to run, the apps' state read again and why some apps are stale;
    TamperedPlanError when the plan's actions are not the ones the manifest implies."""
    check_apps_named(saved, loaded)
    env, stale = stale_apps(saved, loaded, environ)
    names = [app.app for app in saved.plan.apps]
    observation = await observe(client, saved.plan.project, names, store)
    changed = {
        app: why for app, why in changed_apps(saved, observation.state).items() if app not in stale
    }
    check_actions(saved, loaded, env, observation.state, skip=(*stale, *changed))
    rest = implied_apps(saved, loaded, env, observation.state, tuple(changed)) if changed else {}
    resumed: dict[str, AppPlan] = {}
    for app in saved.plan.apps:
        if app.app in changed and is_rest_of(app, rest[app.app]):
            resumed[app.app] = rest[app.app]
        elif app.app in changed:
            stale[app.app] = changed[app.app]
    apps = tuple(resumed.get(app.app, app) for app in saved.plan.apps)
    plan = saved.plan.model_copy(update={"apps": apps})
    return Rechecked(plan, env, observation.state, stale, tuple(resumed))


def stale_apps(
    saved: SavedPlan, loaded: LoadedManifest, environ: Mapping[str, str]
) -> tuple[dict[str, dict[str, Interpolated]], dict[str, str]]:
    """The resolved env values of the plan's apps, and why some of them are stale: a build
    dir or ${VAR} value that is missing or changed (a missing one skips only its app)."""
    env: dict[str, dict[str, Interpolated]] = {}
    reasons: dict[str, str] = {}
    deploying = {a.app for p in saved.plan.apps for a in p.actions if isinstance(a, Deploy)}
    for app in saved.plan.apps:
        try:
            problems = build_dir_problems(loaded, [app.app])
            if problems:
                raise ManifestError(problems)
            env.update(resolve_env(loaded, environ, [app.app]))
        except ManifestError as exc:
            reasons[app.app] = exc.problems[0].message
            continue
        reason = _changed(saved, loaded, env.get(app.app, {}), app.app, app.app in deploying)
        if reason:
            reasons[app.app] = f"{reason} after the plan was made; plan again"
    return env, reasons


def _changed(
    saved: SavedPlan,
    loaded: LoadedManifest,
    values: Mapping[str, Interpolated],
    app: str,
    deploying: bool,
) -> str | None:
    for key, hashed in saved.interpolated.get(app, {}).items():
        value = values.get(key)
        if value is None or fingerprint(value.value, saved.salt) != hashed:
            return f"the value of env var {key} (from the environment) changed"
    planned, config = saved.build_dirs.get(app), loaded.apps.get(app)
    if deploying or planned is None or config is None or config.build_dir is None:
        return None  # a deploy checks its digest while packing
    cache = StatCache.open(stat_cache_dir(loaded.root), config.build_dir)
    now = digest_tree(config.build_dir, config.exclude, cache).digest
    return (
        f"its build dir changed ({short(planned)} planned, {short(now)} now)"
        if now != planned
        else None
    )
