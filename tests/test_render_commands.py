"""The renderers of `builds`, `status` and `import`: pure functions over observed values."""

from __future__ import annotations

import tomllib

import pytest

from comwit.plan.state import ObservedBuild
from comwit.render.builds import newest_first
from comwit.render.manifest_toml import ImportedApp, render_manifest


@pytest.mark.parametrize(
    ("builds", "expected"),
    [
        (  # created_at decides; ties keep the API's order
            [
                ObservedBuild("b", created_at="2024-05-01T10:00:00Z"),
                ObservedBuild("c", created_at="2024-05-02T10:00:00Z"),
                ObservedBuild("a", created_at="2024-05-01T10:00:00Z"),
            ],
            ["c", "b", "a"],
        ),
        (  # deployed_at_ms when created_at is missing
            [
                ObservedBuild("old", deployed_at_ms=1_000),
                ObservedBuild("new", deployed_at_ms=2_000),
            ],
            ["new", "old"],
        ),
        (  # a build without any time: the API's order for all
            [ObservedBuild("x", deployed_at_ms=1_000), ObservedBuild("y")],
            ["x", "y"],
        ),
    ],
)
def test_builds_are_ordered_newest_first(builds, expected):
    assert [build.build_id for build in newest_first(builds)] == expected


def test_imported_env_values_keep_dollars_literal_and_apps_are_sorted():
    text = render_manifest(
        "proj",
        [ImportedApp("web", env={"PRICE": "$5", "REF": "${HOME}"}), ImportedApp("api")],
    )
    assert text.startswith("# Written by `comwit import`")
    document = tomllib.loads(text)
    assert list(document["apps"]) == ["api", "web"]
    assert document["apps"]["web"]["env"] == {"PRICE": "$$5", "REF": "$${HOME}"}
    assert document["apps"]["api"] == {"build_dir": "TODO/path/to/api/build"}
