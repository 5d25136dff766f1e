"""The preview transform of a manifest, and the preview mark, on values: no API, no clock.
Which previews down and prune delete: tests/test_preview_select.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from comwit.errors import PlanError
from comwit.manifest import load_manifest
from comwit.plan.ledger import AppLedger, PreviewMark, decode, encode
from comwit.preview.transform import preview_manifest

MANIFEST = """\
version = 1
project = "proj"
[apps.web]
build_dir = "web"
hosts = ["www.example.com", { name = "shop.example.com", dns = "managed" }]
env = { LEVEL = "info", KEEP = "yes" }
[apps.api]
build_dir = "api"
max_concurrent_requests = 10
[preview]
env = { LEVEL = "debug", API_URL = "https://api-pr-{pr}.test" }
env_ref = "preview"
domain = "preview.example.com"
"""


def _load(tmp_path: Path, text: str = MANIFEST):
    for name in ("web", "api"):
        (tmp_path / name).mkdir(exist_ok=True)
        (tmp_path / name / "f").write_text("x")
    (tmp_path / "comwit.toml").write_text(text)
    return load_manifest(tmp_path / "comwit.toml")


def test_apps_are_renamed_with_preview_settings_and_only_the_preview_hostname(tmp_path):
    loaded = preview_manifest(_load(tmp_path), 12)
    assert list(loaded.apps) == ["api-pr-12", "web-pr-12"]
    web = loaded.apps["web-pr-12"]
    assert [h.name for h in web.hosts] == ["web-pr-12.preview.example.com"]
    assert web.env == {"API_URL": "https://api-pr-12.test", "KEEP": "yes", "LEVEL": "debug"}
    assert web.env_ref == "preview"
    assert loaded.apps["api-pr-12"].max_concurrent_requests == 10


def test_a_preview_hostname_that_is_a_production_one_is_refused(tmp_path):
    text = MANIFEST.replace('"www.example.com"', '"web-pr-3.preview.example.com"')
    with pytest.raises(PlanError, match="is a production hostname"):
        preview_manifest(_load(tmp_path, text), 3)


def test_a_preview_domain_with_no_room_for_a_preview_label_is_a_manifest_problem(tmp_path):
    """A 246-character domain is a hostname, but no `{app}-pr-{N}.` fits before it: validate
    passed it, and preview up created and uploaded every app before each attach failed."""
    from comwit.errors import ManifestError

    longest = ".".join(["a" * 63, "b" * 63, "c" * 57]) + ".com"  # 189: room for 63 + "."
    loaded = preview_manifest(_load(tmp_path, MANIFEST.replace("preview.example.com", longest)), 7)
    assert [h.name for h in loaded.apps["web-pr-7"].hosts] == [f"web-pr-7.{longest}"]
    too_long = "d." + longest
    with pytest.raises(ManifestError) as exc:
        _load(tmp_path, MANIFEST.replace("preview.example.com", too_long))
    (problem,) = exc.value.problems
    assert problem.field == "preview.domain"
    assert problem.message.endswith(
        "is longer than 189 characters: the hostnames {app}-pr-{N}.{domain} would pass the 253"
        " a hostname may have; choose a shorter domain"
    )


def test_preview_false_leaves_an_app_out(tmp_path):
    text = MANIFEST.replace('build_dir = "api"', 'build_dir = "api"\npreview = false')
    assert list(preview_manifest(_load(tmp_path, text), 1).apps) == ["web-pr-1"]


def test_the_mark_round_trips_through_the_ledger_encoding():
    ledger = AppLedger(preview=PreviewMark("web", 7, "abc1234", 1000, 2000))
    assert decode(encode(ledger)).preview == ledger.preview
    assert decode(encode(AppLedger())).preview is None
