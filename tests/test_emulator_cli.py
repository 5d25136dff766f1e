"""`comwit emulator serve` and `comwit emulator token`, run as a user would."""

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from comwit.cli import main
from comwit.emulator.process import read_exports
from comwit.emulator.server import serve_in_thread

from tests.emulator_support import OCTET, PROJECT, assert_problem, create_app

_NO_EXTRA = "import sys; sys.modules['fastapi'] = None; from comwit.cli import main; "


def _vm_hwm_kib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def test_serve_prints_url_and_token_streams_big_uploads_and_stops_on_ctrl_c(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "comwit", "emulator", "serve", "--port", "0",
         "--data", str(tmp_path / "data"), "--project", PROJECT],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        exports = read_exports(proc)
        assert exports["COMWIT_PROJECT"] == PROJECT
        headers = {"Authorization": f"Bearer {exports['COMWIT_TOKEN']}"}
        with httpx.Client(base_url=exports["COMWIT_API_URL"], headers=headers, timeout=60) as http:
            app_id = create_app(http)
            size = 256 * 1024 * 1024
            chunk = b"\x5a" * (1024 * 1024)
            response = http.post(
                f"/v1/projects/{PROJECT}/apps/{app_id}/deployments",
                content=(chunk for _ in range(size // len(chunk))),
                headers={**OCTET, "Content-Length": str(size)},
            )
            assert_problem(response, 400, "invalid_artifact")
        assert _vm_hwm_kib(proc.pid) < 160 * 1024  # far below the 256 MiB it received
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
        err = proc.stderr.read().decode()
        assert "Traceback" not in err and "error:" not in err
        assert err.rstrip().endswith("Stopped.")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()


def test_serve_stops_cleanly_on_sigterm(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "comwit", "emulator", "serve", "--port", "0",
         "--data", str(tmp_path / "data")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        exports = read_exports(proc)
        assert httpx.get(exports["COMWIT_API_URL"] + "/healthz", timeout=10).status_code == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        err = proc.stderr.read().decode()
        assert "error:" not in err and "Traceback" not in err
        assert "Stopping the emulator." in err and err.splitlines()[-1] == "Stopped."
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()


def test_token_prints_a_token_the_server_accepts_with_exactly_its_scopes(tmp_path, capsys):
    data = tmp_path / "data"
    assert main(["emulator", "token", "--data", str(data), "--scopes", "app:read",
                 "--project", PROJECT]) == 0  # fmt: skip
    token = capsys.readouterr().out.strip()
    with serve_in_thread(data) as emulator:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=emulator.url, headers=headers) as http:
            assert http.get(f"/v1/projects/{PROJECT}/apps").status_code == 200
            assert_problem(http.get("/v1/projects"), 403, "missing_scope")


def test_token_refuses_unknown_scopes_in_one_line(tmp_path, capsys):
    assert main(["emulator", "token", "--data", str(tmp_path), "--scopes", "app:everything"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: cannot issue an emulator token: unknown scope 'app:everything'")
    assert err.count("\n") == 1


@pytest.mark.parametrize("command", [["token"], ["domain", "example.com"]])
def test_a_bad_project_is_refused_before_the_state_dir_is_made(tmp_path, capsys, command):
    data = tmp_path / "new"
    assert main(["emulator", *command, "--data", str(data), "--project", "bad/name"]) == 1
    assert capsys.readouterr().err == (
        "error: --project 'bad/name': a project id is 1-63 letters, digits, '.', '_' and '-' "
        "(a letter or digit first)\n"
    )
    assert not data.exists()


@pytest.mark.parametrize(
    "command",
    [["token"], ["domain", "example.com"], ["serve", "--port", "0"]],
    ids=["token", "domain", "serve"],
)
def test_a_data_dir_that_cannot_hold_the_state_is_a_one_line_error(tmp_path, capsys, command):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory")
    code = main(["emulator", *command, "--data", str(blocked / "state")])
    err = capsys.readouterr().err
    assert code == 1
    assert err == (
        f"error: the emulator cannot keep its state in {blocked / 'state'} "
        f"({blocked} is a file, not a directory); pass another --data\n"
    )


def test_a_data_dir_holding_something_that_is_not_a_database_is_a_one_line_error(tmp_path, capsys):
    (tmp_path / "emulator.sqlite3").write_bytes(b"not sqlite " * 20)
    assert main(["emulator", "token", "--data", str(tmp_path)]) == 1
    assert capsys.readouterr().err == (
        f"error: the emulator cannot keep its state in {tmp_path} (file is not a database); "
        "pass another --data\n"
    )


@pytest.mark.parametrize(
    ("sql", "why"),
    [
        ("CREATE TABLE tokens (x)", "emulator.sqlite3 is a database the emulator did not make"),
        ("PRAGMA user_version = 99", "its schema 99 is newer than this comwit's 2"),
    ],
)
def test_a_database_of_another_kind_or_a_newer_schema_is_a_one_line_error(
    tmp_path, capsys, sql, why
):
    import sqlite3

    with contextlib.closing(sqlite3.connect(tmp_path / "emulator.sqlite3")) as db:
        db.execute(sql)
        db.commit()
    assert main(["emulator", "token", "--data", str(tmp_path)]) == 1
    assert capsys.readouterr().err == (
        f"error: the emulator cannot keep its state in {tmp_path} ({why}); pass another --data\n"
    )
    with contextlib.closing(sqlite3.connect(tmp_path / "emulator.sqlite3")) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] in (0, 99)  # left as it was


def test_emulator_without_a_command_prints_help(capsys):
    assert main(["emulator"]) == 0
    assert "serve" in capsys.readouterr().out


def test_without_the_extra_help_works_and_serve_says_what_to_install(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    helped = subprocess.run(
        [sys.executable, "-c", _NO_EXTRA + "raise SystemExit(main(['--help']))"],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    served = subprocess.run(
        [sys.executable, "-c",
         _NO_EXTRA + f"raise SystemExit(main(['emulator', 'serve', '--data', {str(tmp_path)!r}]))"],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert helped.returncode == 0
    assert served.returncode == 1
    assert served.stderr.count("\n") == 1
    assert "pip install 'comwit[emulator]'" in served.stderr


@pytest.mark.parametrize(("port", "says"), [("-1", "at least 0"), ("65536", "at most 65535")])
def test_serve_on_a_port_out_of_range_is_a_one_line_error(tmp_path, capsys, port, says):
    assert main(["emulator", "serve", "--data", str(tmp_path), "--port", port]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"error: --port: must be {says} (see `comwit emulator serve --help`)"
    ]


def test_serve_on_a_port_in_use_is_a_one_line_error(tmp_path, emulator, capsys):
    port = emulator.url.rsplit(":", 1)[1]
    assert main(["emulator", "serve", "--data", str(tmp_path / "d"), "--port", port]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: the emulator cannot listen on 127.0.0.1:")
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--project-listing", "off"], "--project-listing 'off': use on, 404 or 501"),
        (["--assume", "ROLLBACK_BODY_FIELD"], "is not NAME=VALUE"),
        (["--assume", "NO_SUCH=1"], "NAME one of APP_ENVELOPE, LOGS_PAGE_TOKEN_PARAM"),
        (["--assume", "STATUS_UNAUTHENTICATED=200"], "give a 4xx status"),
        (["--project", "bad id!"], "--project 'bad id!': a project id is 1-63 letters"),
    ],
)
def test_serve_refuses_a_bad_listing_mode_or_assumption_in_one_line(
    tmp_path, capsys, args, message
):
    code = main(["emulator", "serve", "--data", str(tmp_path / "d"), "--port", "0", *args])
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1 and message in err
    assert not (tmp_path / "d").exists()  # refused before anything is served


def test_domain_gives_a_project_a_delegated_zone_that_managed_hostnames_can_use(tmp_path, capsys):
    data = tmp_path / "d"
    assert (
        main(["emulator", "domain", "Example.COM", "--data", str(data), "--project", "demo"]) == 0
    )
    assert capsys.readouterr().out == "example.com: active (project demo)\n"
    again = main(["emulator", "domain", "example.com", "--data", str(data), "--project", "other"])
    err = capsys.readouterr().err
    assert again == 1 and err.count("\n") == 1
    assert "Domain example.com belongs to another project." in err
    with serve_in_thread(data) as running:
        token = running.issue_token(["app:read"], ["demo"])
        listed = httpx.get(
            f"{running.url}/v1/projects/demo/domains",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        ).json()
    assert [(d["domain"], d["status"]) for d in listed["domains"]] == [("example.com", "active")]
