"""diff: desired x observed -> Plan. Pure: no I/O, no clock, no randomness."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from typing import Literal

from comwit.api.assumed import DOMAIN_ACTIVE, DOMAIN_PENDING
from comwit.artifact.tree import FileEntry, TreeChanges, compare
from comwit.escape import quoted
from comwit.frozen import frozen
from comwit.plan.actions import (
    Action,
    Activate,
    AppPlan,
    AttachHost,
    CreateApp,
    DeleteEnv,
    Deploy,
    DeployReason,
    DetachHost,
    FinalizeHost,
    Held,
    OptionChange,
    Plan,
    Preconditions,
    RecordLedger,
    SetEnv,
)
from comwit.plan.ledger import AppFacts, AppLedger, Upload, env_fingerprint
from comwit.plan.moves import Move, find_moves, hold_blocked_moves
from comwit.plan.ordering import ALLOW_OLDER, skip_reason
from comwit.plan.state import (
    BuildDir,
    DesiredApp,
    DesiredState,
    EnvValue,
    ObservedApp,
    ObservedState,
    Options,
    PinnedBuild,
)

_PINNED_OPTIONS = (
    "env_ref and max_concurrent_requests do not apply to a pinned build: "
    "it keeps the options it was deployed with"
)


@frozen
class Policy:
    """What destructive changes the user let through (globs over hostnames and env keys)."""

    allow_detach: tuple[str, ...] = ()
    allow_delete_env: tuple[str, ...] = ()
    allow_older: bool = False  # let a commit older than the live build's replace it


_NOTHING_ALLOWED = Policy()


def diff(
    desired: DesiredState,
    observed: ObservedState,
    *,
    policy: Policy = _NOTHING_ALLOWED,
    trees: Mapping[str, Sequence[FileEntry]] | None = None,
    newer_live: Mapping[str, str] | None = None,
) -> Plan:
    """The plan that takes `observed` to `desired`, app by app, in execution order.

    `trees` maps tree digests to file lists known on this machine, to count changed files.
    `newer_live` says, by app, why its live build comes from a newer commit than this run's.
    """
    moves = find_moves(desired, observed)
    apps = tuple(
        _older(
            _app_plan(want, observed.apps.get(want.name), policy, trees or {}, moves),
            (newer_live or {}).get(want.name),
            policy,
        )
        for want in sorted(desired.apps, key=lambda app: app.name)
    )
    return Plan(
        project=desired.project,
        environment=desired.environment,
        apps=hold_blocked_moves(apps, moves),
        unmanaged=observed.unmanaged,
        not_selected=tuple(sorted(desired.not_selected)),
    )


def _app_plan(
    want: DesiredApp,
    have: ObservedApp | None,
    policy: Policy,
    trees: Mapping[str, Sequence[FileEntry]],
    moves: Mapping[str, Move],
) -> AppPlan:
    preconditions = read_preconditions(have)
    content, notes, error = _content(want, have, trees)
    if error:
        return AppPlan(app=want.name, preconditions=preconditions, notes=notes, error=error)
    env, env_held = _env(want, have, policy)
    hosts, hosts_held = _hosts(want, have, policy, moves, deploying=bool(content))
    create: list[Action] = [CreateApp(app=want.name)] if have is None else []
    facts: list[Action] = []
    if (env or hosts) and not content and have is not None and have.ledger.facts != _facts(want):
        facts = [RecordLedger(app=want.name, digest=None, facts=_facts(want), build=False)]
    # A hostname moving to another app is detached first: the receiver waits for it.
    away = [a for a in hosts if isinstance(a, DetachHost) and a.moves_to]
    hosts = [a for a in hosts if a not in away]
    return AppPlan(
        app=want.name,
        preconditions=preconditions,
        actions=(*away, *create, *env, *content, *hosts, *facts),
        held=(*env_held, *hosts_held),
        notes=notes,
    )


def _older(app: AppPlan, why: str | None, policy: Policy) -> AppPlan:
    """An app whose live build comes from a newer commit: apply skips it unless allowed."""
    if why is None or not app.actions:
        return app
    if policy.allow_older:
        note = f"{why}; {ALLOW_OLDER} lets this run replace it"
        return app.model_copy(update={"notes": (*app.notes, note)})
    return app.model_copy(update={"skip": skip_reason(why)})


def read_preconditions(have: ObservedApp | None) -> Preconditions:
    """What a plan records it read of an app, to tell later whether it still holds."""
    if have is None:
        return Preconditions(exists=False)
    return Preconditions(
        exists=True,
        app_id=have.app_id,
        active_build_id=have.active_build_id,
        hosts=tuple(sorted((host.name, host.status) for host in have.hosts)),
        env_keys=tuple(sorted(have.env)),
    )


def _content(
    want: DesiredApp, have: ObservedApp | None, trees: Mapping[str, Sequence[FileEntry]]
) -> tuple[list[Action], tuple[str, ...], str | None]:
    live = have.active_build_id if have else None
    ledger = have.ledger if have else AppLedger()
    notes = _drift(live, ledger)
    match want.source:
        case PinnedBuild(build_id=build_id):
            if want.options != Options():
                notes = (*notes, _PINNED_OPTIONS)
            if live == build_id:
                return [], notes, None
            if have is None or not have.has_build(build_id):
                return [], notes, _missing_build(want.name, build_id)
            known = ledger.get(build_id)
            digest = known.digest if known else None
            options = Options(known.env_ref, known.max_concurrent_requests) if known else Options()
            activate = Activate(
                app=want.name,
                build_id=build_id,
                reason="pinned",
                digest=digest,
                options=options,
                live_build=live,
            )
            record = RecordLedger(app=want.name, digest=digest, options=options, facts=_facts(want))
            return [activate, record], notes, None
        case BuildDir() as source:
            return _build_dir(want, source, have, trees), notes, None


def _build_dir(
    want: DesiredApp,
    source: BuildDir,
    have: ObservedApp | None,
    trees: Mapping[str, Sequence[FileEntry]],
) -> list[Action]:
    live = have.active_build_id if have else None
    ledger = have.ledger if have else AppLedger()
    options = want.options
    entry = ledger.get(live)
    if entry and entry.holds(source.digest, options.env_ref, options.max_concurrent_requests):
        return []
    adopted = _adopted(ledger, have)
    if adopted and (adopted.digest, adopted.env_ref, adopted.max_concurrent_requests) == (
        source.digest,
        options.env_ref,
        options.max_concurrent_requests,
    ):
        return [
            RecordLedger(
                app=want.name,
                digest=source.digest,
                options=options,
                exclude=source.exclude,
                adopt=live,
            )
        ]
    record = RecordLedger(
        app=want.name,
        digest=source.digest,
        options=options,
        exclude=source.exclude,
        facts=_facts(want),
    )
    matches = [
        match
        for match in ledger.matching(
            source.digest, options.env_ref, options.max_concurrent_requests
        )
        if match.build_id != live and have is not None and have.has_build(match.build_id)
    ]
    if matches:
        activate = Activate(
            app=want.name,
            build_id=matches[0].build_id,
            reason="matches_existing",
            digest=source.digest,
            options=options,
            live_build=live,
        )
        return [activate, record]
    return [_deploy(want, source, have, trees), record]


def _adopted(ledger: AppLedger, have: ObservedApp | None) -> Upload | None:
    """The upload a run that died left in the ledger, if the live build is its."""
    if have is None or have.active_build_id is None:
        return None
    live = next((b for b in have.builds if b.build_id == have.active_build_id), None)
    return ledger.adoptable(have.active_build_id, live.artifact_size if live else None)


def _deploy(
    want: DesiredApp,
    source: BuildDir,
    have: ObservedApp | None,
    trees: Mapping[str, Sequence[FileEntry]],
) -> Deploy:
    """An upload, with the reason the content cannot be reused."""
    live = have.active_build_id if have else None
    entry = have.ledger.get(live) if have else None
    reason: DeployReason = "new_app" if have is None else "first_build"
    option_changes: tuple[OptionChange, ...] = ()
    tree_changes = None
    if live is not None and entry is None:
        reason = "unknown_content"
    elif entry is not None and entry.digest == source.digest:
        reason = "options_changed"
        old = Options(entry.env_ref, entry.max_concurrent_requests)
        option_changes = _option_changes(old, want.options)
    elif entry is not None:
        reason = "content_changed"
        tree_changes = _tree_changes(trees.get(entry.digest), trees.get(source.digest))
    return Deploy(
        app=want.name,
        build_dir=source.relative,
        digest=source.digest,
        reason=reason,
        options=want.options,
        exclude=source.exclude,
        hosts=_bound_hosts(want, have),
        live_build=live,
        old_digest=entry.digest if entry else None,
        option_changes=option_changes,
        tree_changes=tree_changes,
        size=source.total_size,
    )


def _bound_hosts(want: DesiredApp, have: ObservedApp | None) -> tuple[str, ...]:
    live = {host.name for host in have.hosts} if have else set()
    return tuple(sorted(host.name for host in want.hosts if host.name in live))


def _option_changes(old: Options, new: Options) -> tuple[OptionChange, ...]:
    changes = []
    if old.env_ref != new.env_ref:
        changes.append(OptionChange(name="env_ref", old=old.env_ref, new=new.env_ref))
    if old.max_concurrent_requests != new.max_concurrent_requests:
        changes.append(
            OptionChange(
                name="max_concurrent_requests",
                old=old.max_concurrent_requests,
                new=new.max_concurrent_requests,
            )
        )
    return tuple(changes)


def _tree_changes(
    old: Sequence[FileEntry] | None, new: Sequence[FileEntry] | None
) -> TreeChanges | None:
    return compare(old, new) if old is not None and new is not None else None


def _facts(want: DesiredApp) -> AppFacts:
    """What the ledger records of the manifest's app, for `import` and for showing env values."""
    plain = {k: env_fingerprint(v.value) for k, v in (want.env or {}).items() if not v.sensitive}
    return AppFacts(
        managed_hosts=tuple(
            sorted(h.name for h in want.hosts if h.dns_mode == "managed_project_domain")
        ),
        protect=want.protect,
        plain_env=tuple(sorted(plain.items())),
    )


def _drift(live: str | None, ledger: AppLedger) -> tuple[str, ...]:
    if live and ledger.active and ledger.active != live:
        return (
            f"live build {live} was changed outside comwit (comwit last activated {ledger.active})",
        )
    return ()


def _missing_build(app: str, build_id: str) -> str:
    return (
        f"pinned build {build_id} does not exist in app {quoted(app)}; "
        f"`comwit builds {app}` lists the builds it has"
    )


def _env(
    want: DesiredApp, have: ObservedApp | None, policy: Policy
) -> tuple[list[Action], list[Held]]:
    if want.env is None:
        return [], []
    live = dict(have.env) if have else {}
    actions: list[Action] = []
    held: list[Held] = []
    for key in sorted(set(want.env) | set(live)):
        value = want.env.get(key)
        if value is not None and live.get(key) != value.value:
            actions.append(_set_env(want.name, key, value, have))
        elif value is None:
            delete = DeleteEnv(app=want.name, key=key)
            if want.protect and not _allowed(key, policy.allow_delete_env):
                reason = _protected(want.name, "--allow-delete-env", key)
                held.append(Held(action=delete, reason=reason))
            else:
                actions.append(delete)
    return actions, held


def _hosts(
    want: DesiredApp,
    have: ObservedApp | None,
    policy: Policy,
    moves: Mapping[str, Move],
    *,
    deploying: bool,
) -> tuple[list[Action], list[Held]]:
    live = {host.name: host.status for host in have.hosts} if have else {}
    wanted = {host.name: host for host in want.hosts}
    actions: list[Action] = [
        AttachHost(
            app=want.name,
            host=name,
            dns_mode=host.dns_mode,
            moves_from=moves[name].giver if name in moves else None,
        )
        for name, host in sorted(wanted.items())
        if name not in live
    ]
    actions += [
        FinalizeHost(app=want.name, host=name)
        for name in sorted(wanted)
        if live.get(name) == DOMAIN_PENDING
    ]
    held: list[Held] = []
    is_live = deploying or bool(have and have.active_build_id)
    active_kept = any(live.get(name) == DOMAIN_ACTIVE for name in wanted)
    for name in sorted(set(live) - set(wanted)):
        receiver = moves[name].receiver if name in moves else None
        detach = DetachHost(app=want.name, host=name, moves_to=receiver)
        if _allowed(name, policy.allow_detach):
            actions.append(detach)
        elif want.protect:
            held.append(Held(action=detach, reason=_protected(want.name, "--allow-detach", name)))
        elif is_live and live[name] == DOMAIN_ACTIVE and not active_kept:
            reason = _last_active(want.name, name, bool(wanted), receiver)
            held.append(Held(action=detach, reason=reason))
        else:
            actions.append(detach)
    return actions, held


def _last_active(app: str, host: str, replaced: bool, receiver: str | None) -> str:
    """Why a detach waits: the live app would be left without an active hostname."""
    if receiver is not None:
        return (
            f"moving it to app {quoted(receiver)} would leave live app {quoted(app)} with no "
            f"active hostname until its new ones are attached and finalized; "
            f"pass --allow-detach {host} to move it"
        )
    if not replaced:
        return (
            f"it would leave live app {quoted(app)} with no hostname; "
            f"pass --allow-detach {host} to detach it"
        )
    return (
        f"it would leave live app {quoted(app)} with no active hostname until the new ones are "
        f"finalized; apply again once they are, or pass --allow-detach {host}"
    )


def _set_env(app: str, key: str, value: EnvValue, have: ObservedApp | None) -> SetEnv:
    """Set a key; a sensitive value stays out of the plan (apply reads it again)."""
    old = have.env.get(key) if have else None
    change: Literal["add", "update"] = "add" if old is None else "update"
    shown = None if value.sensitive else value.value
    return SetEnv(
        app=app,
        key=key,
        change=change,
        value=shown,
        sensitive=value.sensitive,
        old=old if have and not value.sensitive and _was_plain(have, key, old) else None,
    )


def _was_plain(have: ObservedApp, key: str, live: str | None) -> bool:
    """The live value is one comwit set from a plain manifest value, not marked secret."""
    if live is None or key in have.secret_env:
        return False
    return have.ledger.facts.fingerprint(key) == env_fingerprint(live)


def _allowed(name: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def _protected(app: str, flag: str, name: str) -> str:
    return f"app {quoted(app)} is protected (protect = true); pass {flag} {name} to allow it"
