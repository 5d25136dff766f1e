"""Apply progress on the console: log lines and bars, both scrubbed of secrets."""

from __future__ import annotations

import io

from comwit.console import Console
from comwit.render.progress import BarsReporter, LogReporter
from comwit.secret import HIDDEN, Secret

TOKEN = "cwt_progress_0123456789abcdef"


def _console() -> Console:
    return Console(out=io.StringIO(), err=io.StringIO(), color=False, err_color=False)


def test_log_lines_say_each_step_and_transfer_without_the_token():
    Secret(TOKEN)
    console = _console()
    reporter = LogReporter(console, clock=iter([0.0, 2.0]).__next__)
    reporter.step("web", f"set env var KEY to {TOKEN}")
    reporter.transfer("web", "uploading", 2000).finish(2000)
    text = console.err.getvalue()
    assert TOKEN not in text
    assert f"web: set env var KEY to {HIDDEN}" in text
    assert "web: uploaded 2.0 kB in 2.0 s (1.0 kB/s)" in text


def test_bars_show_steps_and_transfers_without_the_token():
    Secret(TOKEN)
    console = _console()
    reporter = BarsReporter(console)
    try:
        reporter.step("web", f"note {TOKEN}")
        transfer = reporter.transfer(f"web-{TOKEN}", "packing", 10)
        transfer.advance(5)
        transfer.finish(10)
    finally:
        reporter.close()
    text = console.err.getvalue()
    assert TOKEN not in text
    assert f"web: note {HIDDEN}" in text
    assert f"web-{HIDDEN}: packing" in text
