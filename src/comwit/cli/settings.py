"""The seam between the command line and the commands: shared options parsed once into one
frozen `Settings` value, together with the process edges (environment, streams, HTTP transport).

A command is a plain function of its settings and its own options:

    @command(TARGET, APPS, VERBOSITY)
    def status(settings: Settings) -> int: ...

`command(...)` adds the shared options to the function's command line (so they are declared
once, here), and hands the function the `Settings` they parse into.
"""

from __future__ import annotations

import enum
import inspect
from collections.abc import Awaitable, Callable, Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from comwit.cli.edges import Edges
from comwit.console import NORMAL, QUIET, VERBOSE, Console
from comwit.frozen import frozen

if TYPE_CHECKING:
    import httpx


class OutputFormat(enum.StrEnum):
    text = "text"
    markdown = "markdown"
    json = "json"
    matrix = "matrix"  # plan only: the CI job matrix of --shards alone


@frozen
class Settings:
    """The shared options of one run, parsed once; commands read them, never argv."""

    edges: Edges
    console: Console
    manifest_file: Path | None = None  # None: not given (a saved plan names its own)
    env: str | None = None
    project: str | None = None
    api_url: str | None = None
    timeout: float | None = None  # None: COMWIT_TIMEOUT, else the defaults
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    concurrency: int | None = None  # None: the planner's default
    output_format: OutputFormat = OutputFormat.text

    @cached_property
    def manifest(self) -> Path:
        """--file, else the nearest comwit.toml here or above (ManifestError when none); one
        found above the working directory is named on stderr, as every message names it."""
        if self.manifest_file is not None:
            return self.manifest_file
        from comwit.manifest.find import nearest_manifest

        found, saying = nearest_manifest()
        if saying is not None:
            self.console.info(saying)
        return found

    def chosen_project(self, manifest: str | None = None) -> str | None:
        """--project, else COMWIT_PROJECT, else `manifest` (the manifest's or a saved plan's
        project), else the official CLI's default project; None when none of them names one."""
        given = self.project or project_variable(self.environ) or manifest
        if given:
            return given
        from comwit.api.credentials import load_default_project  # a file is read only here

        return load_default_project(self.environ)

    @property
    def environ(self) -> Mapping[str, str]:
        return self.edges.environ

    @property
    def transport(self) -> httpx.AsyncBaseTransport | None:
        return self.edges.transport

    @property
    def clock(self) -> Callable[[], float]:
        return self.edges.clock

    @property
    def sleep(self) -> Callable[[float], Awaitable[None]]:
        return self.edges.sleep


def project_variable(environ: Mapping[str, str]) -> str | None:
    """COMWIT_PROJECT, without the spaces around it; None when unset, empty or blank (a CI's
    variable that is not set often reads as empty)."""
    return environ.get("COMWIT_PROJECT", "").strip() or None


@frozen
class SharedOption:
    """One or more command-line options that parse into `Settings` fields."""

    parameters: Callable[[], list[inspect.Parameter]]  # built when a command declares it


def _option(name: str, annotation: object, default: object) -> inspect.Parameter:
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default
    )


def _manifest() -> list[inspect.Parameter]:
    return [
        _option(
            "manifest",
            Annotated[
                Path | None,
                typer.Option(
                    "--file",
                    "-f",
                    help="The manifest [default: the nearest comwit.toml, here or above].",
                ),
            ],
            None,
        ),
        _option(
            "env",
            Annotated[
                str | None,
                typer.Option("--env", "-e", help="Overlay [environments.NAME] over the manifest."),
            ],
            None,
        ),
    ]


def _target() -> list[inspect.Parameter]:
    return [*_manifest(), *_api()]


def _api(*, manifest: bool = True) -> list[inspect.Parameter]:
    project = "Project id (overrides the manifest; or COMWIT_PROJECT)."
    return [
        _option(
            "project",
            Annotated[
                str | None,
                typer.Option(
                    "--project",
                    help=project if manifest else "Project id (or COMWIT_PROJECT).",
                ),
            ],
            None,
        ),
        _option(
            "api_url",
            Annotated[
                str | None,
                typer.Option(
                    "--api-url",
                    help="API base URL (or COMWIT_API_URL); 'local' uses the embedded emulator.",
                ),
            ],
            None,
        ),
    ]


def _timeout() -> list[inspect.Parameter]:
    return [
        _option(
            "timeout",
            Annotated[
                float | None,
                typer.Option(
                    "--timeout",
                    metavar="SECONDS",
                    help="Wait this long for each answer (or COMWIT_TIMEOUT) [default: 30; "
                    "a deploy's answer: 600].",
                ),
            ],
            None,
        ),
    ]


def _include() -> list[inspect.Parameter]:
    return [
        _option(
            "app",
            Annotated[
                list[str] | None,
                typer.Option("--app", help="Only apps matching this glob (repeatable, or a,b)."),
            ],
            None,
        )
    ]


def _apps() -> list[inspect.Parameter]:
    return [
        *_include(),
        _option(
            "exclude_app",
            Annotated[
                list[str] | None,
                typer.Option(
                    "--exclude-app", help="Skip apps matching this glob (repeatable, or a,b)."
                ),
            ],
            None,
        ),
    ]


def _concurrency() -> list[inspect.Parameter]:
    from comwit.observe import DEFAULT_CONCURRENCY

    return [
        _option(
            "concurrency",
            Annotated[
                int,
                typer.Option(
                    "--concurrency", min=1, max=64, help="API requests in flight at once."
                ),
            ],
            DEFAULT_CONCURRENCY,
        )
    ]


class _TextOrJson(enum.StrEnum):
    text = "text"
    json = "json"


def _format() -> list[inspect.Parameter]:
    return [
        _option(
            "output_format",
            Annotated[_TextOrJson, typer.Option("--format", help="text or json.")],
            _TextOrJson.text,
        )
    ]


def _plan_format() -> list[inspect.Parameter]:
    return [
        _option(
            "output_format",
            Annotated[
                OutputFormat,
                typer.Option(
                    "--format",
                    help="text, markdown (PR comment), json, or matrix (the CI job matrix of "
                    "--shards alone).",
                ),
            ],
            OutputFormat.text,
        )
    ]


def _verbosity() -> list[inspect.Parameter]:
    return [
        _option(
            "quiet",
            Annotated[bool, typer.Option("--quiet", "-q", help="Only errors and data.")],
            False,
        ),
        _option(
            "verbose", Annotated[bool, typer.Option("--verbose", "-v", help="More detail.")], False
        ),
    ]


MANIFEST = SharedOption(_manifest)  # --file, --env
TARGET = SharedOption(_target)  # --file, --env, --project, --api-url
API = SharedOption(_api)  # --project, --api-url
API_WITHOUT_MANIFEST = SharedOption(lambda: _api(manifest=False))  # the same, for `import`
INCLUDE = SharedOption(_include)  # --app
APPS = SharedOption(_apps)  # --app, --exclude-app
CONCURRENCY = SharedOption(_concurrency)  # --concurrency
FORMAT = SharedOption(_format)  # --format text|json
PLAN_FORMAT = SharedOption(_plan_format)  # --format text|markdown|json
VERBOSITY = SharedOption(_verbosity)  # --quiet, --verbose
TIMEOUT = SharedOption(_timeout)  # --timeout (else COMWIT_TIMEOUT)

Body = Callable[..., int]


def command(*shared: SharedOption) -> Callable[[Body], Body]:
    """Declare a command whose first parameter is its `Settings`, parsed from `shared`."""

    def declare(body: Body) -> Body:
        own = list(inspect.signature(body, eval_str=True).parameters.values())[1:]
        added = [parameter for each in shared for parameter in each.parameters()]
        names = {p.name for p in added}
        context = _option("_ctx", typer.Context, inspect.Parameter.empty)

        def run(_ctx: typer.Context, **options: Any) -> int:
            given = {name: options.pop(name) for name in names}
            return body(parse(given, _ctx.find_root().obj), **options)

        keyword = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own]
        parameters = [context, *added, *keyword]
        run.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
        run.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": int}
        run.__doc__ = body.__doc__
        run.__name__ = body.__name__
        run.__module__ = body.__module__
        return run

    return declare


def parse(given: Mapping[str, Any], edges: Edges | None) -> Settings:
    """The `Settings` of these shared option values (named as the command line names them)."""
    edges = edges or Edges.of_process()
    verbosity = QUIET if given.get("quiet") else VERBOSE if given.get("verbose") else NORMAL
    console = edges.console(verbosity)
    output_format = given.get("output_format")
    return Settings(
        edges=edges,
        console=console,
        manifest_file=given.get("manifest"),
        env=given.get("env"),
        project=given.get("project"),
        api_url=given.get("api_url"),
        timeout=given.get("timeout"),
        include=tuple(given.get("app") or ()),
        exclude=tuple(given.get("exclude_app") or ()),
        concurrency=given.get("concurrency"),
        output_format=OutputFormat(output_format) if output_format else OutputFormat.text,
    )


def refuse_manifest_as_output(out: Path, manifest: Path, doing: str) -> None:
    """ComwitError when `out` is the manifest (through `..` or a link too): an output written
    over it would replace it. `doing` words the refusal: "cannot {doing} {out}: ..."."""
    from comwit.errors import ComwitError
    from comwit.store.files import is_same_file

    if is_same_file(out, manifest):
        raise ComwitError(f"cannot {doing} {out}: it is the manifest; pass another -o FILE")
