"""End-to-end harness: a project directory, the real `comwit` CLI in a subprocess, and the
emulator over loopback HTTP, whose stats count the requests and uploads the CLI made."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

PROJECT = "proj"
# The two apps every end-to-end test starts from.
MANIFEST = f"""\
version = 1
project = "{PROJECT}"
[apps.web]
build_dir = "web"
hosts = ["www.example.com"]
[apps.web.env]
LEVEL = "info"
[apps.api]
build_dir = "api"
max_concurrent_requests = 10
"""


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@dataclass
class World:
    root: Path
    url: str
    token: str
    extra_env: dict[str, str]

    def manifest(self, text: str) -> None:
        (self.root / "comwit.toml").write_text(textwrap.dedent(text))

    def write(self, relative: str, content: str) -> None:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)

    def environ(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        environ = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("COMWIT_") and key not in ("FORCE_COLOR", "SOURCE_DATE_EPOCH")
        }
        environ |= {"COMWIT_API_URL": self.url, "COMWIT_TOKEN": self.token, "NO_COLOR": "1"}
        return environ | self.extra_env | (extra or {})

    def comwit_tty(self, *args: str, answer: str, marker: str = "Type 'yes'") -> Result:
        """Run the CLI on a pseudo-terminal, type `answer` when `marker` appears; `out` is
        everything the terminal showed (stdout and stderr share it)."""
        environ = self.environ({"TERM": "xterm", "COLUMNS": "100"})
        del environ["NO_COLOR"]
        main, child = pty.openpty()
        proc = subprocess.Popen(
            [sys.executable, "-m", "comwit", *args],
            cwd=self.root,
            env=environ,
            stdin=child,
            stdout=child,
            stderr=child,
        )
        os.close(child)
        shown = b""
        answered = False
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            ready, _, _ = select.select([main], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(main, 65536)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                shown += chunk
            if not answered and marker.encode() in shown:
                os.write(main, answer.encode() + b"\n")
                answered = True
            if proc.poll() is not None and not ready:
                break
        os.close(main)
        code = proc.wait(timeout=30)
        return Result(code, shown.decode(errors="replace"), "")

    def comwit(self, *args: str, stdin: str = "", env: dict[str, str] | None = None) -> Result:
        environ = self.environ(env)
        proc = subprocess.run(
            [sys.executable, "-m", "comwit", *args],
            cwd=self.root,
            env=environ,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def plan_json(self, *args: str) -> dict[str, Any]:
        result = self.comwit("plan", "--format", "json", *args)
        assert result.code == 0, result.err
        document: dict[str, Any] = result.json()
        return document

    def admin(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = httpx.request(method, f"{self.url}/_emulator/{path}", json=body, timeout=10)
        response.raise_for_status()
        return response.json()

    def api(self, path: str) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"}
        response = httpx.get(
            f"{self.url}/v1/projects/{PROJECT}/{path}", headers=headers, timeout=10
        )
        response.raise_for_status()
        return response.json()

    def stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = self.admin("GET", "stats")
        return stats

    def reset_stats(self) -> None:
        self.admin("DELETE", "stats")

    def app(self, name: str) -> dict[str, Any]:
        return next(app for app in self.api("apps")["apps"] if app["name"] == name)

    def builds(self, name: str) -> list[dict[str, Any]]:
        builds: list[dict[str, Any]] = self.api(f"apps/{self.app(name)['app_id']}/builds")["builds"]
        return builds


def actions(plan: dict[str, Any], app: str | None = None) -> list[str]:
    """The action types of a JSON plan (one app, or all as app/type)."""
    found = []
    for each in plan["apps"]:
        for action in each["actions"]:
            if app is None:
                found.append(f"{each['app']}/{action['type']}")
            elif each["app"] == app:
                found.append(action["type"])
    return found
