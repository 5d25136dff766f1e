"""Shared fixtures. Every test runs with a temporary HOME and no Comwit credentials."""

from __future__ import annotations

import pytest

_COMWIT_ENV = (
    "COMWIT_TOKEN",
    "COMWIT_CONFIG",
    "COMWIT_PROJECT",
    "COMWIT_APP",
    "COMWIT_API_URL",
    "COMWIT_TIMEOUT",
    "SOURCE_DATE_EPOCH",
    "FORCE_COLOR",
    # A test run inside a CI job must not comment on, annotate or summarise that job.
    "GITHUB_ACTIONS",
    "GITLAB_CI",
    "GITHUB_TOKEN",
    "COMWIT_GITHUB_TOKEN",
    "COMWIT_GITLAB_TOKEN",
    "GITHUB_STEP_SUMMARY",
    "GITHUB_OUTPUT",
    "GITHUB_EVENT_PATH",
)


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    for name in _COMWIT_ENV:
        monkeypatch.delenv(name, raising=False)
    return home


# -- the local emulator of the Comwit API, over loopback HTTP ---------------------------


@pytest.fixture
def emulator(tmp_path):
    """A running emulator (a `RunningEmulator`) on a free loopback port, state in tmp_path."""
    from comwit.emulator.server import serve_in_thread

    with serve_in_thread(tmp_path / "emulator-data") as running:
        yield running


@pytest.fixture
def emulator_token(emulator):
    """A token with every scope, a member of the project `tests.emulator_support.PROJECT`."""
    from comwit.emulator.store import SCOPES

    from tests.emulator_support import PROJECT

    return emulator.issue_token(SCOPES, [PROJECT])


@pytest.fixture
def world(tmp_path):
    """A project directory with two apps and the CLI pointed at a fresh loopback emulator
    (hostname records count as published, so hostnames can be finalized)."""
    from comwit.emulator.server import serve_in_thread
    from comwit.emulator.store import SCOPES

    from tests.e2e_support import MANIFEST, PROJECT, World

    root = tmp_path / "repo"
    root.mkdir()
    with serve_in_thread(tmp_path / "emulator-data", auto_dns=True) as running:
        token = running.issue_token(SCOPES, [PROJECT])
        made = World(root, running.url, token, {})
        made.manifest(MANIFEST)
        made.write("web/index.html", "<h1>v1</h1>")
        made.write("web/assets/app.js", "console.log(1)")
        made.write("api/server.js", "serve()")
        yield made


@pytest.fixture
def emulator_scopes(world):
    """Issue a token for the `world` emulator's project with only the given scopes."""
    import httpx

    from tests.e2e_support import PROJECT

    def issue(*scopes: str) -> str:
        body = {"scopes": list(scopes), "projects": [PROJECT]}
        response = httpx.post(f"{world.url}/_emulator/tokens", json=body, timeout=10)
        response.raise_for_status()
        token: str = response.json()["token"]
        return token

    return issue
