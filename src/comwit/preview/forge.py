"""Which pull requests with previews are no longer open: asked of the CI's forge."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from comwit.ci.environment import detect
from comwit.ci.forge import ForgeError
from comwit.console import Console


def closed_pull_requests(
    environ: Mapping[str, str], console: Console, numbers: Collection[int]
) -> frozenset[int]:
    """The pull requests of `numbers` that GitHub or GitLab says are closed; outside those
    CIs, or when the forge cannot say, none (with a warning): only age prunes then."""
    ctx = detect(environ)
    if ctx.kind not in ("github", "gitlab") or not numbers:
        return frozenset()
    from comwit.ci.comment import open_forge

    try:
        forge = open_forge(ctx)
    except ForgeError as exc:
        console.warn(f"not checking which pull requests are closed: {exc}")
        return frozenset()
    closed = set()
    try:
        for number in sorted(numbers):
            if not forge.is_open(number):
                closed.add(number)
    except ForgeError as exc:
        console.warn(f"not checking which pull requests are closed: {exc}")
        return frozenset()
    finally:
        forge.close()
    return frozenset(closed)
