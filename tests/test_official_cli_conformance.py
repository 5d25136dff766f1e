"""Conformance with the official CLI: the emulator answers delete, logs, projects and project
domains with exactly the fields and statuses burrr-ai/comwit-cli v0.1.9 reads
(cmd/comwit/main.go, commit dc88dfca7f9b). Each test quotes the source line it checks."""

from __future__ import annotations

from contextlib import contextmanager

import httpx
import pytest

from comwit.emulator.server import serve_in_thread
from comwit.emulator.settings import Settings
from comwit.emulator.store import SCOPES

from tests.emulator_support import PROJECT, gnu_tar_zst

OCTET = {"Content-Type": "application/octet-stream"}
# The json tags of the official CLI's structs, as its source declares them.
APP_DELETE_RESPONSE = {
    "app_id", "complete", "pointer_deleted", "cloudfront_tenants_deleted", "secrets_deleted",
    "artifacts_deleted", "artifacts_present", "env_keys_deleted", "domains_deleted",
    "catalog_deleted", "errors",
}  # fmt: skip
APP_LOG_RECORD = {
    "timestamp", "level", "message", "app_id", "build_id", "route", "request_id", "trace_id",
    "error_class", "error_stack",
}  # fmt: skip
DOMAIN_VIEW = {
    "id", "project_id", "domain", "dns_mode", "status", "hosted_zone_id", "nameservers",
    "delegation", "created_at", "updated_at",
}  # fmt: skip
DELEGATION_VIEW = {"checked_at", "matched", "observed_nameservers"}


@contextmanager
def _emulator(tmp_path, settings=None, scopes=SCOPES):
    """An HTTP client for a loopback emulator with these settings, holding a token."""
    with serve_in_thread(tmp_path / "emulator", settings=settings) as running:
        token = running.issue_token(scopes, [PROJECT])
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=running.url, headers=headers, timeout=10) as http:
            yield http


@pytest.fixture
def http(tmp_path):
    with _emulator(tmp_path) as client:
        yield client


def _app(http, name="web"):
    return http.post(f"/v1/projects/{PROJECT}/apps", json={"name": name}).json()["app"]["app_id"]


def _deploy(http, app_id, artifact, **query):
    path = f"/v1/projects/{PROJECT}/apps/{app_id}/deployments"
    answer = http.post(path, content=artifact.read_bytes(), headers=OCTET, params=query)
    assert answer.status_code == 200, answer.text
    return answer.json()["build_id"]


# -- DELETE .../apps/{a} ------------------------------------------------------------------


def test_delete_report_has_the_official_clis_fields_and_types(http, tmp_path):
    """type appDeleteResponse struct { AppID string `json:"app_id"`; Complete bool
    `json:"complete"`; PointerDeleted bool `json:"pointer_deleted"`;
    CloudFrontTenantsDeleted int `json:"cloudfront_tenants_deleted"`; ...; CatalogDeleted bool
    `json:"catalog_deleted"`; Errors []string `json:"errors"` }"""
    app_id = _app(http)
    _deploy(http, app_id, gnu_tar_zst(tmp_path), hosts="a.example.com")
    path = f"/v1/projects/{PROJECT}/apps/{app_id}"
    first, second = http.delete(path).json(), http.delete(path).json()
    for report in (first, second):
        assert set(report) == APP_DELETE_RESPONSE
        assert isinstance(report["errors"], list)
        for name in ("pointer_deleted", "catalog_deleted", "complete"):
            assert isinstance(report[name], bool)
        counts = APP_DELETE_RESPONSE - {"app_id", "errors", "pointer_deleted", "catalog_deleted"}
        assert all(type(report[n]) is int for n in counts - {"complete"})
    assert (first["complete"], first["domains_deleted"], first["artifacts_present"]) == (
        False,
        1,
        1,
    )
    assert (second["complete"], second["artifacts_deleted"], second["catalog_deleted"]) == (
        True,
        1,
        True,
    )


def test_delete_of_an_incomplete_app_repeats_until_complete_like_delete_wait(http, tmp_path):
    """if !*wait || body.Complete || attempt >= 29 { ... } time.Sleep(2 * time.Second)"""
    app_id = _app(http)
    _deploy(http, app_id, gnu_tar_zst(tmp_path), hosts="a.example.com,b.example.com")
    path = f"/v1/projects/{PROJECT}/apps/{app_id}"
    rounds = [http.delete(path).json()["complete"] for _ in range(2)]
    assert rounds == [False, True]
    assert http.delete(path).status_code == 404


# -- GET .../apps/{a}/logs -----------------------------------------------------------------


def test_logs_route_takes_the_official_query_and_answers_logs_and_next_page_token(http, tmp_path):
    """path := projectAppPath(projectID, appID) + "/logs"; query.Set("tail", ...),
    "since", "level", "build_id", "route", "request_id"; type appLogsResponse struct { Logs
    []appLogRecord `json:"logs"`; NextPageToken string `json:"next_page_token,omitempty"` }"""
    app_id = _app(http)
    build = _deploy(http, app_id, gnu_tar_zst(tmp_path))
    logs = f"/v1/projects/{PROJECT}/apps/{app_id}/logs"
    page = http.get(logs, params={"tail": 100, "since": "30m", "level": "info"}).json()
    assert set(page) == {"logs"}  # omitempty: no token on the last page
    assert all(set(line) <= APP_LOG_RECORD for line in page["logs"])
    assert all({"timestamp", "level", "message", "app_id"} <= set(line) for line in page["logs"])
    messages = [line["message"] for line in page["logs"]]
    assert messages[0] == f"build {build} activated"  # newest first
    assert any(m.startswith(f"build {build} uploaded") for m in messages)
    assert {line["build_id"] for line in page["logs"][:2]} == {build}
    by_build = http.get(logs, params={"build_id": build}).json()["logs"]
    assert len(by_build) == 2
    for query in ({"route": "/"}, {"request_id": "req-1"}, {"level": "error"}):
        assert http.get(logs, params=query).json() == {"logs": []}


def test_logs_come_a_page_at_a_time_with_a_next_page_token(tmp_path):
    """NextPageToken string `json:"next_page_token,omitempty"`"""
    with _emulator(tmp_path, Settings(logs_page_size=2)) as http:
        app_id = _app(http)
        for key in ("A", "B", "C", "D"):
            http.put(f"/v1/projects/{PROJECT}/apps/{app_id}/environment/{key}", json={"value": "v"})
        logs = f"/v1/projects/{PROJECT}/apps/{app_id}/logs"
        first = http.get(logs).json()
        second = http.get(logs, params={"page_token": first["next_page_token"]}).json()
        third = http.get(logs, params={"page_token": second["next_page_token"]}).json()
        bounded = http.get(logs, params={"tail": 3}).json()
        rest = http.get(logs, params={"tail": 3, "page_token": bounded["next_page_token"]}).json()
    messages = [line["message"] for page in (first, second, third) for line in page["logs"]]
    assert messages == [
        "env var D set", "env var C set", "env var B set", "env var A set", "app web created",
    ]  # fmt: skip
    assert "next_page_token" not in third
    assert len(bounded["logs"]) + len(rest["logs"]) == 3
    assert "next_page_token" not in rest


def test_logs_refuse_a_bad_level_since_or_page_token_with_400(http):
    app_id = _app(http)
    logs = f"/v1/projects/{PROJECT}/apps/{app_id}/logs"
    for query, code in (
        ({"level": "loud"}, "invalid_level"),
        ({"since": "yesterday"}, "invalid_since"),
        ({"page_token": "!!"}, "invalid_page_token"),
    ):
        answer = http.get(logs, params=query)
        assert (answer.status_code, answer.json()["code"]) == (400, code)
    assert http.get(logs, params={"since": "2020-01-01T00:00:00Z"}).status_code == 200


# -- GET /v1/projects -------------------------------------------------------------------


def test_project_listing_answers_project_id_and_name(http):
    """type projectView struct { ProjectID string `json:"project_id"`; Name string
    `json:"name"` }; type projectsResponse struct { Projects []projectView `json:"projects"` }"""
    assert http.get("/v1/projects").json() == {
        "projects": [{"project_id": PROJECT, "name": PROJECT}]
    }


@pytest.mark.parametrize("status", [404, 501])
def test_disabled_project_listing_answers_what_the_official_cli_reads_as_not_enabled(
    tmp_path, status
):
    """} else if !isStatus(err, http.StatusNotFound) && !isStatus(err,
    http.StatusNotImplemented) { return err }"""
    with _emulator(tmp_path, Settings(project_listing=status)) as http:
        answer = http.get("/v1/projects")
    assert answer.status_code == status
    assert answer.json()["code"] == "project_listing_disabled"


def test_a_token_without_project_read_gets_403_on_the_listing(tmp_path):
    with _emulator(tmp_path, scopes=["app:read"]) as http:
        answer = http.get("/v1/projects")
    assert (answer.status_code, answer.json()["code"]) == (403, "missing_scope")


# -- /v1/projects/{p}/domains ------------------------------------------------------------


def test_project_domains_list_and_create_answer_the_official_domain_view(http):
    """payload := map[string]string{"domain": domainName, "dns_mode": "route53_delegated"};
    postJSON(projectDomainsPath(projectID), payload, &body) into type domainResponse struct {
    Domain domainView `json:"domain"` }; getJSON(projectDomainsPath(projectID), &body) into
    type domainsResponse struct { Domains []domainView `json:"domains"` }"""
    path = f"/v1/projects/{PROJECT}/domains"
    body = {"domain": "Example.COM", "dns_mode": "route53_delegated"}
    created = http.post(path, json=body).json()
    assert set(created) == {"domain"}
    view = created["domain"]
    assert set(view) == DOMAIN_VIEW
    assert set(view["delegation"]) == DELEGATION_VIEW
    assert (view["domain"], view["dns_mode"], view["status"]) == (
        "example.com",
        "route53_delegated",
        "pending_delegation",
    )
    assert view["nameservers"] and view["delegation"]["matched"] is False
    assert http.post(path, json=body).json() == created  # adding it again changes nothing
    assert http.get(path).json() == {"domains": [view]}
    delegated = http.post("/_emulator/project-domains/example.com/delegate").json()["domain"]
    assert (delegated["status"], delegated["delegation"]["matched"]) == ("active", True)


def test_a_managed_hostname_needs_an_active_project_domain_above_it(http):
    """dnsMode := "external_records"; if *managed { dnsMode = "managed_project_domain" }
    (--managed: "publish DNS in a matching Comwit-managed project domain")"""
    app_id = _app(http)
    attach = f"/v1/projects/{PROJECT}/apps/{app_id}/domains"
    managed = {"domain": "www.example.com", "dns_mode": "managed_project_domain"}
    refused = http.post(attach, json=managed)
    assert (refused.status_code, refused.json()["code"]) == (400, "no_managed_project_domain")
    http.post(f"/v1/projects/{PROJECT}/domains", json={"domain": "example.com"})
    pending = http.post(attach, json=managed)
    assert pending.status_code == 400  # the zone is not delegated yet
    http.post("/_emulator/project-domains/example.com/delegate")
    assert http.post(attach, json=managed).json()["status"] == "active"
    other = http.post(
        attach, json={"domain": "www.other.org", "dns_mode": "managed_project_domain"}
    )
    assert other.status_code == 400


def test_managed_dns_disabled_answers_501_for_project_domains_and_managed_hostnames(tmp_path):
    """The docs: managed_project_domain works only under a project domain Comwit manages,
    a feature answered with 501 when it is disabled."""
    with _emulator(tmp_path, Settings(managed_dns=False)) as http:
        app_id = _app(http)
        answers = [
            http.get(f"/v1/projects/{PROJECT}/domains"),
            http.post(f"/v1/projects/{PROJECT}/domains", json={"domain": "example.com"}),
            http.post(
                f"/v1/projects/{PROJECT}/apps/{app_id}/domains",
                json={"domain": "www.example.com", "dns_mode": "managed_project_domain"},
            ),
        ]
        external = http.post(
            f"/v1/projects/{PROJECT}/apps/{app_id}/domains", json={"domain": "www.example.com"}
        )
    assert [(a.status_code, a.json()["code"]) for a in answers] == [
        (501, "managed_dns_disabled")
    ] * 3
    assert external.status_code == 200


# -- /v1/projects/{p}/apps/{a}/domains (app hostnames) -----------------------------------

APP_DOMAIN_VIEW = {"domain", "app_id", "status"}


def test_app_hostname_routes_answer_the_official_clis_shapes(http):
    """type appAddDomainResponse struct { Domain string `json:"domain"`; AppID string
    `json:"app_id"`; Status string `json:"status"`; DNSMode string `json:"dns_mode"`;
    DNSRecords []appDNSRecord `json:"dns_records"` }; type appDNSRecord struct { RecordType
    string `json:"record_type"`; Name string `json:"name"`; Value string `json:"value"` };
    type appDomainResponse struct { Domain appDomainView `json:"domain"` };
    type appDeleteDomainResponse struct { Domain, AppID, Status }"""
    app_id = _app(http)
    domains = f"/v1/projects/{PROJECT}/apps/{app_id}/domains"
    added = http.post(domains, json={"domain": "a.example.com", "dns_mode": "external_records"})
    assert set(added.json()) == APP_DOMAIN_VIEW | {"dns_mode", "dns_records"}
    records = added.json()["dns_records"]
    assert records and all(set(r) == {"record_type", "name", "value"} for r in records)
    assert http.post(f"{domains}/a.example.com/finalize", json={}).status_code == 409
    http.post("/_emulator/dns/a.example.com/publish")
    finalized = http.post(f"{domains}/a.example.com/finalize", json={}).json()
    assert set(finalized) == {"domain"} and set(finalized["domain"]) == APP_DOMAIN_VIEW
    listed = http.get(domains).json()
    assert set(listed) == {"domains"} and set(listed["domains"][0]) == APP_DOMAIN_VIEW
    assert set(http.delete(f"{domains}/a.example.com").json()) == APP_DOMAIN_VIEW
