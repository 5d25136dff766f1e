"""Builders for emulator tests: artifacts (GNU tar or hand-made tar.zst) and HTTP clients."""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

import httpx
import zstandard

from comwit.emulator.store import SCOPES

OCTET = {"Content-Type": "application/octet-stream"}
ALL_SCOPES = SCOPES
PROJECT = "proj"  # the project of the `emulator_token` fixture


def client(emulator, token: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=emulator.url, headers=headers, timeout=10)


def gnu_tar_zst(tmp_path: Path, files: dict[str, str] | None = None) -> Path:
    """`tar --zstd -cf app.tar.zst -C dist .` over a small dist directory."""
    dist = tmp_path / "dist"
    for name, text in (files or {"index.html": "<h1>hi</h1>", "assets/app.js": "x=1"}).items():
        (dist / name).parent.mkdir(parents=True, exist_ok=True)
        (dist / name).write_text(text)
    out = tmp_path / "app.tar.zst"
    subprocess.run(["tar", "--zstd", "-cf", str(out), "-C", str(dist), "."], check=True)
    return out


def tar_bytes(members: dict[str, bytes]) -> bytes:
    """An uncompressed tar with these member names as given (unsafe ones included)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return raw.getvalue()


def zstd(data: bytes) -> bytes:
    return zstandard.ZstdCompressor(level=3).compress(data)


def create_app(http: httpx.Client, name: str = "web", project: str = PROJECT) -> str:
    response = http.post(f"/v1/projects/{project}/apps", json={"name": name})
    assert response.status_code == 200, response.text
    return response.json()["app"]["app_id"]


def deploy(http: httpx.Client, app_id: str, body: bytes, **query: str) -> httpx.Response:
    return http.post(
        f"/v1/projects/{PROJECT}/apps/{app_id}/deployments",
        content=body,
        headers=OCTET,
        params=query,
    )


def assert_problem(response: httpx.Response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]
    if code is not None:
        assert body["code"] == code
    return body
