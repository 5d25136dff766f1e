"""The CI recipes: docs/ci.md shows the files under examples/ci/ whole; each parses, and each
`comwit` command line in them is accepted by comwit's command line (parsed, never run)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

from comwit.cli.app import root_command

ROOT = Path(__file__).parent.parent
EXAMPLES = sorted((ROOT / "examples" / "ci").iterdir())
YAML = [path for path in EXAMPLES if path.suffix == ".yml"]
_EXPRESSION = re.compile(r"\$\{\{.*?\}\}")
_SEPARATORS = {"|", "||", "&&", ";", ";;", "&", "(", ")", "then", "do", "else", "!"}
_STOP = _SEPARATORS | {">", ">>", "<", "2>"}


def scripts(node: object, key: str = "") -> list[str]:
    """Every shell script in a workflow (`run:`) or a .gitlab-ci.yml (`script:` lists)."""
    if isinstance(node, dict):
        return [text for k, v in node.items() for text in scripts(v, str(k))]
    if isinstance(node, list):
        return [text for item in node for text in scripts(item, key)]
    if isinstance(node, str) and key in ("run", "script", "before_script", "after_script"):
        return [node]
    return []


def comwit_commands(script: str) -> list[list[str]]:
    """The argument lists of each `comwit ...` command in a shell script."""
    found = []
    text = _EXPRESSION.sub("X", script.replace("\\\n", " "))
    for line in text.splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = "#"
        words = list(lexer)
        for start, word in enumerate(words):
            if word == "comwit" and (start == 0 or words[start - 1] in _SEPARATORS):
                args = []
                for each in words[start + 1 :]:
                    if each in _STOP:
                        break
                    args.append(each)
                found.append(args)
    return found


def all_commands() -> list[tuple[str, list[str]]]:
    commands = []
    for path in EXAMPLES:
        text = path.read_text()
        found = (
            [c for s in scripts(yaml.safe_load(text)) for c in comwit_commands(s)]
            if path.suffix == ".yml"
            else comwit_commands(text)
        )
        # A GitLab pipeline may only trigger the child pipeline that runs comwit.
        assert found or re.search(r"^ +trigger:", text, re.M), f"{path.name} runs no comwit"
        commands += [(path.name, args) for args in found]
    return commands


def test_there_are_recipes_for_github_gitlab_and_any_ci():
    names = {path.name for path in EXAMPLES}
    assert {"github-pull-request.yml", "github-main.yml", "gitlab-ci.yml", "any-ci.sh"} <= names


@pytest.mark.parametrize("path", YAML, ids=lambda p: p.name)
def test_every_yaml_recipe_parses(path):
    document = yaml.safe_load(path.read_text())
    assert isinstance(document, dict)
    if path.name.startswith("github-"):
        assert document["jobs"] and document[True if True in document else "on"]


@pytest.mark.parametrize(
    ("name", "args"), all_commands(), ids=lambda v: " ".join(v) if isinstance(v, list) else v
)
def test_every_comwit_command_line_is_accepted(name, args):
    root = root_command()
    command = root.get_command(root.make_context("comwit", [args[0]]), args[0])
    assert command is not None, f"{name}: no command {args[0]!r}"
    command.make_context(args[0], list(args[1:]))  # raises on an unknown option or bad value


def test_the_parser_check_rejects_a_wrong_command_line():
    root = root_command()
    plan = root.get_command(root.make_context("comwit", ["plan"]), "plan")
    with pytest.raises(Exception, match="--commment"):
        plan.make_context("plan", ["--commment"])


def test_docs_show_each_recipe_whole():
    doc = (ROOT / "docs" / "ci.md").read_text()
    blocks = re.findall(r"```(?:yaml|sh)\n(.*?)```", doc, flags=re.DOTALL)
    files = {path.read_text() for path in EXAMPLES}
    for path in EXAMPLES:
        assert path.read_text() in blocks, f"docs/ci.md does not show {path.name} as it is"
    assert {block for block in blocks if block.startswith("#")} <= files


def test_apply_on_the_main_branch_is_serialised():
    applying = {name for name, args in all_commands() if args[0] == "apply"}
    github = [p for p in YAML if p.name.startswith("github-") and p.name in applying]
    assert github
    for path in github:
        document = yaml.safe_load(path.read_text())
        assert document["concurrency"]["cancel-in-progress"] is False, path.name
    assert _gitlab_appliers(), "no GitLab recipe applies"


# What GitLab takes as a resource group's key (Ci::ResourceGroup's validation).
_RESOURCE_GROUP = re.compile(r"(?!/)[A-Za-z0-9_\-/${}. ]+(?<!/)")


def _destination(path: Path) -> str:
    """Where a recipe goes in the repository: its first line says so (`# .gitlab-ci.yml: ...`)."""
    match = re.match(r"# (\S+?):", path.read_text())
    assert match, f"{path.name} does not say where it goes"
    return match[1]


def _gitlab_recipes() -> dict[str, tuple[str, dict]]:
    """Each GitLab recipe by file name: where it goes, and its document."""
    return {
        path.name: (_destination(path), yaml.safe_load(path.read_text()))
        for path in YAML
        if path.name.startswith("gitlab-")
    }


def _gitlab_jobs(recipe: dict) -> dict[str, dict]:
    keywords = {"stages", "default", "variables", "workflow", "include"}
    return {name: job for name, job in recipe.items() if name not in keywords}


def _gitlab_appliers() -> list[tuple[str, str, dict]]:
    """(file, job name, job) of every GitLab job that applies or reports an apply."""
    return [
        (name, job_name, job)
        for name, (_, recipe) in _gitlab_recipes().items()
        for job_name, job in _gitlab_jobs(recipe).items()
        if any(args[0] in ("apply", "report") for s in scripts(job) for args in comwit_commands(s))
    ]


def _triggers_of(name: str) -> list[dict]:
    """The trigger jobs that run recipe `name` as a downstream (child) pipeline."""
    child = _gitlab_recipes()[name][0]
    found = []
    for _, recipe in _gitlab_recipes().values():
        for job in _gitlab_jobs(recipe).values():
            trigger = job.get("trigger")
            include = trigger.get("include") if isinstance(trigger, dict) else None
            if include == child or (isinstance(include, list) and {"local": child} in include):
                found.append(job)
    return found


def test_every_gitlab_apply_holds_one_resource_group_for_all_pipelines():
    """GitLab expands variables in resource_group per job (CI_NODE_INDEX, a matrix value): a
    group with a variable in it is one group per value, and serialises nothing across
    pipelines. Each applying job holds a constant group itself, or runs in a child pipeline
    whose trigger job holds one until the child ends (strategy: depend)."""
    for name, job_name, job in _gitlab_appliers():
        where = f"{name}: {job_name}"
        holders = [job] if "resource_group" in job else _triggers_of(name)
        assert holders, f"{where} applies without a resource group"
        for holder in holders:
            group = holder["resource_group"]
            assert _RESOURCE_GROUP.fullmatch(group), f"{where}: GitLab refuses {group!r}"
            assert "$" not in group, f"{where}: the resource group {group!r} varies"
            if holder is not job:
                assert holder["trigger"].get("strategy") == "depend", where


def test_a_child_pipeline_does_not_wait_for_its_parents_resource_group():
    """GitLab's own warning: a job of the child that needs the group its trigger job holds
    waits for it forever."""
    for name, (_, recipe) in _gitlab_recipes().items():
        held = {job["resource_group"] for job in _triggers_of(name)}
        for job_name, job in _gitlab_jobs(recipe).items():
            assert job.get("resource_group") not in held, f"{name}: {job_name} would deadlock"


def test_every_included_child_pipeline_is_a_recipe():
    places = {where for where, _ in _gitlab_recipes().values()}
    for _, recipe in _gitlab_recipes().values():
        for job in _gitlab_jobs(recipe).values():
            if isinstance(job.get("trigger"), dict):
                assert job["trigger"]["include"] in places


def _github_workflows() -> list[tuple[str, dict]]:
    return [
        (path.name, yaml.safe_load(path.read_text()))
        for path in YAML
        if path.name.startswith("github-")
    ]


def _talks_to_github(args: list[str]) -> bool:
    """A comwit command that needs a GitHub token: a comment, or prune asking about pulls."""
    return "--comment" in args or args[:2] == ["preview", "prune"]


def test_every_github_step_that_comments_has_a_github_token():
    for name, workflow in _github_workflows():
        for job_name, job in workflow["jobs"].items():
            for step in job["steps"]:
                commands = comwit_commands(step.get("run", ""))
                if not any(_talks_to_github(args) for args in commands):
                    continue
                env = {**workflow.get("env", {}), **job.get("env", {}), **step.get("env", {})}
                assert {"GITHUB_TOKEN", "COMWIT_GITHUB_TOKEN"} & env.keys(), (
                    f"{name}: job {job_name} runs {commands} without a GitHub token"
                )


def test_a_job_run_for_a_closed_pull_request_checks_out_the_base_branch():
    checked = 0
    for name, workflow in _github_workflows():
        events = workflow[True if True in workflow else "on"]
        types = (events.get("pull_request") or {}).get("types", [])
        if "closed" not in types:
            continue
        for job in workflow["jobs"].values():
            checkouts = [
                s for s in job["steps"] if s.get("uses", "").startswith("actions/checkout")
            ]
            if "pull_request" in str(job.get("if", "")) and checkouts:
                ref = checkouts[0].get("with", {}).get("ref", "")
                assert "github.event.pull_request.base.ref" in ref, name
                checked += 1
    assert checked


def test_fork_pull_requests_are_told_by_their_head_repository():
    """`head.repo.fork` says the head repository is a fork of some other, which a project's
    own repository may be: every pull request of such a project would skip its plan. A
    fork's pull request is one whose head repository is not this one."""
    same = "github.event.pull_request.head.repo.full_name == github.repository"
    other = "github.event.pull_request.head.repo.full_name != github.repository"
    told = 0
    for name, workflow in _github_workflows():
        assert "head.repo.fork" not in str(workflow), name
        for job in workflow["jobs"].values():
            runs = [args for step in job["steps"] for args in comwit_commands(step.get("run", ""))]
            if "pull_request" not in str(job.get("if", "")) and name != "github-pull-request.yml":
                continue
            if any(args[0] == "validate" for args in runs):
                assert other in job["if"], name
            elif runs:
                assert same in job["if"], name
            told += 1
    assert told >= 3
