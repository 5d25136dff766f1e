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
# No public client calls this route, so comwit reads apps through the list route wherever
# it can, and decodes this one wrapped or flat.
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

# `DELETE .../apps/{a}` answers a flat report with `complete`; repeat it until that is
# true, every APP_DELETE_INTERVAL seconds, at most APP_DELETE_MAX_ROUNDS times (the
# official CLI's `apps delete --wait`: 2 s apart, 30 tries, about a minute).
APP_DELETE_MAX_ROUNDS: Final = 30
APP_DELETE_INTERVAL: Final = 2.0

# `GET /v1/projects` answering one of these means listing is not enabled for this token (the
# official CLI reads them so and falls back to the configured project). 403 stays "the
# token lacks project:read".
PROJECT_LISTING_DISABLED: Final = frozenset({404, 501})

# `GET .../apps/{a}/logs` answers newest first (the official CLI's follow loop reads each
# page from its end) and says `next_page_token` while more lines match; the next page is
# asked for with this query parameter, which no public client sends.
LOGS_PAGE_TOKEN_PARAM: Final = "page_token"
# `level` (debug, info, warn, error, as the official CLI's help names them) keeps lines of
# that severity and above.
LOG_LEVELS: Final = ("debug", "info", "warn", "error")

# Project domains (`/v1/projects/{p}/domains`, Comwit-managed DNS zones): one is usable for
# `managed_project_domain` hostnames under it once its delegation is in place, shown by this
# status; before that it is PROJECT_DOMAIN_PENDING.
# (Created with dns_mode PROJECT_DOMAIN_DNS_MODE, as the official CLI's `domains add` does:
# known, kept here so that client and emulator share it.)
PROJECT_DOMAIN_DNS_MODE: Final = "route53_delegated"
PROJECT_DOMAIN_ACTIVE: Final = "active"
PROJECT_DOMAIN_PENDING: Final = "pending_delegation"
# A `managed_project_domain` hostname under no active project domain of the app's project.
STATUS_NOT_UNDER_MANAGED_DOMAIN: Final = 400

# A call made without the scope it needs answers 403 before the app, build or key it names
# is looked up. So `comwit apply` asks which write scopes a token has, changing nothing, by
# calling the rollback and env-delete routes of an app id no app has: 403 means the scope is
# missing, any other answer (404, 400) that it is there.
SCOPE_PROBE_APP: Final = "comwit-scope-probe"
SCOPE_PROBE_BUILD: Final = "comwit-scope-probe"
SCOPE_PROBE_KEY: Final = "COMWIT_SCOPE_PROBE"
