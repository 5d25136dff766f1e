"""comwit.toml: the manifest, from file to validated, overlaid app configurations."""

from comwit.manifest.find import DEFAULT_FILE
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
