"""The Comwit API edge: the only code that speaks HTTP.

`client.ComwitClient` has one method per route; `connect.open_client` builds one from the
command line's options. Kept import-free so that `assumed` loads without httpx.
"""
