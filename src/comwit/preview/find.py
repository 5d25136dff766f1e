"""Read every app of the project with its ledger, to find the marked previews. Read-only."""

from __future__ import annotations

from comwit.api.client import ComwitClient
from comwit.observe import Observation, observe
from comwit.store.ledger import LedgerReader


async def observe_project(
    client: ComwitClient, project: str, ledgers: LedgerReader, concurrency: int
) -> Observation:
    """Every app of the project: the marks are in the ledgers, not in the names."""
    names = sorted({app.name for app in await client.list_apps(project)})
    return await observe(client, project, names, ledgers, concurrency=concurrency)
