"""The composite GitHub Action (action.yml): its own `run:` steps, read from the file and run
with bash as the runner runs them (inputs as INPUT_*), against the embedded emulator."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from comwit import __version__

from tests.ci_support import parse_outputs

ROOT = Path(__file__).parent.parent
ACTION = yaml.safe_load((ROOT / "action.yml").read_text())
STEPS = ACTION["runs"]["steps"]
_INPUT = re.compile(r"\$\{\{\s*inputs\.([a-z0-9-]+)\s*\}\}")
_STEP_OUTPUT = re.compile(r"\$\{\{\s*steps\.([a-z0-9-]+)\.outputs\.([a-z0-9-]+)\s*\}\}")
# Writes to these are the runner's job (a test run must not add to the real job's).
_RUNNER_FILES = ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_PATH", "GITHUB_ENV")

MANIFEST = """\
version = 1
project = "proj"
[apps.web]
build_dir = "web"
[apps.api]
build_dir = "api"
"""


def evaluate(value: str, inputs: dict[str, str], steps: dict[str, dict[str, str]]) -> str:
    """`${{ inputs.NAME }}` and `${{ steps.ID.outputs.NAME }}` of an earlier step: the only
    expressions the action's env and paths may use."""
    text = _INPUT.sub(lambda m: inputs[m[1]], str(value))
    text = _STEP_OUTPUT.sub(lambda m: steps[m[1]][m[2]], text)
    assert "${{" not in text, f"unexpected expression in {value!r}"
    return text


def with_defaults(given: dict[str, str]) -> dict[str, str]:
    declared = ACTION["inputs"]
    unknown = set(given) - set(declared)
    assert not unknown, f"not inputs of action.yml: {unknown}"
    defaults = {name: str(spec.get("default", "")) for name, spec in declared.items()}
    # The one default the runner evaluates: this job has no GitHub token to give.
    assert defaults["github-token"] == "${{ github.token }}"
    defaults["github-token"] = ""
    return defaults | given


def run_step(
    step_id: str,
    given: dict[str, str],
    job: Path,
    repo: Path,
    *,
    steps: dict[str, dict[str, str]] | None = None,
    output: str = "output",
    runner: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run one `run:` step; `steps`: earlier steps' outputs, `output`: its $GITHUB_OUTPUT,
    `runner`: more of the runner's variables (the event, the API URL)."""
    step = next(s for s in STEPS if s.get("id") == step_id)
    assert step["shell"] == "bash"
    inputs = with_defaults(given)
    steps = steps or {}
    environ = {
        k: v
        for k, v in os.environ.items()
        if k not in _RUNNER_FILES and not k.startswith(("GITHUB_", "COMWIT_"))
    }
    environ |= runner or {}
    environ |= {key: evaluate(value, inputs, steps) for key, value in step.get("env", {}).items()}
    environ |= {
        "GITHUB_ACTIONS": "true",
        "CI": "true",
        "GITHUB_ACTION_PATH": str(ROOT),
        "GITHUB_WORKSPACE": str(repo),
        "GITHUB_OUTPUT": str(job / output),
        "GITHUB_PATH": str(job / "path"),
        "GITHUB_STEP_SUMMARY": str(job / "summary.md"),
        "RUNNER_TEMP": str(job),
        "COMWIT_API_URL": "local",  # the embedded emulator, state in the repo's .comwit/
        "NO_COLOR": "1",
        # What the install step put on GITHUB_PATH: a Python with comwit installed.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    cwd = repo / evaluate(step.get("working-directory", "."), inputs, steps)
    script = job / f"{step_id}.sh"
    script.write_text(step["run"])
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def repo(tmp_path):
    root = tmp_path / "repo"
    (root / "deploy" / "web").mkdir(parents=True)
    (root / "deploy" / "api").mkdir()
    (root / "deploy" / "comwit.toml").write_text(MANIFEST)
    (root / "deploy" / "web" / "index.html").write_text("<h1>hi</h1>")
    (root / "deploy" / "api" / "server.js").write_text("serve()")
    return root


@pytest.fixture
def job(tmp_path):
    folder = tmp_path / "job"
    folder.mkdir()
    return folder


def test_plan_then_apply_the_saved_plan_then_plan_again(repo, job):
    base = {"working-directory": "deploy", "github-token": ""}
    plan = run_step("run", base | {"command": "plan", "plan-file": "plan.json"}, job, repo)
    assert plan.returncode == 0, plan.stderr
    outputs = parse_outputs((job / "output").read_text())
    assert outputs["has-changes"] == "true"
    assert (outputs["to-create"], outputs["to-upload"]) == ("2", "2")
    assert outputs["plan-path"] == "plan.json"
    assert (repo / "deploy" / "plan.json").is_file()
    summary = (job / "summary.md").read_text()
    assert "<!-- comwit:plan manifest=deploy/comwit.toml project=proj environment= -->" in summary

    (job / "output").unlink()
    applied = run_step("run", base | {"command": "apply", "plan-file": "plan.json"}, job, repo)
    assert applied.returncode == 0, applied.stderr
    outputs = parse_outputs((job / "output").read_text())
    assert json.loads(outputs["failed-apps"]) == []
    urls = json.loads(outputs["urls"])
    assert sorted(urls) == ["api", "web"] and all(u.startswith("https://") for u in urls.values())
    assert outputs["done"] == "2"
    assert "### comwit apply for `proj`" in (job / "summary.md").read_text()

    (job / "output").unlink()
    again = run_step("run", base | {"command": "plan", "args": "--detailed-exitcode"}, job, repo)
    assert again.returncode == 0, again.stderr
    assert parse_outputs((job / "output").read_text())["has-changes"] == "false"


def test_preview_up_then_down(repo, job):
    base = {"working-directory": "deploy", "github-token": "", "args": "--pr 7"}
    up = run_step("run", base | {"command": "preview-up", "apps": "web"}, job, repo)
    assert up.returncode == 0, up.stderr
    urls = json.loads(parse_outputs((job / "output").read_text())["preview-urls"])
    assert list(urls) == ["web-pr-7"]
    down = run_step("run", base | {"command": "preview-down", "comment": "true"}, job, repo)
    assert down.returncode == 0, down.stderr
    assert "Apply complete: 1 done" in down.stdout
    assert "no token to comment with" in down.stderr  # --comment reached preview down


def test_apps_input_selects_apps(repo, job):
    given = {"working-directory": "deploy", "command": "plan", "apps": "web", "github-token": ""}
    result = run_step("run", given, job, repo)
    assert result.returncode == 0, result.stderr
    assert parse_outputs((job / "output").read_text())["to-create"] == "1"


def test_validate_annotates_manifest_problems(repo, job):
    (repo / "deploy" / "comwit.toml").write_text(MANIFEST + "[apps.db]\nbuild_dir = 3\n")
    result = run_step("run", {"working-directory": "deploy", "command": "validate"}, job, repo)
    assert result.returncode == 1
    assert (
        "::error file=deploy/comwit.toml,line=8,col=1::apps.db.build_dir: expected a string"
        in result.stderr
    )


def test_an_unknown_command_is_one_error(repo, job):
    result = run_step("run", {"command": "destroy"}, job, repo)
    assert result.returncode == 1
    assert (
        result.stdout.strip()
        == "::error title=comwit::command must be validate, plan, apply, preview-up, "
        "preview-down or preview-prune, not 'destroy'"
    )


def test_changes_with_detailed_exitcode_fail_the_step_with_2_told_apart_from_an_error(repo, job):
    given = {"working-directory": "deploy", "command": "plan", "args": "--detailed-exitcode"}
    changes = run_step("run", given, job, repo)
    assert changes.returncode == 2, changes.stderr
    outputs = parse_outputs((job / "output").read_text())
    assert (outputs["exit-code"], outputs["has-changes"]) == ("2", "true")

    (job / "output").unlink()
    (repo / "deploy" / "comwit.toml").write_text(MANIFEST + "[apps.db]\nbuild_dir = 3\n")
    broken = run_step("run", given, job, repo)
    assert broken.returncode == 1
    assert parse_outputs((job / "output").read_text())["exit-code"] == "1"


def _doc_table(heading: str) -> list[list[str]]:
    """The rows (cells) of the first table after `heading` in docs/ci.md."""
    doc = (ROOT / "docs" / "ci.md").read_text()
    section = doc.split(f"\n{heading}\n", 1)[1]
    lines = section.split("\n| ", 1)[1].split("\n\n", 1)[0].splitlines()[2:]
    return [[cell.strip() for cell in line.strip("|").split(" | ")] for line in lines]


def test_the_docs_list_exactly_the_actions_inputs_and_their_defaults():
    rows = {row[0].strip("`"): row[1] for row in _doc_table("## The GitHub Action")}
    assert set(rows) == set(ACTION["inputs"])
    for name, spec in ACTION["inputs"].items():
        if spec.get("required"):
            assert rows[name] == "(required)", name
        elif spec.get("default", "") != "":
            assert rows[name] == f"`{spec['default']}`", name


def test_the_docs_list_exactly_the_actions_outputs():
    names = {
        name for row in _doc_table("## Step outputs") for name in re.findall(r"`([a-z-]+)`", row[0])
    }
    assert names | {"exit-code"} == set(ACTION["outputs"])
    assert "`exit-code`" in (ROOT / "docs" / "ci.md").read_text().split("## The GitHub Action")[1]


def written_outputs() -> set[str]:
    """Every step output comwit writes, from the code that writes them."""
    from comwit.ci.outputs import apply_outputs, plan_outputs
    from comwit.plan.actions import Plan

    plan = Plan(project="proj", environment=None, apps=())
    return {*plan_outputs(plan, "plan.json"), *apply_outputs(None, {}), "preview-urls", "matrix"}


def test_the_outputs_are_the_ones_comwit_writes():
    for name, spec in ACTION["outputs"].items():
        assert spec["value"] == f"${{{{ steps.run.outputs.{name} }}}}"
    # exit-code: the action's own, comwit's exit status (0, 1, 2 changes, ...)
    assert set(ACTION["outputs"]) == written_outputs() | {"exit-code"}


def test_every_input_reaches_a_step_and_every_input_and_output_is_documented():
    used = {
        name
        for step in STEPS
        for value in [
            *step.get("env", {}).values(),
            step.get("if", ""),
            step.get("working-directory", ""),
            *step.get("with", {}).values(),
        ]
        for name in re.findall(r"inputs\.([a-z0-9-]+)", str(value))
    }
    assert used == set(ACTION["inputs"])
    doc = (ROOT / "docs" / "ci.md").read_text()
    for name in [*ACTION["inputs"], *ACTION["outputs"]]:
        assert f"`{name}`" in doc, f"docs/ci.md does not describe {name}"


def test_scripts_take_inputs_only_through_the_environment():
    """No `${{ }}` inside a script: an input cannot inject shell code. Env values are inputs or
    outputs of steps before."""
    before: set[str] = set()
    for step in STEPS:
        if "run" in step:
            assert "${{" not in step["run"], step["id"]
            assert "set -x" not in step["run"] and "xtrace" not in step["run"], step["id"]
        for key, value in step.get("env", {}).items():
            names = _INPUT.findall(value)
            earlier = [m[0] for m in _STEP_OUTPUT.findall(value)]
            assert names or earlier, (key, value)
            assert all(name in ACTION["inputs"] for name in names), (key, value)
            assert set(earlier) <= before, (key, value)
        before.add(step["id"])


def test_other_actions_are_pinned_to_a_commit():
    for step in STEPS:
        if "uses" in step:
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", step["uses"]), step["uses"]


def key_of(job: Path, repo: Path, given: dict[str, str]) -> dict[str, str]:
    result = run_step("key", given, job, repo, output="key.output")
    assert result.returncode == 0, result.stderr
    outputs = parse_outputs((job / "key.output").read_text())
    (job / "key.output").unlink()
    return outputs


def test_the_install_is_cached_by_python_and_comwit_version(repo, job):
    checkout = key_of(job, repo, {"command": "plan"})
    assert checkout == key_of(job, repo, {"command": "plan"})
    assert checkout["venv"] == str(job / "comwit-venv")
    assert checkout["key"].startswith("comwit-")
    release = key_of(job, repo, {"command": "plan", "comwit-version": "1.2.3"})
    other = key_of(job, repo, {"command": "plan", "comwit-version": "1.2.4"})
    assert len({checkout["key"], release["key"], other["key"]}) == 3
    cache = next(s for s in STEPS if s["id"] == "cache")
    assert cache["with"] == {
        "path": "${{ steps.key.outputs.venv }}",
        "key": "${{ steps.key.outputs.key }}",
    }
    assert cache["if"] == "${{ inputs.cache == 'true' }}"


def test_a_cached_install_is_used_as_it_is(repo, job):
    """What the cache restored (a venv whose comwit runs) is put on PATH, not installed again."""
    key = key_of(job, repo, {"command": "plan"})
    (job / "comwit-venv" / "bin").mkdir(parents=True)
    cached = job / "comwit-venv" / "bin" / "comwit"
    cached.symlink_to(Path(sys.executable).parent / "comwit")
    result = run_step("install", {"command": "plan"}, job, repo, steps={"key": key})
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"comwit {__version__}, from the cache\n"
    assert (job / "path").read_text() == f"{job / 'comwit-venv' / 'bin'}\n"
    assert cached.is_symlink()


def test_the_install_step_installs_the_checkout_or_a_release():
    install = next(s for s in STEPS if s["id"] == "install")
    script = textwrap.dedent(install["run"])
    assert '"$GITHUB_ACTION_PATH"' in script and "comwit==$INPUT_COMWIT_VERSION" in script
    assert 'echo "$VENV/bin" >> "$GITHUB_PATH"' in script
    # Installing needs the package index, which tests do not reach: bash only checks the syntax.
    assert subprocess.run(["bash", "-n"], input=script, text=True, check=False).returncode == 0


def test_the_comment_token_comments_and_is_never_shown(repo, job, github):
    from tests.ci_support import Job
    from tests.forge_standins import Identity

    token = "ghs_action_input_token_never_shown_1"
    github.add_token(token, Identity("shop-repo", installation=True))
    ours = ("GITHUB_TOKEN", "GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT")  # the step's own
    runner = {k: v for k, v in Job(job).github(github.url).items() if k not in ours}
    given = {
        "working-directory": "deploy",
        "command": "plan",
        "github-token": token,
        "comment": "true",
        "comment-on": "always",
    }
    result = run_step("run", given, job, repo, runner=runner)
    assert result.returncode == 0, result.stderr
    (comment,) = github.comments(7)  # written with the input's token
    assert [r.headers.get("authorization") for r in github.requests if r.method == "POST"] == [
        f"Bearer {token}"
    ]
    for text in (result.stdout, result.stderr, (job / "output").read_text(), comment["body"]):
        assert token not in text
    assert token not in (job / "summary.md").read_text()


def test_args_on_several_lines_all_reach_comwit(repo, job):
    given = {
        "working-directory": "deploy",
        "command": "plan",
        "args": "--no-summary\n--out\nx.json",
    }
    result = run_step("run", given, job, repo)
    assert result.returncode == 0, result.stderr
    assert parse_outputs((job / "output").read_text())["plan-path"] == "x.json"
    assert (repo / "deploy" / "x.json").is_file() and not (job / "summary.md").exists()
