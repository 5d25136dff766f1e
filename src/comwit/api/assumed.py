"""Every choice about the Comwit API that the public contract does not state.

The client and the emulator both read these names from here, so an assumption proven wrong
changes in one place. docs/api-assumptions.md lists them for users.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from comwit.api.routes import Route

# `GET /v1/projects/{p}/apps/{a}` wraps the app like the create route does: {"app": {...}}.
APP_ENVELOPE: Final = "app"

# A missing or malformed token answers 401 (403 stays "scope or membership").
STATUS_UNAUTHENTICATED: Final = 401

# Uploads carry a Content-Length; the server is not assumed to accept chunked bodies.
UPLOAD_NEEDS_CONTENT_LENGTH: Final = True

# A deploy, app create or rollback may have happened even when its answer was lost, so
# they are never retried blindly: the caller re-reads the state first.
NON_IDEMPOTENT_ROUTES: Final[frozenset[Route]] = frozenset({"deploy", "create_app", "rollback"})

# `POST .../rollbacks` takes {"build_id": "..."} and answers {"app_id", "build_id"};
# an unknown build answers 404; rolling back to the active build is a no-op 200.
ROLLBACK_BODY_FIELD: Final = "build_id"

# Hostname status values: attached but waiting for DNS records, then live.
DOMAIN_PENDING: Final = "pending_dns"
DOMAIN_ACTIVE: Final = "active"
# `DELETE .../domains/{d}` answers the hostname with this status.
DOMAIN_DETACHED: Final = "detached"
# Finalizing before the records exist, and attaching a hostname another app holds, answer 409.
STATUS_DOMAIN_CONFLICT: Final = 409

# Bodies over the server's size limit answer 400 (413 is not in the contract).
STATUS_ARTIFACT_TOO_LARGE: Final = 400

# App names: what comwit accepts as an [apps.NAME] key. The API publishes no rule; this is
# the conservative intersection of DNS labels and the names the official CLI's docs use.
APP_NAME: Final = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")

# `DELETE .../apps/{a}` answers a flat report with `complete`; repeat until it is true,
# at most this many times.
APP_DELETE_MAX_ROUNDS: Final = 10
