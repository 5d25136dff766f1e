"""The manifest reference (docs/manifest.md) and comwit.toml.example, which says it shows every
field, name every key the manifest takes: each key of its JSON Schema, tables included."""

from __future__ import annotations

import re
from pathlib import Path

from comwit.manifest.model import json_schema

ROOT = Path(__file__).parent.parent


def _keys() -> dict[str, set[str]]:
    """{"PreviewSpec": {"env", "domain", ...}, "top level": {"version", ...}}: every key."""
    schema = json_schema()
    found = {"top level": set(schema["properties"])}
    found |= {name: set(model.get("properties", {})) for name, model in schema["$defs"].items()}
    return found


def _named(text: str) -> set[str]:
    """The keys a text names: `key = ...` (in a block, an inline table or a comment), each part
    of a table header (`[apps.NAME.env]`), and a key alone in backticks (`max_apps`)."""
    named = set(re.findall(r"\b([a-z_]+) = ", text))
    for header in re.findall(r"\[([\w.-]+)\]", text):
        named |= set(header.split("."))
    return named | set(re.findall(r"`([a-z_]+)`", text))


def _missing(text: str) -> list[str]:
    named = _named(text)
    return [f"{model}: {key}" for model, keys in _keys().items() for key in sorted(keys - named)]


def test_the_manifest_reference_describes_every_key():
    missing = _missing((ROOT / "docs" / "manifest.md").read_text())
    assert not missing, "docs/manifest.md does not describe:\n" + "\n".join(missing)


def test_the_example_manifest_shows_every_key():
    missing = _missing((ROOT / "comwit.toml.example").read_text())
    assert not missing, "comwit.toml.example does not show:\n" + "\n".join(missing)
