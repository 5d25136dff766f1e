"""`comwit pack APP`: packs the app's build_dir as the manifest says, prints path, size, digest."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess

import pytest

from comwit.artifact.digest import digest_tree
from comwit.artifact.stat_cache import StatCache, stat_cache_dir
from comwit.cli import main
from comwit.cli.settings import Edges

from tests.artifact_support import SITE, Link, write_tree
from tests.emulator_support import PROJECT, client, create_app

MANIFEST = """\
version = 1
project = "proj"

[apps.web]
build_dir = "dist"
exclude = ["*.map"]

[apps.old]
build = "build-1"
"""


@pytest.fixture
def project(tmp_path, monkeypatch):
    write_tree(tmp_path / "dist", {**SITE, "app.js.map": "{}"})
    (tmp_path / "comwit.toml").write_text(MANIFEST)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_pack_writes_app_tar_zst_and_prints_path_size_and_digest(project, capsys):
    assert main(["pack", "web"]) == 0
    archive = project / "web.tar.zst"
    tree = digest_tree(project / "dist", ["*.map"])
    assert capsys.readouterr().out.splitlines() == [
        "path: web.tar.zst",
        f"size: {archive.stat().st_size} bytes",
        f"files: 5 ({tree.total_size} bytes before compression)",
        f"digest: {tree.digest}",
    ]
    listing = subprocess.run(
        ["tar", "--zstd", "-tf", str(archive)], check=True, capture_output=True, text=True
    ).stdout.splitlines()
    assert "./index.html" in listing
    assert "./app.js.map" not in listing


def test_pack_keeps_the_stat_cache_plan_uses_and_packs_the_same_bytes_again(project, capsys):
    assert main(["pack", "web", "-o", "one.tar.zst"]) == 0
    cache = StatCache.open(stat_cache_dir(project), project / "dist")
    tree = digest_tree(project / "dist", ["*.map"])
    assert len(cache) == sum(1 for f in tree.files if f.kind == "file")
    assert main(["pack", "web", "-o", "two.tar.zst"]) == 0
    one, two = capsys.readouterr().out.split("path: two.tar.zst")
    assert (project / "one.tar.zst").read_bytes() == (project / "two.tar.zst").read_bytes()
    assert one.splitlines()[-1] == two.splitlines()[-1] == f"digest: {tree.digest}"


def test_out_and_level_options(project, capsys):
    assert main(["pack", "web", "-o", "build/site.tar.zst", "--level", "19"]) == 1
    assert "cannot write build/site.tar.zst: build does not exist" in capsys.readouterr().err
    (project / "build").mkdir()
    assert main(["pack", "web", "-o", "build/site.tar.zst", "--level", "19"]) == 0
    assert (project / "build/site.tar.zst").exists()


def test_secret_looking_files_are_warned_about_on_stderr(project, capsys):
    (project / "dist/.env").write_text("TOKEN=x")
    assert main(["pack", "web"]) == 0
    err = capsys.readouterr().err
    assert err.startswith("warning: .env in ")
    assert 'add ".env" to the app\'s `exclude` setting' in err


def test_unknown_app_is_an_error_listing_the_apps(project, capsys):
    assert main(["pack", "api"]) == 1
    assert capsys.readouterr().err == "error: comwit.toml has no app 'api' (apps: old, web)\n"


def test_app_pinning_a_build_has_nothing_to_pack(project, capsys):
    assert main(["pack", "old"]) == 1
    assert "app 'old' in comwit.toml has no build_dir" in capsys.readouterr().err


def test_an_invalid_manifest_is_reported_and_nothing_is_packed(project, capsys):
    (project / "comwit.toml").write_text(MANIFEST.replace('exclude = ["*.map"]', "exclude = 3"))
    assert main(["pack", "web", "-o", "web.tar.zst"]) == 1
    err = capsys.readouterr().err
    assert "comwit.toml:6:" in err and "exclude" in err
    assert not list(project.glob("*.tar.zst*")) and not list(project.glob(".web.tar.zst*"))
    assert not stat_cache_dir(project).exists()


def test_unsafe_build_dir_is_exit_1_and_writes_nothing(project, capsys):
    write_tree(project / "dist", {"up": Link("../comwit.toml")})
    assert main(["pack", "web"]) == 1
    assert "symlink up in" in capsys.readouterr().err
    assert not list(project.glob("*.tar.zst*")) and not list(project.glob(".web.tar.zst*"))


@pytest.mark.parametrize(("out", "shown"), [("/", "/"), (".", "."), ("..", "..")])
def test_out_naming_a_directory_is_exit_1_naming_it(project, capsys, out, shown):
    assert main(["pack", "web", "-o", out]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"error: cannot write {shown}: is a directory; pass a file name"
    ]


def test_out_of_a_long_legal_name_is_written_and_one_too_long_is_exit_1(project, capsys):
    legal = "x" * 250  # its .partial beside it would be longer: the temporary name is cut
    assert main(["pack", "web", "-o", legal]) == 0
    assert (project / legal).is_file()
    assert main(["pack", "web", "-o", "y" * 256]) == 1  # said "comwit hit a bug (OSError)"
    assert capsys.readouterr().err.splitlines() == [
        f"error: cannot write {'y' * 256}: file name too long"
    ]
    assert sorted(p.name for p in project.iterdir() if p.name.startswith((".x", ".y", "y"))) == []


@pytest.mark.parametrize("out", ["comwit.toml", "sub/../comwit.toml", "link.toml"])
def test_out_naming_the_manifest_is_exit_1_and_leaves_the_manifest_alone(project, capsys, out):
    (project / "sub").mkdir()
    (project / "link.toml").symlink_to("comwit.toml")
    assert main(["pack", "web", "-o", out]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"error: cannot write {out}: it is the manifest; pass another -o FILE"
    ]
    assert (project / "comwit.toml").read_text() == MANIFEST
    assert (project / "link.toml").is_symlink()
    assert not list(project.glob(".comwit.toml*")) + list(project.glob(".link.toml*"))


def test_out_naming_a_device_is_exit_1_and_leaves_the_device_alone(project, capsys):
    (project / "web.tar.zst").symlink_to("/dev/null")
    assert main(["pack", "web", "-o", "web.tar.zst"]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "error: cannot write web.tar.zst: is a character device, not a regular file; "
        "pass a file name, or - for stdout"
    ]
    assert (project / "web.tar.zst").is_symlink()
    assert not list(project.glob(".web.tar.zst*"))


@pytest.mark.skipif(not shutil.which("curl"), reason="needs curl")
def test_the_archive_uploads_with_the_documented_curl_recipe(project, emulator, emulator_token):
    assert main(["pack", "web", "-o", "app.tar.zst"]) == 0
    with client(emulator, emulator_token) as http:
        app_id = create_app(http)
    upload = (
        f'curl -sS -X POST "{emulator.url}/v1/projects/$PROJECT_ID/apps/$APP_ID/deployments" '
        '-H "Authorization: Bearer $COMWIT_TOKEN" -H "Content-Type: application/octet-stream" '
        "--data-binary @app.tar.zst"
    )
    env = {
        "PATH": os.environ["PATH"],
        "PROJECT_ID": PROJECT,
        "APP_ID": app_id,
        "COMWIT_TOKEN": emulator_token,
    }
    done = subprocess.run(
        ["sh", "-c", upload],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert json.loads(done.stdout)["uploaded"] is True


def _run_to_bytes(args):
    """Run the CLI with a binary stdout (as a pipe is); the bytes written, stderr, exit code."""
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="utf-8", write_through=True)
    err = io.StringIO()
    code = main(args, edges=Edges(dict(os.environ), io.StringIO(), out, err))
    out.flush()
    return code, raw.getvalue(), err.getvalue()


def test_dash_writes_the_archive_to_stdout_and_the_report_to_stderr(
    project, emulator, emulator_token
):
    assert main(["pack", "web", "-o", "file.tar.zst"]) == 0
    code, archive, err = _run_to_bytes(["pack", "web", "-o", "-"])
    assert code == 0, err
    assert archive == (project / "file.tar.zst").read_bytes()
    assert not (project / "-").exists()
    tree = digest_tree(project / "dist", ["*.map"])
    assert err.splitlines() == [
        "path: -",
        f"size: {len(archive)} bytes",
        f"files: 5 ({tree.total_size} bytes before compression)",
        f"digest: {tree.digest}",
    ]
    with client(emulator, emulator_token) as http:  # the emulator accepts what stdout carried
        app_id = create_app(http)
        answer = http.post(
            f"/v1/projects/{PROJECT}/apps/{app_id}/deployments",
            content=archive,
            headers={"Content-Type": "application/octet-stream"},
        )
    assert answer.status_code == 200, answer.text
    assert answer.json()["uploaded"] is True


def test_dash_refuses_to_write_an_archive_to_a_terminal(project, capsys):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    err = io.StringIO()
    code = main(["pack", "web", "-o", "-"], edges=Edges({}, io.StringIO(), Terminal(), err))
    assert code == 1
    assert "which is a terminal; redirect it" in err.getvalue()
