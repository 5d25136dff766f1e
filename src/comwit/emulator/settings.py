"""How one emulator instance behaves: DNS publishing and the upload size limit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

DEFAULT_MAX_ARTIFACT_BYTES: Final = 1024**3


@dataclass(frozen=True)
class Settings:
    """`auto_dns`: treat the DNS records of every attached hostname as published at once."""

    auto_dns: bool = False
    max_artifact_bytes: int = DEFAULT_MAX_ARTIFACT_BYTES
