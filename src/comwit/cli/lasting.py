"""Start-up's objects kept out of the cyclic collector's sweeps (typer-free: `comwit pack`
uses it before typer is loaded)."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def made_to_last() -> Iterator[None]:
    """What is made inside (modules, classes, models) lives as long as the process: it is made
    without the cyclic collector and, in the `comwit` script (whose start-up `cli.run` runs
    without it; the first command module loaded ends that start-up), frozen out of the
    collector's sweeps after, the collector then on for what the command makes."""
    was_enabled = gc.isenabled()
    in_script = not was_enabled or gc.get_freeze_count() > 0
    gc.disable()
    try:
        yield
    finally:
        if in_script:
            gc.freeze()
        if in_script or was_enabled:
            gc.enable()
