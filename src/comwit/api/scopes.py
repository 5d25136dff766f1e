"""Which write scopes a token has, found without changing anything (see
`assumed.SCOPE_PROBE_APP`): apply asks before it packs or uploads a byte."""

from __future__ import annotations

from collections.abc import Awaitable, Mapping

from comwit.api import assumed
from comwit.api.client import ComwitClient
from comwit.errors import ApiTransportError, ComwitError, ForbiddenError, UnauthorizedError

DEPLOY = "app:deploy"
WRITE = "app:write"


async def write_scopes(client: ComwitClient, project: str) -> Mapping[str, bool | None]:
    """app:deploy and app:write: True held, False missing, None not known (no clear answer)."""
    app = assumed.SCOPE_PROBE_APP
    return {
        DEPLOY: await _holds(client.rollback(project, app, assumed.SCOPE_PROBE_BUILD)),
        WRITE: await _holds(client.delete_env(project, app, assumed.SCOPE_PROBE_KEY)),
    }


async def _holds(call: Awaitable[object]) -> bool | None:
    try:
        await call
    except ForbiddenError:
        return False
    except (UnauthorizedError, ApiTransportError):
        raise  # the token or the network: every later call would fail the same way
    except ComwitError:
        return True  # the scope check passed; the made-up app was not found, as intended
    return True
