"""Exit codes: what a finished run tells the machine that started it (Terraform's convention
for changes, pre-commit's for bugs and interrupts). Defined here and nowhere else."""

EXIT_OK = 0  # success, or no changes
EXIT_ERROR = 1  # an error the user can act on; apply: an app failed or was skipped
EXIT_CHANGES = 2  # `plan --detailed-exitcode` found changes
EXIT_BUG = 3  # a bug in comwit
EXIT_INTERRUPTED = 130  # Ctrl-C or SIGINT
EXIT_TERMINATED = 143  # SIGTERM: 128 + its number, as shells report it (apply stops cleanly)
