"""A CI job's environment for the real CLI: GitHub Actions' or GitLab CI's variables and
files (event, job summary, step outputs), pointing at a loopback stand-in of GitHub or GitLab."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

HEAD = "a1" * 20
MERGE = "b2" * 20
GITHUB_TOKEN = "ghs_actions_installation_token_x1"
GITLAB_TOKEN = "glpat-gitlab-project-token-x1"
# The plan comment's marker for the default manifest, project "proj" and no environment.
MARKER = "<!-- comwit:plan manifest=comwit.toml project=proj environment= -->"


@dataclass
class Job:
    """One CI job's files: its event, job summary and step outputs."""

    dir: Path

    @property
    def summary(self) -> Path:
        return self.dir / "step_summary.md"

    @property
    def outputs(self) -> Path:
        return self.dir / "github_output"

    def github(
        self, api_url: str, *, event: str = "pull_request", number: int = 7, fork: str = ""
    ) -> dict[str, str]:
        """`fork`: the pull request comes from that repository (`owner/name`)."""
        head: dict[str, object] = {"sha": HEAD}
        if fork:
            head["repo"] = {"full_name": fork, "fork": True}
        payload = {"pull_request": {"number": number, "head": head}}
        event_file = self.dir / "event.json"
        event_file.write_text(json.dumps(payload if event.startswith("pull_request") else {}))
        return {
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_REPOSITORY": "acme/shop",
            "GITHUB_EVENT_NAME": event,
            "GITHUB_EVENT_PATH": str(event_file),
            "GITHUB_SHA": MERGE,
            "GITHUB_RUN_ID": "4242",
            "GITHUB_SERVER_URL": "https://github.example",
            "GITHUB_API_URL": api_url,
            "GITHUB_TOKEN": GITHUB_TOKEN,
            "GITHUB_STEP_SUMMARY": str(self.summary),
            "GITHUB_OUTPUT": str(self.outputs),
        }

    @property
    def dotenv(self) -> Path:
        return self.dir / "comwit.env"

    def gitlab(self, api_url: str, *, number: int | None = 3, sha: str = HEAD) -> dict[str, str]:
        environ = {
            "CI": "true",
            "GITLAB_CI": "true",
            "CI_PROJECT_ID": "1234",
            "CI_COMMIT_SHA": sha,
            "CI_API_V4_URL": api_url,
            "CI_JOB_URL": "https://gitlab.example/acme/shop/-/jobs/77",
            "COMWIT_GITLAB_TOKEN": GITLAB_TOKEN,
            "COMWIT_DOTENV": str(self.dotenv),
        }
        if number is not None:
            environ["CI_MERGE_REQUEST_IID"] = str(number)
        return environ


def parse_outputs(text: str) -> dict[str, str]:
    """Read a $GITHUB_OUTPUT file the way the runner does."""
    values: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            body = []
            for inner in lines:
                if inner == delimiter:
                    break
                body.append(inner)
            values[name] = "\n".join(body)
        else:
            name, value = line.split("=", 1)
            values[name] = value
    return values


def read_dotenv(path: Path) -> dict[str, str]:
    """Read a dotenv report the way GitLab does, refusing what GitLab refuses (the whole report
    then fails the job's artifacts upload): 5 KiB or more, more than 20 lines, a line without
    `=`, a key other than ASCII letters, digits and `_`. Keys and values are stripped."""
    data = path.read_bytes()
    assert len(data) < 5 * 1024, f"Dotenv Artifact Too Big ({len(data)} bytes)"
    lines = data.decode("utf-8").splitlines()
    assert len(lines) <= 20, f"Dotenv files cannot have more than 20 variables ({len(lines)})"
    values = {}
    for line in lines:
        match = re.fullmatch(r"(.*?)=(.*)", line)
        assert match, f"Invalid Format: {line!r}"
        key, value = match[1].strip(), match[2].strip()
        assert re.fullmatch(r"[A-Za-z0-9_]+", key), f"invalid key {key!r}"
        values[key] = value
    return values


def github_env(tmp_path, event_name="pull_request", event=None, **extra):
    """GitHub Actions' variables for `detect`, its event file (`event`) written in `tmp_path`."""
    event_file = tmp_path / "event.json"
    event_file.write_text(json.dumps(event if event is not None else {}))
    return {
        "GITHUB_ACTIONS": "true",
        "CI": "true",
        "GITHUB_REPOSITORY": "acme/shop",
        "GITHUB_EVENT_NAME": event_name,
        "GITHUB_EVENT_PATH": str(event_file),
        "GITHUB_SHA": "f" * 40,
        "GITHUB_RUN_ID": "99",
        **extra,
    }
