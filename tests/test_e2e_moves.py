"""Hostnames that move between apps, swap, or go round a cycle converge in one apply."""

from __future__ import annotations

import pytest

from tests.e2e_support import PROJECT, World, actions

pytestmark = pytest.mark.timeout(60)


def _apps(hosts: dict[str, str | None]) -> str:
    """A manifest: one app per key, each with its own build dir and at most one hostname."""
    text = f'version = 1\nproject = "{PROJECT}"\n'
    for app, host in hosts.items():
        text += f'[apps.{app}]\nbuild_dir = "{app}"\n'
        if host:
            text += f'hosts = ["{host}"]\n'
    return text


def _live_hosts(world: World, *apps: str) -> dict[str, list[str]]:
    return {
        app: [d["domain"] for d in world.api(f"apps/{world.app(app)['app_id']}/domains")["domains"]]
        for app in apps
    }


def _start(world: World, hosts: dict[str, str | None]) -> None:
    for app in hosts:
        world.write(f"{app}/index.html", app)
    world.manifest(_apps(hosts))
    result = world.comwit("apply", "--yes")
    assert result.code == 0, result.out + result.err


def _converge(world: World, hosts: dict[str, str | None], *flags: str) -> str:
    world.manifest(_apps(hosts))
    result = world.comwit("apply", "--yes", *flags)
    assert result.code == 0, result.out + result.err
    assert actions(world.plan_json()) == []
    return result.out


def test_two_apps_swapping_hostnames_converge_in_one_apply(world):
    _start(world, {"alpha": "x.example.com", "beta": "y.example.com"})
    out = _converge(
        world,
        {"alpha": "y.example.com", "beta": "x.example.com"},
        "--allow-detach",
        "*.example.com",
    )
    assert "attach hostname y.example.com (external DNS) -> moves from app beta" in out
    assert "detach hostname x.example.com -> moves to app beta" in out
    assert _live_hosts(world, "alpha", "beta") == {
        "alpha": ["y.example.com"],
        "beta": ["x.example.com"],
    }


def test_three_apps_passing_hostnames_round_a_cycle_converge_in_one_apply(world):
    _start(world, {"a1": "x.example.com", "a2": "y.example.com", "a3": "z.example.com"})
    new = {"a1": "z.example.com", "a2": "x.example.com", "a3": "y.example.com"}
    # One app at a time: each waits for its hostname without holding the only slot.
    _converge(world, new, "--allow-detach", "*.example.com", "--parallel", "1")
    assert _live_hosts(world, "a1", "a2", "a3") == {
        "a1": ["z.example.com"],
        "a2": ["x.example.com"],
        "a3": ["y.example.com"],
    }


def test_a_hostname_moving_into_a_new_app_converges_in_one_apply(world):
    _start(world, {"alpha": "x.example.com"})
    world.write("gamma/index.html", "gamma")
    out = _converge(world, {"alpha": None, "gamma": "x.example.com"}, "--allow-detach", "x.*")
    assert "moves from app alpha" in out
    assert _live_hosts(world, "alpha", "gamma") == {"alpha": [], "gamma": ["x.example.com"]}


def test_a_swap_that_would_leave_live_apps_without_a_hostname_is_held_back_and_says_why(world):
    _start(world, {"alpha": "x.example.com", "beta": "y.example.com"})
    world.manifest(_apps({"alpha": "y.example.com", "beta": "x.example.com"}))
    result = world.comwit("plan")
    assert result.code == 0, result.err
    assert (
        "held back: detach hostname x.example.com -> moves to app beta: moving it to app 'beta' "
        "would leave live app 'alpha' with no active hostname" in result.out
    )
    assert (
        "held back: attach hostname x.example.com (external DNS) -> moves from app alpha: "
        "it moves from app 'alpha', whose detach of it is held back (see there)" in result.out
    )
    assert "pass --allow-detach x.example.com" in result.out
    assert actions(world.plan_json()) == []
