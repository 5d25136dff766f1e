"""Usage errors (a bad option value, an unknown option or command) in comwit's own words.

typer checks option values with pydantic, whose messages read like a library's ("Input
should be less than or equal to 64", "Value error, ..."); a user gets one sentence in plain
words, and the help of the command they typed.
"""

from __future__ import annotations

import difflib
import re

from comwit.escape import MAX_SHOWN, cut, quoted

_SHOULD = "Input should be "
_PLAIN = [
    ("Value error, ", ""),
    (_SHOULD + "less than or equal to ", "must be at most "),
    (_SHOULD + "greater than or equal to ", "must be at least "),
    (
        _SHOULD + "a valid integer(, unable to parse string as an integer)?",
        "must be a whole number",
    ),
    (_SHOULD + "a valid number(, unable to parse string as a number)?", "must be a number"),
    (_SHOULD + "a valid boolean(, unable to interpret input)?", "must be true or false"),
    (_SHOULD, "must be "),
    # An option of two names is "'--env' / '-e'": the long one names it.
    (
        "Invalid value for '([^']+)'(?: / '[^']+')*: '(.*)' is not one of (.*?)\\.?$",
        r"\1: \2 is not one of \3",
    ),
    ("Invalid value for '([^']+)'(?: / '[^']+')*: ", r"\1: "),
]
_COMPILED = [(re.compile(pattern), replacement) for pattern, replacement in _PLAIN]
_NO_SUCH_COMMAND = re.compile(r"No such command '([^']*)'")
# A word of the command line echoed back: a 10,000-character argument is `cut` (once: a value
# that comwit's own message already cut is followed by its length).
_LONG_WORD = re.compile(rf"[^\s'\"()]{{{MAX_SHOWN + 1},}}")
_CUT_ALREADY = re.compile(r"(?<=\.\.\.) \([\d,]+ characters\)")


def usage_error(exc: Exception) -> str:
    """One line: what was wrong with the command line, and which help to read."""
    format_message = getattr(exc, "format_message", None)
    message = format_message() if callable(format_message) else str(exc)
    for pattern, replacement in _COMPILED:
        message = pattern.sub(replacement, message)
    message = message.rstrip(".")
    message += _did_you_mean(message)
    message = _LONG_WORD.sub(lambda word: _cut_once(word, message), message)
    return f"error: {message} (see `{_help_of(exc)}`)"


def _cut_once(word: re.Match[str], message: str) -> str:
    if _CUT_ALREADY.match(message, word.end()):
        return word.group()
    return cut(word.group())


def _did_you_mean(message: str) -> str:
    if "--install-completion" in message or "--show-completion" in message:
        return "; `comwit completion bash|zsh|fish` prints the completion script"
    unknown = _NO_SUCH_COMMAND.fullmatch(message)
    if not unknown:
        return ""
    from comwit.cli.commands import COMMANDS

    close = difflib.get_close_matches(unknown.group(1), [c.name for c in COMMANDS], n=1)
    return f"; did you mean {quoted(close[0])}?" if close else ""


def _help_of(exc: Exception) -> str:
    ctx = getattr(exc, "ctx", None)
    path = getattr(ctx, "command_path", "") or "comwit"
    return f"{path} --help"
