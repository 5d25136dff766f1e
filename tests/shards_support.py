"""The twelve-app project that the shard tests plan, apply in shards and report on."""

from __future__ import annotations

APPS = [f"app{i:02}" for i in range(12)]
CHANGED = APPS[:9]


def twelve_apps(world, changed=()):
    """The manifest of APPS, each with a page of its own size; `changed` ones at v2."""
    world.manifest(
        'version = 1\nproject = "proj"\n'
        + "".join(f'[apps.{a}]\nbuild_dir = "{a}"\n' for a in APPS)
    )
    for i, app in enumerate(APPS):
        version = 2 if app in changed else 1
        world.write(f"{app}/index.html", f"<h1>{app} v{version}</h1>" + "x" * (i * 1000))


def plan_in_shards(world, tmp_path, count=3):
    """APPS applied, CHANGED moved to v2, then planned in `count` shards: (plan file, matrix)."""
    twelve_apps(world)
    assert world.comwit("apply", "--yes").code == 0
    twelve_apps(world, changed=CHANGED)
    tmp_path.mkdir(parents=True, exist_ok=True)
    planfile = tmp_path / "plan.json"
    result = world.comwit(
        "plan", "--out", str(planfile), "--shards", str(count), "--format", "matrix"
    )
    assert result.code == 0, result.err
    return planfile, result.json()
