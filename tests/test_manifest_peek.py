"""The pydantic-free first look at an app's build dir: what `load_manifest` would resolve, or
None; never another answer."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from comwit.errors import ManifestError
from comwit.manifest import load_manifest
from comwit.manifest.peek import BuildDir, peek_build_dir


def _write(tmp_path, text):
    path = tmp_path / "comwit.toml"
    path.write_text(textwrap.dedent(text))
    return path


def _validated(path, app, env=None):
    loaded = load_manifest(path, env=env)
    config = loaded.apps[app]
    return BuildDir(loaded.root, config.build_dir, config.exclude)


@pytest.mark.parametrize(
    ("text", "env"),
    [
        ('version = 1\n[apps.web]\nbuild_dir = "dist"\n', None),
        ('version = 1\n[apps.web]\nbuild_dir = "dist"\nexclude = ["*.map", "/tmp/"]\n', None),
        ('version = 1\n[defaults]\nexclude = ["*.log"]\n[apps.web]\nbuild_dir = "d"\n', None),
        ('version = 1\n[defaults]\nexclude = ["*.log"]\n[apps.web]\nbuild_dir = "d"\n'
         "exclude = []\n", None),
        ('version = 1\n[apps.web]\nbuild_dir = "."\n', None),  # holds .comwit/: left out
        ('version = 1\n[apps.web]\nbuild_dir = "../site"\n', None),
        ('version = 1\n[apps.web]\nbuild_dir = "dist"\n[environments.prod.apps.web]\n'
         'build_dir = "dist-prod"\n', "prod"),
        ('version = 1\n[apps.web]\nbuild_dir = "dist"\n[environments.prod.defaults]\n'
         'exclude = ["*.map"]\n', "prod"),
        ('version = 1\n[apps.web]\nbuild_dir = "dist"\n[environments.prod]\nproject = "p"\n',
         "prod"),
    ],
)  # fmt: skip
def test_a_plain_app_peeks_as_it_validates(tmp_path, text, env):
    path = _write(tmp_path, text)
    assert peek_build_dir(path, "web", env=env) == _validated(path, "web", env)


@pytest.mark.parametrize(
    ("text", "env"),
    [
        ('version = 1\n[apps.api]\nbuild_dir = "dist"\n', None),  # no such app
        ('version = 1\n[apps.web]\nbuild = "build-1"\n', None),  # pins a build
        ('version = 1\n[apps.web]\nbuild_dir = 3\n', None),
        ('version = 1\n[apps.web]\nbuild_dir = " "\n', None),
        ('version = 1\n[apps.web]\nbuild_dir = "${OUT}"\n', None),
        ('version = 1\n[apps.web]\nbuild_dir = "d"\nexclude = "*.map"\n', None),
        ('version = 1\n[apps.web]\nbuild_dir = "d"\nexclude = ["", "x"]\n', None),
        ('version = 1\n[defaults]\nexclude = [1]\n[apps.web]\nbuild_dir = "d"\n', None),
        ('version = 1\ndefaults = 1\n[apps.web]\nbuild_dir = "d"\n', None),
        ('version = 2\n[apps.web]\nbuild_dir = "d"\n', None),
        ('version = true\n[apps.web]\nbuild_dir = "d"\n', None),
        ('[apps.web]\nbuild_dir = "d"\n', None),
        ('version = 1\napps = []\n', None),
        ('version = 1\n[apps.web]\nbuild_dir = "d"\n', "prod"),  # no such environment
        ('version = 1\n[apps.web]\nbuild_dir = "d"\n[environments]\nprod = 1\n', "prod"),
        ('version = 1\n[apps.web\nbuild_dir = "d"\n', None),  # not TOML
        ("version = 1\n" + "x = " + "[" * 40 + "]" * 40 + "\n", None),  # too deep
    ],
)  # fmt: skip
def test_anything_not_plain_is_none(tmp_path, text, env):
    assert peek_build_dir(_write(tmp_path, text), "web", env=env) is None


def test_an_unreadable_or_undecodable_manifest_is_none(tmp_path):
    assert peek_build_dir(tmp_path / "missing.toml", "web") is None
    assert peek_build_dir(tmp_path, "web") is None  # a directory
    path = tmp_path / "comwit.toml"
    path.write_bytes(b'version = 1\n[apps.web]\nbuild_dir = "\xff"\n')
    assert peek_build_dir(path, "web") is None


_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=8)
_plain = st.sampled_from(["dist", ".", "..", "a/b", "*.map", "/x/"])
_strings = st.one_of(_plain, _plain, st.sampled_from([" ", "", "$X", "a\0b"]), _text)
_exclude = st.one_of(st.lists(_strings, max_size=3), st.lists(_plain, max_size=2), st.integers())
_app = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "build_dir": st.one_of(_strings, _plain, st.integers()),
            "exclude": _exclude,
            "protect": st.booleans(),
        },
    ),
    st.fixed_dictionaries({"build": _strings}, optional={"build_dir": _plain, "x": _strings}),
)
_layer = st.fixed_dictionaries(
    {},
    optional={
        "apps": st.dictionaries(st.sampled_from(["web", "api"]), _app, max_size=2),
        "defaults": st.one_of(st.fixed_dictionaries({}, optional={"exclude": _exclude}), _text),
    },
)
_document = st.tuples(
    _layer,
    st.sampled_from([1, 1, 1, 2, True]),
    st.dictionaries(st.sampled_from(["prod", "prod", "dev"]), _layer, max_size=2),
)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(document=_document, env=st.sampled_from([None, "prod"]))
def test_a_peek_is_what_validation_resolves_or_none(document, env, tmp_path):
    layer, version, environments = document
    path = tmp_path / "comwit.toml"
    path.write_text(tomli_w.dumps({"version": version, **layer, "environments": environments}))
    peeked = peek_build_dir(path, "web", env=env)
    try:
        validated = _validated(path, "web", env)
    except (ManifestError, KeyError):
        return  # validation refuses it (or has no such app): the early pack is discarded
    assert peeked in (None, validated)


def test_peeking_imports_no_pydantic():
    code = (
        "import sys, comwit.manifest.peek; print(sorted(m for m in sys.modules if 'pydantic' in m))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"
