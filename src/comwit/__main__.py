"""`python -m comwit`: the same entry point as the `comwit` script."""

from comwit.cli import run

run()
