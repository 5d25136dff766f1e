"""Exit codes: what a finished run tells the machine that started it (Terraform's convention
for changes, pre-commit's for bugs and interrupts). Defined here and nowhere else."""

from __future__ import annotations

from typing import Final

EXIT_OK: Final = 0  # success, or no changes
EXIT_ERROR: Final = 1  # an error the user can act on; apply: an app failed or was skipped
EXIT_CHANGES: Final = 2  # `plan --detailed-exitcode` found changes
EXIT_BUG: Final = 3  # a bug in comwit
EXIT_INTERRUPTED: Final = 130  # Ctrl-C or SIGINT
