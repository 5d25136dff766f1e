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
