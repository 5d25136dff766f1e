"""Uploads: a real `tar --zstd` artifact is kept; anything else, or too big, answers 400."""

import gzip

import pytest

from comwit.emulator.server import serve_in_thread

from tests.emulator_support import (
    ALL_SCOPES,
    OCTET,
    PROJECT,
    assert_problem,
    client,
    create_app,
    deploy,
    gnu_tar_zst,
    tar_bytes,
    zstd,
)


def test_a_gnu_tar_zstd_artifact_is_kept_byte_for_byte(emulator, http, tmp_path):
    artifact = gnu_tar_zst(tmp_path, {"index.html": "hi", "a/b/c.txt": "deep", "empty/.keep": ""})
    app_id = create_app(http)
    build_id = deploy(http, app_id, artifact.read_bytes()).json()["build_id"]
    stored = emulator.store.artifact_path(build_id)
    assert stored.read_bytes() == artifact.read_bytes()
    assert list(emulator.store.incoming_dir.iterdir()) == []


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"", "invalid_artifact"),
        (b"garbage, not an archive", "invalid_artifact"),
        (gzip.compress(tar_bytes({"./index.html": b"hi"})), "invalid_artifact"),
        (zstd(b"plain text, not a tar archive " * 40), "invalid_artifact"),
        (zstd(tar_bytes({"./index.html": b"hi"}))[:-9], "invalid_artifact"),
        (zstd(tar_bytes({"./ok": b"", "./../evil": b"x"})), "unsafe_artifact_member"),
        (zstd(tar_bytes({"a/../../evil": b"x"})), "unsafe_artifact_member"),
        (zstd(tar_bytes({"/etc/passwd": b"x"})), "unsafe_artifact_member"),
    ],
    ids=["empty", "garbage", "gzip", "zstd-of-text", "truncated", "dotdot", "deep-dotdot", "abs"],
)
def test_bad_artifacts_answer_400_and_leave_no_build(emulator, http, body, code):
    app_id = create_app(http)
    assert_problem(deploy(http, app_id, body), 400, code)
    assert http.get(f"/v1/projects/{PROJECT}/apps/{app_id}/builds").json() == {"builds": []}
    assert list(emulator.store.incoming_dir.iterdir()) == []


def test_an_upload_needs_the_octet_stream_content_type(http, tmp_path):
    app_id = create_app(http)
    response = http.post(
        f"/v1/projects/{PROJECT}/apps/{app_id}/deployments",
        content=gnu_tar_zst(tmp_path).read_bytes(),
        headers={"Content-Type": "application/json"},
    )
    assert_problem(response, 400, "invalid_media_type")


def test_a_chunked_upload_without_length_answers_400(http, tmp_path):
    app_id = create_app(http)
    data = gnu_tar_zst(tmp_path).read_bytes()
    response = http.post(
        f"/v1/projects/{PROJECT}/apps/{app_id}/deployments",
        content=iter([data[:10], data[10:]]),
        headers=OCTET,
    )
    assert_problem(response, 400, "length_required")


def test_an_upload_over_the_limit_answers_400_and_the_connection_stays_usable(tmp_path):
    limit = 4096
    with serve_in_thread(tmp_path / "data", max_artifact_bytes=limit) as emulator:
        token = emulator.issue_token(ALL_SCOPES, [PROJECT])
        with client(emulator, token) as http:
            app_id = create_app(http)
            small = gnu_tar_zst(tmp_path).read_bytes()
            assert deploy(http, app_id, small).status_code == 200
            body = assert_problem(deploy(http, app_id, b"\0" * (limit + 1)), 400)
            assert body["code"] == "artifact_too_large"
            assert str(limit) in body["detail"]
            assert http.get(f"/v1/projects/{PROJECT}/apps/{app_id}").status_code == 200
