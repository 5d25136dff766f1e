"""End to end over loopback HTTP, with the CLI's own connection pool: a command that applies
apps in parallel has the connections they need, whatever --concurrency says."""

from __future__ import annotations

import contextlib
import io

from comwit.cli import main
from comwit.cli.settings import Edges
from comwit.emulator.server import serve_in_thread
from comwit.emulator.store import SCOPES

from tests.e2e_support import PROJECT, World

APPS = ("a", "b", "c", "d")  # as many as apply runs at once by default


def test_preview_up_of_four_apps_at_concurrency_1_keeps_no_request_waiting_for_a_connection(
    tmp_path,
):
    """Every upload holds its connection for 3 s, past the 2 s that a request may wait for
    a free one: with one connection (--concurrency 1) the other apps' requests would time out."""
    root = tmp_path / "repo"
    root.mkdir()
    with serve_in_thread(tmp_path / "emulator-data", auto_dns=True) as running:
        world = World(root, running.url, running.issue_token(SCOPES, [PROJECT]), {})
        world.manifest(
            f'version = 1\nproject = "{PROJECT}"\n[preview]\n'
            + "".join(f'[apps.{name}]\nbuild_dir = "{name}"\n' for name in APPS)
        )
        for name in APPS:
            world.write(f"{name}/index.html", name)
        world.admin("POST", "faults/latency", {"route": "deploy", "ms": 3000})
        out, err = io.StringIO(), io.StringIO()
        edges = Edges(world.environ({"COMWIT_TIMEOUT": "2"}), io.StringIO(), out, err)
        with contextlib.chdir(root):
            code = main(["preview", "up", "--pr", "3", "--concurrency", "1"], edges=edges)
        builds = [len(world.builds(f"{name}-pr-3")) for name in APPS]
    assert code == 0, err.getvalue() + out.getvalue()
    assert "free connection" not in err.getvalue() + out.getvalue()
    assert builds == [1, 1, 1, 1]
