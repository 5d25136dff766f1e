"""Conformance: the real `ComwitClient` against the emulator over loopback HTTP.

Every route the client speaks, and every error class it raises for an answer (or for the
lack of one). A server that answers 2xx with an unreadable body (`ApiResponseError`) is the
one case a faithful emulator cannot produce; the client's own tests cover it.
"""

import asyncio

import httpx
import pytest

from comwit import errors
from comwit.api.client import ComwitClient
from comwit.api.retry import NO_RETRY, RetryPolicy
from comwit.artifact.pack import pack
from comwit.emulator.server import serve_in_thread
from comwit.secret import Secret

from tests.emulator_support import ALL_SCOPES, PROJECT, gnu_tar_zst

HOST = "www.example.com"


async def _no_wait(seconds):
    del seconds


def _run(url, token, scenario, **options):
    """Run `scenario(api)` with a fresh client; retries wait no real time."""

    async def main():
        async with ComwitClient(url, Secret(token), sleep=_no_wait, **options) as api:
            return await scenario(api)

    return asyncio.run(main())


@pytest.fixture
def call(emulator, emulator_token):
    return lambda scenario, **options: _run(emulator.url, emulator_token, scenario, **options)


@pytest.fixture
def admin(emulator):
    with httpx.Client(base_url=f"{emulator.url}/_emulator") as http:
        yield http


@pytest.fixture
def artifact(tmp_path):
    return gnu_tar_zst(tmp_path)


@pytest.fixture
def app_id(call):
    return call(lambda api: api.create_app(PROJECT, "web")).app_id


# -- every route ------------------------------------------------------------------------


def test_health_readiness_and_spec(call):
    async def scenario(api):
        return await api.healthz(), await api.readyz(), await api.openapi()

    alive, ready, spec = call(scenario)
    assert alive and ready
    assert "/v1/projects/{project_id}/apps" in spec["paths"]


def test_projects_and_apps(call):
    async def scenario(api):
        created = await api.create_app(PROJECT, "web")
        return created, await api.list_projects(), await api.list_apps(PROJECT), created.app_id

    created, projects, apps, app_id = call(scenario)
    assert [p.project_id for p in projects] == [PROJECT]
    assert apps == (created,)
    assert created.active_build_id is None
    assert call(lambda api: api.get_app(PROJECT, app_id)) == created


def test_deploy_with_every_option_then_builds_and_rollback(call, app_id, artifact):
    sent = []

    async def scenario(api):
        first = await api.deploy(
            PROJECT, app_id, artifact, hosts=[HOST], env_ref="brrrd/env/app",
            max_concurrent_requests=5, progress=sent.append,
        )  # fmt: skip
        second = await api.deploy(PROJECT, app_id, artifact)
        builds = await api.list_builds(PROJECT, app_id)
        rolled = await api.rollback(PROJECT, app_id, first.build_id)
        return first, second, builds, rolled, await api.get_app(PROJECT, app_id)

    first, second, builds, rolled, app = call(scenario)
    assert first.hosts == (HOST,)
    assert first.uploaded
    assert sent[-1] == artifact.stat().st_size
    assert [b.build_id for b in builds] == [second.build_id, first.build_id]
    assert builds[0].artifact_size == artifact.stat().st_size
    assert (rolled.app_id, rolled.build_id) == (app_id, first.build_id)
    assert app.active_build_id == first.build_id


def test_comwits_own_packed_artifacts_are_accepted(call, app_id, tmp_path):
    build = tmp_path / "site"
    (build / "sub").mkdir(parents=True)
    (build / "index.html").write_text("hi")
    (build / "sub" / "x.js").write_text("1")
    (build / "link").symlink_to("index.html")
    packed = pack(build, tmp_path / "site.tar.zst")
    result = call(lambda api: api.deploy(PROJECT, app_id, packed.path))
    assert result.build_id.startswith("build-")


def test_hostnames_attach_finalize_once_published_and_detach(call, app_id, admin):
    async def attach(api):
        return await api.attach_domain(PROJECT, app_id, HOST)

    attached = call(attach)
    call(lambda api: api.create_project_domain(PROJECT, "example.com"))
    assert attached.status == "pending_dns"
    assert {r.record_type for r in attached.dns_records} == {"CNAME", "TXT"}
    admin.post(f"/dns/{HOST}/publish")

    admin.post("/project-domains/example.com/delegate").raise_for_status()

    async def finish(api):
        managed = await api.attach_domain(
            PROJECT, app_id, "m.example.com", "managed_project_domain"
        )
        final = await api.finalize_domain(PROJECT, app_id, HOST)
        listed = await api.list_domains(PROJECT, app_id)
        return managed, final, listed, await api.detach_domain(PROJECT, app_id, HOST)

    managed, final, listed, detached = call(finish)
    assert managed.status == "active"
    assert final.status == "active"
    assert [(d.domain, d.status) for d in listed] == [("m.example.com", "active"), (HOST, "active")]
    assert detached.status == "detached"


def test_environment_variables(call, app_id):
    async def scenario(api):
        put = await api.put_env(PROJECT, app_id, "GREETING", "hello")
        await api.put_env(PROJECT, app_id, "A_FIRST", "1")
        await api.delete_env(PROJECT, app_id, "A_FIRST")
        return put, await api.list_env(PROJECT, app_id)

    put, variables = call(scenario)
    assert (put.key, put.secret) == ("GREETING", False)
    assert [(v.key, v.value) for v in variables] == [("GREETING", "hello")]


def test_delete_repeats_until_complete(call, app_id, artifact, admin):
    call(lambda api: api.deploy(PROJECT, app_id, artifact, hosts=[HOST]))
    admin.delete("/stats")

    async def scenario(api):
        return await api.delete_app(PROJECT, app_id), await api.list_apps(PROJECT)

    report, apps = call(scenario)
    assert report.complete
    assert apps == ()
    assert (
        admin.get("/stats").json()["requests"]["DELETE /v1/projects/{project_id}/apps/{app_id}"]
        == 2
    )


# -- every error class ------------------------------------------------------------------


def _raises(call, scenario, error, **options):
    with pytest.raises(error) as caught:
        call(scenario, **options)
    return caught.value


def test_an_unknown_token_is_unauthorized(emulator):
    error = _raises(
        lambda s: _run(emulator.url, "cwt_" + "0" * 40, s), lambda api: api.list_projects(),
        errors.UnauthorizedError,
    )  # fmt: skip
    assert error.status == 401
    assert error.code == "unauthenticated"


def test_a_missing_scope_and_a_foreign_project_are_forbidden(emulator, call):
    reader = emulator.issue_token(["app:read"], [PROJECT])
    missing = _raises(
        lambda s: _run(emulator.url, reader, s), lambda api: api.create_app(PROJECT, "web"),
        errors.ForbiddenError,
    )  # fmt: skip
    emulator.issue_token(ALL_SCOPES, ["theirs"])
    foreign = _raises(call, lambda api: api.list_apps("theirs"), errors.ForbiddenError)
    assert (missing.code, foreign.code) == ("missing_scope", "not_a_member")


@pytest.mark.parametrize(
    ("scenario", "code"),
    [
        (lambda api, app: api.get_app(PROJECT, "app-000000000000"), "app_not_found"),
        (lambda api, app: api.list_apps("nowhere"), "project_not_found"),
        (lambda api, app: api.rollback(PROJECT, app, "build-000000000000"), "build_not_found"),
        (lambda api, app: api.detach_domain(PROJECT, app, "x.example.com"), "domain_not_found"),
        (lambda api, app: api.delete_env(PROJECT, app, "UNSET"), "variable_not_found"),
    ],
)
def test_missing_things_are_not_found(call, app_id, scenario, code):
    error = _raises(call, lambda api: scenario(api, app_id), errors.NotFoundError)
    assert error.code == code


@pytest.mark.parametrize(
    ("scenario", "code"),
    [
        (lambda api, app, bad: api.put_env(PROJECT, app, "K", "v", secret=True), "secret_disabled"),
        (lambda api, app, bad: api.put_env(PROJECT, app, "1K", "v"), "invalid_variable_key"),
        (lambda api, app, bad: api.create_app(PROJECT, "Not_A_Name"), "invalid_app_name"),
        (lambda api, app, bad: api.deploy(PROJECT, app, bad), "invalid_artifact"),
        (lambda api, app, bad: api.attach_domain(PROJECT, app, "not a host"), "invalid_hostname"),
    ],
)
def test_bad_input_is_a_bad_request(call, app_id, tmp_path, scenario, code):
    garbage = tmp_path / "garbage.tar.zst"
    garbage.write_bytes(b"not an archive")
    error = _raises(call, lambda api: scenario(api, app_id, garbage), errors.BadRequestError)
    assert error.code == code


def test_conflicts_are_conflicts(call, app_id):
    async def other_app_takes_the_hostname(api):
        await api.attach_domain(PROJECT, app_id, HOST)
        other = await api.create_app(PROJECT, "other")
        await api.attach_domain(PROJECT, other.app_id, HOST)

    taken = _raises(call, other_app_takes_the_hostname, errors.ConflictError)
    early = _raises(
        call, lambda api: api.finalize_domain(PROJECT, app_id, HOST), errors.ConflictError
    )
    twice = _raises(call, lambda api: api.create_app(PROJECT, "web"), errors.ConflictError)
    assert (taken.code, early.code, twice.code) == (
        "domain_taken",
        "dns_not_published",
        "app_exists",
    )


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (501, errors.FeatureDisabledError),
        (502, errors.UpstreamError),
        (500, errors.UnexpectedStatusError),
        (503, errors.UnexpectedStatusError),
    ],
)
def test_injected_statuses_map_to_their_classes(call, admin, status, error):
    admin.post("/faults/fail", json={"route": "list_projects", "status": status, "count": 9})
    raised = _raises(call, lambda api: api.list_projects(), error, retry=NO_RETRY)
    assert raised.status == status


def test_not_ready_is_false_not_an_error(call, admin):
    admin.post("/faults/fail", json={"route": "readyz", "status": 503})
    assert call(lambda api: api.readyz()) is False


def test_reads_are_retried_through_502s_and_deploys_are_not(call, admin, app_id, artifact):
    admin.post("/faults/fail", json={"route": "list_apps", "count": 2})
    admin.post("/faults/fail", json={"route": "deploy", "count": 1})
    admin.delete("/stats")
    assert len(call(lambda api: api.list_apps(PROJECT))) == 1
    _raises(call, lambda api: api.deploy(PROJECT, app_id, artifact), errors.UpstreamError)
    requests = admin.get("/stats").json()["requests"]
    assert requests["GET /v1/projects/{project_id}/apps"] == 3
    assert requests["POST /v1/projects/{project_id}/apps/{app_id}/deployments"] == 1


def test_a_dropped_connection_before_processing(call, admin):
    admin.post("/faults/drop", json={"route": "list_projects"})
    _raises(call, lambda api: api.list_projects(), errors.ConnectionDroppedError, retry=NO_RETRY)


def test_a_dropped_answer_after_the_upload_was_accepted_leaves_the_build(
    call, admin, app_id, artifact
):
    admin.post("/faults/drop", json={"route": "deploy", "when": "after"})
    error = _raises(
        call, lambda api: api.deploy(PROJECT, app_id, artifact), errors.ConnectionDroppedError
    )
    builds = call(lambda api: api.list_builds(PROJECT, app_id))
    app = call(lambda api: api.get_app(PROJECT, app_id))
    assert len(builds) == 1
    assert app.active_build_id == builds[0].build_id
    assert "may or may not have taken effect" in str(error)


def test_a_slow_answer_times_out(call, admin):
    admin.post("/faults/latency", json={"ms": 700, "route": "list_projects"})
    _raises(
        call, lambda api: api.list_projects(), errors.ApiTimeoutError, retry=NO_RETRY, timeout=0.2
    )


def test_a_closed_port_fails_to_connect(tmp_path):
    with serve_in_thread(tmp_path / "gone") as emulator:
        url = emulator.url
    error = _raises(
        lambda s, **o: _run(url, "cwt_00", s, **o), lambda api: api.list_projects(),
        errors.ConnectFailedError, retry=NO_RETRY,
    )  # fmt: skip
    assert "cwt_00" not in str(error)


def test_tls_to_a_plain_http_port_is_a_tls_error(emulator, emulator_token):
    url = emulator.url.replace("http://", "https://")
    _raises(
        lambda s, **o: _run(url, emulator_token, s, **o), lambda api: api.list_projects(),
        errors.TlsError, retry=NO_RETRY,
    )  # fmt: skip


def test_retry_budget_is_bounded_against_a_failing_server(call, admin):
    admin.post("/faults/fail", json={"route": "list_projects", "count": 50})
    admin.delete("/stats")
    policy = RetryPolicy(attempts=3)
    _raises(call, lambda api: api.list_projects(), errors.UpstreamError, retry=policy)
    assert admin.get("/stats").json()["total"] == 3
