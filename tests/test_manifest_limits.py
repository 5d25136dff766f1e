"""Hostile manifests: deep nesting, long dotted keys, huge numbers and files never crash
`validate`; every error line has the shape FILE:LINE:COL: and names where to look."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from comwit.cli import main

from tests.special_files import fifo_opened_later

MAX_DEPTH = 32  # documented in docs/manifest.md
MAX_BYTES = 16 * 1024 * 1024

HEAD = 'version = 1\nproject = "demo"\n[apps.web]\nbuild_dir = "dist"\n'
ERROR_LINE = re.compile(r"error: comwit\.toml:\d+:\d+: \S")

# An opening and its closing text: arrays, inline tables, dotted keys inside inline tables.
WRAPPERS = [("[", "]"), ("{ k = ", " }"), ("[{ k = ", " }]"), ("{ a.b = ", " }"), ("[1, ", "]")]
PLACES = [
    "version = 1\nx = {value}\n[apps.web]\nbuild_dir = 'dist'\n",
    HEAD + "hosts = {value}\n",
    HEAD + "exclude = {value}\n",
    HEAD + "[apps.web.env]\nKEY = {value}\n",
    HEAD + "[environments.prod.apps.web]\nhosts = {value}\n",
    HEAD + "[defaults]\nenv = {value}\n",
    "version = 1\napps = {value}\n",
]
SCALARS = st.sampled_from(['"a.example.com"', "1", "0x" + "f" * 4000, "true", "{}", "[]", "'x'"])


def _validate(tmp_path, text: str, capsys) -> tuple[int, list[str]]:
    (tmp_path / "comwit.toml").write_text(text, encoding="utf-8")
    code = main(["validate"])
    return code, capsys.readouterr().err.splitlines()


def _assert_clear(code: int, lines: list[str]) -> None:
    assert code in (0, 1), lines
    assert not any("hit a bug" in line for line in lines), lines
    errors = [line for line in lines if line.startswith("error:")]
    assert (code == 1) == bool(errors), lines
    for line in errors:
        assert ERROR_LINE.match(line), line


@st.composite
def nested_manifests(draw: st.DrawFn) -> str:
    wrappers = draw(st.lists(st.sampled_from(WRAPPERS), max_size=400))
    leaf = draw(SCALARS)
    value = "".join(w[0] for w in wrappers) + leaf + "".join(w[1] for w in reversed(wrappers))
    return draw(st.sampled_from(PLACES)).replace("{value}", value)


@st.composite
def dotted_manifests(draw: st.DrawFn) -> str:
    parts = draw(st.integers(1, 3000))
    where = draw(st.sampled_from(["key", "header", "inline"]))
    dotted = ".".join(["k"] * parts)
    if where == "header":
        return HEAD + f"[apps.web.{dotted}]\nx = 1\n"
    if where == "inline":
        return HEAD + f"env = {{ {dotted} = 'v' }}\n"
    return HEAD + f"{dotted} = 1\n"


@st.composite
def large_manifests(draw: st.DrawFn) -> str:
    apps = draw(st.integers(1, 1500))
    shared_host = draw(st.booleans())
    value_size = draw(st.sampled_from([10, 10_000, 1_000_000]))
    lines = ["version = 1", 'project = "demo"']
    for index in range(apps):
        host = "same.example.com" if shared_host else f"h{index}.example.com"
        lines += [f"[apps.a{index}]", 'build_dir = "dist"', f'hosts = ["{host}"]']
    lines += ["[apps.a0.env]", f'BIG = "{"x" * value_size}"']
    return "\n".join(lines) + "\n"


@st.composite
def mutated_manifests(draw: st.DrawFn) -> str:
    text = HEAD + 'hosts = ["a.example.com", { name = "b.example.com", dns = "managed" }]\n'
    text += '[apps.web.env]\nLEVEL = "info"\n[environments.prod]\nproject = "prod"\n'
    for _ in range(draw(st.integers(1, 8))):
        at = draw(st.integers(0, len(text)))
        noise = draw(st.text(alphabet="[]{}=.,\"'#\\\n 0x9e_-", min_size=1, max_size=300))
        text = text[:at] + noise + text[at:]
    return text


@st.composite
def odd_build_dirs(draw: st.DrawFn) -> str:
    build_dir = draw(st.sampled_from(["a" * 5000, "a/" * 3000, "\\u0000x", "dist/../" * 500]))
    return HEAD.replace('"dist"', f'"{build_dir}"')


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    text=st.one_of(nested_manifests(), dotted_manifests(), large_manifests(), mutated_manifests())
)
def test_no_manifest_crashes_validate_and_every_error_has_a_position(
    text, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "dist").mkdir(exist_ok=True)
    _assert_clear(*_validate(tmp_path, text, capsys))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            HEAD + "hosts = " + "[" * 1000 + "]" * 1000 + "\n",
            f"error: comwit.toml:5:{8 + MAX_DEPTH + 1}: nested deeper than {MAX_DEPTH} levels",
        ),
        (
            HEAD + "env = " + "{ a = " * 2000 + "1" + " }" * 2000 + "\n",
            "error: comwit.toml:5:",
        ),
        (HEAD + "k." * 5000 + "k = 1\n", "error: comwit.toml:5:"),
        (
            HEAD + "[apps.web" + ".t" * 20 + "]\n" + "u." * 20 + "v = 1\n",
            "error: comwit.toml:6:1: apps.web.t.t",
        ),
        (
            HEAD + "max_concurrent_requests = " + "9" * 5000 + "\n",
            "error: comwit.toml:5:27: invalid TOML: an integer of more than",
        ),
        (
            HEAD + "max_concurrent_requests = 0x" + "F" * 5000 + "\n",
            "error: comwit.toml:5:1: apps.web.max_concurrent_requests: must be at most 1000000, "
            "got an integer of about 6021 digits",
        ),
    ],
    ids=["deep arrays", "deep inline tables", "long dotted key", "deep tables", "long int", "hex"],
)
def test_hostile_manifest_gets_one_clear_error_at_its_line(
    text, expected, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "dist").mkdir()
    code, lines = _validate(tmp_path, text, capsys)
    assert code == 1
    assert len(lines) == 1, lines
    assert lines[0].startswith(expected), lines


def test_brackets_and_dots_inside_strings_and_comments_do_not_count(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "index.html").write_text("<h1>hi</h1>")  # validate walks the build dir
    deep = "[" * 100
    text = HEAD + f'# {deep}\nenv_ref = "{deep}{".a" * 100}"\n'
    text += f'[apps.web.env]\nA = \'\'\'\n{deep}\n\'\'\'\nB = "\\\\{deep}"\nC = """\\\n{deep}"""\n'
    code, lines = _validate(tmp_path, text, capsys)
    assert code == 0, lines


def test_a_manifest_larger_than_the_limit_is_refused_before_parsing(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    text = HEAD + "# " + "x" * MAX_BYTES + "\n"
    code, lines = _validate(tmp_path, text, capsys)
    assert code == 1
    assert lines == ["error: comwit.toml:1:1: is 16.0 MiB; a manifest is at most 16 MiB"]


def test_a_manifest_that_is_a_fifo_is_one_error_at_once_not_a_wait_for_a_writer(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    with fifo_opened_later(tmp_path / "comwit.toml", "w"):
        code = main(["validate"])
    assert code == 1
    assert capsys.readouterr().err.splitlines() == [
        "error: comwit.toml: is a FIFO, not a regular file; pass the manifest file with -f FILE"
    ]


def test_a_device_as_the_manifest_is_one_error_and_never_read(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "comwit.toml").symlink_to("/dev/zero")  # endless: reading it would never end
    assert main(["validate", "-f", "comwit.toml"]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "error: comwit.toml: is a character device, not a regular file; "
        "pass the manifest file with -f FILE"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "error: comwit.toml:1:1: apps: no apps"),
        ('project = "demo"\n[apps.web]\nbuild_dir = "dist"\n', "error: comwit.toml:1:1: version:"),
        (
            'version = 1\n[apps.web]\nhosts = ["a.b"',
            "error: comwit.toml:3:15: invalid TOML at the end",
        ),
    ],
    ids=["empty file", "missing version", "cut off"],
)
def test_problems_with_the_file_as_a_whole_are_at_its_start(
    text, expected, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "dist").mkdir()
    _code, lines = _validate(tmp_path, text, capsys)
    assert any(line.startswith(expected) for line in lines), lines
