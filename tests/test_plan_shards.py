"""Shards of a plan: changed apps only, balanced by bytes to upload, deterministic."""

from __future__ import annotations

import pytest

from comwit.plan.actions import AppPlan, AttachHost, Deploy, DetachHost, Plan, Preconditions
from comwit.plan.shards import APP_COST, matrix, parse_shard, split


def _app(name: str, size: int | None = None, *actions: object) -> AppPlan:
    chosen = list(actions)
    if size is not None:
        chosen.insert(
            0, Deploy(app=name, build_dir=name, digest="d" * 64, reason="new_app", size=size)
        )
    return AppPlan(app=name, preconditions=Preconditions(exists=False), actions=tuple(chosen))


def _plan(*apps: AppPlan) -> Plan:
    return Plan(project="proj", apps=apps)


def test_shards_hold_only_changed_apps_balanced_by_bytes():
    plan = _plan(_app("a", 900), _app("b", 500), _app("c", 400), _app("d", 100), _app("idle"))
    shards = split(plan, shards=2)
    assert [(s.name, s.apps) for s in shards] == [("1/2", ("a", "d")), ("2/2", ("b", "c"))]
    assert [s.weight for s in shards] == [1000 + 2 * APP_COST, 900 + 2 * APP_COST]


def test_the_split_does_not_depend_on_the_order_of_the_apps():
    apps = [_app(f"app{i:02}", (i * 7919) % 1000) for i in range(30)]
    assert split(_plan(*apps), shards=4) == split(_plan(*reversed(apps)), shards=4)


def test_apps_with_nothing_to_upload_spread_by_count():
    plan = _plan(*(_app(f"x{i}", 0) for i in range(7)))
    assert sorted(len(s.apps) for s in split(plan, shards=3)) == [2, 2, 3]


def test_shard_size_caps_the_apps_per_shard():
    plan = _plan(*(_app(f"x{i}", i * 100) for i in range(10)))
    shards = split(plan, size=4)
    assert len(shards) == 3
    assert all(len(s.apps) <= 4 for s in shards)
    assert sorted(a for s in shards for a in s.apps) == sorted(f"x{i}" for i in range(10))


def test_never_more_shards_than_changed_apps_and_none_without_changes():
    assert [s.name for s in split(_plan(_app("a", 1), _app("b", 1)), shards=5)] == ["1/2", "2/2"]
    assert split(_plan(_app("idle")), shards=3) == ()
    assert matrix(()) == {"include": []}


def test_apps_handing_a_hostname_over_share_a_shard():
    giver = _app("giver", 10, DetachHost(app="giver", host="h.example.com", moves_to="taker"))
    taker = _app("taker", 10, AttachHost(app="taker", host="h.example.com", moves_from="giver"))
    shards = split(_plan(giver, taker, _app("other", 5)), shards=2)
    assert ("giver", "taker") in [s.apps for s in shards]


def test_the_matrix_names_each_shard_and_its_apps():
    shards = split(_plan(_app("a", 3), _app("b", 2), _app("c", 1)), shards=2)
    assert matrix(shards) == {
        "include": [{"shard": "1/2", "apps": "a"}, {"shard": "2/2", "apps": "b,c"}]
    }


@pytest.mark.parametrize("text", ["0/2", "3/2", "2", "a/b", "1/0", ""])
def test_a_shard_is_i_of_n(text):
    with pytest.raises(ValueError, match="is not I/N"):
        parse_shard(text)


def test_a_bad_shard_is_echoed_quoted_and_cut():
    with pytest.raises(ValueError) as info:
        parse_shard("1/2'" + "x" * 500)
    assert str(info.value) == (
        f"--shard '1/2'{'x' * 76}... (504 characters)' is not I/N with 1 <= I <= N (for example 2/4)"
    )
    assert parse_shard("2/4") == (2, 4)
