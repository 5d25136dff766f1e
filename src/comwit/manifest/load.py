"""Load comwit.toml: read, parse, overlay the selected environment, validate, apply [defaults].

Every problem found is reported at once as a ManifestError; nothing here touches the
network or the build directories (see `comwit.manifest.checks` for those).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from comwit.errors import ManifestError, Problem
from comwit.escape import cut, cut_path, quoted
from comwit.frozen import frozen
from comwit.manifest.find import DEFAULT_FILE
from comwit.manifest.hostname import normalize_hostname
from comwit.manifest.limits import MAX_BYTES, TOO_DEEP, overflow, too_deep
from comwit.manifest.locate import locate
from comwit.manifest.model import AppSettings, AppSpec, DnsMode, Manifest, PreviewSpec
from comwit.manifest.overlay import merge
from comwit.manifest.peek import app_exclude
from comwit.manifest.problems import SourceMap, suggest, validation_problems
from comwit.store.regular import NotRegularFile, read_regular

DEFAULT_LEDGER_FILE = ".comwit/state.json"
PENDING_LEDGER_FILE = ".comwit/pending-ledger.json"
_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")
_LONG_NUMBER = re.compile(r"[0-9_]{4000,}")


@frozen
class Host:
    name: str
    dns: DnsMode = "external"


@frozen
class AppConfig:
    """One app as the manifest wants it, [defaults] applied; env values not yet interpolated."""

    name: str
    build_dir: Path | None = None
    build: str | None = None
    hosts: tuple[Host, ...] = ()
    env_ref: str | None = None
    max_concurrent_requests: int | None = None
    exclude: tuple[str, ...] = ()
    protect: bool = False
    env: Mapping[str, str] | None = None
    allow_outside_repo: bool = False
    preview: bool | None = None  # None: as the other apps say (see comwit.preview)


@frozen
class PreviewConfig:
    """[preview], as `comwit preview` applies it."""

    env: Mapping[str, str] = field(default_factory=dict)
    env_ref: str | None = None
    max_concurrent_requests: int | None = None
    domain: str | None = None
    dns: DnsMode = "external"
    max_apps: int = 20
    older_than: str = "7d"


@frozen
class StateConfig:
    backend: str = "app-env"
    path: Path | None = None
    keep: int = 50
    pending: Path | None = None  # ledger records not written yet (comwit.store.pending)


@frozen
class LoadedManifest:
    path: Path
    env: str | None
    project: str | None
    apps: Mapping[str, AppConfig]
    state: StateConfig
    digest: str
    environments: tuple[str, ...] = ()
    preview: PreviewConfig = field(default_factory=PreviewConfig)
    source: SourceMap = field(default_factory=lambda: SourceMap(DEFAULT_FILE))

    @property
    def root(self) -> Path:
        """The directory build_dir and state paths are relative to."""
        return self.path.parent


def load_manifest(path: Path, *, env: str | None = None) -> LoadedManifest:
    """The manifest at `path` with environment `env` overlaid; ManifestError lists all problems."""
    raw, document, source = _read(path)
    document, source = _select_environment(document, env, source)
    manifest = _validate(document, source)
    return _loaded(path, raw, env, manifest, source)


def check_manifest(path: Path) -> list[LoadedManifest]:
    """Validate the top level and every environment overlay; one ManifestError for all problems."""
    raw, document, source = _read(path)
    problems: list[Problem] = []
    loaded: list[LoadedManifest] = []
    environments = document.get("environments")
    names = sorted(environments) if isinstance(environments, dict) else []
    for env in [None, *names]:
        try:
            merged, merged_source = _select_environment(document, env, source)
            loaded.append(_loaded(path, raw, env, _validate(merged, merged_source), merged_source))
        except ManifestError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ManifestError(_unique(problems))
    return loaded


def display_name(path: Path) -> str:
    """How a manifest path appears in messages: relative to the working directory when it is
    in it or above it (`../comwit.toml`), else as the user wrote it."""
    resolved, cwd = path.resolve(), Path.cwd()
    if resolved.is_relative_to(cwd):
        return str(resolved.relative_to(cwd))
    if cwd.is_relative_to(resolved.parent):
        return os.path.relpath(resolved, cwd)
    return str(path)


def _read(path: Path) -> tuple[bytes, dict[str, Any], SourceMap]:
    name = display_name(path)
    try:
        raw = read_regular(path, MAX_BYTES)
    except OSError as exc:
        raise ManifestError([Problem(cut(name), None, None, "", _unreadable(path, exc))]) from None
    if len(raw) > MAX_BYTES:
        size = _size_of(path, len(raw))
        limit = f"{MAX_BYTES // 1024 // 1024} MiB"
        raise ManifestError([Problem(name, 1, 1, "", f"is {size}; a manifest is at most {limit}")])
    text = _decode(raw, name)
    document = _parse(text, name)
    source = SourceMap(name, locate(text))
    deep = too_deep(document)
    if deep is not None:
        raise ManifestError([source.problem(deep, TOO_DEEP)])
    return raw, document, source


def _unreadable(path: Path, exc: OSError) -> str:
    """Why the manifest at `path` cannot be read, and what to do."""
    if isinstance(exc, FileNotFoundError):
        return f"no manifest at {cut_path(path.resolve())}; create one or pass -f FILE"
    if isinstance(exc, IsADirectoryError):
        return "is a directory; pass the manifest file with -f FILE"
    if isinstance(exc, NotRegularFile):
        return f"{exc.reason}; pass the manifest file with -f FILE"
    return f"cannot be read: {exc.strerror}"


def _size_of(path: Path, read: int) -> str:
    """The file's size in MiB, as a message says it ("more than" what was read when the
    file cannot be measured again)."""
    try:
        return f"{path.stat().st_size / 1024 / 1024:.1f} MiB"
    except OSError:
        return f"more than {read // 1024 // 1024} MiB"


def _parse(text: str, name: str) -> dict[str, Any]:
    where = overflow(text)
    if where is not None:
        raise ManifestError([Problem(name, *where, "", TOO_DEEP)])
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError([_syntax_problem(text, name, str(exc))]) from None
    except ValueError:  # an integer literal with more digits than Python converts
        line, column = _long_number(text)
        message = "invalid TOML: an integer of more than 4000 digits; shorten it"
        raise ManifestError([Problem(name, line, column, "", message)]) from None
    except RecursionError:  # the scan above should prevent it; a clear error all the same
        raise ManifestError([Problem(name, 1, 1, "", TOO_DEEP)]) from None


def _long_number(text: str) -> tuple[int, int]:
    match = _LONG_NUMBER.search(text)
    return _position_of(text, match.start()) if match else (1, 1)


def _position_of(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def _decode(raw: bytes, name: str) -> str:
    try:
        return raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        raise ManifestError(
            [Problem(name, line, column, "", "is not valid UTF-8; save the file as UTF-8")]
        ) from None


def _syntax_problem(text: str, name: str, message: str) -> Problem:
    match = _TOML_POSITION.search(message)
    if match:
        what = message[: match.start()]
        line, column = int(match.group(1)), int(match.group(2))
        return Problem(name, line, column, "", f"invalid TOML: {what}; fix the syntax")
    what = message.removesuffix(" (at end of document)")
    line, column = _position_of(text, len(text.rstrip()))
    return Problem(name, line, column, "", f"invalid TOML at the end of the file: {what}")


def _select_environment(
    document: dict[str, Any], env: str | None, source: SourceMap
) -> tuple[dict[str, Any], SourceMap]:
    if env is None:
        return document, source
    environments = document.get("environments")
    known = sorted(environments) if isinstance(environments, dict) else []
    if env not in known:
        raise ManifestError([Problem(source.file, 1, 1, "", _unknown_environment(env, known))])
    overlay = environments[env] if isinstance(environments, dict) else None
    if not isinstance(overlay, dict):
        return document, source  # the model reports that the overlay is not a table
    merged, origins = merge(document, overlay, ("environments", env))
    return merged, SourceMap(source.file, source.positions, origins)


def _unknown_environment(env: str, known: list[str]) -> str:
    if not known:
        return f"--env {quoted(env)}: this manifest defines no [environments.NAME] tables"
    message = f"--env {quoted(env)}: unknown environment; known: {', '.join(known)}"
    close = suggest(env, known)
    return f"{message}; did you mean {quoted(close)}?" if close else message


def _validate(document: dict[str, Any], source: SourceMap) -> Manifest:
    problems = _duplicate_hosts(document, source)
    try:
        manifest = Manifest.model_validate(document)
    except ValidationError as exc:
        problems = validation_problems(exc, document, Manifest, source) + problems
        raise ManifestError(_unique(problems)) from None
    if problems:
        raise ManifestError(problems)
    return manifest


def _duplicate_hosts(document: dict[str, Any], source: SourceMap) -> list[Problem]:
    """A hostname may belong to one app only, once: every later mention (in file order) is wrong."""
    owners: dict[str, str] = {}
    seen: set[tuple[str, str]] = set()
    problems = []
    for where, app, host in sorted(_host_mentions(document, source), key=_in_file_order):
        owner = owners.setdefault(host, app)
        if owner != app:
            message = (
                f"hostname {quoted(host)} is also bound to app {quoted(owner)}; keep it in one app"
            )
        elif (host, app) in seen:
            message = f"hostname {quoted(host)} is listed twice; remove one"
        else:
            seen.add((host, app))
            continue
        problems.append(dataclasses.replace(where, message=message))
    return problems


def _in_file_order(mention: tuple[Problem, str, str]) -> tuple[int, int]:
    return mention[0].line or 0, mention[0].column or 0


def _host_mentions(document: dict[str, Any], source: SourceMap) -> list[tuple[Problem, str, str]]:
    """(where, app, normalized hostname) for each valid hostname in the raw document."""
    apps = document.get("apps")
    mentions = []
    for app, spec in (apps or {}).items() if isinstance(apps, dict) else ():
        hosts = spec.get("hosts") if isinstance(spec, dict) else None
        for index, entry in enumerate(hosts if isinstance(hosts, list) else []):
            name = entry.get("name") if isinstance(entry, dict) else entry
            try:
                host = normalize_hostname(name) if isinstance(name, str) else None
            except ValueError:
                continue  # the model reports it
            if host is not None:
                mentions.append((source.problem(("apps", app, "hosts", index), ""), app, host))
    return mentions


def _loaded(
    path: Path, raw: bytes, env: str | None, manifest: Manifest, source: SourceMap
) -> LoadedManifest:
    root = path.resolve().parent
    state = manifest.state
    ledger = root / (state.path or DEFAULT_LEDGER_FILE) if state.backend == "local" else None
    digest = hashlib.sha256(raw).hexdigest()
    apps = {
        name: _app_config(name, spec, manifest.defaults, root)
        for name, spec in sorted(manifest.apps.items())
    }
    return LoadedManifest(
        path=path.resolve(),
        env=env,
        project=manifest.project,
        apps=apps,
        state=StateConfig(state.backend, ledger, state.keep, root / PENDING_LEDGER_FILE),
        digest=f"sha256:{digest}",
        environments=tuple(sorted(manifest.environments)),
        preview=_preview_config(manifest.preview),
        source=source,
    )


def _preview_config(spec: PreviewSpec) -> PreviewConfig:
    return PreviewConfig(
        env=dict(sorted((spec.env or {}).items())),
        env_ref=spec.env_ref,
        max_concurrent_requests=spec.max_concurrent_requests,
        domain=spec.domain,
        dns=spec.dns,
        max_apps=spec.max_apps,
        older_than=spec.older_than,
    )


def _app_config(name: str, spec: AppSpec, defaults: AppSettings, root: Path) -> AppConfig:
    def pick(key: str) -> Any:
        value = getattr(spec, key)
        return getattr(defaults, key) if value is None else value

    build_dir = root / spec.build_dir if spec.build_dir is not None else None
    exclude = tuple(pick("exclude") or ())
    env = None
    if defaults.env is not None or spec.env is not None:
        env = {**(defaults.env or {}), **(spec.env or {})}
    return AppConfig(
        name=name,
        build_dir=build_dir,
        build=spec.build,
        hosts=tuple(Host(host.name, host.dns) for host in spec.hosts or ()),
        env_ref=pick("env_ref"),
        max_concurrent_requests=pick("max_concurrent_requests"),
        exclude=app_exclude(root, build_dir, exclude) if build_dir is not None else exclude,
        protect=bool(pick("protect")),
        allow_outside_repo=bool(spec.allow_outside_repo),
        preview=spec.preview,
        env=dict(sorted(env.items())) if env is not None else None,
    )


def _unique(problems: list[Problem]) -> list[Problem]:
    seen: dict[tuple[str, int | None, int | None, str], Problem] = {}
    for problem in problems:
        seen.setdefault((problem.file, problem.line, problem.column, problem.field), problem)
    return list(seen.values())
