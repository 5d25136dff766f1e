"""The "Other CI & raw API deploy" page, run as written against the emulator.

The commands are the page's own, with only the base URL substituted; ids and the token come
from the environment variables the page tells CI to set. The page names the builds and
rollbacks routes without a command, so those two are written in the same style.
"""

import json
import os
import shutil
import subprocess

import pytest

from tests.emulator_support import PROJECT, client, create_app

DOCS_BASE = "https://api.cloud.comwit.io"

PACK = "tar --zstd -cf app.tar.zst -C ./dist ."

UPLOAD = """curl -X POST \\
  "https://api.cloud.comwit.io/v1/projects/$PROJECT_ID/apps/$APP_ID/deployments" \\
  -H "Authorization: Bearer $COMWIT_TOKEN" \\
  -H "Content-Type: application/octet-stream" \\
  --data-binary @app.tar.zst"""

UPLOAD_WITH_OPTIONS = """curl -X POST \\
  "https://api.cloud.comwit.io/v1/projects/$PROJECT_ID/apps/$APP_ID/deployments?hosts=a.example.com,b.example.com&max_concurrent_requests=50" \\
  -H "Authorization: Bearer $COMWIT_TOKEN" \\
  -H "Content-Type: application/octet-stream" \\
  --data-binary @app.tar.zst"""

LIST_BUILDS = """curl \\
  "https://api.cloud.comwit.io/v1/projects/$PROJECT_ID/apps/$APP_ID/builds" \\
  -H "Authorization: Bearer $COMWIT_TOKEN\""""

ROLLBACK = """curl -X POST \\
  "https://api.cloud.comwit.io/v1/projects/$PROJECT_ID/apps/$APP_ID/rollbacks" \\
  -H "Authorization: Bearer $COMWIT_TOKEN" \\
  -H "Content-Type: application/json" \\
  --data "{\\"build_id\\": \\"$BUILD_ID\\"}\""""

pytestmark = pytest.mark.skipif(
    not (shutil.which("curl") and shutil.which("tar") and shutil.which("zstd")),
    reason="needs curl, GNU tar and zstd",
)


@pytest.fixture
def ci(tmp_path, emulator, emulator_token):
    """A CI step's working directory with ./dist built, and the variables the page names."""
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<h1>hello</h1>\n")
    (dist / "assets" / "app.js").write_text("console.log('hi')\n")
    with client(emulator, emulator_token) as http:
        app_id = create_app(http)
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ["HOME"],
        "PROJECT_ID": PROJECT,
        "APP_ID": app_id,
        "COMWIT_TOKEN": emulator_token,
    }
    return _Step(tmp_path, env, emulator.url)


class _Step:
    def __init__(self, cwd, env, base_url):
        self.cwd, self.env, self.base_url = cwd, env, base_url

    def run(self, command, **extra_env):
        script = command.replace(DOCS_BASE, self.base_url)
        done = subprocess.run(
            ["sh", "-c", script],
            cwd=self.cwd,
            env={**self.env, **extra_env},
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return done.stdout

    def json(self, command, **extra_env):
        return json.loads(self.run(command, **extra_env))


def test_the_documented_upload_returns_the_documented_json(ci):
    ci.run(PACK)
    body = ci.json(UPLOAD)
    assert set(body) == {"app_id", "build_id", "hosts", "uploaded"}
    assert body["app_id"] == ci.env["APP_ID"]
    assert body["build_id"].startswith("build-")
    assert body["hosts"] == []
    assert body["uploaded"] is True


def test_the_upload_with_hosts_and_options_binds_the_hosts(ci):
    ci.run(PACK)
    assert ci.json(UPLOAD_WITH_OPTIONS)["hosts"] == ["a.example.com", "b.example.com"]


def test_builds_list_shows_the_upload_and_a_rollback_reactivates_the_prior_build(ci, emulator):
    ci.run(PACK)
    first = ci.json(UPLOAD)["build_id"]
    (ci.cwd / "dist" / "index.html").write_text("<h1>second</h1>\n")
    ci.run(PACK)
    second = ci.json(UPLOAD)["build_id"]
    builds = [b["build_id"] for b in ci.json(LIST_BUILDS)["builds"]]
    assert set(builds) == {first, second}

    assert ci.json(ROLLBACK, BUILD_ID=first) == {"app_id": ci.env["APP_ID"], "build_id": first}
    with client(emulator, ci.env["COMWIT_TOKEN"]) as http:
        app = http.get(f"/v1/projects/{PROJECT}/apps/{ci.env['APP_ID']}").json()["app"]
    assert app["active_build_id"] == first
