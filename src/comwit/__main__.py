"""`python -m comwit`: the same entry point as the `comwit` script."""

import sys

from comwit.cli import main

sys.exit(main())
