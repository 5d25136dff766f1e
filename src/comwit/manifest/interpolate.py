"""`${VAR}` in env values: checked when the manifest loads, filled in at plan time.

`$$` is a literal `$`; a `$` followed by anything else is kept as it is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from comwit.frozen import frozen

_TOKEN = re.compile(r"\$\$|\$\{([^}]*)\}|\$\{")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@frozen
class Interpolated:
    """An env value after interpolation; `sensitive` when any part came from the environment."""

    value: str
    sensitive: bool


class MissingVariableError(ValueError):
    def __init__(self, names: list[str]) -> None:
        self.names = names
        listed = ", ".join(names)
        plural = "s are" if len(names) > 1 else " is"
        super().__init__(
            f"environment variable{plural} not set: {listed}; export it before running comwit "
            "(write $$ for a literal $)"
        )


def check_template(template: str) -> None:
    """Raise ValueError when `template` has a malformed `${...}`."""
    for match in _TOKEN.finditer(template):
        token = match.group(0)
        if token == "$$":
            continue
        name = match.group(1)
        if name is None:
            raise ValueError("unterminated '${' in value; close it with '}' or write $$ for a $")
        if not _NAME.fullmatch(name):
            raise ValueError(
                f"'${{{name}}}' is not a variable name; use letters, digits and '_' "
                "(write $$ for a literal $)"
            )


def interpolate(template: str, environ: Mapping[str, str]) -> Interpolated:
    """Fill in `${VAR}` from `environ`; MissingVariableError names every missing variable."""
    check_template(template)
    missing: list[str] = []
    sensitive = False

    def substitute(match: re.Match[str]) -> str:
        nonlocal sensitive
        if match.group(0) == "$$":
            return "$"
        name = match.group(1)
        if name not in environ:
            missing.append(name)
            return ""
        sensitive = True
        return environ[name]

    value = _TOKEN.sub(substitute, template)
    if missing:
        raise MissingVariableError(sorted(set(missing)))
    return Interpolated(value=value, sensitive=sensitive)
