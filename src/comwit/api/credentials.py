"""Connecting, settings: the token, the API URL, the timeout and the default project.

The token comes from COMWIT_TOKEN, else from the official CLI's config file; it becomes a
`Secret` once checked, and no message here ever contains it (nor a refused value).
"""

from __future__ import annotations

import difflib
import json
import re
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, Literal
from urllib.parse import urlsplit

from comwit.api.client import DEFAULT_TIMEOUT
from comwit.errors import CredentialsError
from comwit.escape import quoted
from comwit.secret import Secret
from comwit.store.regular import read_bounded

DEFAULT_API_URL: Final = "https://api.cloud.comwit.io"
LOCAL: Final = "local"  # --api-url local: the embedded emulator
MAX_WAIT_SECONDS: Final = 86400  # the longest --timeout / --lock-timeout: a day
MAX_CONFIG_BYTES: Final = 1 << 20  # the official CLI's config: a few lines; not read past it
_TOKEN_SHAPE: Final = re.compile(r"cwt_[\x21-\x7e]+")  # printable, no spaces: a header value
_LOOPBACK: Final = frozenset({"127.0.0.1", "::1", "localhost"})
_HOW: Final = "set COMWIT_TOKEN to a cwt_ token, or log in with the official comwit CLI"


def load_token(environ: Mapping[str, str]) -> Secret:
    """The API token: COMWIT_TOKEN, else the `token` field of the config file."""
    if "COMWIT_TOKEN" in environ:
        return _checked(environ["COMWIT_TOKEN"], "COMWIT_TOKEN")
    path = config_path(environ)
    config = _read_config(path, explicit="COMWIT_CONFIG" in environ)
    if config is None:
        raise CredentialsError(f"no Comwit token found: {_HOW} (config file: {path})")
    token = config.get("token")
    if not isinstance(token, str):
        raise CredentialsError(f'{path} has no "token" string field; {_HOW}')
    return _checked(token, str(path))


def load_default_project(environ: Mapping[str, str]) -> str | None:
    """The config file's `default_project`, or None when there is no file or no such field."""
    path = config_path(environ)
    config = _read_config(path, explicit="COMWIT_CONFIG" in environ)
    project = None if config is None else config.get("default_project")
    if project is None or project == "":
        return None
    if not isinstance(project, str) or not project.strip():
        raise CredentialsError(f'{path}: "default_project" must be a project id string')
    return project.strip()


def config_path(environ: Mapping[str, str]) -> Path:
    """$COMWIT_CONFIG, else $XDG_CONFIG_HOME/comwit/config.json, else ~/.config/..."""
    if environ.get("COMWIT_CONFIG"):
        return Path(environ["COMWIT_CONFIG"])
    if environ.get("XDG_CONFIG_HOME"):
        return Path(environ["XDG_CONFIG_HOME"]) / "comwit" / "config.json"
    home = Path(environ["HOME"]) if environ.get("HOME") else Path.home()
    return home / ".config" / "comwit" / "config.json"


def resolve_api_url(option: str | None, environ: Mapping[str, str]) -> str:
    """--api-url, else COMWIT_API_URL, else the public API; `local` is returned as is.

    Trailing slashes (and a trailing `/v1`, which every route adds) are dropped.
    """
    raw = (option or environ.get("COMWIT_API_URL") or DEFAULT_API_URL).strip()
    if raw == LOCAL:
        return LOCAL
    url = raw.rstrip("/")
    url = url.removesuffix("/v1").rstrip("/")
    _check_url(url)
    return url


def resolve_timeout(option: float | None, environ: Mapping[str, str]) -> float:
    """Seconds each network operation may take: the option, else COMWIT_TIMEOUT, else 30."""
    if option is not None:
        return _positive(option, "--timeout")
    raw = environ.get("COMWIT_TIMEOUT", "").strip()
    if not raw:
        return DEFAULT_TIMEOUT
    try:
        return _positive(float(raw), "COMWIT_TIMEOUT")
    except ValueError:
        raise CredentialsError(
            f"COMWIT_TIMEOUT={quoted(raw)} is not a number of seconds; set it to e.g. 60"
        ) from None


# -- helpers ----------------------------------------------------------------------------


def _checked(raw: str, source: str) -> Secret:
    """The token as a Secret once it has the right shape; a refused value is never shown."""
    value = raw.strip()
    if not value:
        raise CredentialsError(f"{source} is empty; {_HOW}")
    if not _TOKEN_SHAPE.fullmatch(value):
        raise CredentialsError(
            f"the token in {source} is not a Comwit API token (those start with cwt_ and "
            "contain no spaces); copy it again from the Comwit dashboard"
        )
    return Secret(value)


def _read_config(path: Path, *, explicit: bool) -> dict[str, Any] | None:
    """The config file's JSON object, or None when it does not exist (and was not asked for)."""
    try:
        text = read_bounded(path, MAX_CONFIG_BYTES).decode("utf-8")
    except FileNotFoundError:
        if explicit:
            raise CredentialsError(
                f"COMWIT_CONFIG names {path}, which does not exist; fix or unset COMWIT_CONFIG"
            ) from None
        return None
    except (OSError, ValueError) as exc:  # UnicodeDecodeError is a ValueError
        raise CredentialsError(f"cannot read {path} ({_reason(exc)}); {_HOW}") from None
    try:
        config = json.loads(text)
    except (ValueError, RecursionError) as exc:
        line = getattr(exc, "lineno", "?")
        raise CredentialsError(
            f"{path} is not valid JSON (line {line}); fix it, or {_HOW}"
        ) from None
    if not isinstance(config, dict):
        raise CredentialsError(f"{path} must hold a JSON object; fix it, or {_HOW}")
    return config


def _reason(exc: Exception) -> str:
    """Why a config file cannot be read, never quoting it (it holds the token)."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    if isinstance(exc, UnicodeDecodeError):
        return "not UTF-8 text"
    return str(exc) if type(exc) is ValueError else type(exc).__name__


def _check_url(url: str) -> None:
    # The URL is echoed only once it is known to hold no user info or query (a token could).
    for at, char in enumerate(url, start=1):
        if not char.isprintable():
            if "\ud800" <= char <= "\udfff":
                what = "a byte that is not UTF-8"
            elif unicodedata.category(char) == "Cc":
                what = "a control character"
            else:
                what = f"an invisible character (U+{ord(char):04X})"
            raise CredentialsError(
                f"the API URL has {what} at character {at}; fix --api-url or COMWIT_API_URL"
            )
    refused = token_url_refusal(url)
    if refused == "malformed":
        raise CredentialsError(f"the API URL is malformed; pass e.g. --api-url {DEFAULT_API_URL}")
    if refused == "credentials":
        raise CredentialsError(
            "the API URL must not contain a user name, password, query or fragment; "
            "the token goes in COMWIT_TOKEN"
        )
    if refused == "scheme":
        raise CredentialsError(f"the API URL {quoted(url)} is not an http(s) URL; {_instead(url)}")
    if refused == "plain_http":
        raise CredentialsError(
            f"refusing plain http:// for {urlsplit(url).hostname}: the token would travel "
            "unencrypted; use https:// (http:// is allowed only for 127.0.0.1, ::1 and localhost)"
        )


UrlRefusal = Literal["malformed", "credentials", "scheme", "plain_http"]


def token_url_refusal(url: str) -> UrlRefusal | None:
    """Why a token must not be sent to `url`, or None: it is no URL (a port out of range),
    it holds a user name, password, query or fragment of its own, it is not http(s), or it
    is plain http to another machine than this one. COMWIT_API_URL and the CI's forge URLs
    are held to it alike."""
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError:
        return "malformed"
    if "@" in parts.netloc or parts.query or parts.fragment:
        return "credentials"
    if parts.scheme not in {"https", "http"} or not hostname:
        return "scheme"
    if parts.scheme == "http" and hostname not in _LOOPBACK:
        return "plain_http"
    return None


def _instead(url: str) -> str:
    """What the user probably meant: `local` misspelt, a host without its scheme, or an example."""
    if "/" not in url and difflib.get_close_matches(url.lower(), [LOCAL], n=1, cutoff=0.6):
        return f"did you mean {quoted(LOCAL)} (the embedded emulator)?"
    if "://" not in url and "." in url.split("/", maxsplit=1)[0]:
        return f"did you mean https://{url}?"
    return f"pass e.g. --api-url {DEFAULT_API_URL}, or --api-url {LOCAL} for the embedded emulator"


def _positive(seconds: float, source: str) -> float:
    if not 0 < seconds <= MAX_WAIT_SECONDS:  # also refuses nan and inf: nothing waits forever
        raise CredentialsError(
            f"{source} must be a positive number of seconds, at most {MAX_WAIT_SECONDS} (a day)"
        )
    return float(seconds)
