"""The command line: parse options, build the edges, call the core, map errors to exit codes.

`main()` is the whole program as a function (tests call it with their own `Edges`); `run()`
is the `comwit` script: `main()`, then a fast exit. The command table is `cli/commands.py`;
exit codes are `comwit.exit_codes`. Nothing heavy is imported here: `comwit --version`
answers before typer is even loaded.
"""

from __future__ import annotations

import gc
import os
import sys

from comwit import __version__
from comwit.exit_codes import EXIT_BUG, EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, EXIT_TERMINATED

TYPE_CHECKING = False  # not typing's: importing typing costs --version a tenth of its time
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import TextIO, TypeVar

    from comwit.cli.edges import Edges
    from comwit.errors import ComwitError

    T = TypeVar("T")


def main(argv: Sequence[str] | None = None, *, edges: Edges | None = None) -> int:
    """Run one command; every outcome becomes an exit code, never a traceback."""
    args = list(sys.argv[1:] if argv is None else argv)
    if edges is None and not _has_streams():
        return EXIT_ERROR
    if args == ["--version"]:
        return _version(edges)
    if not _has_working_directory(edges.stderr if edges else sys.stderr):
        return EXIT_ERROR
    import contextlib

    _leave_out_unused_modules()
    from comwit.cli.edges import Edges

    edges = edges or Edges.of_process()
    from comwit.ci.tokens import remember_tokens

    remember_tokens(edges.environ)  # CI tokens are redacted from everything, from the start
    with contextlib.redirect_stdout(edges.stdout), contextlib.redirect_stderr(edges.stderr):
        return _run(args, edges)


def _version(edges: Edges | None) -> int:
    out, err = (edges.stdout, edges.stderr) if edges else (sys.stdout, sys.stderr)
    try:
        out.write(f"comwit {__version__}\n")
        out.flush()
    except BrokenPipeError:
        return EXIT_ERROR
    except OSError as exc:  # a full disk: said as `Console` says it
        import contextlib

        with contextlib.suppress(OSError):
            err.write(f"error: cannot write to stdout: {(exc.strerror or str(exc)).lower()}\n")
        return EXIT_ERROR
    return EXIT_OK


def _has_streams() -> bool:
    """False, once said, when the process has no stdout (`comwit ... >&-`): its output would
    be lost. Without a stderr, messages go nowhere and the exit code tells."""
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w")  # noqa: PTH123, SIM115 (the process's, while it runs)
    if sys.stdout is None:
        sys.stderr.write(
            "error: standard output is closed; give comwit one (>/dev/null to discard it)\n"
        )
        return False
    return True


def _has_working_directory(stderr: TextIO) -> bool:
    """False, once said, when the working directory was deleted under the shell."""
    try:
        os.getcwd()  # noqa: PTH109 (pathlib is not loaded yet)
    except FileNotFoundError:
        stderr.write(
            "error: the working directory no longer exists; "
            "cd into one that does and run comwit again\n"
        )
        return False
    return True


def _leave_out_unused_modules() -> None:
    """Keep two modules that libraries import but comwit never uses from loading."""
    # httpx imports its own command line (click, rich and pygments: more than half of its
    # import time) whenever those are installed, as they are next to the emulator extra.
    # comwit never runs it; without it, `import httpx` falls back to a stub `httpx.main`.
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
    # Pydantic's plugin loader imports importlib.metadata (with email, zipfile and csv: about
    # a twentieth of a `validate`) before it reads PYDANTIC_DISABLE_PLUGINS. When that says
    # "no plugins", a loader that finds none is the same loader, without the imports.
    if os.environ.get("PYDANTIC_DISABLE_PLUGINS") in _NO_PLUGINS:
        import types

        loader = types.ModuleType("pydantic.plugin._loader", "No pydantic plugins: disabled.")
        loader.get_plugins = _no_plugins  # type: ignore[attr-defined]
        sys.modules.setdefault(loader.__name__, loader)


_NO_PLUGINS = ("__all__", "1", "true")  # the values pydantic reads as "load none"


def _no_plugins() -> tuple[()]:
    return ()


def _annotate(edges: Edges, exc: Exception) -> None:
    """In GitHub Actions, each manifest problem also shows on its line of the diff."""
    from comwit.errors import ManifestError

    if isinstance(exc, ManifestError):
        from comwit.ci.environment import detect
        from comwit.ci.publish import annotate

        annotate(detect(edges.environ), exc.problems, "error", edges.stderr)


def run() -> None:
    """The `comwit` script: run, flush, and leave without tearing the interpreter down
    (sweeping tens of thousands of objects costs more than the run itself), unless a
    profiler, debugger or coverage tracer watches the process and writes its results at exit."""
    # Pydantic looks for plugins among the entry points of every installed distribution the
    # first time a model is built (tens of milliseconds); comwit's models use none.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    # Start-up makes ~100,000 objects that live as long as the process (modules, classes,
    # models); the cyclic collector would sweep them again and again while they are made.
    # `cli.app.load_command` turns it back on once the command's module is loaded.
    gc.disable()
    code = main()
    if sys.gettrace() is None and sys.getprofile() is None:
        _exit_now(code)
    sys.exit(code)


def _run(args: list[str], edges: Edges) -> int:
    if args[:1] == ["pack"]:
        return _guarded(edges, lambda: _pack(args, edges))
    return _guarded(edges, lambda: _command(args, edges))


def _pack(args: list[str], edges: Edges) -> int:
    """`comwit pack`: a plain `pack APP -o FILE` packs before typer is loaded, anything else
    through typer; SIGTERM (a cancelled CI job) leaves no .partial archive behind."""
    from comwit.cli.ahead import pack_early
    from comwit.terminate import terminable

    with terminable():
        code = pack_early(args[1:], edges)
        return _command(args, edges) if code is None else code


def _command(args: list[str], edges: Edges) -> int:
    """The command `args` name, run through typer; usage errors said and exit 1."""
    import typer

    from comwit.cli.app import root_command

    if "_COMWIT_COMPLETE" in os.environ:  # the shell asks for completions (`comwit completion`)
        from comwit.cli.completion_cmd import prepare_completion

        prepare_completion(os.environ)

    try:
        result = root_command().main(
            args=args, prog_name="comwit", standalone_mode=False, obj=edges
        )
    except typer.Exit as exc:
        result = exc.exit_code
    except typer.Abort:
        raise KeyboardInterrupt from None
    except typer.TyperException as exc:  # usage errors: unknown command, bad option value
        from comwit.cli.usage import usage_error

        _say(edges, usage_error(exc))
        return EXIT_ERROR
    except OSError as exc:
        stream = None if isinstance(exc, BrokenPipeError) else _clicks_echo_stream(exc)
        if stream is None:
            raise
        # click's own writes (help, usage) to a stream that takes nothing: as Console says it
        from comwit.errors import ConsoleError, os_reason

        name = "stderr" if stream in (edges.stderr, sys.stderr) else "stdout"
        raise ConsoleError(f"cannot write to {name}: {os_reason(exc)}") from None
    if result == EXIT_INTERRUPTED:  # typer turns Ctrl-C into this exit code, silently
        _say(edges, "error: interrupted")
    return result if isinstance(result, int) else EXIT_OK


def _clicks_echo_stream(exc: BaseException) -> object | None:
    """The stream click's `echo` (typer's own copy of click, or click) was writing to when
    `exc` came (help, usage); None when it came from elsewhere (a command)."""
    tb = exc.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        if frame.f_code.co_name == "echo" and frame.f_globals.get("__name__", "").endswith(
            "click.utils"
        ):
            return frame.f_locals.get("file")
        tb = tb.tb_next
    return None


def _guarded(edges: Edges, work: Callable[[], T]) -> T | int:
    """`work()`, or the exit code of what it raised, said on stderr: never a traceback."""
    from comwit.errors import ComwitError
    from comwit.terminate import Terminated

    try:
        return work()
    except ComwitError as exc:
        for line in _lines_of(exc):
            _say(edges, f"error: {line}")
        _annotate(edges, exc)
        return exc.exit_code
    except KeyboardInterrupt:
        _say(edges, "error: interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # what reads stdout has gone (`| head -1`): as typer's commands
        return EXIT_ERROR  # do (click's way), exit 1 with nothing more said
    except Terminated:
        _say(edges, "error: terminated")
        return EXIT_TERMINATED
    except Exception as exc:  # the last line of defence: a bug, exit 3
        _say(edges, f"error: comwit hit a bug ({type(exc).__name__}: {exc}); please report it")
        if edges.environ.get("COMWIT_DEBUG"):
            import traceback

            _say(edges, "".join(traceback.format_exception(exc)))
        return EXIT_BUG


def _lines_of(exc: ComwitError) -> list[str]:
    """An error's message as lines: one per manifest problem, else one (a line break in a
    value it echoes, a file name or an API's detail, is shown escaped)."""
    from comwit.errors import ManifestError
    from comwit.escape import one_line

    if isinstance(exc, ManifestError):
        return [str(problem) for problem in exc.problems]
    return [one_line(str(exc) or type(exc).__name__)]


def _say(edges: Edges, text: str) -> None:
    """One message to stderr: no secret, and no control character from outside (an API's
    error detail could otherwise clear the screen)."""
    from comwit.escape import printable
    from comwit.secret import redact

    try:
        edges.stderr.write(printable(redact(text)).rstrip("\n") + "\n")
        edges.stderr.flush()
    except OSError:  # stderr itself will not take it (a full disk): the exit code tells
        pass


def _exit_now(code: int) -> None:
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:  # None: the process was started with it closed
                stream.flush()
    except (OSError, ValueError):  # a closed pipe: nothing more can be said
        pass
    os._exit(code)
