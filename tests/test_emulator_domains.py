"""Hostnames: DNS records on attach, pending until published, then finalized; one app each."""

import pytest

from comwit.emulator.server import serve_in_thread

from tests.emulator_support import (
    ALL_SCOPES,
    PROJECT,
    assert_problem,
    client,
    create_app,
    deploy,
    gnu_tar_zst,
)

HOST = "www.example.com"


def _domains(app_id):
    return f"/v1/projects/{PROJECT}/apps/{app_id}/domains"


def test_attach_answers_records_and_stays_pending_until_published_then_finalized(http):
    app_id = create_app(http)
    attached = http.post(_domains(app_id), json={"domain": HOST, "dns_mode": "external_records"})
    body = attached.json()
    assert attached.status_code == 200
    assert (body["domain"], body["app_id"], body["status"]) == (HOST, app_id, "pending_dns")
    assert body["dns_mode"] == "external_records"
    kinds = {r["record_type"]: r for r in body["dns_records"]}
    assert kinds["CNAME"]["name"] == HOST
    assert kinds["TXT"]["name"].endswith(f".{HOST}")
    finalize = f"{_domains(app_id)}/{HOST}/finalize"
    assert_problem(http.post(finalize, json={}), 409, "dns_not_published")

    published = http.post(f"/_emulator/dns/{HOST}/publish")
    assert published.json()["status"] == "pending_dns"
    done = http.post(finalize, json={})
    assert done.json() == {"domain": {"domain": HOST, "app_id": app_id, "status": "active"}}
    assert http.get(_domains(app_id)).json() == {
        "domains": [{"domain": HOST, "app_id": app_id, "status": "active"}]
    }


def test_attaching_again_to_the_same_app_changes_nothing(http):
    app_id = create_app(http)
    first = http.post(_domains(app_id), json={"domain": HOST}).json()
    again = http.post(_domains(app_id), json={"domain": HOST.upper()})
    assert again.status_code == 200
    assert again.json() == first
    assert len(http.get(_domains(app_id)).json()["domains"]) == 1


def test_a_hostname_held_by_another_app_answers_409_on_attach_and_deploy(http, tmp_path):
    owner, other = create_app(http, "owner"), create_app(http, "other")
    http.post(_domains(owner), json={"domain": HOST})
    assert_problem(http.post(_domains(other), json={"domain": HOST}), 409, "domain_taken")
    refused = deploy(http, other, gnu_tar_zst(tmp_path).read_bytes(), hosts=HOST)
    assert_problem(refused, 409, "domain_taken")
    assert http.get(f"/v1/projects/{PROJECT}/apps/{other}/builds").json() == {"builds": []}


def test_managed_hostnames_under_a_delegated_project_domain_are_active_at_once(http):
    app_id = create_app(http)
    http.post(f"/v1/projects/{PROJECT}/domains", json={"domain": "example.com"})
    http.post("/_emulator/project-domains/example.com/delegate")
    body = http.post(
        _domains(app_id), json={"domain": HOST, "dns_mode": "managed_project_domain"}
    ).json()
    assert body["status"] == "active"


def test_detach_answers_the_hostname_and_frees_it(http):
    owner, other = create_app(http, "owner"), create_app(http, "other")
    http.post(_domains(owner), json={"domain": HOST})
    detached = http.delete(f"{_domains(owner)}/{HOST}")
    assert detached.json() == {"domain": HOST, "app_id": owner, "status": "detached"}
    assert_problem(http.delete(f"{_domains(owner)}/{HOST}"), 404, "domain_not_found")
    assert http.post(_domains(other), json={"domain": HOST}).status_code == 200


def test_finalize_or_detach_of_a_hostname_of_another_app_answers_404(http):
    owner, other = create_app(http, "owner"), create_app(http, "other")
    http.post(_domains(owner), json={"domain": HOST})
    assert_problem(http.post(f"{_domains(other)}/{HOST}/finalize", json={}), 404)
    assert_problem(http.delete(f"{_domains(other)}/{HOST}"), 404)


@pytest.mark.parametrize(
    "body",
    [
        {"domain": "no spaces.example.com"},
        {"domain": "localhost"},
        {"domain": "*.example.com"},
        {"domain": "a.example.com:443"},
        {"domain": "a.example.com", "dns_mode": "magic"},
        {},
    ],
)
def test_bad_attach_bodies_answer_400(http, body):
    assert_problem(http.post(_domains(create_app(http)), json=body), 400)


def test_publishing_an_unknown_hostname_answers_404(http):
    assert_problem(http.post("/_emulator/dns/nothing.example.com/publish"), 404)


def test_with_auto_dns_a_deployed_hostname_can_be_finalized_at_once(tmp_path):
    with serve_in_thread(tmp_path / "data", auto_dns=True) as emulator:
        token = emulator.issue_token(ALL_SCOPES, [PROJECT])
        with client(emulator, token) as http:
            app_id = create_app(http)
            deployed = deploy(http, app_id, gnu_tar_zst(tmp_path).read_bytes(), hosts=HOST)
            assert deployed.json()["hosts"] == [HOST]
            listed = http.get(_domains(app_id)).json()["domains"]
            assert listed == [{"domain": HOST, "app_id": app_id, "status": "pending_dns"}]
            finalized = http.post(f"{_domains(app_id)}/{HOST}/finalize", json={})
            assert finalized.json()["domain"]["status"] == "active"
