"""End to end: the read-only commands `builds`, `status` and `import` against the emulator."""

from __future__ import annotations

import tomllib

import pytest

from comwit.artifact.digest import digest_tree
from comwit.manifest import load_manifest
from comwit.render.describe import short

from tests.e2e_support import MANIFEST, PROJECT


def _forget_ledger(world, app: str) -> None:
    """Delete the app's ledger env var, as a user cleaning up env vars by hand would."""
    app_id = world.app(app)["app_id"]
    path = f"/v1/projects/{PROJECT}/apps/{app_id}/environment/COMWIT_LEDGER"
    world.request("DELETE", path, token=world.token).raise_for_status()


def test_builds_lists_newest_first_with_the_live_one_and_what_the_ledger_knows(world):
    assert world.comwit("apply", "--yes").code == 0
    first = world.app("web")["active_build_id"]
    _forget_ledger(world, "web")
    world.write("web/index.html", "<h1>v2</h1>")
    assert world.comwit("apply", "--yes").code == 0
    second = world.app("web")["active_build_id"]
    digest = digest_tree(world.root / "web").digest

    text = world.comwit("builds", "web")
    assert text.code == 0, text.err
    rows = text.out.splitlines()
    assert rows[0] == f"app web in project {PROJECT}: 2 builds, newest first (* live)"
    assert rows[3].startswith(f"* {second} ")
    assert short(digest) in rows[3]
    assert rows[4].startswith(f"  {first} ")
    assert rows[4].endswith("unknown to the ledger")

    document = world.comwit("builds", "web", "--format", "json").json()
    assert [b["build_id"] for b in document["builds"]] == [second, first]
    assert [b["active"] for b in document["builds"]] == [True, False]
    assert document["builds"][0]["ledger"]["digest"] == digest
    assert document["builds"][1]["ledger"] is None
    assert document["builds"][0]["artifact_size"] > 0


def test_builds_of_an_app_not_in_the_manifest_or_not_yet_created_is_an_error(world):
    missing = world.comwit("builds", "nope")
    assert missing.code == 1
    assert missing.err.strip() == "error: app 'nope' is not in comwit.toml (apps: api, web)"
    uncreated = world.comwit("builds", "web")
    assert uncreated.code == 1
    assert uncreated.err.strip() == (
        f"error: app 'web' does not exist in project {PROJECT} yet; `comwit apply` creates it"
    )


def test_status_says_which_apps_match_and_which_differ_exits_0_and_1_on_api_errors(world):
    assert world.comwit("apply", "--yes").code == 0
    matching = world.comwit("status")
    assert matching.code == 0, matching.err
    assert "web: matches the manifest" in matching.out
    assert "hostnames: www.example.com (active)" in matching.out
    assert matching.out.rstrip().endswith("2 apps match.")

    world.write("web/index.html", "<h1>v2</h1>")
    world.manifest(MANIFEST.replace('LEVEL = "info"', 'LEVEL = "debug"'))
    differing = world.comwit("status", "--format", "json")
    assert differing.code == 0, differing.err
    web = {app["app"]: app for app in differing.json()["apps"]}["web"]
    assert (web["state"], web["changes"]) == ("differs", ["env LEVEL", "upload build"])
    assert web["hosts"] == [{"name": "www.example.com", "status": "active"}]
    assert web["live_build"] == world.app("web")["active_build_id"]

    world.admin("POST", "faults/fail", {"route": "list_env", "count": 10, "status": 403})
    refused = world.comwit("status")
    assert refused.code == 1
    assert refused.err.startswith("error: GET /v1/projects/proj/apps/")
    assert len(refused.err.splitlines()) == 1


def test_import_writes_a_manifest_that_loads_with_the_live_hosts_and_env(world):
    world.manifest(
        f"""\
        version = 1
        project = "{PROJECT}"
        [apps.web]
        build_dir = "web"
        hosts = ["www.example.com"]
        [apps.web.env]
        LEVEL = "info"
        PRICE = "$$5"
        [apps.api]
        build_dir = "api"
        max_concurrent_requests = 10
        """
    )
    assert world.comwit("apply", "--yes").code == 0
    written = world.comwit("import", "--project", PROJECT, "-o", "imported.toml")
    assert written.code == 0, written.err
    assert "review it before committing" in written.err

    loaded = load_manifest(world.root / "imported.toml")
    assert loaded.project == PROJECT
    web, api = loaded.apps["web"], loaded.apps["api"]
    assert [host.name for host in web.hosts] == ["www.example.com"]
    assert web.env == {"LEVEL": "info", "PRICE": "$$5"}
    assert web.build_dir == world.root / "TODO/path/to/web/build"
    assert (api.env, api.max_concurrent_requests) == (None, 10)

    refused = world.comwit("import", "--project", PROJECT, "-o", "imported.toml")
    assert refused.code == 1
    assert (
        refused.err.strip() == "error: imported.toml already exists; pass --force to overwrite it"
    )
    (world.root / "linked.toml").symlink_to("not-there.toml")  # a dangling link is kept too
    refused = world.comwit("import", "--project", PROJECT, "-o", "linked.toml")
    assert refused.err.strip() == "error: linked.toml already exists; pass --force to overwrite it"
    assert (world.root / "linked.toml").is_symlink()

    printed = world.comwit("import", "--project", PROJECT, "-o", "-", "--app", "api")
    assert printed.code == 0, printed.err
    assert printed.out.startswith("# Written by `comwit import`")
    assert list(tomllib.loads(printed.out)["apps"]) == ["api"]


def test_import_of_an_applied_project_with_excludes_protect_and_managed_dns_plans_no_change(
    world,
):
    world.manifest(
        f"""\
        version = 1
        project = "{PROJECT}"
        [apps.web]
        build_dir = "web"
        exclude = ["*.map", "drafts/"]
        protect = true
        hosts = [{{ name = "www.example.com", dns = "managed" }}, "blog.example.com"]
        [apps.web.env]
        LEVEL = "info"
        [apps.api]
        build_dir = "api"
        """
    )
    world.write("web/app.js.map", "{}")
    world.write("web/drafts/next.html", "soon")
    # Managed hostnames live under a project domain Comwit manages (delegated at once here).
    zone = world.request(
        "POST", f"/v1/projects/{PROJECT}/domains", json={"domain": "example.com"}, token=world.token
    )
    assert zone.json()["domain"]["status"] == "active"
    assert world.comwit("apply", "--yes").code == 0
    written = world.comwit("import", "--project", PROJECT, "-o", "imported.toml")
    assert written.code == 0, written.err
    text = (world.root / "imported.toml").read_text()
    world.write(
        "imported.toml",
        text.replace("TODO/path/to/web/build", "web").replace("TODO/path/to/api/build", "api"),
    )

    web = load_manifest(world.root / "imported.toml").apps["web"]
    assert (web.exclude, web.protect) == (("*.map", "drafts/"), True)
    assert [(h.name, h.dns) for h in web.hosts] == [
        ("blog.example.com", "external"),
        ("www.example.com", "managed"),
    ]
    again = world.comwit("plan", "-f", "imported.toml", "--detailed-exitcode")
    assert again.code == 0, again.out + again.err
    assert "No changes: 2 apps unchanged." in again.out


def test_import_to_a_path_below_a_file_says_to_pick_another_file(world):
    assert world.comwit("apply", "--yes").code == 0
    result = world.comwit("import", "--project", PROJECT, "-o", "comwit.toml/again.toml")
    assert result.code == 1
    assert result.err.strip() == (
        "error: cannot write comwit.toml/again.toml (File exists); pick another -o FILE"
    )


def test_import_from_the_local_emulator_where_it_has_no_state_says_where_it_looked(world):
    assert world.comwit("apply", "--yes", "--api-url", "local").code == 0
    result = world.comwit("import", "--project", PROJECT, "--api-url", "local", "-o", "sub/c.toml")
    assert (result.code, result.out) == (1, "")
    assert result.err.strip() == (
        f"error: the local emulator has no state in {world.root / 'sub/.comwit/emulator'} "
        "(--api-url local keeps it next to the manifest): run this where the apps were applied "
        "from, or write the manifest there with -o"
    )
    assert not (world.root / "sub").exists()  # no empty state made in passing
    here = world.comwit("import", "--project", PROJECT, "--api-url", "local", "-o", "c.toml")
    assert here.code == 0, here.err


@pytest.mark.parametrize("name", ["a" * 300, "b/" * 3000 + "comwit.toml"])
def test_import_to_a_name_the_system_refuses_says_so_in_one_short_line(world, name):
    result = world.comwit("import", "--project", PROJECT, "-o", name)
    assert (result.code, result.out) == (1, "")
    (line,) = result.err.strip().splitlines()
    assert line.startswith("error: cannot write ")
    assert line.endswith(" characters) (File name too long); pick another -o FILE")
    assert len(line) < 400


def test_a_plan_saved_to_a_name_the_system_refuses_is_named_cut(world):
    result = world.comwit("plan", "--out", "p" * 300)
    assert result.code == 1
    assert result.err.strip().splitlines()[-1] == (
        f"error: cannot write the plan to {'p' * 50}...{'p' * 150} (300 characters): "
        "File name too long"
    )


def test_import_of_a_project_the_token_cannot_see_names_those_it_can(world):
    result = world.comwit("import", "--project", "prj", "-o", "-")
    assert result.code == 1
    assert result.err.strip() == (
        f"error: project 'prj' is not one this token can see (404); it can see: {PROJECT}; "
        f"did you mean {PROJECT!r}? (pass --project or set COMWIT_PROJECT)"
    )


def test_a_changed_plain_env_value_shows_its_live_value_a_var_value_never(world):
    world.manifest(MANIFEST.replace('LEVEL = "info"', 'LEVEL = "info"\nTOKEN = "${TOKEN}"'))
    assert world.comwit("apply", "--yes", env={"TOKEN": "s3cr3t-1"}).code == 0
    world.manifest(MANIFEST.replace('LEVEL = "info"', 'LEVEL = "warn"\nTOKEN = "plain-now"'))
    shown = world.comwit("plan")
    assert shown.code == 0, shown.err
    assert '~ env LEVEL = "info" -> "warn"' in shown.out
    assert '~ env TOKEN = "plain-now" (changed)' in shown.out
    document = world.plan_json()
    changed = {a["key"]: a["old"] for a in document["apps"][1]["actions"] if "key" in a}
    assert changed == {"LEVEL": "info", "TOKEN": None}
    for rendered in (shown.out, world.comwit("plan", "--format", "markdown").out, str(document)):
        assert "s3cr3t-1" not in rendered
