"""Shared fixtures. Every test runs with a temporary HOME and no Comwit credentials."""

from __future__ import annotations

import pytest

_COMWIT_ENV = (
    "COMWIT_TOKEN",
    "COMWIT_CONFIG",
    "COMWIT_PROJECT",
    "COMWIT_APP",
    "COMWIT_API_URL",
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
