"""A first comwit.toml for a repository (`comwit init`): the build dirs found in it, one app
each, and `.comwit/` (comwit's caches and the embedded emulator's state) kept out of git."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import tomli_w

from comwit.api.assumed import APP_NAME
from comwit.escape import quoted
from comwit.frozen import frozen
from comwit.store.regular import read_bounded

# Where builds usually land, most likely first: one per directory is taken.
BUILD_DIR_NAMES = ("dist", "build", "out", "_site", "public")
_MAX_GITIGNORE = 16 << 20  # not read past it
_SKIPPED = frozenset({"node_modules", "vendor", "venv", "target", "__pycache__"})
_DEPTH = 3  # apps/web/dist: deep enough for monorepos, shallow enough to stay quick
STATE_IGNORE = ".comwit/"


@frozen
class FoundApp:
    name: str
    build_dir: str  # POSIX, relative to the manifest's directory


def find_build_dirs(root: Path) -> list[FoundApp]:
    """Non-empty build dirs under `root`, each named after the directory that holds it."""
    found: list[FoundApp] = []
    taken: set[str] = set()
    for build_dir in _candidates(root, root, 0):
        relative = build_dir.relative_to(root).as_posix()
        owner = build_dir.parent if build_dir.parent != root else root
        name = _unique(app_name(owner.resolve().name), taken)
        taken.add(name)
        found.append(FoundApp(name, relative))
    return found


def app_name(text: str) -> str:
    """`text` as an app name: lower case, runs of other characters turned into one '-'."""
    name = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:63].strip("-")
    return name if APP_NAME.fullmatch(name) else "app"


def render_starter(project: str | None, apps: Sequence[FoundApp]) -> str:
    """The starter manifest's text; with no build dir found, one app to fill in."""
    shown = list(apps) or [FoundApp("web", "dist")]
    head = ["# comwit.toml: the apps comwit deploys (see docs/manifest.md).", ""]
    document = {"version": 1, **({"project": project} if project else {})}
    body = tomli_w.dumps(document)
    if not project:
        body += '# project = "your-project-id"  # or pass --project, or set COMWIT_PROJECT\n'
    if not apps:
        body += "# No build dir found: point build_dir at the directory your build writes.\n"
    tables = {"apps": {app.name: {"build_dir": app.build_dir} for app in shown}}
    return "\n".join(head) + "\n" + body + "\n" + tomli_w.dumps(tables)


class KeptInGit(ValueError):
    """The .gitignore is left as it is, for the reason the message gives: it is a symbolic link
    (which git does not read) or one of its lines re-includes what `.comwit/` would ignore."""


def ignore_state_dir(root: Path) -> bool:
    """Add `.comwit/` to `root`/.gitignore unless git already ignores what comwit keeps there;
    True if added. OSError or ValueError when the file cannot be read as UTF-8 text (or is
    too large); KeptInGit when it is a symbolic link or a line of it keeps `.comwit/` in git.

    git itself decides (`git check-ignore` on this .gitignore alone, in a scratch repository:
    negations, `**`, escapes, blanks and CRs as git reads them); without git, only a line
    that is `.comwit` itself counts."""
    path = root / ".gitignore"
    if path.is_symlink():
        raise KeptInGit(
            "left .gitignore as it is: it is a symbolic link, which git does not read;"
            " add .comwit/ to a .gitignore git reads"
        )
    try:
        text = read_bounded(path, _MAX_GITIGNORE).decode("utf-8")
    except FileNotFoundError:
        text = ""
    if _ignored(text):
        return False
    separator = "" if not text or text.endswith("\n") else "\n"
    addition = "# comwit's local state: caches, the embedded emulator\n" + STATE_IGNORE + "\n"
    path.write_text(text + separator + addition, encoding="utf-8")
    return True


# What comwit keeps in .comwit/: it is ignored when git ignores each of these.
STATE_PROBES = (
    ".comwit/state.json",
    ".comwit/pending-ledger.json",
    ".comwit/pending-ledger.json.lock",
    ".comwit/plan.json",
    ".comwit/stat/169b4d7b9b86d1b336f37291679b1d13.stat",
    ".comwit/trees/21744f705d20ab124f5141d351132a63.tree",
    ".comwit/tmp/1234-5c1e/web.tar.zst",
    ".comwit/emulator/emulator.sqlite3",
    ".comwit/emulator/emulator.sqlite3-wal",
    ".comwit/emulator/artifacts/build-dd308ac0b75f.tar.zst",
    ".comwit/emulator/artifacts/incoming/upload-1.part",
)
# A `!` line that keeps a directory in git decides no file in it: ask of the directories
# too (made in the scratch repository: git reads a pattern ending in / only of a directory).
_DIRECTORIES = sorted(
    {
        "/".join(probe.split("/")[:n])
        for probe in STATE_PROBES
        for n in range(1, probe.count("/") + 1)
    }
)
_ASKED = (*STATE_PROBES, *_DIRECTORIES)
_PLAIN = frozenset({".comwit", ".comwit/", "/.comwit", "/.comwit/", ".comwit/*", "/.comwit/*"})
_GIT_SECONDS = 30.0  # for each git command
_MAX_TRIES = 8  # negation lines tried as the one keeping .comwit/ in git


def _ignored(text: str) -> bool:
    """Whether git, given this .gitignore, ignores all of STATE_PROBES; KeptInGit when it
    does not because of a negation (`!`) line, without which it would: the user's choice."""
    said = _git_says(text)
    if said is None:  # no git: a plain line, unless a `!` line naming .comwit comes after it
        return _plainly_ignored(text)
    if _all_files(said):
        return True
    lines = text.split("\n")
    for number in sorted({n for n in said.values() if n < 0})[:_MAX_TRIES]:  # the last first
        without = "\n".join(lines[: -number - 1] + lines[-number:])
        again = _git_says(without)
        if again is not None and _all_files(again):
            shown = quoted(lines[-number - 1].removesuffix("\r"))
            raise KeptInGit(
                f"left .gitignore as it is: its line {-number}, {shown}, keeps .comwit/"
                " (comwit's caches and local state) in git"
            )
    return False


def _plainly_ignored(text: str) -> bool:
    """Without git: whether a line naming `.comwit` ignores it; KeptInGit when a `!` line
    naming it comes after that line (git reads the last that matches)."""
    lines = text.split("\n")
    plain = [n for n, line in enumerate(lines, start=1) if line.strip() in _PLAIN]
    if not plain:
        return False
    for number in range(len(lines), plain[-1], -1):
        line = lines[number - 1].strip()
        if line.startswith("!") and ".comwit" in line:
            raise KeptInGit(
                f"left .gitignore as it is: its line {number}, {quoted(line)}, keeps .comwit/"
                " (comwit's caches and local state) in git"
            )
    return True


def _all_files(said: dict[str, int]) -> bool:
    return all(said[probe] > 0 for probe in STATE_PROBES)


def _git_says(text: str) -> dict[str, int] | None:
    """For each of STATE_PROBES and the directories that hold them, the .gitignore line that
    decides it as git reads `text`: positive when it ignores the path, negative (minus the
    line) when a `!` line keeps it, 0 when no line matches. None when git cannot be run.
    The repository is a scratch one: neither .git/info/exclude nor the user's own excludes
    file take part."""
    import shutil
    import subprocess
    import tempfile

    git = shutil.which("git")
    if git is None:
        return None
    # Only the scratch repository: not one GIT_DIR or GIT_WORK_TREE would point git at, nor
    # the user's or the system's config (an excludes file, a broken include).
    environ = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    environ |= {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}
    try:
        with tempfile.TemporaryDirectory(prefix="comwit-gitignore-") as scratch:
            subprocess.run(
                [git, "init", "-q", "--template=", scratch],
                capture_output=True, check=True, timeout=_GIT_SECONDS, env=environ,
            )  # fmt: skip
            Path(scratch, ".gitignore").write_bytes(text.encode("utf-8"))
            for directory in _DIRECTORIES:
                Path(scratch, directory).mkdir(parents=True, exist_ok=True)
            check = [git, "-c", f"core.excludesFile={os.devnull}", "check-ignore"]
            done = subprocess.run(
                [*check, "--no-index", "--verbose", "--non-matching", "-z", "--stdin"],
                cwd=scratch, input="\0".join(_ASKED).encode(), capture_output=True,
                check=False, timeout=_GIT_SECONDS, env=environ,
            )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    fields = done.stdout.decode("utf-8", "replace").split("\0")
    if done.returncode not in (0, 1) or len(fields) < 4 * len(_ASKED):
        return None
    said: dict[str, int] = {}
    for at in range(0, 4 * len(_ASKED), 4):
        _source, line, pattern, probe = fields[at : at + 4]
        number = int(line) if line.isdigit() else 0
        said[probe] = -number if pattern.startswith("!") else number
    return said if set(said) == set(_ASKED) else None


def _candidates(root: Path, directory: Path, depth: int) -> Iterator[Path]:
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except OSError:
        return
    dirs = [e for e in entries if e.is_dir(follow_symlinks=False)]
    names = {e.name for e in dirs}
    chosen = next((n for n in BUILD_DIR_NAMES if n in names and _has_files(directory / n)), None)
    if chosen is not None:
        yield directory / chosen
        if directory != root:
            return  # an app's directory: what else is in it is the app's source
    for entry in dirs:
        if depth + 1 >= _DEPTH or entry.name.startswith(".") or entry.name in _SKIPPED:
            continue
        if entry.name in BUILD_DIR_NAMES:
            continue
        yield from _candidates(root, Path(entry.path), depth + 1)


def _has_files(directory: Path) -> bool:
    try:
        return any(path.is_file() for path in directory.rglob("*"))
    except OSError:
        return False


def _unique(name: str, taken: set[str]) -> str:
    candidate, n = name, 2
    while candidate in taken:
        candidate = f"{name[:60]}-{n}"
        n += 1
    return candidate
