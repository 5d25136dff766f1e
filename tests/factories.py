"""Builders for planner values, so each test states only what matters to it."""

from __future__ import annotations

from pathlib import Path

from comwit.plan.actions import Plan
from comwit.plan.diff import Policy, diff
from comwit.plan.ledger import AppLedger, LedgerEntry
from comwit.plan.state import (
    BuildDir,
    DesiredApp,
    DesiredHost,
    DesiredState,
    EnvValue,
    ObservedApp,
    ObservedBuild,
    ObservedHost,
    ObservedState,
    Options,
    PinnedBuild,
)
from comwit.source import OrderGuard

DIGEST_A = "sha256:" + "a" * 64
DIGEST_B = "sha256:" + "b" * 64
BUILD_DIR = Path("/repo/dist")
BUILD_DIR_RELATIVE = "dist"
NO_OPTIONS = Options()


def desired(
    name: str = "web",
    *,
    digest: str = DIGEST_A,
    pin: str | None = None,
    options: Options = NO_OPTIONS,
    hosts: tuple[str, ...] = (),
    managed: tuple[str, ...] = (),
    env: dict[str, str | EnvValue] | None = None,
    protect: bool = False,
) -> DesiredApp:
    source = (
        PinnedBuild(pin) if pin else BuildDir(BUILD_DIR, digest, BUILD_DIR_RELATIVE, total_size=100)
    )
    all_hosts = [DesiredHost(h) for h in hosts]
    all_hosts += [DesiredHost(h, "managed_project_domain") for h in managed]
    return DesiredApp(
        name=name,
        source=source,
        options=options,
        hosts=tuple(sorted(all_hosts, key=lambda h: h.name)),
        env=None
        if env is None
        else {k: v if isinstance(v, EnvValue) else EnvValue(v) for k, v in env.items()},
        protect=protect,
    )


def observed(
    name: str = "web",
    *,
    live: str | None = None,
    builds: tuple[str, ...] = (),
    hosts: dict[str, str] | None = None,
    env: dict[str, str] | None = None,
    ledger: AppLedger | None = None,
) -> ObservedApp:
    all_builds = tuple(dict.fromkeys((*builds, *([live] if live else []))))
    return ObservedApp(
        name=name,
        app_id=f"app-{name}",
        active_build_id=live,
        builds=tuple(ObservedBuild(b) for b in all_builds),
        hosts=tuple(ObservedHost(h, s) for h, s in sorted((hosts or {}).items())),
        env=env or {},
        ledger=ledger or AppLedger(),
    )


def ledger(*entries: tuple[str, str] | LedgerEntry, active: str | None = None) -> AppLedger:
    """A ledger from (build_id, digest) pairs or entries, activated in the order given."""
    made = [
        e if isinstance(e, LedgerEntry) else LedgerEntry(e[0], e[1], recorded_at_ms=i)
        for i, e in enumerate(entries)
    ]
    history = tuple(e.build_id for e in made)
    if active is not None:
        history = (*history, active)
    return AppLedger(entries={e.build_id: e for e in made}, history=history)


def no_commit_guard(root: Path) -> OrderGuard:
    """The ordering guard of a run outside git: no commit to compare, so nothing is held back."""
    return OrderGuard(root, source=None)


def sample_plan() -> Plan:
    """A plan with something of each kind: a changed app with hosts and env (one sensitive),
    one unchanged, one protected losing a host, and an unmanaged app."""
    apps = (
        desired(
            "api",
            hosts=("api.example.com",),
            env={"LEVEL": "warn", "DB": EnvValue("s3cr3t", sensitive=True)},
        ),
        desired("docs"),
        desired("web", hosts=("www.example.com",), protect=True),
    )
    have = {
        "api": observed(
            "api",
            live="build-1",
            ledger=ledger(("build-1", DIGEST_B)),
            env={"LEVEL": "info", "OLD": "x"},
            hosts={"old.example.com": "active"},
        ),
        "docs": observed("docs", live="build-2", ledger=ledger(("build-2", DIGEST_A))),
        "web": observed(
            "web",
            live="build-3",
            ledger=ledger(("build-3", DIGEST_A)),
            hosts={"www.example.com": "active", "legacy.example.com": "active"},
        ),
    }
    return diff(
        DesiredState("demo", apps),
        ObservedState("demo", have, unmanaged=("batch",)),
        policy=Policy(allow_detach=("old.example.com",)),
    )
