"""Preview app names: `{app}-pr-{N}`, a DNS label of at most 63 characters."""

from __future__ import annotations

import hashlib

MAX_NAME = 63
MAX_PR = 10**12  # 13 digits: every app name still keeps its first letters
_HASH = 6


def preview_name(app: str, pr: int) -> str:
    """`{app}-pr-{pr}`; a name too long for a DNS label keeps the app name's start, a stable
    hash of the whole app name (so two long names stay distinct) and always `-pr-{pr}`."""
    if not 0 < pr <= MAX_PR:
        raise ValueError(f"pull request number {pr} is out of range (1 to {MAX_PR})")
    suffix = f"-pr-{pr}"
    name = app + suffix
    if len(name) <= MAX_NAME:
        return name
    digest = hashlib.sha256(app.encode()).hexdigest()[:_HASH]
    keep = MAX_NAME - len(suffix) - _HASH - 1
    return f"{app[:keep].rstrip('-')}-{digest}{suffix}"
