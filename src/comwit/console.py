"""The terminal edge: where text leaves comwit, scrubbed of secrets, coloured only on a TTY.

Data (plans, JSON, tables) goes to stdout; logs, warnings, errors and progress go to stderr,
so `comwit plan --format json > plan.json` stays clean.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import field
from typing import TYPE_CHECKING, TextIO

from comwit.errors import ConsoleError, os_reason
from comwit.escape import PAINT, printable
from comwit.frozen import frozen
from comwit.secret import redact

if TYPE_CHECKING:
    import logging

QUIET = -1
NORMAL = 0
VERBOSE = 1

_STYLES = {
    "add": "32",  # green
    "change": "33",  # yellow
    "remove": "31",  # red
    "bold": "1",
    "dim": "2",
    "error": "1;31",
    "warning": "33",
}


@frozen
class Console:
    """Where a run's output goes: data to `out`; warnings, errors and progress to `err`."""

    out: TextIO
    err: TextIO
    color: bool = False
    err_color: bool = False
    verbosity: int = NORMAL
    inp: TextIO = field(default_factory=lambda: sys.stdin)

    @property
    def interactive(self) -> bool:
        """A human at a terminal: progress bars and confirmation prompts make sense."""
        return _isatty(self.err) and _isatty(self.inp)

    def ask(self, question: str) -> str:
        """Ask on stderr, read one line of the answer from stdin."""
        with contextlib.suppress(OSError):  # as _log: the question is lost, not the run
            self.err.write(question)
            self.err.flush()
        return self.inp.readline().strip()

    def print(self, text: str = "") -> None:
        """Data for stdout: always printed, even with --quiet."""
        _write(self.out, "stdout", _shown(text) + "\n")

    def notice(self, text: str) -> None:
        """A line for stderr that even --quiet keeps (e.g. "this run uses the emulator")."""
        self._log(text)

    def info(self, text: str) -> None:
        if self.verbosity >= NORMAL:
            self._log(text)

    def detail(self, text: str) -> None:
        if self.verbosity >= VERBOSE:
            self._log(text)

    def warn(self, text: str) -> None:
        self._log(self._style_err("warning", "warning:") + " " + text)

    def error(self, text: str) -> None:
        self._log(self._style_err("error", "error:") + " " + text)

    def style(self, name: str, text: str) -> str:
        """`text` in the named style when stdout shows colour, else as it is."""
        return _paint(name, text) if self.color else text

    def _style_err(self, name: str, text: str) -> str:
        return _paint(name, text) if self.err_color else text

    def _log(self, text: str) -> None:
        # Messages only: a stderr that takes nothing (a full disk) loses them, not the run.
        # Its data goes to stdout; what is lost is said by nothing, the exit code tells.
        with contextlib.suppress(OSError):
            self.err.write(_shown(text) + "\n")
            self.err.flush()


def _write(stream: TextIO, name: str, text: str) -> None:
    try:
        stream.write(text)
        stream.flush()
    except BrokenPipeError:
        raise  # what reads it has gone: the command ends quietly (`comwit.cli.main`)
    except OSError as exc:
        raise ConsoleError(f"cannot write to {name}: {os_reason(exc)}") from exc


def make_console(
    *,
    verbosity: int = NORMAL,
    out: TextIO | None = None,
    err: TextIO | None = None,
    inp: TextIO | None = None,
    environ: Mapping[str, str] = os.environ,
) -> Console:
    """The console for this run (the process's streams unless given): colour when the stream
    is a TTY and NO_COLOR is unset.

    Log records of comwit's modules (retries, for one) go through it too, as warnings.
    """
    out = out or sys.stdout
    err = err or sys.stderr
    console = Console(
        out=out,
        err=err,
        color=wants_color(out, environ),
        err_color=wants_color(err, environ),
        verbosity=verbosity,
        inp=inp or sys.stdin,
    )
    # Only API retries log: a command that loads no API (validate) loads no logging either.
    _waiting[:] = [] if "logging" in sys.modules else [console]
    if not _waiting:
        _route(console)
    return console


_waiting: list[Console] = []  # the console that records go to once `logger` is first used


def logger(name: str) -> logging.Logger:
    """The logger a comwit module logs through (`name` under "comwit"): its records reach
    the console of the run, warnings as warnings, info as details."""
    import logging

    while _waiting:
        _route(_waiting.pop())
    return logging.getLogger(name)


def _route(console: Console) -> None:
    import logging

    class _ConsoleHandler(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            message = record.getMessage()
            if record.levelno >= logging.WARNING:
                console.warn(message)
            else:
                console.detail(message)

    root = logging.getLogger("comwit")
    root.handlers[:] = [_ConsoleHandler()]
    levels = {QUIET: logging.ERROR, VERBOSE: logging.INFO}
    root.setLevel(levels.get(console.verbosity, logging.WARNING))
    root.propagate = False


def wants_color(stream: TextIO, environ: Mapping[str, str] = os.environ) -> bool:
    if environ.get("NO_COLOR") or environ.get("TERM") == "dumb":
        return False
    if environ.get("FORCE_COLOR"):
        return True
    return _isatty(stream)


def _paint(name: str, text: str) -> str:
    return f"{PAINT}[{_STYLES[name]}m{text}{PAINT}[0m"


# Only comwit's own colour codes become escape sequences again; anything else a string from
# outside held (ESC, CSI, other controls, a stray marker) is shown escaped.
_OWN_CODES = re.compile(
    r"\\ue000\[(" + "|".join(re.escape(code) for code in (*_STYLES.values(), "0")) + r")m"
)


def _shown(text: str) -> str:
    """What the terminal gets: no secret, control characters escaped, comwit's colours."""
    return _OWN_CODES.sub(lambda m: f"\033[{m.group(1)}m", printable(redact(text)))


def _isatty(stream: object) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())
