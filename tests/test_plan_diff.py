"""The planner's diff, table-driven: each case compares the whole Plan."""

from __future__ import annotations

from dataclasses import replace

import pytest

from comwit.artifact.tree import FileEntry, TreeChanges
from comwit.plan.actions import (
    Activate,
    AppPlan,
    AttachHost,
    CreateApp,
    DeleteEnv,
    Deploy,
    DetachHost,
    FinalizeHost,
    Held,
    OptionChange,
    Plan,
    Preconditions,
    RecordLedger,
    SetEnv,
    Summary,
)
from comwit.plan.diff import Policy, diff
from comwit.plan.ledger import AppFacts, AppLedger, LedgerEntry, env_fingerprint
from comwit.plan.state import DesiredState, EnvValue, ObservedApp, ObservedState, Options

from tests.factories import (
    BUILD_DIR_RELATIVE,
    DIGEST_A,
    DIGEST_B,
    NO_OPTIONS,
    desired,
    ledger,
    observed,
)

OPTS = Options(env_ref="brrrd/env/web", max_concurrent_requests=50)


def pre(have: ObservedApp | None) -> Preconditions:
    if have is None:
        return Preconditions(exists=False)
    return Preconditions(
        exists=True,
        app_id=have.app_id,
        active_build_id=have.active_build_id,
        hosts=tuple(sorted((h.name, h.status) for h in have.hosts)),
        env_keys=tuple(sorted(have.env)),
    )


def deploy(reason, **fields) -> Deploy:
    defaults = {"app": "web", "build_dir": BUILD_DIR_RELATIVE, "digest": DIGEST_A, "size": 100}
    return Deploy(reason=reason, **{**defaults, **fields})


NO_FACTS = AppFacts()


def record(digest=DIGEST_A, options=NO_OPTIONS, facts=NO_FACTS) -> RecordLedger:
    return RecordLedger(app="web", digest=digest, options=options, facts=facts)


def facts_only(facts: AppFacts) -> RecordLedger:
    return RecordLedger(app="web", digest=None, facts=facts, build=False)


def plain(**values: str) -> AppFacts:
    return AppFacts(plain_env=tuple((k, env_fingerprint(v)) for k, v in sorted(values.items())))


def set_by_comwit(**values: str) -> AppLedger:
    """A ledger whose facts say comwit set these plain values."""
    return replace(ledger(("build-1", DIGEST_A)), facts=plain(**values))


FILES_A = (FileEntry("index.html", "file", 5, "1" * 64), FileEntry("app.js", "file", 7, "2" * 64))
FILES_B = (FileEntry("index.html", "file", 6, "3" * 64), FileEntry("new.css", "file", 4, "4" * 64))

# (case, desired app, observed app or None, policy, trees, expected actions, held, notes, error)
CASES = [
    (
        "app missing: create, upload, record, attach",
        desired(hosts=("www.example.com",), managed=("api.example.com",)),
        None,
        Policy(),
        {},
        (
            CreateApp(app="web"),
            deploy("new_app"),
            record(facts=AppFacts(managed_hosts=("api.example.com",))),
            AttachHost(app="web", host="api.example.com", dns_mode="managed_project_domain"),
            AttachHost(app="web", host="www.example.com", dns_mode="external_records"),
        ),
        (),
        (),
        None,
    ),
    (
        "app without a build: upload",
        desired(),
        observed(),
        Policy(),
        {},
        (deploy("first_build"), record()),
        (),
        (),
        None,
    ),
    (
        "live build unknown to the ledger: upload",
        desired(),
        observed(live="build-1"),
        Policy(),
        {},
        (deploy("unknown_content", live_build="build-1"), record()),
        (),
        (),
        None,
    ),
    (
        "live build holds the digest and options: nothing",
        desired(options=OPTS),
        observed(
            live="build-1", ledger=ledger(LedgerEntry("build-1", DIGEST_A, *OPTS.__dict__.values()))
        ),
        Policy(),
        {},
        (),
        (),
        (),
        None,
    ),
    (
        "another existing build holds them: activate it, no upload",
        desired(),
        observed(
            live="build-2",
            builds=("build-1",),
            ledger=ledger(("build-1", DIGEST_A), ("build-2", DIGEST_B)),
        ),
        Policy(),
        {},
        (
            Activate(
                app="web",
                build_id="build-1",
                reason="matches_existing",
                digest=DIGEST_A,
                live_build="build-2",
            ),
            record(),
        ),
        (),
        (),
        None,
    ),
    (
        "matching build deleted at the API: upload",
        desired(),
        observed(
            live="build-2",
            builds=("build-2",),
            ledger=ledger(("build-1", DIGEST_A), ("build-2", DIGEST_B)),
        ),
        Policy(),
        {},
        (deploy("content_changed", live_build="build-2", old_digest=DIGEST_B), record()),
        (),
        (),
        None,
    ),
    (
        "options changed only: redeploy saying what changed",
        desired(options=Options(env_ref="brrrd/env/web", max_concurrent_requests=80)),
        observed(
            live="build-1", ledger=ledger(LedgerEntry("build-1", DIGEST_A, "brrrd/env/web", 50))
        ),
        Policy(),
        {},
        (
            deploy(
                "options_changed",
                options=Options("brrrd/env/web", 80),
                live_build="build-1",
                old_digest=DIGEST_A,
                option_changes=(OptionChange(name="max_concurrent_requests", old=50, new=80),),
            ),
            record(options=Options("brrrd/env/web", 80)),
        ),
        (),
        (),
        None,
    ),
    (
        "content changed, old file list known: upload with file counts",
        desired(),
        observed(live="build-1", ledger=ledger(("build-1", DIGEST_B))),
        Policy(),
        {DIGEST_B: FILES_A, DIGEST_A: FILES_B},
        (
            deploy(
                "content_changed",
                live_build="build-1",
                old_digest=DIGEST_B,
                tree_changes=TreeChanges(
                    added=1,
                    changed=1,
                    removed=1,
                    added_bytes=4,
                    changed_bytes=6,
                    removed_bytes=7,
                    added_paths=("new.css",),
                    changed_paths=("index.html",),
                    removed_paths=("app.js",),
                ),
            ),
            record(),
        ),
        (),
        (),
        None,
    ),
    (
        "pinned build already live: nothing",
        desired(pin="build-1"),
        observed(live="build-1"),
        Policy(),
        {},
        (),
        (),
        (),
        None,
    ),
    (
        "pinned build exists: activate it with what the ledger knows",
        desired(pin="build-1"),
        observed(
            live="build-2",
            builds=("build-1",),
            ledger=ledger(("build-1", DIGEST_A), ("build-2", DIGEST_B)),
        ),
        Policy(),
        {},
        (
            Activate(
                app="web",
                build_id="build-1",
                reason="pinned",
                digest=DIGEST_A,
                live_build="build-2",
            ),
            record(),
        ),
        (),
        (),
        None,
    ),
    (
        "pinned build unknown to the ledger: activate, record without digest",
        desired(pin="build-1"),
        observed(live="build-2", builds=("build-1",)),
        Policy(),
        {},
        (
            Activate(app="web", build_id="build-1", reason="pinned", live_build="build-2"),
            record(digest=None),
        ),
        (),
        (),
        None,
    ),
    (
        "pinned build missing: error naming it",
        desired(pin="build-9", hosts=("www.example.com",)),
        observed(live="build-2"),
        Policy(),
        {},
        (),
        (),
        (),
        "pinned build build-9 does not exist in app 'web'; `comwit builds web` lists the builds it has",
    ),
    (
        "hostnames: attach missing, finalize pending, detach removed (last)",
        desired(hosts=("a.example.com", "b.example.com", "c.example.com")),
        observed(
            live="build-1",
            ledger=ledger(("build-1", DIGEST_A)),
            hosts={
                "a.example.com": "active",
                "b.example.com": "pending_dns",
                "old.example.com": "active",
            },
        ),
        Policy(),
        {},
        (
            AttachHost(app="web", host="c.example.com"),
            FinalizeHost(app="web", host="b.example.com"),
            DetachHost(app="web", host="old.example.com"),
        ),
        (),
        (),
        None,
    ),
    (
        "upload passes the hostnames already bound",
        desired(hosts=("a.example.com", "new.example.com")),
        observed(
            live="build-1", ledger=ledger(("build-1", DIGEST_B)), hosts={"a.example.com": "active"}
        ),
        Policy(),
        {},
        (
            deploy(
                "content_changed",
                live_build="build-1",
                old_digest=DIGEST_B,
                hosts=("a.example.com",),
            ),
            record(),
            AttachHost(app="web", host="new.example.com"),
        ),
        (),
        (),
        None,
    ),
    (
        "protected app: detach held back",
        desired(hosts=("a.example.com",), protect=True),
        observed(
            live="build-1",
            ledger=ledger(("build-1", DIGEST_A)),
            hosts={"a.example.com": "active", "b.example.com": "active"},
        ),
        Policy(),
        {},
        (),
        (
            Held(
                action=DetachHost(app="web", host="b.example.com"),
                reason="app 'web' is protected (protect = true); pass --allow-detach b.example.com to allow it",
            ),
        ),
        (),
        None,
    ),
    (
        "protected app: --allow-detach glob lets the detach through",
        desired(hosts=("a.example.com",), protect=True),
        observed(
            live="build-1",
            ledger=ledger(("build-1", DIGEST_A)),
            hosts={"a.example.com": "active", "b.example.com": "active"},
        ),
        Policy(allow_detach=("*.example.com",)),
        {},
        (DetachHost(app="web", host="b.example.com"), facts_only(AppFacts(protect=True))),
        (),
        (),
        None,
    ),
    (
        "last hostname of a live app: detach held back",
        desired(),
        observed(
            live="build-1", ledger=ledger(("build-1", DIGEST_A)), hosts={"a.example.com": "active"}
        ),
        Policy(),
        {},
        (),
        (
            Held(
                action=DetachHost(app="web", host="a.example.com"),
                reason="it would leave live app 'web' with no hostname; pass --allow-detach a.example.com to detach it",
            ),
        ),
        (),
        None,
    ),
    (
        "only active hostname replaced: the detach waits for the new one",
        desired(hosts=("new.example.com",)),
        observed(
            live="build-1",
            ledger=ledger(("build-1", DIGEST_A)),
            hosts={"old.example.com": "active"},
        ),
        Policy(),
        {},
        (AttachHost(app="web", host="new.example.com"),),
        (
            Held(
                action=DetachHost(app="web", host="old.example.com"),
                reason="it would leave live app 'web' with no active hostname until the new ones "
                "are finalized; apply again once they are, or pass --allow-detach old.example.com",
            ),
        ),
        (),
        None,
    ),
    (
        "new hostname active: the old one is detached",
        desired(hosts=("new.example.com",)),
        observed(
            live="build-1",
            ledger=ledger(("build-1", DIGEST_A)),
            hosts={"old.example.com": "active", "new.example.com": "active"},
        ),
        Policy(),
        {},
        (DetachHost(app="web", host="old.example.com"),),
        (),
        (),
        None,
    ),
    (
        "env: set new, update (live values never shown), hide sensitive, delete removed",
        desired(env={"NEW": "1", "LEVEL": "warn", "DB": EnvValue("secret-url", sensitive=True)}),
        observed(
            live="build-1",
            ledger=ledger(("build-1", DIGEST_A)),
            env={"LEVEL": "info", "DB": "old-url", "GONE": "x"},
        ),
        Policy(),
        {},
        (
            SetEnv(
                app="web",
                key="DB",
                change="update",
                value=None,
                sensitive=True,
            ),
            DeleteEnv(app="web", key="GONE"),
            SetEnv(app="web", key="LEVEL", change="update", value="warn"),
            SetEnv(app="web", key="NEW", change="add", value="1"),
            facts_only(plain(LEVEL="warn", NEW="1")),
        ),
        (),
        (),
        None,
    ),
    (
        "env: a live value comwit set from a plain value is shown as the old one",
        desired(env={"LEVEL": "warn"}),
        observed(live="build-1", ledger=set_by_comwit(LEVEL="info"), env={"LEVEL": "info"}),
        Policy(),
        {},
        (
            SetEnv(app="web", key="LEVEL", change="update", value="warn", old="info"),
            facts_only(plain(LEVEL="warn")),
        ),
        (),
        (),
        None,
    ),
    (
        "env: a live value set by hand, marked secret, or replaced by ${VAR} is not shown",
        desired(env={"A": "new", "B": "new", "C": EnvValue("from-env", sensitive=True)}),
        replace(
            observed(
                live="build-1",
                ledger=set_by_comwit(A="was", B="was", C="was"),
                env={"A": "changed-by-hand", "B": "was", "C": "was"},
            ),
            secret_env=frozenset({"B"}),
        ),
        Policy(),
        {},
        (
            SetEnv(app="web", key="A", change="update", value="new"),
            SetEnv(app="web", key="B", change="update", value="new"),
            SetEnv(app="web", key="C", change="update", value=None, sensitive=True),
            facts_only(plain(A="new", B="new")),
        ),
        (),
        (),
        None,
    ),
    (
        "env: protected app holds deletes back",
        desired(env={"A": "1"}, protect=True),
        observed(live="build-1", ledger=ledger(("build-1", DIGEST_A)), env={"A": "1", "B": "2"}),
        Policy(),
        {},
        (),
        (
            Held(
                action=DeleteEnv(app="web", key="B"),
                reason="app 'web' is protected (protect = true); pass --allow-delete-env B to allow it",
            ),
        ),
        (),
        None,
    ),
    (
        "env: no [env] table leaves live env vars alone",
        desired(env=None),
        observed(live="build-1", ledger=ledger(("build-1", DIGEST_A)), env={"A": "1"}),
        Policy(),
        {},
        (),
        (),
        (),
        None,
    ),
    (
        "drift: live build changed outside comwit",
        desired(),
        observed(
            live="build-1",
            builds=("build-2",),
            ledger=ledger(("build-1", DIGEST_A), ("build-2", DIGEST_B)),
        ),
        Policy(),
        {},
        (),
        (),
        ("live build build-1 was changed outside comwit (comwit last activated build-2)",),
        None,
    ),
]


@pytest.mark.parametrize(
    ("case", "want", "have", "policy", "trees", "actions", "held", "notes", "error"),
    CASES,
    ids=[case[0] for case in CASES],
)
def test_diff(case, want, have, policy, trees, actions, held, notes, error):
    observed_state = ObservedState("demo", {have.name: have} if have else {})
    plan = diff(DesiredState("demo", (want,)), observed_state, policy=policy, trees=trees)
    expected = AppPlan(
        app="web", preconditions=pre(have), actions=actions, held=held, notes=notes, error=error
    )
    assert plan == Plan(project="demo", apps=(expected,))


def test_full_ordering_inside_an_app():
    want = desired(hosts=("new.example.com",), env={"A": "1"})
    have = observed(hosts={"old.example.com": "pending_dns"}, env={})
    plan = diff(DesiredState("demo", (want,)), ObservedState("demo", {"web": have}))
    assert [a.id for a in plan.apps[0].actions] == [
        "web/env/A/set",
        "web/deploy",
        "web/ledger",
        "web/hosts/new.example.com/attach",
        "web/hosts/old.example.com/detach",
    ]


def test_apps_are_sorted_and_unmanaged_apps_listed_not_touched():
    have = {"zeta": observed("zeta"), "other": observed("other")}
    plan = diff(
        DesiredState("demo", (desired("zeta"), desired("alpha"))),
        ObservedState("demo", have, unmanaged=("other",)),
    )
    assert [app.app for app in plan.apps] == ["alpha", "zeta"]
    assert plan.unmanaged == ("other",)


def test_summary_counts_each_kind_and_unchanged_apps():
    same = observed("same", live="build-1", ledger=ledger(("build-1", DIGEST_A)))
    plan = diff(
        DesiredState("demo", (desired("new", hosts=("a.example.com",)), desired("same"))),
        ObservedState("demo", {"same": same}),
    )
    assert plan.summary == Summary(create=1, upload=1, attach=1, unchanged=1)
    assert plan.has_changes


def test_empty_plan_has_no_changes():
    same = observed(live="build-1", ledger=ledger(("build-1", DIGEST_A)))
    plan = diff(DesiredState("demo", (desired(),)), ObservedState("demo", {"web": same}))
    assert not plan.has_changes
    assert plan.summary == Summary(unchanged=1)


def test_options_on_a_pinned_build_are_called_out():
    plan = diff(
        DesiredState("demo", (desired(pin="build-1", options=OPTS),)),
        ObservedState("demo", {"web": observed(live="build-1")}),
    )
    assert plan.apps[0].notes == (
        "env_ref and max_concurrent_requests do not apply to a pinned build: "
        "it keeps the options it was deployed with",
    )
