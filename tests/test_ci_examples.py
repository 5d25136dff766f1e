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
        assert found, f"{path.name} runs no comwit command"
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
    gitlab = yaml.safe_load((ROOT / "examples" / "ci" / "gitlab-ci.yml").read_text())
    assert gitlab["comwit-apply"]["resource_group"]


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
