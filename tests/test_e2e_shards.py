"""End to end: one saved plan, applied in shards (`apply PLAN --shard I/N --result FILE`), the
results merged by `comwit report`; a missing shard is reported missing, its rerun converges."""

from __future__ import annotations

import json

from comwit.emulator.inprocess import InProcessEmulator
from comwit.emulator.store import SCOPES

from tests.e2e_support import PROJECT, World
from tests.shards_support import APPS, CHANGED, plan_in_shards, twelve_apps


def test_plan_prints_the_matrix_of_changed_apps_alone(world, tmp_path):
    planfile, matrix = plan_in_shards(world, tmp_path)
    shards = [entry["shard"] for entry in matrix["include"]]
    apps = sorted(a for entry in matrix["include"] for a in entry["apps"].split(","))
    assert shards == ["1/3", "2/3", "3/3"]
    assert apps == CHANGED
    saved = json.loads(planfile.read_text())
    assert [",".join(s) for s in saved["shards"]] == [e["apps"] for e in matrix["include"]]
    again = world.comwit("plan", "--shards", "3", "--format", "matrix")
    assert again.json() == matrix


def test_the_matrix_goes_to_the_step_outputs(world, tmp_path):
    outputs = tmp_path / "outputs"
    twelve_apps(world)
    env = {"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": str(outputs)}
    result = world.comwit("plan", "--shards", "2", env=env)
    assert result.code == 0, result.err
    lines = outputs.read_text().splitlines()
    matrix = json.loads(next(line for line in lines if line.startswith("matrix=")).split("=", 1)[1])
    assert len(matrix["include"]) == 2


def test_shards_apply_their_apps_once_and_report_merges_them(world, tmp_path):
    planfile, matrix = plan_in_shards(world, tmp_path)
    world.reset_stats()
    results = []
    for entry in matrix["include"]:
        path = tmp_path / f"result-{entry['shard'].replace('/', '-')}.json"
        run = world.comwit("apply", str(planfile), "--shard", entry["shard"], "--result", str(path))
        assert run.code == 0, run.out + run.err
        shown = len(entry["apps"].split(",")) + (3 if entry["shard"] == "1/3" else 0)
        assert run.out.splitlines()[0] == (
            f"comwit plan for project proj: {shown} of 12 apps in shard {entry['shard']}"
        )
        document = json.loads(path.read_text())
        done = sorted(
            a["outcome"]["app"] for a in document["apps"] if a["outcome"]["status"] == "done"
        )
        assert done == entry["apps"].split(",")
        results.append(str(path))
    assert world.stats()["deploys"] == 9
    assert world.comwit("plan", "--detailed-exitcode").code == 0
    report = world.comwit("report", *results, "--format", "json")
    assert report.code == 0, report.err
    merged = report.json()
    assert [a["app"] for a in merged["apps"]] == APPS
    assert [a["status"] for a in merged["apps"]] == ["done"] * 9 + ["unchanged"] * 3


def test_a_missing_shard_fails_the_report_and_its_rerun_converges(world, tmp_path):
    planfile, matrix = plan_in_shards(world, tmp_path)
    first, second, third = (entry["shard"] for entry in matrix["include"])
    paths = {s: tmp_path / f"r{s[0]}.json" for s in (first, second, third)}
    for shard in (first, third):
        assert (
            world.comwit(
                "apply", str(planfile), "--shard", shard, "--result", str(paths[shard])
            ).code
            == 0
        )
    report = world.comwit("report", str(paths[first]), str(paths[third]))
    assert report.code == 1
    assert "error: shard 2/3 reported no result: rerun its job" in report.err
    assert "not started" in report.out
    rerun = world.comwit("apply", str(planfile), "--shard", second, "--result", str(paths[second]))
    assert rerun.code == 0, rerun.err
    again = world.comwit("report", *(str(p) for p in paths.values()))
    assert again.code == 0, again.out + again.err
    assert "Apply complete: 9 done, 3 unchanged" in again.out
    assert world.comwit("plan", "--detailed-exitcode").code == 0


def _all_shards(world, tmp_path):
    planfile, matrix = plan_in_shards(world, tmp_path)
    return _apply_every_shard(world, planfile, matrix, tmp_path)


def _apply_every_shard(world, planfile, matrix, results_in):
    """Each shard of the matrix applied, its result in `results_in`: the result files."""
    paths = []
    for entry in matrix["include"]:
        path = results_in / f"result-{entry['shard'].replace('/', '-')}.json"
        run = world.comwit("apply", str(planfile), "--shard", entry["shard"], "--result", str(path))
        assert run.code == 0, run.out + run.err
        paths.append(path)
    return paths


def test_an_app_its_shards_result_leaves_out_is_reported_not_done(world, tmp_path):
    """A result file without one of its shard's apps: the report said "done" for the rest
    and left that app out, exit 0."""
    paths = _all_shards(world, tmp_path)
    document = json.loads(paths[1].read_text())
    left_out = document["apps"].pop(0)["outcome"]["app"]
    paths[1].write_text(json.dumps(document))
    report = world.comwit("report", *(str(p) for p in paths), "--format", "json")
    assert report.code == 1, report.err
    merged = {a["app"]: a for a in report.json()["apps"]}
    assert merged[left_out]["status"] == "not_started"
    assert merged[left_out]["detail"] == "no result file reports it"


def test_a_result_of_a_shard_its_plan_does_not_have_is_refused(world, tmp_path):
    paths = _all_shards(world, tmp_path)
    document = json.loads(paths[2].read_text())
    document["shard"] = "4/3"
    paths[2].write_text(json.dumps(document))
    report = world.comwit("report", *(str(p) for p in paths))
    assert report.code == 1
    assert report.err.strip().splitlines()[-1] == (
        f"error: {paths[2]}: its shard '4/3' is not one of the 3 shards its plan was split "
        "into; pass the files `apply --result` wrote"
    )


def test_a_shard_of_another_count_is_refused(world, tmp_path):
    planfile, _ = plan_in_shards(world, tmp_path)
    result = world.comwit("apply", str(planfile), "--shard", "1/4")
    assert result.code == 1
    assert result.err.strip().splitlines()[-1] == (
        "error: the plan was split into 3 shards, not 4: use --shard I/3, as in the plan's matrix"
    )


def test_a_plan_of_one_shard_says_so_in_the_singular(world, tmp_path):
    planfile, _ = plan_in_shards(world, tmp_path, count=1)
    result = world.comwit("apply", str(planfile), "--shard", "1/2")
    assert result.code == 1
    assert result.err.strip().splitlines()[-1] == (
        "error: the plan was split into 1 shard, not 2: use --shard I/1, as in the plan's matrix"
    )


def _comparable(document):
    """A summary without what differs between two emulators: build ids, URLs, steps naming them."""
    return [
        (a["app"], a["status"], a["uploaded"], len(a["steps"]), a["detail"])
        for a in document["apps"]
    ]


def test_the_merged_summary_equals_a_single_jobs_apply_of_the_same_changes(world, tmp_path):
    planfile, matrix = plan_in_shards(world, tmp_path / "sharded")
    paths = [str(p) for p in _apply_every_shard(world, planfile, matrix, tmp_path)]
    merged = world.comwit("report", *paths, "--format", "json")
    root = tmp_path / "single"
    root.mkdir()
    with InProcessEmulator(tmp_path / "single-data", auto_dns=True) as emulator:
        token = emulator.issue_token(SCOPES, [PROJECT])
        single = World(root, emulator.url, token, {}, transport=emulator.transport)
        planned, _ = plan_in_shards(single, tmp_path / "single-plan", count=1)
        alone = single.comwit("apply", str(planned), "--format", "json")
    assert alone.code == merged.code == 0, alone.err + merged.err
    assert _comparable(merged.json()) == _comparable(alone.json())


def _apply_a_static_matrix(world, tmp_path, changed: list[str], count: int) -> list[str]:
    """APPS applied, `changed` moved to v2, planned with `--shards count` and every job of
    that static matrix applied, each passing: the result files."""
    twelve_apps(world)
    assert world.comwit("apply", "--yes").code == 0
    twelve_apps(world, changed=changed)
    planfile = tmp_path / "plan.json"
    assert world.comwit("plan", "--out", str(planfile), "--shards", str(count)).code == 0
    paths = [str(tmp_path / f"r{i}.json") for i in range(1, count + 1)]
    for i, path in enumerate(paths, start=1):
        run = world.comwit("apply", str(planfile), "--shard", f"{i}/{count}", "--result", path)
        assert run.code == 0, run.out + run.err
    return paths


def test_a_static_matrix_larger_than_the_changes_gets_empty_shards(world, tmp_path):
    paths = _apply_a_static_matrix(world, tmp_path, CHANGED[:2], 4)
    report = world.comwit("report", *paths)
    assert report.code == 0, report.out + report.err
    assert "Apply complete: 2 done, 10 unchanged" in report.out
    missing = world.comwit("report", *paths[:3])
    assert missing.code == 1
    assert "error: shard 4/4 reported no result" in missing.err


def test_a_result_file_that_cannot_be_kept_is_refused_before_the_shard_runs(world, tmp_path):
    """`--result PLAN.json` replaced the plan the other shards still needed (and
    `--result comwit.toml` the manifest); `--result DIR` failed after the shard was applied."""
    planfile, _ = plan_in_shards(world, tmp_path)
    plan_bytes, manifest_bytes = planfile.read_bytes(), (world.root / "comwit.toml").read_bytes()
    (tmp_path / "dir").mkdir()
    (tmp_path / "notes.json").write_text('{"mine": true}')
    said = "error: cannot write the result to {}: {}"
    cases = {
        str(planfile): "it is the saved plan being applied; pass another --result FILE",
        "comwit.toml": "it is the manifest; pass another --result FILE",
        str(tmp_path / "dir"): "is a directory",
        "/dev/null": "it is a character device, not a regular file; pass a file name",
        str(
            tmp_path / "notes.json"
        ): "it holds something other than an earlier result; pass a new file",
        "comwit.toml/result.json": "not a directory",
    }
    build_dir = world.root / APPS[0]
    inside = build_dir / "new" / "result.json"  # the next plan would deploy it
    cases[str(inside)] = (
        f"it is inside the build dir of app {build_dir.name} ({build_dir}); write it elsewhere"
    )
    world.reset_stats()
    for path, why in cases.items():
        run = world.comwit("apply", str(planfile), "--shard", "1/3", "--result", path)
        assert run.code == 1, (path, run.err)
        assert run.err.splitlines()[-1] == said.format(path, why)
    assert world.stats()["total"] == 0  # nothing was asked of the API, nothing changed
    assert not inside.parent.exists()
    assert planfile.read_bytes() == plan_bytes
    assert (world.root / "comwit.toml").read_bytes() == manifest_bytes
    rerun = tmp_path / "r.json"
    for _ in range(2):  # a rerun of the job writes over its own earlier result
        assert (
            world.comwit("apply", str(planfile), "--shard", "1/3", "--result", str(rerun)).code == 0
        )


def test_results_of_two_splits_of_one_plan_are_refused_in_any_order(world, tmp_path):
    """A plan saved without --shards splits as each job asks: results of `--shard I/2` and
    `--shard 1/3` were merged, said "complete" and "shard 2/3 reported no result" at once,
    and the exit code hung on the order of the files."""
    twelve_apps(world)
    assert world.comwit("apply", "--yes").code == 0
    twelve_apps(world, changed=CHANGED)
    planfile = tmp_path / "plan.json"
    assert world.comwit("plan", "--out", str(planfile)).code == 0
    made = {}
    for shard in ("1/2", "2/2", "1/3"):
        made[shard] = tmp_path / f"r{shard.replace('/', '-')}.json"
        run = world.comwit("apply", str(planfile), "--shard", shard, "--result", str(made[shard]))
        assert run.code == 0, run.err
    halves, third = [str(made["1/2"]), str(made["2/2"])], str(made["1/3"])
    assert world.comwit("report", *halves).code == 0
    for files in ([third, *halves], [*halves, third]):
        report = world.comwit("report", *files)
        assert (report.code, report.out) == (1, "")
        first = "shard 1/3" if files[0] == third else "shard 1/2"
        other = "shard 1/2" if files[0] == third else "shard 1/3"
        assert report.err.splitlines() == [
            f"error: {files[1 if files[0] == third else 2]} ({other}) and {files[0]} ({first})"
            " are results of different splits of the plan; pass the results of one matrix"
        ]


def test_a_static_matrix_with_no_changes_at_all_passes_every_job(world, tmp_path):
    """`plan --shards 3` with nothing to do saves no shard but the count: every job of the
    matrix failed with "the plan's changes make 0 shards, not 3"."""
    paths = _apply_a_static_matrix(world, tmp_path, [], 3)
    report = world.comwit("report", *paths)
    assert report.code == 0, report.out + report.err
    assert "12 unchanged" in report.out
