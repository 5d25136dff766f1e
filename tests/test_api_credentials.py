"""Credentials and settings: where the token, URL, timeout and project come from."""

from __future__ import annotations

import json

import pytest

from comwit.api.credentials import (
    DEFAULT_API_URL,
    MAX_CONFIG_BYTES,
    config_path,
    load_default_project,
    load_token,
    resolve_api_url,
    resolve_timeout,
)
from comwit.errors import CredentialsError
from comwit.secret import Secret, redact

from tests.special_files import fifo_opened_later

TOKEN = "cwt_0123abcd"


def write_config(path, content):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


# -- token ------------------------------------------------------------------------------


def test_the_environment_token_wins_over_the_config_file(tmp_path):
    config = write_config(tmp_path / "c.json", {"token": "cwt_fromfile"})
    environ = {"COMWIT_TOKEN": f" {TOKEN}\n", "COMWIT_CONFIG": str(config)}
    assert load_token(environ) == Secret(TOKEN)


def test_the_token_is_read_from_comwit_config(tmp_path):
    config = write_config(tmp_path / "c.json", {"token": TOKEN, "default_project": "p1"})
    assert load_token({"COMWIT_CONFIG": str(config)}) == Secret(TOKEN)


def test_a_config_file_past_its_limit_is_refused_naming_the_limit(tmp_path):
    config = tmp_path / "config.json"
    with config.open("wb") as file:
        file.truncate(MAX_CONFIG_BYTES + 1)  # sparse: takes no space
    with pytest.raises(CredentialsError, match=r"cannot read .*config\.json \(larger than 1 MiB\)"):
        load_token({"COMWIT_CONFIG": str(config)})


def test_the_token_is_read_from_xdg_config_home(tmp_path):
    write_config(tmp_path / "xdg" / "comwit" / "config.json", {"token": TOKEN})
    environ = {"XDG_CONFIG_HOME": str(tmp_path / "xdg"), "HOME": str(tmp_path / "home")}
    assert load_token(environ) == Secret(TOKEN)


def test_the_token_is_read_from_the_home_config(tmp_path):
    write_config(tmp_path / ".config" / "comwit" / "config.json", {"token": TOKEN})
    assert load_token({"HOME": str(tmp_path)}) == Secret(TOKEN)


def test_config_path_precedence(tmp_path):
    home = {"HOME": str(tmp_path)}
    assert config_path(home) == tmp_path / ".config" / "comwit" / "config.json"
    xdg = {**home, "XDG_CONFIG_HOME": "/xdg"}
    assert str(config_path(xdg)) == "/xdg/comwit/config.json"
    assert str(config_path({**xdg, "COMWIT_CONFIG": "/etc/c.json"})) == "/etc/c.json"


def test_without_any_token_the_error_says_how_to_provide_one(tmp_path):
    with pytest.raises(CredentialsError, match="set COMWIT_TOKEN to a cwt_ token") as caught:
        load_token({"HOME": str(tmp_path)})
    assert str(tmp_path / ".config" / "comwit" / "config.json") in str(caught.value)


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("{not json", r"is not valid JSON \(line 1\)"),
        ('["cwt_listed"]', "must hold a JSON object"),
        ({"default_project": "p1"}, 'has no "token" string field'),
        ({"token": 12345}, 'has no "token" string field'),
    ],
)
def test_a_broken_config_file_is_one_line_naming_the_file(tmp_path, content, words):
    config = write_config(tmp_path / "c.json", content)
    with pytest.raises(CredentialsError, match=words) as caught:
        load_token({"COMWIT_CONFIG": str(config)})
    message = str(caught.value)
    assert str(config) in message
    assert "\n" not in message
    assert "cwt_listed" not in message


def test_a_missing_explicit_config_file_is_an_error(tmp_path):
    with pytest.raises(CredentialsError, match="COMWIT_CONFIG names"):
        load_token({"COMWIT_CONFIG": str(tmp_path / "nope.json")})


def test_an_unreadable_config_file_is_an_error(tmp_path):
    directory = tmp_path / "c.json"
    directory.mkdir()
    with pytest.raises(CredentialsError, match="cannot read"):
        load_token({"COMWIT_CONFIG": str(directory)})


@pytest.mark.parametrize(
    "value", ["ghp_notcomwit123", "cwt_has space", "cwt_ok\nX-Evil: 1", "Bearer cwt_abc"]
)
def test_a_token_of_the_wrong_shape_is_refused_without_echoing_it(tmp_path, value):
    for environ in (
        {"COMWIT_TOKEN": value},
        {"COMWIT_CONFIG": str(write_config(tmp_path / "c.json", {"token": value}))},
    ):
        with pytest.raises(CredentialsError, match="not a Comwit API token") as caught:
            load_token(environ)
        assert value.strip() not in str(caught.value)


def test_an_empty_environment_token_is_an_error_not_a_fallback(tmp_path):
    write_config(tmp_path / ".config" / "comwit" / "config.json", {"token": TOKEN})
    with pytest.raises(CredentialsError, match="COMWIT_TOKEN is empty"):
        load_token({"COMWIT_TOKEN": "", "HOME": str(tmp_path)})


def test_a_loaded_token_is_redacted_everywhere():
    token = load_token({"COMWIT_TOKEN": "cwt_5ec2e7"})
    assert "cwt_5ec2e7" not in repr(token) + str(token) + f"{token}"
    assert redact("header: Bearer cwt_5ec2e7") == "header: Bearer <hidden>"


def test_a_bare_prefix_is_refused():
    with pytest.raises(CredentialsError, match="not a Comwit API token"):
        load_token({"COMWIT_TOKEN": "cwt_"})


# -- default project --------------------------------------------------------------------


def test_the_default_project_comes_from_the_config_file(tmp_path):
    config = write_config(tmp_path / "c.json", {"token": TOKEN, "default_project": "p1"})
    assert load_default_project({"COMWIT_CONFIG": str(config)}) == "p1"


@pytest.mark.parametrize("content", [{"token": TOKEN}, {"default_project": ""}])
def test_no_default_project_is_none(tmp_path, content):
    config = write_config(tmp_path / "c.json", content)
    assert load_default_project({"COMWIT_CONFIG": str(config)}) is None


def test_no_config_file_means_no_default_project(tmp_path):
    assert load_default_project({"HOME": str(tmp_path)}) is None


def test_a_default_project_that_is_not_a_string_is_an_error(tmp_path):
    config = write_config(tmp_path / "c.json", {"default_project": ["p1"]})
    with pytest.raises(CredentialsError, match="default_project"):
        load_default_project({"COMWIT_CONFIG": str(config)})


# -- API URL ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "environ", "expected"),
    [
        (None, {}, DEFAULT_API_URL),
        (None, {"COMWIT_API_URL": "https://env.example"}, "https://env.example"),
        ("https://opt.example", {"COMWIT_API_URL": "https://env.example"}, "https://opt.example"),
        ("https://opt.example//", {}, "https://opt.example"),
        ("https://opt.example/v1/", {}, "https://opt.example"),
        ("https://opt.example/proxy/comwit/", {}, "https://opt.example/proxy/comwit"),
        ("local", {"COMWIT_API_URL": "https://env.example"}, "local"),
        (None, {"COMWIT_API_URL": "local"}, "local"),
        ("http://127.0.0.1:8787/", {}, "http://127.0.0.1:8787"),
        ("http://localhost:8787", {}, "http://localhost:8787"),
        ("http://[::1]:8787", {}, "http://[::1]:8787"),
    ],
)
def test_api_url_precedence_and_normalization(option, environ, expected):
    assert resolve_api_url(option, environ) == expected


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://api.example.com", "refusing plain http:// for api.example.com"),
        ("http://10.0.0.1:8787", "refusing plain http://"),
        ("ftp://api.example.com", "is not an http(s) URL"),
        ("api.example.com", "is not an http(s) URL"),
        ("https://user:cwt_secret9@api.example.com", "must not contain a user name"),
        ("https://api.example.com/?token=cwt_secret9", "must not contain"),
        ("https://[::1", "malformed"),
        ("https://api.example.com:abc", "malformed"),
        ("https://api.example.com:99999", "malformed"),
        ("https://api.example.com\x1b[2J/", "a control character at character 24"),
        ("https://api.exa\x7fmple.com", "a control character at character 16"),
        ("https://api\udcff.example.com", "a byte that is not UTF-8 at character 12"),
        ("https://api.example.com\ufeff/", "an invisible character (U+FEFF) at character 24"),
        ("https://api.exa\u00a0mple.com", "an invisible character (U+00A0) at character 16"),
    ],
)
def test_unsafe_or_malformed_api_urls_are_refused(url, words):
    with pytest.raises(CredentialsError) as caught:
        resolve_api_url(url, {})
    assert words in str(caught.value)
    assert "cwt_secret9" not in str(caught.value)


# -- timeout ----------------------------------------------------------------------------


def test_timeout_precedence():
    assert resolve_timeout(None, {}) == 30.0
    assert resolve_timeout(None, {"COMWIT_TIMEOUT": "2.5"}) == 2.5
    assert resolve_timeout(7, {"COMWIT_TIMEOUT": "2.5"}) == 7.0


@pytest.mark.parametrize("value", ["soon", "0", "-3", "nan", "inf", "1e309", "86401"])
def test_a_bad_timeout_is_refused(value):
    with pytest.raises(CredentialsError, match="COMWIT_TIMEOUT"):
        resolve_timeout(None, {"COMWIT_TIMEOUT": value})


def test_a_bad_timeout_or_api_url_is_echoed_quoted_and_cut():
    with pytest.raises(CredentialsError) as caught:
        resolve_timeout(None, {"COMWIT_TIMEOUT": "o'clock"})
    assert str(caught.value) == (
        "COMWIT_TIMEOUT='o'clock' is not a number of seconds; set it to e.g. 60"
    )
    with pytest.raises(CredentialsError) as caught:
        resolve_api_url("ftp://" + "a" * 500, {})
    assert str(caught.value).startswith(
        f"the API URL 'ftp://{'a' * 74}... (506 characters)' is not an http(s) URL; "
    )


def test_a_config_file_that_is_a_fifo_or_nested_without_end_is_one_line(tmp_path):
    fifo = tmp_path / "fifo.json"
    with fifo_opened_later(fifo, "w"), pytest.raises(CredentialsError) as caught:
        load_token({"COMWIT_CONFIG": str(fifo)})
    assert str(caught.value) == (
        f"cannot read {fifo} (is a FIFO, not a regular file); set COMWIT_TOKEN to a cwt_ "
        "token, or log in with the official comwit CLI"
    )
    deep = write_config(tmp_path / "deep.json", "[" * 100_000 + "]" * 100_000)
    with pytest.raises(CredentialsError, match=r"deep\.json is not valid JSON"):
        load_token({"COMWIT_CONFIG": str(deep)})
