"""ComwitClient: every route, sent as the contract says and read into frozen models."""

from __future__ import annotations

import asyncio
import json
import tracemalloc

import httpx
import pytest
import respx

from comwit import __version__
from comwit.api.client import ComwitClient
from comwit.api.limits import Deadlines
from comwit.api.models import (
    App,
    AppDeleteReport,
    Build,
    DeployResult,
    DnsRecord,
    Domain,
    DomainAttachment,
    EnvPutResult,
    EnvVar,
    LogQuery,
    Project,
    RollbackResult,
)
from comwit.api.upload import CHUNK_SIZE, stream_chunks
from comwit.errors import ApiError, ApiResponseError, ApiTimeoutError, ArtifactError
from comwit.secret import Secret

BASE = "https://api.test"
TOKEN_VALUE = "cwt_0123456789abcdef"
APP = {"app_id": "app-1", "name": "web", "active_build_id": None, "color": "ignored"}
DOMAIN = {"domain": "a.example.com", "app_id": "app-1", "status": "active"}


@pytest.fixture
def api():
    """Strict: a request no route matches fails the test."""
    return respx.Router(base_url=BASE, assert_all_mocked=True)


def call(router, name, *args, **kwargs):
    """Run one client method against the mocked API; return (result, requests sent)."""

    async def go():
        transport = httpx.MockTransport(router.async_handler)
        async with ComwitClient(BASE, Secret(TOKEN_VALUE), transport=transport) as client:
            result = await getattr(client, name)(*args, **kwargs)
            return result, client.requests_sent

    return asyncio.run(go())


P = "/v1/projects/p1/apps/app-1"
ROUTES = [
    # method, args, verb, path, answer, expected result, expected JSON body
    ("list_projects", (), "GET", "/v1/projects",
     {"projects": [{"project_id": "p1", "name": "Main", "owner": "x"}]},
     (Project(project_id="p1", name="Main"),), None),
    ("list_apps", ("p1",), "GET", "/v1/projects/p1/apps", {"apps": [APP]},
     (App(app_id="app-1", name="web"),), None),
    ("list_apps", ("p1",), "GET", "/v1/projects/p1/apps", {"apps": []}, (), None),
    ("get_app", ("p1", "app-1"), "GET", P,
     {"app": {**APP, "active_build_id": "b1", "default_url": "https://web.example"}},
     App(app_id="app-1", name="web", active_build_id="b1", default_url="https://web.example"),
     None),
    ("create_app", ("p1", "web"), "POST", "/v1/projects/p1/apps", {"app": APP},
     App(app_id="app-1", name="web"), {"name": "web"}),
    ("delete_app", ("p1", "app-1"), "DELETE", P, {"app_id": "app-1", "complete": True, "builds_deleted": 2},
     AppDeleteReport(app_id="app-1", complete=True), None),
    ("list_builds", ("p1", "app-1"), "GET", f"{P}/builds",
     {"builds": [{"build_id": "b1", "created_at": "2024-01-01T00:00:00Z", "artifact_size": 10, "deployed_at_ms": 5}, {"build_id": "b2"}]},
     (Build(build_id="b1", created_at="2024-01-01T00:00:00Z", artifact_size=10, deployed_at_ms=5), Build(build_id="b2")),
     None),
    ("rollback", ("p1", "app-1", "b1"), "POST", f"{P}/rollbacks", {"app_id": "app-1", "build_id": "b1"},
     RollbackResult(app_id="app-1", build_id="b1"), {"build_id": "b1"}),
    ("list_domains", ("p1", "app-1"), "GET", f"{P}/domains", {"domains": [DOMAIN]},
     (Domain(domain="a.example.com", app_id="app-1", status="active"),), None),
    ("attach_domain", ("p1", "app-1", "a.example.com"), "POST", f"{P}/domains",
     {**DOMAIN, "status": "pending_dns", "dns_mode": "external_records",
      "dns_records": [{"record_type": "CNAME", "name": "a.example.com", "value": "edge.comwit.io"}]},
     DomainAttachment(domain="a.example.com", app_id="app-1", status="pending_dns", dns_mode="external_records",
                      dns_records=(DnsRecord(record_type="CNAME", name="a.example.com", value="edge.comwit.io"),)),
     {"domain": "a.example.com", "dns_mode": "external_records"}),
    ("attach_domain", ("p1", "app-1", "a.example.com", "managed_project_domain"), "POST", f"{P}/domains",
     DOMAIN, DomainAttachment(domain="a.example.com", app_id="app-1", status="active"),
     {"domain": "a.example.com", "dns_mode": "managed_project_domain"}),
    ("finalize_domain", ("p1", "app-1", "a.example.com"), "POST", f"{P}/domains/a.example.com/finalize",
     {"domain": DOMAIN}, Domain(domain="a.example.com", app_id="app-1", status="active"), {}),
    ("detach_domain", ("p1", "app-1", "a.example.com"), "DELETE", f"{P}/domains/a.example.com",
     DOMAIN, Domain(domain="a.example.com", app_id="app-1", status="active"), None),
    ("list_env", ("p1", "app-1"), "GET", f"{P}/environment",
     {"variables": [{"key": "A", "value": "1", "secret": False}]},
     (EnvVar(key="A", value="1"),), None),
    ("put_env", ("p1", "app-1", "A", "1"), "PUT", f"{P}/environment/A", {"key": "A", "secret": False},
     EnvPutResult(key="A"), {"value": "1", "secret": False}),
    ("put_env", ("p1", "app-1", "A", "1", True), "PUT", f"{P}/environment/A", {"key": "A", "secret": True},
     EnvPutResult(key="A", secret=True), {"value": "1", "secret": True}),
]  # fmt: skip


@pytest.mark.parametrize(("name", "args", "verb", "path", "answer", "expected", "body"), ROUTES)
def test_each_route_sends_the_contract_request_and_reads_the_answer(
    api, name, args, verb, path, answer, expected, body
):
    route = api.request(verb, path).respond(json=answer)
    result, sent = call(api, name, *args)
    assert result == expected
    assert sent == 1
    request = route.calls.last.request
    assert request.headers["Authorization"] == f"Bearer {TOKEN_VALUE}"
    assert request.headers["User-Agent"] == f"comwit/{__version__}"
    assert (json.loads(request.content) if request.content else None) == body


def test_delete_env_accepts_an_empty_answer(api):
    route = api.delete(f"{P}/environment/A").respond(204)
    assert call(api, "delete_env", "p1", "app-1", "A") == (None, 1)
    assert route.calls.last.request.headers["Authorization"] == f"Bearer {TOKEN_VALUE}"


@pytest.mark.parametrize(
    ("name", "path", "answer", "expected"),
    [
        ("healthz", "/healthz", httpx.Response(200, text="ok"), True),
        ("readyz", "/readyz", httpx.Response(200, json={"status": "ready"}), True),
        ("readyz", "/readyz", httpx.Response(503, json={"title": "not ready"}), False),
        (
            "openapi",
            "/openapi.json",
            httpx.Response(200, json={"openapi": "3.1.0"}),
            {"openapi": "3.1.0"},
        ),
    ],
)
def test_health_and_spec_routes_send_no_token(api, name, path, answer, expected):
    route = api.get(path).mock(return_value=answer)
    assert call(api, name) == (expected, 1)
    assert "Authorization" not in route.calls.last.request.headers


def test_path_segments_are_escaped_slashes_and_dots_included(api):
    route = api.get(url__regex=r".*").respond(json={"variables": []})
    call(api, "list_env", "a/b c", "..")
    assert (
        route.calls.last.request.url.raw_path == b"/v1/projects/a%2Fb%20c/apps/%2E%2E/environment"
    )


def test_an_empty_path_segment_is_refused_before_sending(api):
    with pytest.raises(ValueError, match="empty"):
        call(api, "get_app", "p1", "")


def test_a_path_segment_that_is_not_utf8_is_sent_as_the_bytes_given(api):
    # A command-line value that is not UTF-8 arrives with its bytes kept as surrogates.
    route = api.get(url__regex=r".*").respond(json={"apps": []})
    call(api, "list_apps", "p\udcff")
    assert route.calls.last.request.url.raw_path == b"/v1/projects/p%FF/apps"


@pytest.mark.parametrize(
    ("project", "query", "why"),
    [
        ("p" * 70_000, None, "too long for a URL"),
        ("p1", LogQuery(build_id="b" * 70_000), "too long for a URL"),
        ("p1", LogQuery(since="\udcff"), "not UTF-8 text"),
    ],
)
def test_a_value_that_cannot_go_into_a_request_is_an_api_error_sent_nowhere(
    api, project, query, why
):
    with pytest.raises(ApiError, match=why) as caught:
        call(api, "list_logs", project, "app-1", query)
    assert caught.value.method == "GET"
    assert len(str(caught.value)) < 600
    assert not api.calls


def test_a_base_url_path_prefix_is_kept(api):
    async def go():
        transport = httpx.MockTransport(api.async_handler)
        async with ComwitClient(f"{BASE}/prefix", Secret(TOKEN_VALUE), transport=transport) as c:
            return await c.list_projects()

    api.get("/prefix/v1/projects").respond(json={"projects": []})
    assert asyncio.run(go()) == ()


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        (httpx.Response(200, text="<html>oops</html>"), "the body is not JSON"),
        (httpx.Response(200, json={"apps": [{"name": "web"}]}), "apps.0.app_id: Field required"),
        (httpx.Response(200, json={"apps": "many"}), "apps"),
        (httpx.Response(200), "the body is not JSON"),
    ],
)
def test_a_success_with_an_unreadable_body_is_an_api_response_error(api, answer, problem):
    api.get("/v1/projects/p1/apps").mock(return_value=answer)
    with pytest.raises(ApiResponseError) as caught:
        call(api, "list_apps", "p1")
    assert problem in str(caught.value)
    assert (caught.value.method, caught.value.path) == ("GET", "/v1/projects/p1/apps")


@pytest.mark.parametrize("body", [{"name": "web"}, [APP], {"app": "web"}])
def test_a_missing_or_wrong_envelope_is_an_api_response_error(api, body):
    api.get(P).respond(json=body)
    with pytest.raises(ApiResponseError):
        call(api, "get_app", "p1", "app-1")


def test_the_openapi_document_must_be_an_object(api):
    api.get("/openapi.json").respond(json=["not", "an", "object"])
    with pytest.raises(ApiResponseError, match="not a JSON object"):
        call(api, "openapi")


def test_an_openapi_document_nested_too_deeply_is_an_api_response_error(api):
    """`comwit doctor` said "comwit hit a bug (RecursionError)"."""
    api.get("/openapi.json").respond(content=b"[" * 100_000 + b"]" * 100_000)
    with pytest.raises(ApiResponseError, match="the body is nested too deeply"):
        call(api, "openapi")


# -- deploy -----------------------------------------------------------------------------

DEPLOYED = {"app_id": "app-1", "build_id": "b9", "hosts": ["a.example.com"], "uploaded": True}


def test_deploy_uploads_the_file_with_its_length_and_options(api, tmp_path):
    artifact = tmp_path / "app.tar.zst"
    artifact.write_bytes(b"z" * (CHUNK_SIZE * 2 + 5))
    route = api.post(f"{P}/deployments").respond(json=DEPLOYED)
    seen: list[int] = []
    result, sent = call(
        api, "deploy", "p1", "app-1", artifact,
        hosts=["a.example.com", "b.example.com"], env_ref="brrrd/env/app",
        max_concurrent_requests=50, progress=seen.append,
    )  # fmt: skip
    assert result == DeployResult(app_id="app-1", build_id="b9", hosts=("a.example.com",))
    assert sent == 1
    request = route.calls.last.request
    assert request.headers["Content-Type"] == "application/octet-stream"
    assert request.headers["Content-Length"] == str(CHUNK_SIZE * 2 + 5)
    assert "Transfer-Encoding" not in request.headers
    assert request.content == artifact.read_bytes()
    assert dict(request.url.params) == {
        "hosts": "a.example.com,b.example.com",
        "env_ref": "brrrd/env/app",
        "max_concurrent_requests": "50",
    }
    assert seen == [CHUNK_SIZE, CHUNK_SIZE * 2, CHUNK_SIZE * 2 + 5]


def test_deploy_without_options_sends_no_query(api, tmp_path):
    artifact = tmp_path / "app.tar.zst"
    artifact.write_bytes(b"z")
    route = api.post(f"{P}/deployments").respond(json=DEPLOYED)
    call(api, "deploy", "p1", "app-1", artifact)
    assert route.calls.last.request.url.query == b""


def test_deploy_of_a_missing_artifact_sends_nothing(api, tmp_path):
    with pytest.raises(ArtifactError, match="cannot read the artifact"):
        call(api, "deploy", "p1", "app-1", tmp_path / "missing.tar.zst")


class _DrainingTransport(httpx.AsyncBaseTransport):
    """Reads the upload as a server would, chunk by chunk, keeping none of it."""

    def __init__(self) -> None:
        self.received = 0
        self.largest_chunk = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.AsyncByteStream)
        async for chunk in request.stream:
            self.received += len(chunk)
            self.largest_chunk = max(self.largest_chunk, len(chunk))
        return httpx.Response(200, json=DEPLOYED)


def test_deploy_streams_from_disk_without_holding_the_file_in_memory(tmp_path):
    size = 64 * 1024 * 1024
    artifact = tmp_path / "big.tar.zst"
    with artifact.open("wb") as f:
        f.truncate(size)
    transport = _DrainingTransport()

    async def go():
        async with ComwitClient(BASE, Secret(TOKEN_VALUE), transport=transport) as client:
            return await client.deploy("p1", "app-1", artifact)

    tracemalloc.start()
    try:
        asyncio.run(go())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert transport.received == size
    assert transport.largest_chunk <= CHUNK_SIZE
    assert peak < 8 * CHUNK_SIZE


class _SilentTransport(httpx.AsyncBaseTransport):
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        raise AssertionError("the upload deadline should have passed")


def test_deploy_is_bounded_by_its_overall_deadline(tmp_path):
    artifact = tmp_path / "app.tar.zst"
    artifact.write_bytes(b"")

    async def go():
        client = ComwitClient(BASE, Secret(TOKEN_VALUE), transport=_SilentTransport(), timeout=0.05)
        async with client:
            await client.deploy("p1", "app-1", artifact)

    with pytest.raises(
        ApiTimeoutError, match=r"the 0\.05 s limit for uploading 0 bytes and its answer passed"
    ):
        asyncio.run(go())


def test_an_artifact_that_shrinks_while_uploading_is_an_artifact_error(tmp_path):
    artifact = tmp_path / "app.tar.zst"
    artifact.write_bytes(b"abc")

    async def drain():
        with artifact.open("rb") as file:
            return [chunk async for chunk in stream_chunks(file, 10)]

    with pytest.raises(ArtifactError, match="shrank"):
        asyncio.run(drain())


def test_the_upload_time_limit_grows_with_the_size():
    deadlines = Deadlines(request=30)
    assert deadlines.for_upload(0).seconds == 30
    assert deadlines.for_upload(512 * 1024 * 100).seconds == 130
    assert deadlines.for_upload(1024**3).seconds > 30 * 60
    assert Deadlines(request=30, deploy_answer=600).for_upload(0).seconds == 630


def test_the_client_repr_shows_no_token():
    client = ComwitClient(BASE, Secret(TOKEN_VALUE))
    assert TOKEN_VALUE not in repr(client)
    assert TOKEN_VALUE not in repr(vars(client))
    asyncio.run(client.aclose())


def test_a_plain_http_api_loads_no_ca_bundle_yet_never_skips_certificate_checks():
    import ssl

    from comwit.api.client import _tls

    context = _tls("http://127.0.0.1:8787")
    assert isinstance(context, ssl.SSLContext)
    assert (context.verify_mode, context.check_hostname) == (ssl.CERT_REQUIRED, True)
    assert context.cert_store_stats()["x509_ca"] == 0
    assert _tls("https://api.comwit.example") is True
