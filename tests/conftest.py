"""Shared fixtures. Every test runs with a temporary HOME and no Comwit credentials."""

from __future__ import annotations

import logging
import os

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


def pytest_collection_modifyitems(items):
    """Tests that leave an audit hook in their process (it cannot be removed) run last in it:
    see tests/test_read_once.py for what such a hook costs the tests after it. A pytest-xdist
    worker runs whatever tests it steals from the end of another's queue, so "last" does not
    hold there: such tests are skipped in a worker (./scripts/check runs them apart)."""
    items.sort(key=lambda item: item.get_closest_marker("audit_hook") is not None)
    if os.environ.get("PYTEST_XDIST_WORKER"):
        apart = pytest.mark.skip(reason="adds an audit hook: run it without -n (-m audit_hook)")
        for item in items:
            if item.get_closest_marker("audit_hook") is not None:
                item.add_marker(apart)


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    for name in _COMWIT_ENV:
        monkeypatch.delenv(name, raising=False)
    yield home
    # A CLI run routes comwit's log records to its console; that console's streams (capsys,
    # a harness's buffers) close with the test, so the next test must not inherit it.
    logging.getLogger("comwit").handlers.clear()


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
def http(emulator, emulator_token):
    """An httpx client of the `emulator` that sends `emulator_token`."""
    from tests.emulator_support import client

    with client(emulator, emulator_token) as http:
        yield http


@pytest.fixture
def world(tmp_path):
    """A project directory with two apps and the CLI run in-process (`main()`), its HTTP going
    straight into a fresh emulator's ASGI app (hostname records count as published, so
    hostnames can be finalized)."""
    from comwit.emulator.inprocess import InProcessEmulator
    from comwit.emulator.store import SCOPES

    from tests.e2e_support import PROJECT, World, populate

    root = tmp_path / "repo"
    root.mkdir()
    with InProcessEmulator(tmp_path / "emulator-data", auto_dns=True) as emulator:
        token = emulator.issue_token(SCOPES, [PROJECT])
        yield populate(World(root, emulator.url, token, {}, transport=emulator.transport))


@pytest.fixture
def process_world(tmp_path):
    """Like `world`, but the CLI runs as a process (`python -m comwit`) against the emulator
    served over loopback HTTP: for exit codes, signals and terminals."""
    from comwit.emulator.server import serve_in_thread
    from comwit.emulator.store import SCOPES

    from tests.e2e_support import PROJECT, World, populate

    root = tmp_path / "repo"
    root.mkdir()
    with serve_in_thread(tmp_path / "emulator-data", auto_dns=True) as running:
        token = running.issue_token(SCOPES, [PROJECT])
        yield populate(World(root, running.url, token, {}))


@pytest.fixture
def emulator_scopes(world):
    """Issue a token for the `world` emulator's project with only the given scopes."""
    return world.issue_token


# -- a CI job with loopback stand-ins of GitHub and GitLab ----------------------------


@pytest.fixture
def job(tmp_path):
    """A CI job's files (event, summary, outputs) in a fresh folder."""
    from tests.ci_support import Job

    folder = tmp_path / "job"
    folder.mkdir()
    return Job(folder)


@pytest.fixture
def github():
    """The GitHub stand-in, knowing an installation token of the repository's Actions."""
    from tests.ci_support import GITHUB_TOKEN
    from tests.forge_standins import Identity, github_standin

    with github_standin() as standin:
        standin.add_token(GITHUB_TOKEN, Identity("shop-repo", installation=True))
        yield standin


@pytest.fixture
def gitlab():
    """The GitLab stand-in, knowing the project's bot token."""
    from tests.ci_support import GITLAB_TOKEN
    from tests.forge_standins import Identity, gitlab_standin

    with gitlab_standin() as standin:
        standin.add_token(GITLAB_TOKEN, Identity("project_1234_bot"))
        yield standin
