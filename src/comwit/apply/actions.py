"""One handler per action type. Non-idempotent calls (create, deploy, rollback) are sent once;
when their answer is lost, the handler re-reads the app to learn what happened."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import field
from pathlib import Path
from typing import assert_never

from comwit.api.assumed import DOMAIN_ACTIVE
from comwit.api.client import ComwitClient
from comwit.api.models import DnsRecord
from comwit.apply.handoff import Handoffs
from comwit.apply.holder import conflict_message, find_holder
from comwit.apply.reporter import Reporter
from comwit.apply.result import DnsRecordToPublish, Outcome, Status, live_url
from comwit.apply.stop import Stop
from comwit.artifact.pack import pack
from comwit.artifact.stat_cache import StatCache, stat_cache_dir
from comwit.errors import (
    ApiError,
    ApiTransportError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    StalePlanError,
    UpstreamError,
)
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
    RecordLedger,
    SetEnv,
)
from comwit.plan.ledger import AppLedger, RememberDnsRecords, SourceCommit
from comwit.plan.ledger import DnsRecord as LedgerDnsRecord
from comwit.plan.recording import Recording
from comwit.plan.state import ObservedApp
from comwit.render.describe import describe, short
from comwit.store.ledger import LedgerStore


@frozen
class Artifact:
    """A packed build dir, waiting in the run's work dir to be uploaded."""

    path: Path
    size: int  # bytes of the .tar.zst


@frozen
class Prepared:
    """Everything one app's handlers read, complete before its first mutation: what was
    observed, the resolved env values, and the packed artifact of its deploy."""

    app_id: str | None  # None: the plan's CreateApp makes it
    live_before: str | None = None
    known_builds: frozenset[str] = frozenset()
    ledger: AppLedger = field(default_factory=AppLedger)
    values: Mapping[str, str] = field(default_factory=dict)  # resolved env values
    keep: int = 50
    now_ms: int = 0
    artifact: Artifact | None = None
    default_url: str | None = None  # the API's URL of the app, when it gives one
    active_hosts: frozenset[str] = frozenset()  # hostnames active when observed


def prepared(
    observed: ObservedApp | None,
    *,
    values: Mapping[str, str],
    keep: int,
    now_ms: int,
    artifact: Artifact | None,
) -> Prepared:
    """The handlers' inputs for an app as `observed` (None: it does not exist yet)."""
    if observed is None:
        return Prepared(app_id=None, values=values, keep=keep, now_ms=now_ms, artifact=artifact)
    return Prepared(
        app_id=observed.app_id,
        live_before=observed.active_build_id,
        known_builds=frozenset(b.build_id for b in observed.builds),
        ledger=observed.ledger,
        values=values,
        keep=keep,
        now_ms=now_ms,
        artifact=artifact,
        default_url=observed.default_url,
        active_hosts=frozenset(h.name for h in observed.hosts if h.status == DOMAIN_ACTIVE),
    )


class Handlers:
    def __init__(
        self,
        client: ComwitClient,
        store: LedgerStore,
        project: str,
        reporter: Reporter,
        app: str,
        handoffs: Handoffs | None = None,
        unslotted: Callable[[Awaitable[bool]], Awaitable[bool]] | None = None,
        source: SourceCommit | None = None,
        stop: Stop | None = None,
    ) -> None:
        self._source = source
        self._stop = stop
        self._handoffs = handoffs
        self._unslotted = unslotted
        self._client = client
        self._store = store
        self._project = project
        self._reporter = reporter
        self._app = app
        self._steps: list[str] = []
        self._pending: list[str] = []
        self._records: list[DnsRecordToPublish] = []
        self._warnings: list[str] = []
        self._uploaded = 0
        self._build_id: str | None = None  # the build this run made live
        self._created: str | None = None  # the app id, when this run created the app
        self._ctx: Prepared | None = None
        self._default_url: str | None = None  # from the create answer, when this run created it
        self._active: set[str] | None = None  # active hostnames as this run leaves them
        self._deleted = False

    def outcome(self, status: Status, detail: str = "") -> Outcome:
        """What this run did to the app, ending `status`."""
        return Outcome(
            url=self._url(),
            app=self._app,
            status=status,
            detail=detail,
            steps=tuple(self._steps),
            pending=tuple(self._pending),
            records=tuple(self._records),
            build_id=self._build_id,
            uploaded=self._uploaded,
            warnings=tuple(self._warnings),
        )

    async def run(self, action: Action, ctx: Prepared) -> None:
        self._ctx = ctx
        match action:
            case CreateApp():
                await self._create(ctx)
            case SetEnv():
                value = action.value if action.value is not None else ctx.values[action.key]
                await self._client.put_env(self._project, self.app_id(ctx), action.key, value)
            case DeleteEnv():
                # A retried DELETE whose first answer was lost finds the key gone: done.
                with contextlib.suppress(NotFoundError):
                    await self._client.delete_env(self._project, self.app_id(ctx), action.key)
            case Deploy():
                await self._deploy(action, ctx)
            case Activate():
                await self._activate(action, ctx)
            case RecordLedger():
                await self._record(action, ctx)
                return  # bookkeeping, not a step the user asked for
            case AttachHost():
                await self._attach(action, ctx)
                return
            case FinalizeHost():
                await self._finalize(action.host, ctx)
                return
            case DetachHost():
                await self._detach(action, ctx)
            case DeleteApp():
                await self._delete(action)
            case _:
                assert_never(action)
        self._step(describe(action).text)

    async def pack(self, deploy: Deploy, root: Path, out: Path, level: int) -> Artifact:
        """Pack before any mutation; a build dir that changed since the plan makes it stale."""
        transfer = self._reporter.transfer(self._app, "packing", deploy.size)
        done = 0

        def advance(n: int) -> None:
            nonlocal done
            if self._stop is not None:
                self._stop.check()  # a stop while packing ends it (the partial file is removed)
            done += n
            transfer.advance(done)

        build_dir = root / deploy.build_dir
        packed = await asyncio.to_thread(
            pack,
            build_dir,
            out,
            exclude=deploy.exclude,
            level=level,
            progress=advance,
            cache=StatCache.blank(stat_cache_dir(root), build_dir),
        )
        transfer.finish(packed.size)
        if packed.tree.digest != deploy.digest:
            packed.path.unlink(missing_ok=True)
            raise StalePlanError(
                f"build dir {deploy.build_dir} changed since the plan "
                f"({short(deploy.digest)} planned, {short(packed.tree.digest)} now); plan again"
            )
        return Artifact(packed.path, packed.size)

    async def _create(self, ctx: Prepared) -> None:
        try:
            app = await self._client.create_app(self._project, self._app)
        except (ApiTransportError, ConflictError):
            # The create went through but its answer was lost, or the app appeared since
            # the plan: use it if it is there now.
            listed = {a.name: a for a in await self._client.list_apps(self._project)}
            if self._app not in listed:
                raise
            app = listed[self._app]
        self._created = app.app_id
        self._default_url = app.default_url

    async def _deploy(self, action: Deploy, ctx: Prepared) -> None:
        artifact = ctx.artifact
        assert artifact is not None, "a deploy's build dir is packed before anything else"
        transfer = self._reporter.transfer(self._app, "uploading", artifact.size)
        try:
            result = await self._client.deploy(
                self._project,
                self.app_id(ctx),
                artifact.path,
                hosts=action.hosts,
                env_ref=action.options.env_ref,
                max_concurrent_requests=action.options.max_concurrent_requests,
                progress=transfer.advance,
            )
            build_id = result.build_id
        except (ApiTransportError, UpstreamError) as exc:
            # The upload may have been accepted all the same: look before failing.
            adopted = await self._adopt(ctx)
            if adopted is None:
                raise ApiError(
                    f"{exc}; no new build appeared, so nothing was deployed: run apply again",
                    method=exc.method,
                    path=exc.path,
                ) from exc
            build_id = adopted
            self._step(f"the upload's answer was lost; adopted build {adopted} that it created")
        finally:
            artifact.path.unlink(missing_ok=True)  # uploaded or not, its disk space goes back
        transfer.finish(artifact.size)
        self._uploaded += artifact.size
        self._build_id = build_id

    async def _adopt(self, ctx: Prepared) -> str | None:
        """The build an upload whose answer was lost created: a new live build of the
        artifact's size (or of unknown size, when it is the only new build)."""
        app = await self._client.find_app(self._project, self.app_id(ctx))
        active = app.active_build_id if app else None
        if active is None or active == ctx.live_before or active in ctx.known_builds:
            return None
        builds = await self._client.list_builds(self._project, self.app_id(ctx))
        new = [b for b in builds if b.build_id not in ctx.known_builds]
        build = next((b for b in new if b.build_id == active), None)
        size = ctx.artifact.size if ctx.artifact is not None else None
        if build is None or build.artifact_size not in (size, None):
            return None
        if build.artifact_size is None:
            if len(new) != 1:
                return None
            self.warn(f"adopted build {active} without checking its size (the API did not say it)")
        return active

    async def _activate(self, action: Activate, ctx: Prepared) -> None:
        try:
            await self._client.rollback(self._project, self.app_id(ctx), action.build_id)
        except ApiTransportError:
            app = await self._client.find_app(self._project, self.app_id(ctx))
            if app is None or app.active_build_id != action.build_id:
                raise
        self._build_id = action.build_id

    async def _record(self, action: RecordLedger, ctx: Prepared) -> None:
        build_id = self._build_id or action.adopt
        if action.build and build_id is None:
            return
        existing = await self._existing_builds(ctx) if action.build else None
        change = Recording(action, build_id, ctx.now_ms, ctx.keep, self._source, existing)

        what = f"what build {build_id} holds" if action.build else "the app's settings"
        try:
            await self._store.update(self._app, self.app_id(ctx), change)
        except ForbiddenError:
            then = (
                "the next plan will upload this content again"
                if action.build
                else "`comwit import` will not know them"
            )
            self.warn(f"could not record {what}: the token lacks the app:write scope; {then}")
        except (ApiError, OSError, ValueError, TypeError) as exc:
            self.warn(f"could not record {what} ({exc})")

    async def _remember_records(
        self, host: str, records: tuple[DnsRecord, ...], ctx: Prepared
    ) -> None:
        """Keep the records in the ledger: no read route answers them again (`comwit dns`)."""
        kept = tuple(LedgerDnsRecord(r.record_type, r.name, r.value) for r in records)
        try:
            await self._store.update(self._app, self.app_id(ctx), RememberDnsRecords(host, kept))
        except (ApiError, OSError, ValueError, TypeError) as exc:
            self.warn(f"could not keep the DNS records of {host} for `comwit dns` ({exc})")

    async def _existing_builds(self, ctx: Prepared) -> frozenset[str] | None:
        """The app's builds now (the ledger drops builds deleted at the API); None: unknown.
        Read now, not at plan time: another run may have deployed one since."""
        try:
            builds = await self._client.list_builds(self._project, self.app_id(ctx))
        except ApiError:
            return None
        return frozenset(b.build_id for b in builds)

    async def _attach(self, action: AttachHost, ctx: Prepared) -> None:
        if self._handoffs is not None and action.moves_from:
            await self._handoffs.wait(action, self._unslotted or _direct)
        try:
            attached = await self._client.attach_domain(
                self._project, self.app_id(ctx), action.host, action.dns_mode
            )
        except ConflictError as exc:
            holder = await find_holder(self._client, self._project, action.host)
            message = conflict_message(
                self._app, action.host, self._project, holder, exc.detail or exc.title
            )
            raise ApiError(message, method=exc.method, path=exc.path) from exc
        self._step(describe(action).text)
        if attached.status != DOMAIN_ACTIVE:
            await self._finalize(action.host, ctx, records=attached.dns_records)
        else:
            self._active_hosts(ctx).add(action.host)

    async def _delete(self, action: DeleteApp) -> None:
        """The client repeats the DELETE until the API reports the app completely gone."""
        with contextlib.suppress(NotFoundError):  # a lost answer, or another run deleted it
            await self._client.delete_app(self._project, action.app_id)
        self._deleted = True

    async def _detach(self, action: DetachHost, ctx: Prepared) -> None:
        # A retried DELETE whose first answer was lost, or a detach another run did: gone.
        with contextlib.suppress(NotFoundError):
            await self._client.detach_domain(self._project, self.app_id(ctx), action.host)
        self._active_hosts(ctx).discard(action.host)
        if self._handoffs is not None and action.moves_to:
            self._handoffs.freed(action.host)

    async def _finalize(
        self, host: str, ctx: Prepared, records: tuple[DnsRecord, ...] = ()
    ) -> None:
        """Finalize; records not in place yet (409) leave the hostname pending, not failed."""
        try:
            await self._client.finalize_domain(self._project, self.app_id(ctx), host)
        except ConflictError:
            self._pending.append(host)
            self._records += [
                DnsRecordToPublish(host, r.record_type, r.name, r.value) for r in records
            ]
            self._step(f"hostname {host} is waiting for its DNS records")
            if records:
                await self._remember_records(host, records, ctx)
            return
        self._active_hosts(ctx).add(host)
        self._step(f"finalize hostname {host}: active")

    def _step(self, text: str) -> None:
        self._steps.append(text)
        self._reporter.step(self._app, text)

    def note(self, text: str) -> None:
        """A step of the app's run that is no action of its plan."""
        self._step(text)

    def warn(self, text: str) -> None:
        self._warnings.append(text)

    def _active_hosts(self, ctx: Prepared) -> set[str]:
        if self._active is None:
            self._active = set(ctx.active_hosts)
        return self._active

    def _url(self) -> str | None:
        """Where the app is live after this run (None: it does not exist)."""
        ctx = self._ctx
        if ctx is None or self._deleted or (ctx.app_id or self._created) is None:
            return None
        return live_url(self._default_url or ctx.default_url, self._active_hosts(ctx))

    def app_id(self, ctx: Prepared) -> str:
        """The app's id: as observed, or as this run created it."""
        app_id = self._created or ctx.app_id
        assert app_id is not None, "the app is created before anything else"
        return app_id


async def _direct(waiting: Awaitable[bool]) -> bool:
    return await waiting
