"""Loading valid manifests: defaults, overlays, interpolation, the example, the schema."""

from __future__ import annotations

import json
import textwrap
import tomllib
from pathlib import Path

import jsonschema
import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from comwit.cli import main
from comwit.errors import ManifestError
from comwit.manifest import Host, load_manifest
from comwit.manifest.checks import resolve_env
from comwit.manifest.model import json_schema

EXAMPLE = Path(__file__).parent.parent / "comwit.toml.example"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "comwit.toml"
    path.write_text(textwrap.dedent(text))
    return path


def test_example_manifest_validates(capsys):
    assert main(["validate", "-f", str(EXAMPLE)]) == 0
    assert (
        "is valid: 3 apps (api, docs, web); environments checked: staging"
        in capsys.readouterr().out
    )


def test_schema_is_printed_and_validates_the_example(capsys):
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    document = tomllib.loads(EXAMPLE.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(document)


def test_schema_rejects_what_the_loader_rejects():
    validator = jsonschema.Draft202012Validator(json_schema())
    document = tomllib.loads(EXAMPLE.read_text())
    document["apps"]["web"]["bulid_dir"] = "x"
    assert not validator.is_valid(document)


def test_defaults_apply_by_the_one_merge_rule(tmp_path):
    path = write(
        tmp_path,
        """\
        version = 1
        [defaults]
        exclude = ["*.map"]
        max_concurrent_requests = 10
        env = { A = "1", B = "2" }
        [apps.web]
        build_dir = "dist"
        exclude = ["*.log"]
        env = { B = "two", C = "3" }
        [apps.api]
        build = "build-1"
        """,
    )
    loaded = load_manifest(path)
    web, api = loaded.apps["web"], loaded.apps["api"]
    assert web.exclude == ("*.log",)
    assert web.max_concurrent_requests == 10
    assert web.env == {"A": "1", "B": "two", "C": "3"}
    assert web.build_dir == tmp_path / "dist"
    assert api.exclude == ("*.map",)
    assert api.env == {"A": "1", "B": "2"}
    assert api.build == "build-1"
    assert api.build_dir is None


def test_app_without_env_table_does_not_manage_env(tmp_path):
    path = write(tmp_path, 'version = 1\n[apps.web]\nbuild_dir = "dist"\n')
    assert load_manifest(path).apps["web"].env is None


def test_environment_overlay_merges_tables_and_replaces_lists(tmp_path):
    path = write(
        tmp_path,
        """\
        version = 1
        project = "dev"
        [apps.web]
        build_dir = "dist"
        hosts = ["dev.example.com", "www.example.com"]
        env = { LEVEL = "debug", KEEP = "yes" }
        [environments.prod]
        project = "prod"
        [environments.prod.apps.web]
        hosts = ["www.example.com"]
        env = { LEVEL = "warn" }
        """,
    )
    base = load_manifest(path)
    prod = load_manifest(path, env="prod")
    assert base.project == "dev"
    assert prod.project == "prod"
    assert prod.env == "prod"
    assert prod.apps["web"].hosts == (Host("www.example.com"),)
    assert prod.apps["web"].env == {"KEEP": "yes", "LEVEL": "warn"}
    assert prod.digest == base.digest


def test_hostnames_are_normalized(tmp_path):
    path = write(
        tmp_path,
        """\
        version = 1
        [apps.web]
        build_dir = "dist"
        hosts = ["WWW.Example.COM", { name = "bücher.example", dns = "managed" }]
        """,
    )
    assert load_manifest(path).apps["web"].hosts == (
        Host("www.example.com"),
        Host("xn--bcher-kva.example", "managed"),
    )


def test_local_state_path_is_relative_to_the_manifest(tmp_path):
    path = write(
        tmp_path,
        'version = 1\n[apps.web]\nbuild_dir = "d"\n[state]\nbackend = "local"\npath = "s.json"\n',
    )
    state = load_manifest(path).state
    assert (state.backend, state.path) == ("local", tmp_path / "s.json")


def test_env_interpolation_marks_values_from_the_environment(tmp_path):
    path = write(
        tmp_path,
        """\
        version = 1
        [apps.web]
        build_dir = "dist"
        env = { URL = "postgres://${DB_HOST}/app", PRICE = "$$5", PLAIN = "x" }
        """,
    )
    resolved = resolve_env(load_manifest(path), {"DB_HOST": "db.internal"})["web"]
    assert (resolved["URL"].value, resolved["URL"].sensitive) == (
        "postgres://db.internal/app",
        True,
    )
    assert (resolved["PRICE"].value, resolved["PRICE"].sensitive) == ("$5", False)
    assert (resolved["PLAIN"].value, resolved["PLAIN"].sensitive) == ("x", False)


def test_missing_interpolated_variables_are_all_named(tmp_path):
    path = write(
        tmp_path,
        'version = 1\n[apps.web]\nbuild_dir = "d"\nenv = { A = "${X}${Y}", B = "${X}" }\n',
    )
    with pytest.raises(ManifestError) as info:
        resolve_env(load_manifest(path), {})
    assert [(p.field, p.message.split(";")[0]) for p in info.value.problems] == [
        ("apps.web.env.A", "environment variables are not set: X, Y"),
        ("apps.web.env.B", "environment variable is not set: X"),
    ]


# -- the loader never crashes ------------------------------------------------------------

_keys = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
_scalars = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20),
    st.dates(),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_keys, inner, max_size=4),
    max_leaves=20,
)
_manifest_like = st.fixed_dictionaries(
    {},
    optional={
        "version": st.one_of(st.just(1), _scalars),
        "project": _scalars,
        "apps": st.dictionaries(
            st.sampled_from(["web", "api", "Bad_Name", ""]),
            st.dictionaries(
                st.sampled_from(["build_dir", "build", "hosts", "env", "exclude", "protect", "x"]),
                _values,
                max_size=5,
            ),
            max_size=3,
        ),
        "environments": st.dictionaries(_keys, _values, max_size=2),
        "state": _values,
        "defaults": _values,
    },
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(document=st.one_of(_manifest_like, st.dictionaries(_keys, _values, max_size=5)))
def test_arbitrary_toml_documents_load_or_raise_manifest_error(document, tmp_path):
    path = tmp_path / "comwit.toml"
    path.write_text(tomli_w.dumps(document))
    for env in (None, "prod"):
        try:
            load_manifest(path, env=env)
        except ManifestError as exc:
            assert exc.problems
            assert all(str(problem) for problem in exc.problems)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=300))
def test_arbitrary_bytes_load_or_raise_manifest_error(data, tmp_path):
    path = tmp_path / "comwit.toml"
    path.write_bytes(data)
    try:
        load_manifest(path)
    except ManifestError as exc:
        assert exc.problems


def test_comwits_own_state_dir_is_left_out_of_a_build_dir_that_holds_it(tmp_path):
    path = write(
        tmp_path, 'version = 1\n[apps.site]\nbuild_dir = "."\n[apps.sub]\nbuild_dir = "sub"\n'
    )
    apps = load_manifest(path).apps
    assert apps["site"].exclude == ("/.comwit/",)
    assert apps["sub"].exclude == ()
