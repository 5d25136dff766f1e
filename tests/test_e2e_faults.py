"""Faults injected at the emulator: the summary says what happened, the exit code is 1 when
anything failed, and the next apply converges without a duplicate build."""

from __future__ import annotations

from tests.e2e_support import FakeTime, actions


def converges(world) -> None:
    world.admin("DELETE", "faults")
    result = world.comwit("apply", "--yes")
    assert result.code == 0, result.out + result.err
    assert actions(world.plan_json()) == []


def test_502_on_attach_fails_that_app_only_and_the_next_apply_converges(world):
    world.admin("POST", "faults/fail", {"route": "attach_domain", "count": 20, "status": 502})
    now = FakeTime()
    result = world.comwit("apply", "--yes", sleep=now.sleep)
    assert result.code == 1
    assert len(now.slept) == 3  # the attach was tried four times, by the run's own clock
    assert world.stats()["statuses"]["502"] == 4
    assert "failed   web  POST /v1/projects/proj/apps/" in result.out
    assert "failed with 502" in result.out
    assert "done     api" in result.out
    converges(world)
    assert len(world.builds("web")) == 1


def test_502_on_deploy_is_not_retried_and_the_next_apply_uploads_once(world):
    world.comwit("apply", "--yes", "--app", "api")
    world.admin("POST", "faults/fail", {"route": "deploy", "count": 1, "status": 502})
    world.reset_stats()
    result = world.comwit("apply", "--yes")
    assert result.code == 1
    assert "failed   web" in result.out
    assert (
        world.stats()["requests"]["POST /v1/projects/{project_id}/apps/{app_id}/deployments"] == 1
    )
    converges(world)
    assert len(world.builds("web")) == 1


def test_connection_dropped_after_the_upload_was_accepted_adopts_the_build(world):
    world.admin("POST", "faults/drop", {"route": "deploy", "count": 1, "when": "after"})
    result = world.comwit("apply", "--yes", "--app", "api")
    assert result.code == 0, result.out + result.err
    assert "the upload's answer was lost; adopted build" in result.err
    assert len(world.builds("api")) == 1
    converges(world)
    assert len(world.builds("api")) == 1


def test_connection_dropped_before_the_upload_fails_and_nothing_is_deployed(world):
    world.admin("POST", "faults/drop", {"route": "deploy", "count": 1, "when": "before"})
    result = world.comwit("apply", "--yes", "--app", "api")
    assert result.code == 1
    assert "no new build appeared, so nothing was deployed: run apply again" in result.out
    assert world.builds("api") == []
    converges(world)
    assert len(world.builds("api")) == 1


def test_timeout_on_env_put_fails_the_app_and_the_next_apply_converges(world):
    world.comwit("apply", "--yes")
    text = (world.root / "comwit.toml").read_text()
    world.manifest(text.replace('LEVEL = "info"', 'LEVEL = "debug"'))
    world.admin("POST", "faults/latency", {"route": "put_env", "ms": 2000})
    now = FakeTime()
    result = world.comwit("apply", "--yes", env={"COMWIT_TIMEOUT": "0.3"}, sleep=now.sleep)
    assert result.code == 1
    assert len(now.slept) == 3  # the env write was tried four times, by the run's own clock
    assert "failed   web  PUT /v1/projects/proj/apps/" in result.out
    assert "did not answer in time" in result.out
    converges(world)
    assert len(world.builds("web")) == 1
