"""Broken manifests: each problem is reported with file:line:col, field path and a fix."""

from __future__ import annotations

import textwrap

import pytest

from comwit.cli import main

VALID_APP = '[apps.web]\nbuild_dir = "dist"\n'
HEAD = 'version = 1\nproject = "demo"\n'

# (name, manifest text, expected error line)
CASES = [
    ("toml syntax: missing value", "version =\n", "comwit.toml:1:10: invalid TOML"),
    ("toml syntax: unclosed table", "version = 1\n[apps.web\n", "comwit.toml:2:10: invalid TOML"),
    ("toml syntax: duplicate key", "version = 1\nversion = 1\n", "comwit.toml:2:"),
    ("toml syntax: unterminated string", 'version = 1\nproject = "demo\n', "comwit.toml:2:"),
    ("missing version", 'project = "demo"\n' + VALID_APP, "comwit.toml:1:1: version: missing"),
    ("version 2", "version = 2\n" + VALID_APP, "comwit.toml:1:1: version: must be 1, got 2"),
    (
        "version as string",
        'version = "1"\n' + VALID_APP,
        "comwit.toml:1:1: version: must be 1, got '1'",
    ),
    (
        "version true",
        "version = true\n" + VALID_APP,
        "comwit.toml:1:1: version: must be 1, got true",
    ),
    ("version 1.0", "version = 1.0\n" + VALID_APP, "comwit.toml:1:1: version: must be 1, got 1.0"),
    ("no apps", HEAD, "comwit.toml:1:1: apps: no apps: add at least one [apps.NAME] table"),
    ("empty apps table", HEAD + "[apps]\n", "comwit.toml:3:1: apps: no apps"),
    (
        "project not a string",
        "version = 1\nproject = 7\n" + VALID_APP,
        "comwit.toml:2:1: project: expected a string, got integer 7",
    ),
    (
        "empty project",
        'version = 1\nproject = ""\n' + VALID_APP,
        "comwit.toml:2:1: project: must not be empty",
    ),
    (
        "unknown top-level key",
        HEAD + "projetc = 'x'\n" + VALID_APP,
        "comwit.toml:3:1: projetc: unknown key 'projetc'; did you mean 'project'?",
    ),
    (
        "misspelt app key",
        HEAD + '[apps.web]\nbulid_dir = "dist"\n',
        "comwit.toml:4:1: apps.web.bulid_dir: unknown key 'bulid_dir'; did you mean 'build_dir'?",
    ),
    (
        "unknown app key, no close match",
        HEAD + VALID_APP + "colour = 'red'\n",
        "comwit.toml:5:1: apps.web.colour: unknown key 'colour'; expected one of:",
    ),
    (
        "neither build_dir nor build",
        HEAD + "[apps.web]\nprotect = true\n",
        "comwit.toml:3:1: apps.web: set either 'build_dir'",
    ),
    (
        "both build_dir and build",
        HEAD + VALID_APP + 'build = "build-1"\n',
        "comwit.toml:3:1: apps.web: set only one of 'build_dir' and 'build'",
    ),
    (
        "bad app name",
        HEAD + '[apps.Web_1]\nbuild_dir = "dist"\n',
        "comwit.toml:3:1: apps.Web_1: app name 'Web_1' is invalid",
    ),
    (
        "hosts not an array",
        HEAD + VALID_APP + 'hosts = "www.example.com"\n',
        "comwit.toml:5:1: apps.web.hosts: expected an array, got string",
    ),
    (
        "host with underscore",
        HEAD + VALID_APP + 'hosts = ["ok.example.com", "bad_host.example.com"]\n',
        "comwit.toml:5:28: apps.web.hosts[1]: hostname 'bad_host.example.com' has an invalid label 'bad_host'",
    ),
    (
        "wildcard host",
        HEAD + VALID_APP + 'hosts = ["*.example.com"]\n',
        "comwit.toml:5:10: apps.web.hosts[0]: wildcard hostname",
    ),
    (
        "single-label host",
        HEAD + VALID_APP + 'hosts = ["localhost"]\n',
        "comwit.toml:5:10: apps.web.hosts[0]: hostname 'localhost' needs a domain",
    ),
    (
        "host with scheme",
        HEAD + VALID_APP + 'hosts = ["https://example.com"]\n',
        "comwit.toml:5:10: apps.web.hosts[0]: 'https://example.com' is not a hostname",
    ),
    (
        "host label too long",
        HEAD + VALID_APP + f'hosts = ["{"a" * 64}.example.com"]\n',
        "comwit.toml:5:10: apps.web.hosts[0]: hostname",
    ),
    (
        "host with trailing dot",
        HEAD + VALID_APP + 'hosts = ["example.com."]\n',
        "comwit.toml:5:10: apps.web.hosts[0]: hostname 'example.com.' ends with a dot",
    ),
    (
        "ip address as host",
        HEAD + VALID_APP + 'hosts = ["10.0.0.1"]\n',
        "comwit.toml:5:10: apps.web.hosts[0]: '10.0.0.1' looks like an IP address",
    ),
    (
        "host table with bad dns",
        HEAD + VALID_APP + 'hosts = [{ name = "a.example.com", dns = "auto" }]\n',
        "comwit.toml:5:36: apps.web.hosts[0].dns: must be 'external' or 'managed', got 'auto'",
    ),
    (
        "host table with unknown key",
        HEAD + VALID_APP + 'hosts = [{ name = "a.example.com", ttl = 5 }]\n',
        "comwit.toml:5:36: apps.web.hosts[0].ttl: unknown key 'ttl'",
    ),
    (
        "host table without name",
        HEAD + VALID_APP + 'hosts = [{ dns = "managed" }]\n',
        "comwit.toml:5:10: apps.web.hosts[0].name: missing required key 'name'",
    ),
    (
        "same host twice in an app",
        HEAD + VALID_APP + 'hosts = ["a.example.com", "A.example.com"]\n',
        "comwit.toml:5:27: apps.web.hosts[1]: hostname 'a.example.com' is listed twice",
    ),
    (
        "host in two apps",
        HEAD
        + '[apps.api]\nbuild_dir = "dist"\nhosts = ["a.example.com"]\n'
        + VALID_APP
        + 'hosts = ["a.example.com"]\n',
        "comwit.toml:8:10: apps.web.hosts[0]: hostname 'a.example.com' is also bound to app 'api'",
    ),
    (
        "max_concurrent_requests zero",
        HEAD + VALID_APP + "max_concurrent_requests = 0\n",
        "comwit.toml:5:1: apps.web.max_concurrent_requests: must be greater than 0, got 0",
    ),
    (
        "max_concurrent_requests float",
        HEAD + VALID_APP + "max_concurrent_requests = 2.5\n",
        "comwit.toml:5:1: apps.web.max_concurrent_requests: expected an integer, got float 2.5",
    ),
    (
        "max_concurrent_requests bool",
        HEAD + VALID_APP + "max_concurrent_requests = true\n",
        "comwit.toml:5:1: apps.web.max_concurrent_requests: expected an integer, got boolean true",
    ),
    (
        "protect as string",
        HEAD + VALID_APP + 'protect = "yes"\n',
        "comwit.toml:5:1: apps.web.protect: expected a boolean (true or false), got string 'yes'",
    ),
    (
        "exclude not a list",
        HEAD + VALID_APP + 'exclude = "*.map"\n',
        "comwit.toml:5:1: apps.web.exclude: expected an array, got string '*.map'",
    ),
    (
        "exclude with a number",
        HEAD + VALID_APP + 'exclude = ["*.map", 3]\n',
        "comwit.toml:5:21: apps.web.exclude[1]: expected a string, got integer 3",
    ),
    (
        "empty env_ref",
        HEAD + VALID_APP + 'env_ref = ""\n',
        "comwit.toml:5:1: apps.web.env_ref: must not be empty",
    ),
    (
        "env_ref past what a query string takes",  # was only found by apply, after a create
        HEAD + VALID_APP + 'env_ref = "' + "e" * 1025 + '"\n',
        "comwit.toml:5:1: apps.web.env_ref: must be at most 1024 characters, not 1025; shorten it",
    ),
    (
        "bad env key",
        HEAD + VALID_APP + '[apps.web.env]\n"1BAD" = "x"\n',
        "comwit.toml:6:1: apps.web.env.1BAD: env key '1BAD' is invalid",
    ),
    (
        "env key with dash",
        HEAD + VALID_APP + '[apps.web.env]\nMY-KEY = "x"\n',
        "comwit.toml:6:1: apps.web.env.MY-KEY: env key 'MY-KEY' is invalid",
    ),
    (
        "reserved env key",
        HEAD + VALID_APP + '[apps.web.env]\nCOMWIT_LEDGER = "x"\n',
        "comwit.toml:6:1: apps.web.env.COMWIT_LEDGER: env key 'COMWIT_LEDGER' is reserved",
    ),
    (
        "env value not a string",
        HEAD + VALID_APP + "[apps.web.env]\nPORT = 8080\n",
        "comwit.toml:6:1: apps.web.env.PORT: expected a string, got integer 8080",
    ),
    (
        "unterminated interpolation",
        HEAD + VALID_APP + '[apps.web.env]\nURL = "${DB"\n',
        "comwit.toml:6:1: apps.web.env.URL: unterminated '${'",
    ),
    (
        "bad interpolation name",
        HEAD + VALID_APP + '[apps.web.env]\nURL = "${DB-URL}"\n',
        "comwit.toml:6:1: apps.web.env.URL: '${DB-URL}' is not a variable name",
    ),
    (
        "missing interpolated variable",
        HEAD + VALID_APP + '[apps.web.env]\nURL = "${COMWIT_TEST_UNSET_VAR}"\n',
        "comwit.toml:6:1: apps.web.env.URL: environment variable is not set: COMWIT_TEST_UNSET_VAR",
    ),
    (
        "defaults with an app-only key",
        HEAD + '[defaults]\nbuild_dir = "dist"\n' + VALID_APP,
        "comwit.toml:4:1: defaults.build_dir: unknown key 'build_dir'",
    ),
    (
        "defaults with a bad type",
        HEAD + "[defaults]\nprotect = 1\n" + VALID_APP,
        "comwit.toml:4:1: defaults.protect: expected a boolean",
    ),
    (
        "unknown state backend",
        HEAD + VALID_APP + '[state]\nbackend = "s3"\n',
        "comwit.toml:6:1: state.backend: must be 'app-env' or 'local', got 's3'",
    ),
    (
        "state path without local backend",
        HEAD + VALID_APP + '[state]\npath = "x.json"\n',
        "comwit.toml:5:1: state: 'path' applies only to backend = \"local\"",
    ),
    (
        "state keep too large",
        HEAD + VALID_APP + "[state]\nkeep = 1000\n",
        "comwit.toml:6:1: state.keep: must be at most 500, got 1000",
    ),
    (
        "missing build dir",
        HEAD + '[apps.web]\nbuild_dir = "nowhere"\n',
        "comwit.toml:4:1: apps.web.build_dir: build directory",
    ),
    (
        "build dir is a file",
        HEAD + '[apps.web]\nbuild_dir = "file.txt"\n',
        "comwit.toml:4:1: apps.web.build_dir:",
    ),
    (
        "overlay with an unknown key",
        HEAD + VALID_APP + '[environments.prod]\nregion = "eu"\n',
        "comwit.toml:6:1: environments.prod.region: unknown key 'region'",
    ),
    (
        "overlay changing version",
        HEAD + VALID_APP + "[environments.prod]\nversion = 2\n",
        "comwit.toml:6:1: environments.prod.version: unknown key 'version'",
    ),
    (
        "overlay with a bad host",
        HEAD + VALID_APP + '[environments.prod.apps.web]\nhosts = ["bad host"]\n',
        "comwit.toml:6:10: environments.prod.apps.web.hosts[0]: hostname 'bad host' has an invalid label",
    ),
    (
        "overlay host clashing with another app",
        HEAD
        + VALID_APP
        + 'hosts = ["a.example.com"]\n[apps.api]\nbuild_dir = "dist"\n[environments.prod.apps.api]\nhosts = ["a.example.com"]\n',
        "comwit.toml:9:10: environments.prod.apps.api.hosts[0]: hostname 'a.example.com' is also bound to app 'web'",
    ),
    (
        "a quote in a hostname",
        HEAD + VALID_APP + 'hosts = ["o\'hara.example.com"]\n',
        "comwit.toml:5:10: apps.web.hosts[0]: hostname 'o'hara.example.com' has an invalid "
        "label 'o'hara': use only letters, digits and '-'",
    ),
    (
        "a very long hostname",
        HEAD + VALID_APP + f'hosts = ["{"a" * 300}.example.com"]\n',
        f"comwit.toml:5:10: apps.web.hosts[0]: hostname '{'a' * 80}... (312 characters)' has "
        f"an invalid label '{'a' * 80}... (300 characters)': labels are at most 63 characters",
    ),
    (
        "a quote in an env key",
        HEAD + VALID_APP + 'env = { "it\'s" = "x" }\n',
        "comwit.toml:5:9: apps.web.env.\"it's\": env key 'it's' is invalid",
    ),
    (
        "a quote in an unknown key",
        HEAD + VALID_APP + '"bui\'ld_dir" = 1\n',
        "comwit.toml:5:1: apps.web.\"bui'ld_dir\": unknown key 'bui'ld_dir'; "
        "did you mean 'build_dir'?",
    ),
    (
        "a quote in an app name",
        HEAD + '[apps."Web\'s"]\nbuild_dir = "dist"\n',
        "comwit.toml:3:1: apps.\"Web's\": app name 'Web's' is invalid",
    ),
    (
        "a long string where a number goes",
        HEAD + VALID_APP + f'max_concurrent_requests = "{"9" * 100}"\n',
        f"comwit.toml:5:1: apps.web.max_concurrent_requests: expected an integer, got string "
        f"'{'9' * 80}... (100 characters)'",
    ),
    (
        "overlay not a table",
        HEAD + "environments = { prod = 3 }\n" + VALID_APP,
        "comwit.toml:3:18: environments.prod: expected a table, got integer 3",
    ),
]


@pytest.mark.parametrize(("name", "text", "expected"), CASES, ids=[case[0] for case in CASES])
def test_broken_manifest_is_reported_with_its_place(
    name, text, expected, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "dist").mkdir()
    (tmp_path / "file.txt").write_text("not a dir")
    (tmp_path / "comwit.toml").write_text(text)

    code = main(["validate"])

    err = capsys.readouterr().err
    assert code == 1, err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert any(line.startswith(f"error: {expected}") for line in lines), err


def test_at_least_thirty_broken_manifests_are_covered():
    assert len(CASES) >= 30


def test_every_problem_is_reported_at_once(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "comwit.toml").write_text(
        textwrap.dedent(
            """\
            version = 1
            [apps.web]
            build_dir = "dist"
            protect = "no"
            hosts = ["bad_host.example.com"]
            [state]
            backend = "s3"
            """
        )
    )
    assert main(["validate"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "error: comwit.toml:4:1: apps.web.protect: expected a boolean (true or false), got string 'no'",
        "error: comwit.toml:5:10: apps.web.hosts[0]: hostname 'bad_host.example.com' has an invalid "
        "label 'bad_host': use only letters, digits and '-'",
        "error: comwit.toml:7:1: state.backend: must be 'app-env' or 'local', got 's3'",
    ]


def test_unknown_environment_lists_the_known_ones(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "dist").mkdir()
    (tmp_path / "comwit.toml").write_text(
        HEAD + VALID_APP + "[environments.staging]\n[environments.production]\n"
    )
    assert main(["validate", "--env", "prod"]) == 1
    err = capsys.readouterr().err
    assert err == (
        "error: comwit.toml:1:1: --env 'prod': unknown environment; known: production, staging; "
        "did you mean 'production'?\n"
    )


def test_missing_manifest_says_where_it_looked(tmp_path, monkeypatch, capsys):
    (tmp_path / ".git").mkdir()
    (tmp_path / "web" / "src").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "web" / "src")
    assert main(["validate"]) == 1
    assert capsys.readouterr().err == (
        f"error: comwit.toml: not found in {tmp_path.resolve() / 'web' / 'src'} and the "
        f"directories above it, up to the repository's top {tmp_path.resolve()}; "
        "write one with `comwit init`, or pass -f FILE\n"
    )


def test_a_missing_file_given_with_f_says_where_it_looked(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["validate", "-f", "prod.toml"]) == 1
    assert capsys.readouterr().err == (
        f"error: prod.toml: no manifest at {tmp_path.resolve() / 'prod.toml'}; "
        "create one or pass -f FILE\n"
    )


def test_manifest_that_is_not_utf8_names_the_position(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "comwit.toml").write_bytes(b'version = 1\nproject = "d\xffmo"\n')
    assert main(["validate"]) == 1
    assert capsys.readouterr().err == (
        "error: comwit.toml:2:13: is not valid UTF-8; save the file as UTF-8\n"
    )


def test_manifest_given_as_a_directory_is_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "conf").mkdir()
    assert main(["validate", "-f", "conf"]) == 1
    assert "is a directory; pass the manifest file with -f FILE" in capsys.readouterr().err
