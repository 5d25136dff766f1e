"""The preview transform: a loaded manifest as pull request N's preview wants it."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import replace

from comwit.errors import PlanError
from comwit.escape import quoted
from comwit.manifest import AppConfig, Host, LoadedManifest
from comwit.plan.desired import split_patterns
from comwit.preview.names import preview_name


def preview_bases(loaded: LoadedManifest, include: Sequence[str] = ()) -> list[AppConfig]:
    """The apps that get previews: those with `preview = true` when any has it, else all but
    those with `preview = false`; then the `--app` globs."""
    apps = list(loaded.apps.values())
    chosen = (
        [a for a in apps if a.preview]
        if any(a.preview for a in apps)
        else [a for a in apps if a.preview is not False]
    )
    patterns = split_patterns(include)
    for pattern in patterns:
        if not fnmatch.filter([a.name for a in chosen], pattern):
            names = ", ".join(a.name for a in chosen) or "none"
            raise PlanError(f"--app {quoted(pattern)} matches no app that gets previews ({names})")
    if patterns:
        chosen = [a for a in chosen if any(fnmatch.fnmatchcase(a.name, p) for p in patterns)]
    if not chosen:
        raise PlanError("no app gets a preview: set `preview = true` on the apps that should")
    return chosen


def production_hosts(loaded: LoadedManifest) -> frozenset[str]:
    return frozenset(host.name for app in loaded.apps.values() for host in app.hosts)


def preview_manifest(
    loaded: LoadedManifest, pr: int, include: Sequence[str] = ()
) -> LoadedManifest:
    """The manifest of pull request `pr`'s preview: each chosen app renamed, the [preview]
    env and runtime options over its own, and its hostnames replaced by the preview domain's
    (or none). The planner and executor then run on it as on any manifest."""
    apps = {}
    production = production_hosts(loaded)
    for app in preview_bases(loaded, include):
        name = preview_name(app.name, pr)
        if app.build is not None:
            raise PlanError(
                f"app {app.name} pins build {app.build}, which a new preview app cannot have; "
                "set `preview = false` on it"
            )
        if name in loaded.apps:
            raise PlanError(
                f"the preview name {name} of app {app.name} is an app of the manifest; "
                "rename that app"
            )
        apps[name] = _preview_app(loaded, app, name, pr, production)
    return replace(loaded, apps=dict(sorted(apps.items())))


def _preview_app(
    loaded: LoadedManifest, app: AppConfig, name: str, pr: int, production: frozenset[str]
) -> AppConfig:
    settings = loaded.preview
    hosts: tuple[Host, ...] = ()
    if settings.domain is not None:
        host = f"{name}.{settings.domain}"
        if host in production:
            raise PlanError(
                f"the preview hostname {host} is a production hostname of the manifest; "
                "choose another [preview] domain"
            )
        hosts = (Host(host, settings.dns),)
    env = None
    if app.env is not None or settings.env:
        pr_env = {k: v.replace("{pr}", str(pr)) for k, v in settings.env.items()}
        env = dict(sorted({**(app.env or {}), **pr_env}.items()))
    return replace(
        app,
        name=name,
        hosts=hosts,
        env=env,
        env_ref=settings.env_ref or app.env_ref,
        max_concurrent_requests=settings.max_concurrent_requests or app.max_concurrent_requests,
        protect=False,  # a preview is disposable: nothing of it is production
    )
