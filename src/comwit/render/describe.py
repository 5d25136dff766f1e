"""Words for plan values, shared by the text and Markdown renderers. Pure."""

from __future__ import annotations

import json
import time
from typing import Literal, assert_never

from comwit.artifact.tree import TreeChanges
from comwit.escape import one_line, quoted
from comwit.frozen import frozen
from comwit.plan.actions import (
    Action,
    Activate,
    AttachHost,
    CreateApp,
    DeleteApp,
    DeleteEnv,
    Deploy,
    DetachHost,
    FinalizeHost,
    Plan,
    RecordLedger,
    SetEnv,
    Summary,
)

Sign = Literal["+", "~", "-", "."]
HIDDEN_VALUE = "(hidden: from the environment)"
_VALUE_WIDTH = 60


@frozen
class Line:
    """One action in words: a sign, a headline, and optional detail lines."""

    sign: Sign
    text: str
    details: tuple[str, ...] = ()


def describe(action: Action) -> Line:
    """The action in words; strings from outside (hostnames, keys, build ids, paths) are
    escaped, so each text and detail stays one line."""
    line = _describe(action)
    return Line(line.sign, one_line(line.text), tuple(one_line(d) for d in line.details))


def _describe(action: Action) -> Line:
    match action:
        case CreateApp():
            return Line("+", "create app")
        case SetEnv() as env:
            return _set_env(env)
        case DeleteEnv():
            return Line("-", f"env {action.key} (delete)")
        case Deploy():
            sign: Sign = "+" if action.reason in ("new_app", "first_build") else "~"
            return Line(sign, f"upload build: {_deploy_reason(action)}", _deploy_details(action))
        case Activate():
            return Line("~", f"{activate_words(action)} (no upload)", _activate_details(action))
        case RecordLedger():
            return _record_line(action)
        case AttachHost():
            dns = "managed DNS" if action.dns_mode == "managed_project_domain" else "external DNS"
            moved = f" -> moves from app {action.moves_from}" if action.moves_from else ""
            return Line("+", f"attach hostname {action.host} ({dns}){moved}")
        case FinalizeHost():
            return Line("~", f"finalize hostname {action.host} (waiting for DNS records)")
        case DetachHost():
            moved = f" -> moves to app {action.moves_to}" if action.moves_to else ""
            return Line("-", f"detach hostname {action.host}{moved}")
        case DeleteApp():
            when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(action.deployed_ms / 1000))
            return Line(
                "-",
                f"delete app {action.app_id} with its builds, hostnames and env vars",
                (f"preview of {action.base} for pull request #{action.pr}, last deployed {when}",),
            )
        case _:
            assert_never(action)


LEGEND = "+ create, ~ change, - remove, ! held back"
_NAMES_SHOWN = 20


def selection(plan: Plan) -> str:
    """'3 apps in the manifest', or '1 of 3 apps selected' under --app / --exclude-app;
    '2 previews to delete' for `preview down | prune`; '4 of 12 apps in shard 1/3'."""
    chosen, total = len(plan.apps), len(plan.apps) + len(plan.not_selected)
    if plan.subject == "previews":
        return f"{chosen or 'no'} preview{'s' if chosen != 1 else ''} to delete"
    if plan.shard:
        return f"{chosen} of {total} app{'s' if total != 1 else ''} in shard {plan.shard}"
    if plan.not_selected:
        return f"{chosen} of {total} app{'s' if total != 1 else ''} selected"
    return f"{total} app{'s' if total != 1 else ''} in the manifest"


def unmanaged_line(plan: Plan) -> str | None:
    """One line naming the live apps the manifest does not name (never touched)."""
    names = plan.unmanaged
    if not names:
        return None
    shown = ", ".join(one_line(name) for name in names[:_NAMES_SHOWN])
    if len(names) > _NAMES_SHOWN:
        shown += f" and {len(names) - _NAMES_SHOWN} more"
    noun = "app" if len(names) == 1 else "apps"
    if plan.subject == "previews":
        return f"Left alone: {len(names)} other live {noun} ({shown})"
    return f"Not in the manifest, left alone: {len(names)} live {noun} ({shown})"


def _record_line(action: RecordLedger) -> Line:
    if not action.build:
        return Line(".", "record the app's settings in the ledger")
    if action.adopt:
        return Line(
            "~",
            f"record live build {action.adopt} in the ledger: an earlier run uploaded it and "
            f"stopped before recording it (same size, {short(action.digest)}; no upload)",
        )
    what = short(action.digest) if action.digest else "content unknown"
    return Line(".", f"record in the ledger what the build holds ({what})")


def short(digest: str | None) -> str:
    """The first 12 hex digits of a digest: enough to tell builds apart in a plan."""
    return (digest or "").removeprefix("sha256:")[:12] or "unknown"


def format_bytes(size: int) -> str:
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def summary_line(summary: Summary) -> str:
    """'2 to upload, 1 to roll back, 3 hostnames to attach; 4 apps unchanged'."""
    changes = [
        _count(summary.create, "app", "apps", "to create"),
        _count(summary.upload, "", "", "to upload"),
        _count(summary.roll_back, "", "", "to roll back"),
        _count(summary.attach, "hostname", "hostnames", "to attach"),
        _count(summary.finalize, "hostname", "hostnames", "to finalize"),
        _count(summary.detach, "hostname", "hostnames", "to detach"),
        _count(summary.env_set, "env var", "env vars", "to set"),
        _count(summary.env_delete, "env var", "env vars", "to delete"),
        _count(summary.delete_app, "app", "apps", "to delete"),
    ]
    text = ", ".join(part for part in changes if part)
    tail = [
        _count(summary.held, "change", "changes", "held back"),
        _count(summary.skipped, "app", "apps", "skipped (newer commit live)"),
        _count(summary.unchanged, "app", "apps", "unchanged"),
        _count(summary.errors, "app", "apps", "with errors"),
    ]
    rest = ", ".join(part for part in tail if part)
    return "; ".join(part for part in (text, rest) if part) or "nothing to manage"


def _count(n: int, one: str, many: str, what: str) -> str:
    if not n:
        return ""
    noun = one if n == 1 else many
    return f"{n} {noun} {what}" if noun else f"{n} {what}"


def _set_env(env: SetEnv) -> Line:
    """The old value only when the plan carries it (a plain value comwit set before)."""
    if env.change == "add":
        return Line("+", f"env {env.key} = {_env_value(env)}")
    if env.old is not None:
        return Line("~", f"env {env.key} = {_quote(env.old)} -> {_env_value(env)}")
    return Line("~", f"env {env.key} = {_env_value(env)} (changed)")


def _env_value(env: SetEnv) -> str:
    return HIDDEN_VALUE if env.sensitive else _quote(env.value or "")


def _quote(value: str) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= _VALUE_WIDTH else text[: _VALUE_WIDTH - 4] + '..."'


def _deploy_reason(deploy: Deploy) -> str:
    match deploy.reason:
        case "new_app":
            return "new app"
        case "first_build":
            return "the app has no build yet"
        case "unknown_content":
            return f"live build {deploy.live_build} is not in the ledger (content unknown)"
        case "content_changed":
            return f"content changed {short(deploy.old_digest)} -> {short(deploy.digest)}"
        case "options_changed":
            changes = ", ".join(f"{c.name} {c.old} -> {c.new}" for c in deploy.option_changes)
            return f"options changed: {changes}"
        case _:
            assert_never(deploy.reason)


def _deploy_details(deploy: Deploy) -> tuple[str, ...]:
    details = [f"{deploy.build_dir} ({format_bytes(deploy.size)}, digest {short(deploy.digest)})"]
    if deploy.tree_changes is not None:
        details.append(_tree_counts(deploy.tree_changes))
    options = [f"{key}={value}" for key, value in vars(deploy.options).items() if value is not None]
    if deploy.hosts:
        options.append("hosts=" + ",".join(deploy.hosts))
    if options:
        details.append("with " + ", ".join(options))
    return tuple(details)


def activate_words(activate: Activate) -> str:
    """What making an existing build live is, in the words of why it happens."""
    match activate.reason:
        case "rollback":
            return f"roll back to build {activate.build_id}"
        case "pinned":
            return f"make pinned build {activate.build_id} live"
        case "matches_existing":
            return f"make build {activate.build_id} live again"
        case _:
            assert_never(activate.reason)


def _tree_counts(changes: TreeChanges) -> str:
    """'1 file added, 2 changed, 0 removed' (and directories when any were added or removed)."""
    noun = "file" if changes.added == 1 else "files"
    text = f"{changes.added} {noun} added, {changes.changed} changed, {changes.removed} removed"
    dirs = [
        _count(changes.dirs_added, "directory", "directories", "added"),
        _count(changes.dirs_removed, "directory", "directories", "removed"),
    ]
    return "; ".join([text, *(d for d in dirs if d)])


def changed_paths(deploy: Deploy, cap: int) -> tuple[str, ...]:
    """The changed paths, `+` added, `~` changed, `-` removed, at most `cap` of each kind,
    then "and N more"; none when the old tree is not known on this machine."""
    changes = deploy.tree_changes
    if changes is None:
        return ()
    lines: list[str] = []
    for sign, paths, total, what in (
        ("+", changes.added_paths, changes.added, "added"),
        ("~", changes.changed_paths, changes.changed, "changed"),
        ("-", changes.removed_paths, changes.removed, "removed"),
    ):
        lines += [f"{sign} {_path(path)}" for path in paths[:cap]]
        if total > min(cap, len(paths)):
            lines.append(f"  and {total - min(cap, len(paths))} more {what}")
    return tuple(lines)


def _path(path: str) -> str:
    """A path on one line: quoted when it holds control characters or leading spaces."""
    if path.isprintable() and path.strip() == path:
        return path
    return json.dumps(path, ensure_ascii=False)


def _activate_details(activate: Activate) -> tuple[str, ...]:
    match activate.reason:
        case "matches_existing":
            why = f"it already holds the build dir's content ({short(activate.digest)}) and options"
        case "pinned":
            what = short(activate.digest) if activate.digest else "content unknown to the ledger"
            why = f"pinned by the manifest (build = {quoted(activate.build_id)}; {what})"
        case "rollback":
            what = short(activate.digest) if activate.digest else "content unknown to the ledger"
            why = f"requested rollback ({what})"
        case _:
            assert_never(activate.reason)
    return (why,)
