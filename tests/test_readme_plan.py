"""The README as a new user meets it: its two commands come first and are this repository's
scripts, and the plan it shows is the one comwit prints (the example manifest applied, then a
change that adds a page, edits the home page and binds one more hostname, planned)."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from comwit.emulator.inprocess import InProcessEmulator
from comwit.emulator.store import SCOPES

from tests.e2e_support import World

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text()


def test_the_first_thing_the_readme_shows_to_run_is_its_two_scripts():
    first = re.search(r"```\w*\n(.*?)```", README, re.DOTALL)
    assert first
    commands = [line.split("#")[0].strip() for line in first[1].splitlines()]
    assert commands == ["./scripts/demo", "./scripts/check"]
    for command in commands:
        assert os.access(ROOT / command, os.X_OK), command


def test_the_plan_the_readme_shows_is_the_one_comwit_prints(tmp_path):
    shown = re.search(r"```console\n\$ comwit plan\n(.*?)```", README, re.DOTALL)
    assert shown, "the README shows no `$ comwit plan` block"
    root = tmp_path / "repo"
    shutil.copytree(ROOT / "examples", root / "examples")
    manifest = (ROOT / "comwit.toml.example").read_text()
    (root / "comwit.toml").write_text(manifest)
    with InProcessEmulator(tmp_path / "data", auto_dns=True) as emulator:
        world = World(
            root, emulator.url, emulator.issue_token(SCOPES, ["demo"]), {}, emulator.transport
        )
        # api.example.com has dns = "managed": the project needs a domain Comwit manages.
        data = str(tmp_path / "data")
        assert (
            world.comwit(
                "emulator", "domain", "example.com", "--data", data, "--project", "demo"
            ).code
            == 0
        )
        assert world.comwit("apply", "--yes").code == 0
        world.write("examples/web/dist/about.html", "<h1>About</h1>\n")
        world.write(
            "examples/web/dist/index.html", "<!doctype html><title>web</title><h1>Hello</h1>\n"
        )
        world.manifest(
            manifest.replace(
                '  "www.example.com",\n', '  "www.example.com",\n  "shop.example.com",\n', 1
            )
        )
        plan = world.comwit("plan")
    assert plan.code == 0, plan.err
    assert plan.out == shown[1], plan.out
