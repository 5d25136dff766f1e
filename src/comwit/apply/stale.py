"""Before a saved plan runs at all: is it for this API, project and manifest, unchanged?

Whole-plan mismatches refuse the plan; an app whose build dir or ${VAR} values changed is
marked stale on its own (skipped) so the other apps can proceed.
"""

from __future__ import annotations

from collections.abc import Mapping

from comwit.artifact.digest import digest_tree
from comwit.errors import StalePlanError
from comwit.manifest import LoadedManifest
from comwit.manifest.interpolate import Interpolated
from comwit.plan.actions import Deploy
from comwit.plan.diff import secret_hash
from comwit.plan.saved import SavedPlan, public_url
from comwit.render.describe import short


def check_saved_plan(
    saved: SavedPlan, loaded: LoadedManifest, *, project: str, api_url: str
) -> None:
    """Refuse a plan made against another API, project, environment or manifest text."""
    if public_url(api_url) != saved.api_url:
        raise StalePlanError(
            f"the plan was made against {saved.api_url}, not {public_url(api_url)}; "
            "apply it with the same --api-url, or plan again"
        )
    if project != saved.plan.project:
        raise StalePlanError(f"the plan is for project {saved.plan.project}, not {project}")
    if loaded.env != saved.manifest.environment:
        raise StalePlanError(
            f"the plan was made with --env {saved.manifest.environment}, not {loaded.env}"
        )
    if loaded.digest != saved.manifest.digest:
        raise StalePlanError(f"{saved.manifest.path} changed after the plan was made; plan again")


def stale_apps(
    saved: SavedPlan, loaded: LoadedManifest, env: Mapping[str, Mapping[str, Interpolated]]
) -> dict[str, str]:
    """Apps whose ${VAR} values or (not redeployed) build dirs differ from the plan's."""
    reasons: dict[str, str] = {}
    for app, keys in saved.interpolated.items():
        for key, hashed in keys.items():
            value = env.get(app, {}).get(key)
            if value is None or secret_hash(value.value, saved.plan.salt) != hashed:
                reasons[app] = f"the value of env var {key} (from the environment) changed"
    deploying = {a.app for p in saved.plan.apps for a in p.actions if isinstance(a, Deploy)}
    for app, digest in saved.build_dirs.items():
        config = loaded.apps.get(app)
        if app in deploying or app in reasons or config is None or config.build_dir is None:
            continue  # a deploy checks its digest while packing
        now = digest_tree(config.build_dir, config.exclude).digest
        if now != digest:
            reasons[app] = f"its build dir changed ({short(digest)} planned, {short(now)} now)"
    return {app: f"{reason} after the plan was made; plan again" for app, reason in reasons.items()}
