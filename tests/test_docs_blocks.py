"""The code blocks of the README and docs/ are valid as written: TOML parses and a manifest
passes `comwit validate` (a fragment, inside the smallest manifest), YAML and JSON parse, and
a Python block compiles, imports what exists, defines every name it uses and calls comwit's
functions with parameters they take."""

from __future__ import annotations

import ast
import builtins
import dataclasses
import importlib
import inspect
import json
import re
import textwrap
import tomllib
from pathlib import Path

import pytest
import yaml

from comwit.cli import main

ROOT = Path(__file__).parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# ```toml ... ``` at any indentation (a block inside a list item is indented with it).
FENCE = re.compile(r"^( *)```(\w+)\n(.*?)^\1```$", re.MULTILINE | re.DOTALL)


def _blocks(language: str) -> list[tuple[str, str]]:
    found = []
    for page in PAGES:
        text = page.read_text()
        for match in FENCE.finditer(text):
            if match[2] == language:
                line = text.count("\n", 0, match.start()) + 1
                found.append((f"{page.name}:{line}", textwrap.dedent(match[3])))
    assert found, f"no {language} block in the docs"
    return found


def _cases(language: str) -> object:
    blocks = _blocks(language)
    return pytest.mark.parametrize("block", [b for _, b in blocks], ids=[w for w, _ in blocks])


@_cases("yaml")
def test_a_yaml_block_parses(block):
    yaml.safe_load(block)


@_cases("json")
def test_a_json_block_parses(block):
    json.loads(block)


@_cases("toml")
def test_a_toml_block_is_a_manifest_that_validates(block, tmp_path, capsys):
    document = tomllib.loads(block)
    manifest = block if "version" in document else f"version = 1\n{block}"
    if "apps" not in document:
        manifest += '\n[apps.web]\nbuild_dir = "dist"\n'
    for build_dir in _build_dirs(tomllib.loads(manifest)) or ["dist"]:
        (tmp_path / build_dir).mkdir(parents=True, exist_ok=True)
        (tmp_path / build_dir / "index.html").write_text("<p>hello</p>\n")
    (tmp_path / "comwit.toml").write_text(manifest)
    code = main(["validate", "--allow-missing-vars", "-f", str(tmp_path / "comwit.toml")])
    assert code == 0, capsys.readouterr().err


def test_the_example_manifest_validates(capsys):
    assert main(["validate", "-f", str(ROOT / "comwit.toml.example")]) == 0, capsys.readouterr()


def _build_dirs(manifest: dict) -> list[str]:
    overlays = [env.get("apps", {}) for env in manifest.get("environments", {}).values()]
    apps = [app for table in [manifest["apps"], *overlays] for app in table.values()]
    return sorted({app["build_dir"] for app in apps if "build_dir" in app})


@_cases("python")
def test_a_python_block_uses_only_what_it_imports_and_calls_with_parameters_taken(block):
    tree = ast.parse(block)
    imported = _imports(tree)
    defined = set(imported) | _assigned(tree) | set(dir(builtins))
    used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    assert used <= defined, f"not imported or defined: {sorted(used - defined)}"
    for call in (node for node in ast.walk(tree) if isinstance(node, ast.Call)):
        if isinstance(call.func, ast.Name) and call.func.id in imported:
            called = imported[call.func.id]
            args = [None] * len(call.args)
            _signature(called).bind(*args, **{k.arg: None for k in call.keywords if k.arg})


def _imports(tree: ast.Module) -> dict[str, object]:
    """Each name a block's imports bind, as the import makes it (an ImportError fails)."""
    found: dict[str, object] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found[alias.asname or alias.name] = importlib.import_module(alias.name)
        elif isinstance(node, ast.ImportFrom) and node.module:
            module = importlib.import_module(node.module)
            for alias in node.names:
                assert hasattr(module, alias.name), f"{node.module} has no {alias.name}"
                found[alias.asname or alias.name] = getattr(module, alias.name)
    return found


def _assigned(tree: ast.Module) -> set[str]:
    return {
        node.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)
    }


def _signature(called: object) -> inspect.Signature:
    """A frozen value's fields, else what inspect says (a @frozen class's __init__ takes *args)."""
    if isinstance(called, type) and dataclasses.is_dataclass(called):
        return inspect.Signature([_parameter(field) for field in dataclasses.fields(called)])
    return inspect.signature(called)


def _parameter(field: dataclasses.Field) -> inspect.Parameter:
    default = inspect.Parameter.empty if field.default is dataclasses.MISSING else field.default
    return inspect.Parameter(field.name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default)
