"""Saved plans: what is written is what is read back; broken files are one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from comwit import __version__
from comwit.artifact.digest import digest_tree
from comwit.artifact.tree import FileEntry
from comwit.errors import PlanError
from comwit.manifest.interpolate import Interpolated
from comwit.plan.diff import diff
from comwit.plan.state import DesiredState, EnvValue, ObservedState
from comwit.planner import Planned
from comwit.store.saved import ManifestRef, fingerprint, read_plan, saved_plan, write_plan

from tests.factories import DIGEST_A, DIGEST_B, desired, ledger, no_commit_guard, observed

SALT = "ab" * 16


def planned(tmp_path: Path) -> Planned:
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "index.html").write_text("hi")
    want = (desired(env={"DB": EnvValue("s3cr3t", sensitive=True), "A": "1"}),)
    have = observed(live="b1", ledger=ledger(("b1", DIGEST_B)), env={"A": "0", "OLD": "live-value"})
    old = (FileEntry("a", "file", 1, "1" * 64), FileEntry("b", "file", 2, "2" * 64))
    new = (FileEntry("a", "file", 1, "3" * 64), FileEntry("b", "file", 2, "2" * 64))
    plan = diff(
        DesiredState("demo", want),
        ObservedState("demo", {"web": have}),
        trees={DIGEST_B: old, DIGEST_A: new},
    )
    return Planned(
        plan=plan,
        desired=DesiredState("demo", want),
        observed=ObservedState("demo", {"web": have}),
        trees={"web": digest_tree(tmp_path / "dist")},
        env={"web": {"DB": Interpolated("s3cr3t", True), "A": Interpolated("1", False)}},
        guard=no_commit_guard(tmp_path),
    )


def test_a_saved_plan_reads_back_exactly_and_holds_no_secret(tmp_path):
    made = planned(tmp_path)
    saved = saved_plan(
        made,
        api_url="https://user:pw@api.example.com/",
        manifest=ManifestRef(path="comwit.toml", digest="sha256:x"),
        salt=SALT,
    )
    path = tmp_path / "plan.json"
    write_plan(path, saved)
    assert read_plan(path) == saved
    assert read_plan(path).plan.apps[0].actions[-2].tree_changes.changed == 1
    text = path.read_text()
    for secret in ("s3cr3t", "live-value", "pw"):
        assert secret not in text
    assert saved.api_url == "https://api.example.com"
    assert saved.interpolated == {"web": {"DB": fingerprint("s3cr3t", SALT)}}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "is not JSON; was it written by `comwit plan --out`?"),
        ('{"kind": "other"}', 'is not a comwit saved plan (no "kind": "comwit-plan")'),
        ('{"kind": "comwit-plan", "format_version": 9}', "saved plan format 9 is not supported"),
        (
            '{"kind": "comwit-plan", "format_version": 1, "plan": 3}',
            "plan again with `comwit plan --out`",
        ),
    ],
)
def test_broken_plan_files_are_one_line_errors(tmp_path, content, message):
    path = tmp_path / "plan.json"
    path.write_text(content)
    with pytest.raises(PlanError) as info:
        read_plan(path)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("version", "shown"),
    [("1", "'1'"), (True, "true"), (1.0, "1.0"), (2, "2"), (None, "null"), ([1], "[...]")],
)
def test_a_plan_format_other_than_the_integer_1_is_refused_as_unknown(tmp_path, version, shown):
    saved = saved_plan(
        planned(tmp_path), api_url="local", manifest=ManifestRef(path="c", digest="d"), salt=SALT
    )
    document = saved.model_dump(mode="json") | {"format_version": version}
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(document))
    with pytest.raises(PlanError) as info:
        read_plan(path)
    assert str(info.value) == (
        f"{path}: saved plan format {shown} is not supported by comwit {__version__} "
        "(it reads format 1); plan again"
    )


def test_a_plan_without_a_format_is_refused_as_unknown(tmp_path):
    path = tmp_path / "plan.json"
    path.write_text('{"kind": "comwit-plan", "plan": {}}')
    with pytest.raises(PlanError) as info:
        read_plan(path)
    assert str(info.value) == (
        f"{path}: saved plan format (none) is not supported by comwit {__version__} "
        "(it reads format 1); plan again"
    )


def test_a_tampered_salt_is_refused(tmp_path):
    saved = saved_plan(
        planned(tmp_path), api_url="local", manifest=ManifestRef(path="c", digest="d"), salt=SALT
    )
    document = json.loads(json.dumps(saved.model_dump(mode="json")))
    document["salt"] = "zz"
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(document))
    with pytest.raises(PlanError, match="salt"):
        read_plan(path)


def test_a_directory_or_binary_file_given_as_the_plan_is_a_short_error(tmp_path):
    with pytest.raises(PlanError) as info:
        read_plan(tmp_path)
    assert str(info.value) == f"{tmp_path}: cannot be read (Is a directory)"
    binary = tmp_path / "plan.bin"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(PlanError) as info:
        read_plan(binary)
    assert str(info.value) == f"{binary}: is not UTF-8 text; was it written by `comwit plan --out`?"


def test_a_missing_plan_file_deep_in_a_long_path_is_still_named(tmp_path):
    deep = tmp_path / ("d" * 120) / ("e" * 120) / "nope.json"
    with pytest.raises(PlanError, match=r"nope\.json \(\d{3} characters\): no such file") as raised:
        read_plan(deep)
    assert str(tmp_path)[:40] in str(raised.value)  # its start too, around the cut


def test_a_missing_plan_file_says_how_to_make_one(tmp_path):
    with pytest.raises(
        PlanError, match=r"nope\.json: no such file; make one with `comwit plan --out "
    ):
        read_plan(tmp_path / "nope.json")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"manifest": {"path": "a\0b", "digest": "d"}}, "manifest.path: holds a NUL character"),
        ("twice", "plan.apps: app 'web' is listed twice"),
        ({"shards": [["web"], ["nope"]], "shard_count": 2}, "shards: app 'nope' has no change in the plan"),
        ({"shards": [["web"], ["web"]], "shard_count": 2}, "shards: app 'web' is in two shards"),
        ({"shards": [], "shard_count": 2}, "shards: app 'web' has changes but is in no shard"),
        ({"shards": [["web"]], "shard_count": -1}, "shard_count: -1, where a plan makes 1 to 256 shards"),
        ({"shards": [["web"]], "shard_count": 300}, "shard_count: 300, where a plan makes 1 to 256 shards"),
        ({"shards": [["web"], []], "shard_count": 1}, "shard_count: 1, fewer than the 2 shards listed"),
    ],
    ids=["nul", "app twice", "stray", "in two", "left out", "negative", "too many", "fewer"],
)  # fmt: skip
def test_a_saved_plan_no_plan_writes_is_refused_before_anything_runs(tmp_path, change, message):
    """Each field well formed, the whole not: apply ran a twice-listed app twice at once, and
    a shard list that left out an app had its matrix jobs pass without deploying it."""
    saved = saved_plan(
        planned(tmp_path), api_url="local", manifest=ManifestRef(path="c", digest="d"), salt=SALT
    )
    document = saved.model_dump(mode="json")
    if change == "twice":
        document["plan"]["apps"] *= 2
    else:
        document.update(change)
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(document))
    with pytest.raises(PlanError) as exc:
        read_plan(path)
    assert str(exc.value) == f"{path}: {message}; plan again with `comwit plan --out`"


@pytest.mark.parametrize("count", [0, 1, 3, 256])
def test_a_shard_count_above_the_shards_made_is_read_as_written(tmp_path, count):
    """`--shards 3` with one changed app: one shard made, three matrix jobs (two empty)."""
    saved = saved_plan(
        planned(tmp_path), api_url="local", manifest=ManifestRef(path="c", digest="d"), salt=SALT
    ).model_copy(update={"shards": (("web",),), "shard_count": count})
    path = tmp_path / "plan.json"
    write_plan(path, saved)
    assert read_plan(path) == saved
