"""comwit.toml: the manifest, from file to validated, overlaid app configurations.

The names below load `comwit.manifest.load` (and pydantic with it) when first used, so
`comwit.manifest.find`, which needs no validation, imports without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from comwit.manifest.find import DEFAULT_FILE

if TYPE_CHECKING:
    from comwit.manifest.load import (
        AppConfig,
        Host,
        LoadedManifest,
        PreviewConfig,
        StateConfig,
        check_manifest,
        load_manifest,
    )

__all__ = [
    "DEFAULT_FILE",
    "AppConfig",
    "Host",
    "LoadedManifest",
    "PreviewConfig",
    "StateConfig",
    "check_manifest",
    "load_manifest",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from comwit.manifest import load

        return getattr(load, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
