"""Render existing apps as a comwit.toml (for `comwit import`). Pure.

tomli-w writes no comments, so the header is plain text put before its output.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import field
from typing import Any

import tomli_w

from comwit.frozen import frozen

MANIFEST_VERSION = 1


@frozen
class ImportedApp:
    """An existing app as the API describes it, plus the runtime options the ledger knows."""

    name: str
    hosts: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    env_ref: str | None = None
    max_concurrent_requests: int | None = None
    exclude: tuple[str, ...] = ()
    managed_hosts: frozenset[str] = frozenset()
    protect: bool = False
    build_dir: str | None = None  # None: a placeholder to replace


def placeholder_build_dir(app: str) -> str:
    return f"TODO/path/to/{app}/build"


def render_manifest(project: str, apps: Sequence[ImportedApp]) -> str:
    document: dict[str, Any] = {
        "version": MANIFEST_VERSION,
        "project": project,
        "apps": {app.name: _app_table(app) for app in sorted(apps, key=lambda a: a.name)},
    }
    return _header(project) + tomli_w.dumps(document)


def escape_env_value(value: str) -> str:
    """A value as the manifest must spell it: `$$` for each `$`, so nothing is interpolated."""
    return value.replace("$", "$$")


def _app_table(app: ImportedApp) -> dict[str, Any]:
    table: dict[str, Any] = {"build_dir": app.build_dir or placeholder_build_dir(app.name)}
    if app.exclude:
        table["exclude"] = list(app.exclude)
    if app.protect:
        table["protect"] = True
    if app.hosts:
        table["hosts"] = [_host(app, name) for name in sorted(app.hosts)]
    if app.env_ref is not None:
        table["env_ref"] = app.env_ref
    if app.max_concurrent_requests is not None:
        table["max_concurrent_requests"] = app.max_concurrent_requests
    if app.env:
        table["env"] = {key: escape_env_value(app.env[key]) for key in sorted(app.env)}
    return table


def _host(app: ImportedApp, name: str) -> str | dict[str, str]:
    return {"name": name, "dns": "managed"} if name in app.managed_hosts else name


def _header(project: str) -> str:
    return (
        f"# Written by `comwit import` from the apps of project {project}.\n"
        "# Replace each build_dir placeholder with the directory that holds the app's build.\n"
        "# exclude, protect and managed DNS come from comwit's ledger of each app; an app\n"
        "# that comwit never deployed has none, so add them by hand (a managed hostname is\n"
        '# written { name = "...", dns = "managed" }).\n'
        "# Env values are copied as the API holds them: review them before committing.\n"
        "\n"
    )
