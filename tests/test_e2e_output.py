"""End to end: what apply and rollback print last (live URLs, how to keep a rollback), and
`--format json` of every command: one JSON document on stdout, nothing else there."""

from __future__ import annotations

import json
import re

import pytest

from comwit.cli import main

from tests.e2e_support import MANIFEST

# The JSON invocation of every command that has `--format ... json` (after `comwit apply`).
JSON_RUNS = {
    "plan": ("plan", "--format", "json"),
    "apply": ("apply", "--yes", "--format", "json"),
    "rollback": ("rollback", "api", "--yes", "--format", "json"),
    "status": ("status", "--format", "json"),
    "builds": ("builds", "web", "--format", "json"),
    "logs": ("logs", "web", "--format", "json"),
    "dns": ("dns", "--format", "json"),
    "doctor": ("doctor", "--format", "json"),
    "report": ("report", "result.json", "--format", "json"),
}


def _help(capsys, *args: str) -> str:
    capsys.readouterr()
    assert main([*args, "--help"]) == 0
    return capsys.readouterr().out


def _commands_with_json_format(capsys) -> set[str]:
    listed = _help(capsys).split("Commands:", 1)[1]
    names = re.findall(r"^  ([a-z][a-z-]*)\s", listed, flags=re.MULTILINE)
    return {name for name in names if re.search(r"--format <[^>]*json", _help(capsys, name))}


def test_every_format_json_prints_one_json_document_on_stdout_alone(world, capsys):
    assert _commands_with_json_format(capsys) == set(JSON_RUNS)
    first = world.comwit("apply", "--yes", "--format", "json")
    assert first.code == 0, first.err
    assert json.loads(first.out)["ok"] is True
    assert "comwit plan for project" in first.err  # the plan went to stderr
    world.write("api/server.js", "serve(2)")
    world.comwit("apply", "--yes")
    assert world.comwit("plan", "--out", "plan.json").code == 0
    assert world.comwit("apply", "plan.json", "--result", "result.json").code == 0
    for name, args in JSON_RUNS.items():
        for quiet in ((), ("-q",)):
            result = world.comwit(*args, *quiet)
            assert result.code == 0, (name, result.err)
            json.loads(result.out)  # one document, nothing before or after it


def test_apply_prints_each_apps_live_url_also_when_nothing_changed(world):
    result = world.comwit("apply", "--yes")
    assert result.code == 0, result.err
    urls = {name: world.app(name)["default_url"] for name in ("api", "web")}
    assert all(url.startswith("https://") for url in urls.values())
    assert result.out.endswith(f"Live URLs:\n  api  {urls['api']}\n  web  {urls['web']}\n")
    again = world.comwit("apply", "--yes", "--format", "json", "-q")
    document = json.loads(again.out)
    assert document["urls"] == urls
    assert {app["app"]: app["url"] for app in document["apps"]} == urls


def test_rollback_says_the_next_apply_undoes_it_and_prints_the_pin_that_keeps_it(world):
    world.comwit("apply", "--yes")
    first = world.app("api")["active_build_id"]
    world.write("api/server.js", "serve(2)")
    world.comwit("apply", "--yes")
    second = world.app("api")["active_build_id"]

    result = world.comwit("rollback", "api", "--yes")
    assert result.code == 0, result.err
    assert "comwit plan for project proj: 1 of 2 apps selected" in result.out
    assert "The next `comwit apply` makes the build dir live again" in result.out
    assert (
        f'pin it in place of build_dir (comwit.toml:9: apps.api.build_dir):\n    build = "{first}"\n'
        in result.out
    )
    status = world.comwit("status").out
    assert f"api: differs (1 change: make build {second} live again (it holds the build dir))" in (
        status
    )
    world.manifest(MANIFEST.replace('build_dir = "api"', f'build = "{first}"'))
    assert world.comwit("plan", "--detailed-exitcode").code == 0


@pytest.mark.parametrize("quiet", [(), ("-q",)])
def test_a_plan_of_json_is_one_document_with_warnings_on_stderr(world, quiet):
    world.write("web/.env", "SECRET=1")
    result = world.comwit("plan", "--format", "json", *quiet)
    assert result.code == 0, result.err
    assert json.loads(result.out)["project"] == "proj"
    assert "warning:" in result.err


def test_a_rollback_of_a_pinned_app_says_the_pin_brings_its_build_back(world):
    world.comwit("apply", "--yes")
    first = world.app("api")["active_build_id"]
    world.write("api/server.js", "serve(2)")
    world.comwit("apply", "--yes")
    second = world.app("api")["active_build_id"]
    world.manifest(MANIFEST.replace('build_dir = "api"', f'build = "{second}"'))
    result = world.comwit("rollback", "api", "--to", first, "--yes")
    assert result.code == 0, result.err
    assert (
        f"The next `comwit apply` makes the pinned build {second} live again. To keep build "
        f'{first} live, change the pin (comwit.toml:9: apps.api.build) to\n    build = "{first}"\n'
    ) in result.out
