"""The plan: desired and observed state, the pure diff between them, and its actions."""

# The env var in which the `app-env` ledger backend keeps its state; users cannot set it.
# Here rather than in `ledger` so that the manifest can refuse it without loading the ledger.
LEDGER_ENV_KEY = "COMWIT_LEDGER"
