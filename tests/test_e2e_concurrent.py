"""Two applies at once, as separate processes, against `comwit emulator serve`: exactly one
mutates each app, the other waits or fails naming the holder; every build stays known to the
ledger and the next plan is empty. With the `app-env` and the `local` ledger backends."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.e2e_support import MANIFEST, World, actions, serve_emulator

pytestmark = pytest.mark.timeout(120)
# How a run that did not apply an app says why: the other run holds the app's lease; or both
# wrote their leases at once and the other, whose write came last, has released it since; or
# the other run changed the app after this one planned.
_REFUSED = (
    r"being applied by \S+@\S+ \(\S+:\d+\)|leased by another run at the same time"
    r"|another run (changed|recorded)"
)


@pytest.fixture
def served(tmp_path):
    """`comwit emulator serve` as its own process: its URL and token."""
    with serve_emulator(tmp_path / "emulator", "--auto-dns") as running:
        yield running.url, running.token


def _start(world: World, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "comwit", "apply", "--yes", *args],
        cwd=world.root,
        env=world.environ(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("backend", ["app-env", "local"])
def test_two_applies_at_once_mutate_each_app_once_and_lose_no_ledger_entry(
    served, tmp_path, backend
):
    url, token = served
    world = World(tmp_path / "repo", url, token, {})  # the two applies: processes
    here = world.in_this_process()  # the set-up and the checks
    world.root.mkdir()
    state = '\n[state]\nbackend = "local"\n' if backend == "local" else ""
    world.manifest(MANIFEST + state)
    world.write("web/index.html", "v1")
    world.write("api/server.js", "v1")
    assert here.comwit("apply", "--yes").code == 0
    world.write("web/index.html", "v2")
    world.write("api/server.js", "v2")

    runs = [_start(world), _start(world)]
    outputs = [run.communicate(timeout=90) for run in runs]
    codes = [run.returncode for run in runs]
    text = "\n".join(out + err for out, err in outputs)

    for app in ("web", "api"):
        assert len(world.builds(app)) == 2, text  # one new build: exactly one run deployed it
    # Both runs fail when each took one app's lease first: each then applied the app it holds.
    assert set(codes) <= {0, 1}, text
    for (out, err), code in zip(outputs, codes, strict=True):
        if code == 1:  # this run met the lease, or found the app changed after waiting
            assert re.search(_REFUSED, out + err), text
    for app in ("web", "api"):
        shown = here.comwit("builds", app)
        assert shown.code == 0 and "unknown to the ledger" not in shown.out, shown.out
    assert actions(here.plan_json()) == []
