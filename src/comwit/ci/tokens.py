"""The tokens comwit may be given (the API's and the CI's), registered with the redactor at
start-up, so that no output, file or comment can show one, also before (or without) any CI
feature or API call running; and whether this is a CI job at all. Imports nothing but the
redactor: it runs on every start."""

from __future__ import annotations

from collections.abc import Mapping

from comwit.secret import Secret

GITHUB_TOKENS = ("COMWIT_GITHUB_TOKEN", "GITHUB_TOKEN")
GITLAB_TOKENS = ("COMWIT_GITLAB_TOKEN",)
# The API token too: a message about a value given before it is read (--api-url, --env, a
# manifest value) could hold it.
_OTHERS = (
    "COMWIT_TOKEN",
    "CI_JOB_TOKEN",
    "ACTIONS_RUNTIME_TOKEN",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
)


def remember_tokens(environ: Mapping[str, str]) -> None:
    """Make every CI token in `environ` known to `comwit.secret.redact`."""
    for name in (*GITHUB_TOKENS, *GITLAB_TOKENS, *_OTHERS):
        value = environ.get(name, "").strip()
        if len(value) >= 8:  # a few characters would blank out ordinary words
            Secret(value)


def token(environ: Mapping[str, str], names: tuple[str, ...]) -> Secret | None:
    """The first token set among `names`."""
    for name in names:
        value = environ.get(name, "").strip()
        if value:
            return Secret(value)
    return None


def in_ci(environ: Mapping[str, str]) -> bool:
    """Whether this runs in a CI job at all: a check that costs no import."""
    return any(
        environ.get(name, "").strip().lower() in ("true", "1", "yes")
        for name in ("GITHUB_ACTIONS", "GITLAB_CI", "CI")
    )
