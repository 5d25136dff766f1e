"""Module boundaries: the pure plan core loads no I/O, apply renders nothing, every import is declared."""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"

PURE_PLAN = (
    "comwit.plan.state",
    "comwit.plan.actions",
    "comwit.plan.diff",
    "comwit.plan.desired",
    "comwit.plan.ledger",
    "comwit.plan.rollback",
    "comwit.plan.recording",
    "comwit.plan.managed",
)

# What the pure core must not reach, even through another module: HTTP, the filesystem
# helpers (walking, hashing, packing, the stores and caches), the terminal and the CLI.
IO_MODULES = (
    "httpx",
    "pathspec",
    "idna",
    "typer",
    "rich",
    "zstandard",
    "fastapi",
    "uvicorn",
    "asyncio",
    "fcntl",
    "gzip",
    "shutil",
    "socket",
    "sqlite3",
    "subprocess",
    "tarfile",
    "tempfile",
    "threading",
    "comwit.api.client",
    "comwit.api.connect",
    "comwit.api.credentials",
    "comwit.api.transport",
    "comwit.api.upload",
    "comwit.artifact.digest",
    "comwit.artifact.ignore",
    "comwit.artifact.pack",
    "comwit.artifact.walk",
    "comwit.cli",
    "comwit.console",
    "comwit.emulator",
    "comwit.manifest.load",
    "comwit.manifest.locate",
    "comwit.observe",
    "comwit.planner",
    "comwit.store",
)

# apply/ executes and reports results; words and pictures of them belong to render/ and
# the console. `describe` is the one vocabulary of actions that plans and apply steps share.
APPLY_MAY_NOT_IMPORT = ("rich", "typer", "comwit.cli", "comwit.console", "comwit.render")
APPLY_MAY_IMPORT = ("comwit.render.describe",)


def test_the_pure_plan_core_reaches_no_io_module_even_indirectly():
    for module in PURE_PLAN:
        for chain in _import_chains(module):
            reached = chain[-1]
            assert not _within(reached, IO_MODULES), f"{' -> '.join(chain)} is I/O"


def test_importing_the_diff_loads_neither_pathspec_nor_idna_nor_httpx():
    code = (
        f"import sys\nfor m in {PURE_PLAN!r}: __import__(m)\nprint(' '.join(sorted(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout.split()
    # Python and pydantic load some of the standard library's I/O modules themselves; what
    # the core's own code imports from it is checked above.
    loaded = [m for m in out if _within(m, IO_MODULES) and m not in sys.stdlib_module_names]
    assert loaded == []
    assert "comwit.plan.diff" in out


def test_apply_modules_import_no_renderer_terminal_or_cli():
    modules = _modules_in("comwit.apply")
    assert "comwit.apply.execute" in modules
    found = [
        f"{module} imports {imported}"
        for module in modules
        for imported in _imports_of(module)
        if _within(imported, APPLY_MAY_NOT_IMPORT) and not _within(imported, APPLY_MAY_IMPORT)
    ]
    assert found == []


def test_every_third_party_import_is_a_declared_dependency():
    project = tomllib.loads((SRC.parent / "pyproject.toml").read_text())["project"]
    core = {_dist_name(d) for d in project["dependencies"]}
    emulator = core | {_dist_name(d) for d in project["optional-dependencies"]["emulator"]}
    distributions = importlib.metadata.packages_distributions()
    undeclared = []
    for module in _modules_in("comwit"):
        declared = emulator if _within(module, ("comwit.emulator",)) else core
        for imported in _imports_of(module):
            top = imported.split(".")[0]
            if top == "comwit" or top in sys.stdlib_module_names:
                continue
            names = {_dist_name(d) for d in distributions.get(top, [top])}
            if not names & declared:
                undeclared.append(f"{module} imports {top}")
    assert undeclared == []


# -- reading imports from the source, without running it --------------------------------


def _import_chains(start: str) -> Iterator[tuple[str, ...]]:
    """Every module `start` loads when imported (parent packages included), each with the
    chain of imports that reaches it. Imports under `if TYPE_CHECKING:` do not run."""
    seen = {start}
    queue = [(start,)]
    while queue:
        chain = queue.pop(0)
        yield chain
        if not chain[-1].startswith("comwit"):
            continue
        for imported in _imports_of(chain[-1]):
            for module in (*_parents(imported), imported):
                if module not in seen:
                    seen.add(module)
                    queue.append((*chain, module))


def _imports_of(module: str) -> list[str]:
    """The modules that `module`'s code imports when it runs (functions' bodies included)."""
    path = _source(module)
    if path is None:
        return []
    tree = ast.parse(path.read_text(), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[str] = []
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, package)
            if base == "__future__":
                continue
            found.append(base)
            found += [
                f"{base}.{alias.name}"
                for alias in node.names
                if base.startswith("comwit") and _source(f"{base}.{alias.name}") is not None
            ]
    return found


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from (n for child in node.orelse for n in (child, *_runtime_nodes(child)))
            continue
        yield node
        yield from _runtime_nodes(node)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _absolute(node: ast.ImportFrom, package: str) -> str:
    if not node.level:
        return node.module or ""
    base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
    return f"{base}.{node.module}" if node.module else base


def _source(module: str) -> Path | None:
    if not module.startswith("comwit"):
        return None
    relative = Path(*module.split("."))
    for candidate in (SRC / relative / "__init__.py", SRC / relative.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def _modules_in(package: str) -> list[str]:
    root = SRC / Path(*package.split("."))
    return sorted(
        ".".join(path.relative_to(SRC).with_suffix("").parts).removesuffix(".__init__")
        for path in root.rglob("*.py")
    )


def _parents(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def _within(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def _dist_name(requirement: str) -> str:
    name = requirement
    for stop in "<>=!~[;( ":
        name = name.split(stop)[0]
    return name.strip().lower().replace("_", "-")


def test_the_import_reader_sees_what_a_module_really_imports():
    # The reader is what the boundary tests stand on: check it against a real module.
    assert "comwit.artifact.walk" in _imports_of("comwit.artifact.digest")
    assert "pathspec" in [chain[-1] for chain in _import_chains("comwit.artifact.digest")]
    assert "comwit.manifest" not in _imports_of("comwit.plan.desired")  # TYPE_CHECKING only
