"""`comwit doctor`: check, read-only and within seconds, that the API in use offers what
comwit relies on: reachability, the token, its scopes, the project, and the published spec
against `comwit.api.contract`."""
