"""Environment overlays and [defaults]: one merge rule, with the origin of every merged value.

The rule: tables merge key by key, recursively; anything else (strings, numbers, booleans,
lists) in the overlay replaces the value below it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from comwit.manifest.locate import Path


def merge(
    base: Mapping[str, Any], overlay: Mapping[str, Any], overlay_at: Path
) -> tuple[dict[str, Any], dict[Path, Path]]:
    """`overlay` merged over `base`, and where each value the overlay supplied came from.

    `overlay_at` is the overlay's own path in the document (e.g. ("environments", "prod")).
    The origins map a path of the merged document to the path that supplied it.
    """
    origins: dict[Path, Path] = {}
    merged = _merge(base, overlay, (), overlay_at, origins)
    return merged, origins


def origin_of(path: Path, origins: Mapping[Path, Path]) -> Path:
    """Where `path` of a merged document was written (its longest overlaid prefix wins)."""
    for end in range(len(path), 0, -1):
        source = origins.get(path[:end])
        if source is not None:
            return (*source, *path[end:])
    return path


def _merge(
    base: Mapping[str, Any],
    overlay: Mapping[str, Any],
    at: Path,
    overlay_at: Path,
    origins: dict[Path, Path],
) -> dict[str, Any]:
    merged = dict(base)
    for key, value in overlay.items():
        below = merged.get(key)
        if isinstance(value, Mapping) and isinstance(below, Mapping):
            merged[key] = _merge(below, value, (*at, key), (*overlay_at, key), origins)
        else:
            merged[key] = value
            origins[(*at, key)] = (*overlay_at, key)
    return merged
