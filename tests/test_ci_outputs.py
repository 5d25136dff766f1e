"""Step outputs ($GITHUB_OUTPUT) and the job summary ($GITHUB_STEP_SUMMARY, 1 MiB a step)."""

from __future__ import annotations

import json
import os

from comwit.apply.result import ApplyResult, Outcome
from comwit.ci.outputs import apply_outputs, format_outputs, plan_outputs, write_outputs
from comwit.ci.summary import LIMIT, append_summary
from comwit.render.markdown import render_markdown

from tests.ci_support import github_env, parse_outputs
from tests.e2e_support import populate
from tests.factories import sample_plan


def test_plan_outputs_say_whether_anything_changes_and_how_much():
    values = plan_outputs(sample_plan(), "plan.json")
    assert values["has-changes"] == "true"
    assert (values["to-upload"], values["to-detach"], values["to-set-env"]) == ("1", "1", "2")
    assert (values["to-create"], values["to-rollback"], values["held-back"]) == ("0", "0", "1")
    assert values["plan-path"] == "plan.json"
    assert "plan-path" not in plan_outputs(sample_plan())


def test_json_values_use_the_delimiter_form_and_read_back(tmp_path):
    result = ApplyResult(
        (Outcome("web", "done"), Outcome("api", "failed", "boom"), Outcome("db", "skipped"))
    )
    values = apply_outputs(result, {"web": "https://web.example.net"})
    path = tmp_path / "out"
    path.write_text("earlier=1\n")
    write_outputs(path, values)
    text = path.read_text()
    assert "\nurls<<ghadelimiter_" in text and "\nfailed-apps<<ghadelimiter_" in text
    read = parse_outputs(text)
    assert read["earlier"] == "1"
    assert json.loads(read["urls"]) == {"web": "https://web.example.net"}
    assert json.loads(read["failed-apps"]) == ["api", "db"]
    assert (read["done"], read["failed"], read["skipped"]) == ("1", "1", "1")


def test_urls_and_failed_apps_are_in_name_order_whatever_order_they_came_in():
    result = ApplyResult((Outcome("web", "failed", "boom"), Outcome("api", "skipped")))
    values = apply_outputs(result, {"web": "https://w.example.net", "api": "https://a.example.net"})
    assert values["urls"] == '{"api": "https://a.example.net", "web": "https://w.example.net"}'
    assert values["failed-apps"] == '["api", "web"]'


def test_a_value_with_a_line_break_cannot_inject_another_output():
    text = format_outputs({"x": "a\nhas-changes=false"})
    assert parse_outputs(text) == {"x": "a\nhas-changes=false"}


def test_summary_is_appended_and_fits_in_what_the_step_has_left(tmp_path):
    path = tmp_path / "summary.md"
    path.write_text("# Earlier step output\n")
    plan = sample_plan()
    assert append_summary(path, lambda budget: render_markdown(plan, budget=budget))
    text = path.read_text()
    assert text.startswith("# Earlier step output\n\n<!-- comwit:plan ")
    assert "| `api` |" in text


def test_summary_never_makes_the_file_exceed_one_mebibyte(tmp_path):
    path = tmp_path / "summary.md"
    path.write_bytes(b"x" * (LIMIT - 3000))
    big = "é" * 10_000  # two bytes each: characters are not bytes
    assert append_summary(path, lambda budget: big[:budget])
    assert LIMIT - 3000 < path.stat().st_size <= LIMIT


def test_a_full_summary_gets_nothing(tmp_path):
    path = tmp_path / "summary.md"
    path.write_bytes(b"x" * (LIMIT - 10))
    assert not append_summary(path, lambda budget: "# plan\n")
    assert path.stat().st_size == LIMIT - 10


def test_a_plan_saved_under_a_name_that_is_not_utf8_is_named_by_its_own_bytes(world):
    """`plan -o $'\xff.json'` in CI: the step outputs and the dotenv report hold the file's
    name as the shell gave it (it ended in 'comwit hit a bug' after saving the plan)."""
    populate(world)
    output, dotenv = world.root / "github-output", world.root / "comwit.env"
    env = github_env(world.root, "push", GITHUB_OUTPUT=str(output), COMWIT_DOTENV=str(dotenv))
    result = world.comwit("plan", "-o", os.fsdecode(b"\xff.json"), env=env)
    assert result.code == 0, result.err
    assert (world.root / os.fsdecode(b"\xff.json")).is_file()
    assert b"\nplan-path=\xff.json\n" in b"\n" + output.read_bytes()
    assert b"\nCOMWIT_PLAN_PATH=\xff.json\n" in b"\n" + dotenv.read_bytes()
