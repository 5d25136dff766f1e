"""What the README and docs/ point a reader at exists: every `comwit.module.name` they name
imports, and every file of this repository they name or link to is there."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

ROOT = Path(__file__).parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# `comwit.api.limits`, `comwit.api.assumed.APP_ENVELOPE`; not a file such as `comwit.toml`, nor
# a host such as api.cloud.comwit.io.
DOTTED = re.compile(r"`[^`\n]*?(?<![\w./-])(comwit(?:\.[A-Za-z_]\w*)+)")
FILE_SUFFIXES = (".toml", ".json", ".fish", ".example")
# `src/comwit/errors.py`, `tests/test_read_once.py`, `comwit/ci/github.py` (under src/), links.
IN_REPO = re.compile(r"`((?:src|tests|bench|scripts|examples|docs|\.ci|comwit)/[\w./-]*)`")
LINK = re.compile(r"\]\((?!https?:|#)([^)#\s]+)")


def _names() -> list[tuple[str, str]]:
    return [
        (page.name, name)
        for page in PAGES
        for name in sorted(set(DOTTED.findall(page.read_text())))
        if not name.endswith(FILE_SUFFIXES)
    ]


def _exists(dotted: str) -> bool:
    """`comwit.a.b.C` is a module, or an attribute of the longest module prefix that imports."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found: object = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attribute in parts[cut:]:
            if not hasattr(found, attribute):
                return False
            found = getattr(found, attribute)
        return True
    return False


def test_every_python_name_the_docs_give_exists():
    missing = [f"{page}: {name}" for page, name in _names() if not _exists(name)]
    assert not missing, "\n".join(missing)


def test_every_repository_file_the_docs_name_or_link_exists():
    missing = []
    for page in PAGES:
        text = page.read_text()
        for named in IN_REPO.findall(text):
            if not any((base / named).exists() for base in (ROOT, ROOT / "src")):
                missing.append(f"{page.name}: {named}")
        missing += [
            f"{page.name}: ({linked})"
            for linked in LINK.findall(re.sub(r"```.*?```|`[^`\n]*`", "", text, flags=re.DOTALL))
            if not (page.parent / linked).exists()
        ]
    assert not missing, "\n".join(missing)


def test_a_name_that_moved_is_found():
    assert _exists("comwit.store.saved")
    assert not _exists("comwit.plan.saved")
    assert not _exists("comwit.api.limits.NO_SUCH_LIMIT")
