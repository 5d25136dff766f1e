"""Every route the client calls, by name, and whether a request may be sent again.

`Route` is a closed set: a misspelt or new route name is a type error until it is listed
here and `retry_of` says how it is retried.
"""

from __future__ import annotations

from typing import Literal, assert_never

from comwit.api import assumed

Route = Literal[
    "list_projects",
    "list_project_domains",
    "create_project_domain",
    "list_apps",
    "get_app",
    "create_app",
    "delete_app",
    "deploy",
    "list_builds",
    "rollback",
    "list_logs",
    "list_domains",
    "attach_domain",
    "finalize_domain",
    "detach_domain",
    "list_env",
    "put_env",
    "delete_env",
    "healthz",
    "readyz",
    "openapi",
]

# "repeat": sent again after any error a repeat may cure (see `retry`); "on_429": sent
# again only after a 429, which says the API did not act on it (after a lost answer the
# caller re-reads the state instead); "never": its body is a stream from disk.
Retry = Literal["repeat", "on_429", "never"]


def retry_of(route: Route) -> Retry:
    """How requests of `route` are retried."""
    if route == "deploy":
        return "never"
    if route in assumed.NON_IDEMPOTENT_ROUTES:
        return "on_429"
    match route:
        case (
            "list_projects"
            | "list_project_domains"
            | "list_logs"
            | "list_apps"
            | "get_app"
            | "list_builds"
            | "list_domains"
            | "list_env"
            | "healthz"
            | "readyz"
            | "openapi"
        ):
            return "repeat"  # reads
        case "delete_app" | "attach_domain" | "put_env" | "delete_env":
            return "repeat"  # writes the contract calls idempotent
        case (
            "create_app"
            | "create_project_domain"
            | "rollback"
            | "finalize_domain"
            | "detach_domain"
        ):
            return "on_429"
        case _:
            assert_never(route)
