"""End to end over loopback HTTP, with the CLI's own connection pool: a command that applies
apps in parallel has the connections they need, whatever --concurrency says."""

from __future__ import annotations

import contextlib
import io
import threading
import time

from comwit.cli import main
from comwit.cli.settings import Edges

from tests.e2e_support import PROJECT, World

APPS = ("a", "b", "c", "d")  # as many as apply runs at once by default
HOLD_SECONDS = 20.0  # how long the uploads are held, at the most, waiting for each other


class _Release(threading.Thread):
    """Watches the emulator's held uploads; once all APPS are held at once, or after
    HOLD_SECONDS, clears the faults, which lets them go on."""

    def __init__(self, world: World) -> None:
        super().__init__(name="release-uploads")
        self.world = world
        self.most = 0

    def run(self) -> None:
        deadline = time.monotonic() + HOLD_SECONDS
        while self.most < len(APPS) and time.monotonic() < deadline:
            self.most = max(self.most, self.world.admin("GET", "faults")["held"])
            time.sleep(0.05)
        self.world.admin("DELETE", "faults")


def test_preview_up_of_four_apps_at_concurrency_1_has_all_four_uploads_in_flight_at_once(
    process_world,
):
    """Every upload is held until all four are in flight together: a pool of the one
    connection --concurrency 1 asks for (or of any fewer than four) would never get there,
    and the other apps' requests would wait for a free connection until they fail."""
    world = process_world  # over loopback HTTP; its manifest is replaced by APPS' own
    world.manifest(
        f'version = 1\nproject = "{PROJECT}"\n[preview]\n'
        + "".join(f'[apps.{name}]\nbuild_dir = "{name}"\n' for name in APPS)
    )
    for name in APPS:
        world.write(f"{name}/index.html", name)
    hold = {"route": "deploy", "ms": int(HOLD_SECONDS * 1000) + 10_000, "hold": True}
    world.admin("POST", "faults/latency", hold)
    out, err = io.StringIO(), io.StringIO()
    # Time enough for the held upload (COMWIT_TIMEOUT x 2) whatever the machine's load.
    edges = Edges(world.environ({"COMWIT_TIMEOUT": "10"}), io.StringIO(), out, err)
    release = _Release(world)
    release.start()
    try:
        with contextlib.chdir(world.root):
            code = main(["preview", "up", "--pr", "3", "--concurrency", "1"], edges=edges)
    finally:
        release.join()
    builds = [len(world.builds(f"{name}-pr-3")) for name in APPS]
    assert code == 0, err.getvalue() + out.getvalue()
    assert release.most == len(APPS)
    assert "free connection" not in err.getvalue() + out.getvalue()
    assert builds == [1, 1, 1, 1]
