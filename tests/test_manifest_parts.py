"""The manifest's building blocks: positions, hostnames, interpolation, overlays."""

from __future__ import annotations

import sys

import pytest

from comwit.manifest.hostname import normalize_hostname
from comwit.manifest.interpolate import MissingVariableError, check_template, interpolate
from comwit.manifest.limits import overflow
from comwit.manifest.locate import locate
from comwit.manifest.overlay import merge, origin_of
from comwit.manifest.problems import format_path


def test_locate_finds_keys_tables_and_array_elements():
    text = (
        "version = 1 # c\n"
        "[apps.web]\n"
        'hosts = ["a.example.com",\n'
        '  { name = "b.example.com", dns = "managed" }]\n'
        '"quoted.key" = """multi\nline"""\n'
        "[[arr]]\n"
        "x = 1\n"
        "[[arr]]\n"
        "x = 2\n"
    )
    positions = locate(text)
    assert positions[("version",)] == (1, 1)
    assert positions[("apps", "web")] == (2, 1)
    assert positions[("apps", "web", "hosts", 0)] == (3, 10)
    assert positions[("apps", "web", "hosts", 1)] == (4, 3)
    assert positions[("apps", "web", "hosts", 1, "dns")] == (4, 29)
    assert positions[("apps", "web", "quoted.key")] == (5, 1)
    assert positions[("arr", 1, "x")] == (10, 1)


def _builtin_calls(scan, text):
    """How many built-in functions `scan(text)` calls: a loop over each character of a long
    string calls one (or more) per character."""
    calls = 0

    def count(frame, event, arg):
        nonlocal calls
        calls += event == "c_call"

    sys.setprofile(count)
    try:
        scan(text)
    finally:
        sys.setprofile(None)
    return calls


LITERAL = "'" * 3


@pytest.mark.parametrize(
    "value",
    [
        '"' + "x" * 100_000 + '"',
        '"' + ("x" * 1000 + '\\"') * 100 + '"',  # an escaped quote now and then
        LITERAL + ("x" * 1000 + "\n") * 100 + LITERAL,
        '"""' + ("y" * 1000 + '\\\n""') * 100 + '"""',
    ],
    ids=["basic", "escapes", "multi-line literal", "multi-line basic"],
)
def test_a_long_string_value_is_scanned_in_steps_not_character_by_character(value):
    # A 16 MiB env value took 8 s of CPU to validate one character at a time.
    text = f"[apps.web.env]\nA = {value}\nB = [1]\n"
    after = text.count("\n")
    assert locate(text)[("apps", "web", "env", "B")] == (after, 1)
    assert overflow(text) is None
    assert overflow(text + "C = " + "[" * 40 + "]" * 40 + "\n") == (after + 1, 37)
    # A step at each quote, backslash or line break: a few hundred here, not 100,000.
    steps = 10 * sum(text.count(char) for char in "\"'\\\n") + 500
    assert steps < len(text) / 10
    assert _builtin_calls(locate, text) < steps
    assert _builtin_calls(overflow, text) < steps


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("Example.COM", "example.com"),
        ("a-b.example.com", "a-b.example.com"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
    ],
)
def test_valid_hostnames_are_normalized(given, expected):
    assert normalize_hostname(given) == expected


@pytest.mark.parametrize(
    ("given", "fragment"),
    [
        ("-a.example.com", "cannot start or end with '-'"),
        ("a..example.com", "labels cannot be empty"),
        ("a" * 64 + ".com", "at most 63 characters"),
        (("a" * 60 + ".") * 5 + "com", "longer than 253"),
        ("example.com:8080", "is not a hostname"),
        (" example.com", "surrounding spaces"),
        ("", "empty"),
    ],
)
def test_invalid_hostnames_say_why(given, fragment):
    with pytest.raises(ValueError, match=fragment):
        normalize_hostname(given)


def test_interpolation_escapes_and_leaves_lone_dollars():
    result = interpolate("a$b $$ ${X}", {"X": "x"})
    assert (result.value, result.sensitive) == ("a$b $ x", True)


def test_interpolation_reports_each_missing_variable_once():
    with pytest.raises(MissingVariableError) as info:
        interpolate("${B}${A}${B}", {})
    assert info.value.names == ["A", "B"]


@pytest.mark.parametrize("template", ["${", "${}", "${1X}", "${A B}"])
def test_malformed_templates_are_refused(template):
    with pytest.raises(ValueError, match=r"\$"):
        check_template(template)


def test_merge_keeps_origins_of_overlaid_values():
    base = {"apps": {"web": {"hosts": ["a"], "env": {"A": "1"}}}, "project": "p"}
    overlay = {"apps": {"web": {"env": {"B": "2"}, "hosts": ["b"]}}}
    merged, origins = merge(base, overlay, ("environments", "prod"))
    assert merged == {
        "apps": {"web": {"hosts": ["b"], "env": {"A": "1", "B": "2"}}},
        "project": "p",
    }
    assert base["apps"]["web"]["hosts"] == ["a"]
    assert origin_of(("apps", "web", "hosts", 0), origins) == (
        "environments",
        "prod",
        "apps",
        "web",
        "hosts",
        0,
    )
    assert origin_of(("apps", "web", "env", "A"), origins) == ("apps", "web", "env", "A")


def test_field_paths_use_toml_syntax():
    assert format_path(("apps", "web", "hosts", 1, "name")) == "apps.web.hosts[1].name"
    assert format_path(("apps", "web", "env", "a.b")) == 'apps.web.env."a.b"'
