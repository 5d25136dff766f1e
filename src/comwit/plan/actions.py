"""The plan: a closed set of small frozen actions, grouped per app, in execution order.

`plan` renders these values and `apply` executes them; both dispatch with `match` and
`assert_never`, so an action that one of them does not handle fails the type check.
"""

from typing import Annotated, Literal, assert_never, cast

from pydantic import BaseModel, ConfigDict, Field, computed_field

from comwit.artifact.tree import TreeChanges
from comwit.plan.ledger import AppFacts, PreviewOf
from comwit.plan.state import DnsMode, Options

FORMAT_VERSION = 1

DeployReason = Literal[
    "new_app", "first_build", "unknown_content", "content_changed", "options_changed"
]


# Every value's config. A shared base class carrying it would be one more model that pydantic
# builds (a schema, a validator and a serializer) at import, used by nothing.
_FROZEN = ConfigDict(frozen=True, extra="forbid")


class OptionChange(BaseModel):
    model_config = _FROZEN

    name: str
    old: str | int | None
    new: str | int | None


class _Action(BaseModel):
    """Fields every action has; `id` and `destructive` are derived and appear in JSON."""

    model_config = _FROZEN

    app: str

    @computed_field  # type: ignore[prop-decorator]
    @property
    def id(self) -> str:
        """Stable: the same change in two plans has the same id."""
        return action_id(cast(AnyAction, self))

    @computed_field  # type: ignore[prop-decorator]
    @property
    def destructive(self) -> bool:
        return isinstance(self, DetachHost | DeleteEnv | DeleteApp)


class CreateApp(_Action):
    type: Literal["create_app"] = "create_app"


class SetEnv(_Action):
    type: Literal["set_env"] = "set_env"
    key: str
    change: Literal["add", "update"]
    value: str | None  # None when sensitive: never stored, shown or saved
    sensitive: bool = False
    # The live value, only when it is one comwit set from a plain manifest value (the
    # ledger's fingerprint says so) and the new value is plain too: a live value that may
    # have come from ${VAR}, or that the API marks secret, is never carried.
    old: str | None = None


class DeleteEnv(_Action):
    type: Literal["delete_env"] = "delete_env"
    key: str


class Deploy(_Action):
    """Pack the build dir, upload it, and make it the live build."""

    type: Literal["deploy"] = "deploy"
    build_dir: str  # relative to the manifest's directory, POSIX: plans move between checkouts
    digest: str
    reason: DeployReason
    options: Options = Options()
    exclude: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()  # hostnames already bound, passed along with the deploy
    live_build: str | None = None
    old_digest: str | None = None
    option_changes: tuple[OptionChange, ...] = ()
    tree_changes: TreeChanges | None = None
    size: int = 0  # total bytes of the files to pack


class Activate(_Action):
    """Make an existing build live again (the rollback route): no upload."""

    type: Literal["activate"] = "activate"
    build_id: str
    reason: Literal["pinned", "matches_existing", "rollback"]
    digest: str | None = None  # what the ledger knows the build holds
    options: Options = Options()
    live_build: str | None = None


class RecordLedger(_Action):
    """Record what the build just deployed or activated holds, and the app's facts.

    With `build` false, only the facts: the app changed, but not its live build.
    """

    type: Literal["record_ledger"] = "record_ledger"
    digest: str | None  # None: a pinned build whose content the ledger does not know
    options: Options = Options()
    exclude: tuple[str, ...] = ()
    facts: AppFacts | None = None  # None: keep the facts the ledger has
    build: bool = True
    adopt: str | None = None  # a live build that a run which died uploaded: record it as is
    preview: PreviewOf | None = None  # mark the app as comwit's preview (renewed each deploy)


class AttachHost(_Action):
    type: Literal["attach_host"] = "attach_host"
    host: str
    dns_mode: DnsMode = "external_records"
    moves_from: str | None = None  # the app of this plan that detaches it first


class FinalizeHost(_Action):
    type: Literal["finalize_host"] = "finalize_host"
    host: str


class DetachHost(_Action):
    type: Literal["detach_host"] = "detach_host"
    host: str
    moves_to: str | None = None  # the app of this plan that attaches it next


class DeleteApp(_Action):
    """Delete a preview app with its builds, hostnames and env vars (only apps whose ledger
    marks them as comwit's previews)."""

    type: Literal["delete_app"] = "delete_app"
    app_id: str
    base: str  # the manifest app it previewed
    pr: int
    deployed_ms: int  # its last deploy, from the mark


AnyAction = (
    CreateApp
    | SetEnv
    | DeleteEnv
    | Deploy
    | Activate
    | RecordLedger
    | AttachHost
    | FinalizeHost
    | DetachHost
    | DeleteApp
)
Action = Annotated[AnyAction, Field(discriminator="type")]


class Held(BaseModel):
    """A destructive action the policy held back, and how to let it through."""

    model_config = _FROZEN

    action: Action
    reason: str


class Preconditions(BaseModel):
    """What the plan read for an app; a saved plan is stale for the app if this changed."""

    model_config = _FROZEN

    exists: bool
    app_id: str | None = None
    active_build_id: str | None = None
    hosts: tuple[tuple[str, str], ...] = ()  # (hostname, status)
    env_keys: tuple[str, ...] = ()


class AppPlan(BaseModel):
    model_config = _FROZEN

    app: str
    preconditions: Preconditions
    actions: tuple[Action, ...] = ()
    held: tuple[Held, ...] = ()
    notes: tuple[str, ...] = ()
    error: str | None = None
    skip: str | None = None  # why apply will skip this app (its live build is newer)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def changed(self) -> bool:
        return bool(self.actions)


class Summary(BaseModel):
    model_config = _FROZEN

    create: int = 0
    upload: int = 0
    roll_back: int = 0
    attach: int = 0
    finalize: int = 0
    detach: int = 0
    env_set: int = 0
    env_delete: int = 0
    delete_app: int = 0
    held: int = 0
    skipped: int = 0
    unchanged: int = 0
    errors: int = 0


class Plan(BaseModel):
    model_config = _FROZEN

    project: str
    environment: str | None = None
    apps: tuple[AppPlan, ...] = ()
    unmanaged: tuple[str, ...] = ()  # live apps the manifest does not name: left alone
    not_selected: tuple[str, ...] = ()  # manifest apps --app / --exclude-app left out
    subject: Literal["manifest", "previews"] = "manifest"  # previews: `preview down | prune`
    shard: str | None = None  # "2/4": one shard of a saved plan (`apply --shard`)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def has_changes(self) -> bool:
        return any(app.changed for app in self.apps)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def has_errors(self) -> bool:
        return any(app.error for app in self.apps)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def summary(self) -> Summary:
        counts: dict[str, int] = {}
        for app in self.apps:
            for action in app.actions:
                kind = summary_field(action)
                if kind:
                    counts[kind] = counts.get(kind, 0) + 1
        return Summary(
            **counts,
            held=sum(len(app.held) for app in self.apps),
            skipped=sum(1 for app in self.apps if app.skip and app.changed),
            unchanged=sum(1 for app in self.apps if not (app.changed or app.error or app.held)),
            errors=sum(1 for app in self.apps if app.error),
        )


def dns_waits(plan: Plan) -> tuple[str, ...]:
    """The hostnames the plan would only try to finalize: they wait for their DNS records."""
    return tuple(
        action.host
        for app in plan.apps
        for action in app.actions
        if isinstance(action, FinalizeHost)
    )


def changes_beyond_dns(plan: Plan) -> bool:
    """Whether the plan changes anything but hostnames waiting for their DNS records, which
    only the user's DNS provider can move on."""
    return any(not isinstance(a, FinalizeHost) for app in plan.apps for a in app.actions)


def summary_field(action: Action) -> str | None:
    """Which Summary count an action adds to (RecordLedger is bookkeeping: none)."""
    match action:
        case CreateApp():
            return "create"
        case SetEnv():
            return "env_set"
        case DeleteEnv():
            return "env_delete"
        case Deploy():
            return "upload"
        case Activate():
            return "roll_back"
        case RecordLedger():
            return None
        case AttachHost():
            return "attach"
        case FinalizeHost():
            return "finalize"
        case DetachHost():
            return "detach"
        case DeleteApp():
            return "delete_app"
        case _:
            assert_never(action)


def action_id(action: Action) -> str:
    """A stable id: the same change in two plans has the same id."""
    match action:
        case CreateApp(app=app):
            return f"{app}/create"
        case SetEnv(app=app, key=key):
            return f"{app}/env/{key}/set"
        case DeleteEnv(app=app, key=key):
            return f"{app}/env/{key}/delete"
        case Deploy(app=app):
            return f"{app}/deploy"
        case Activate(app=app):
            return f"{app}/activate"
        case RecordLedger(app=app):
            return f"{app}/ledger"
        case AttachHost(app=app, host=host):
            return f"{app}/hosts/{host}/attach"
        case FinalizeHost(app=app, host=host):
            return f"{app}/hosts/{host}/finalize"
        case DetachHost(app=app, host=host):
            return f"{app}/hosts/{host}/detach"
        case DeleteApp(app=app):
            return f"{app}/delete"
        case _:
            assert_never(action)
